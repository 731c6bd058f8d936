// The newcomer's path: `fs run` on the bundled demo model prints exactly the text Hugging Face's greedy
// generate() decodes (tests/golden/demo/golden.json, "generate_text").
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace fs {
namespace {

TEST(DemoRun, PrintsWhatHuggingFaceGenerates) {
  const auto golden = test::source_path("tests/golden/demo/golden.json");
  if (!std::filesystem::exists(golden)) GTEST_SKIP() << "no demo golden";
  const auto g = nlohmann::json::parse(test::read_text_file(golden));
  const auto model = test::source_path(g["model_dir"].get<std::string>());
  auto r = test::run_fs("run --model " + test::shell_quote(model) + " -p " +
                        test::shell_quote(g["prompt_text"].get<std::string>()) + " --no-echo --temp 0 -n 32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, g["generate_text"].get<std::string>());
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << "timings go to stderr";
}

TEST(DemoRun, WrongModelPathNamesThePathAndTheFolderContents) {
  auto r = test::run_fs("run --model /tmp/no-such-model -p hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/tmp/no-such-model"), std::string::npos);
  EXPECT_NE(r.err.find("config.json"), std::string::npos);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace fs

namespace fs {
namespace {

// fs chat reads turns from stdin, renders them with the model's chat template, streams a reply per turn, and
// understands /reset and /exit.
TEST(DemoChat, MultiTurnWithResetAndExit) {
  const auto model = test::source_path("models/fs-demo-kjv");
  auto r = test::run_fs("chat --model " + test::shell_quote(model) + " -n 12 --temp 0",
                        "Who made the heaven?\nAnd the earth?\n/reset\nWho made the heaven?\n/exit\nnever read\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("/reset starts over"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(conversation cleared)"), std::string::npos) << r.err;
  // Three turns ran (one reply line each, then per-turn stats on stderr); greedy, so the first and the third
  // (the same question after /reset) give the same reply.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i; (i = r.out.find('\n', start)) != std::string::npos; start = i + 1) lines.push_back(r.out.substr(start, i - start));
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], lines[2]);
  size_t turns = 0;
  for (size_t i = 0; (i = r.err.find("tok/s]", i)) != std::string::npos; ++i) ++turns;
  EXPECT_EQ(turns, 3u) << r.err;
}

}  // namespace
}  // namespace fs
