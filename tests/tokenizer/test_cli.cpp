// `fs tokenize` and `fs detokenize` end to end, through the built fs program (skipped when it is not built).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace fs::test {
namespace {

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return {-1, out};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class TokenizerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(FS_BINARY)) GTEST_SKIP() << "fs is not built";
  }
  std::string fs_cmd(const std::string& args) {
    return std::string(FS_BINARY) + " " + args + " --model " + source_path("tests/data/tokenizers/") ;
  }
};

TEST_F(TokenizerCli, TokenizeWholeStdin) {
  auto [rc, out] = run("printf 'Hello world' | " + fs_cmd("tokenize") + "qwen3");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "[9707,1879]\n");
  std::tie(rc, out) = run("printf 'Hello world' | " + fs_cmd("tokenize --special") + "llama2");
  EXPECT_EQ(out, "[1,22557,1526]\n");
}

TEST_F(TokenizerCli, TokenizeJsonLines) {
  auto [rc, out] = run("printf '\"Hello world\"\\n\"<|im_start|>user\\\\nHi\"\\n\"\"\\n' | " + fs_cmd("tokenize --jsonl") +
                       "qwen3");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "[9707,1879]\n[151644,872,198,13048]\n[]\n");
  std::tie(rc, out) = run("printf 'not json\\n' | " + fs_cmd("tokenize --jsonl") + "qwen3 2>/dev/null");
  EXPECT_NE(rc, 0);
}

TEST_F(TokenizerCli, Detokenize) {
  auto [rc, out] = run(fs_cmd("detokenize --ids 1,22557,1526") + "llama2");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "<s> Hello world");
  std::tie(rc, out) = run("echo '[1, 22557, 1526]' | " + fs_cmd("detokenize --skip-special") + "llama2");
  EXPECT_EQ(out, "Hello world");
  std::tie(rc, out) = run(fs_cmd("detokenize --ids 9707,999999") + "qwen3 2>/dev/null");
  EXPECT_NE(rc, 0);
}

}  // namespace
}  // namespace fs::test
