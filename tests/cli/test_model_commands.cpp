// End to end through the `fs` program: logits, generate, inspect and their errors on a tiny random model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"
#include "engine/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace fs {
namespace {

using test::run_fs;
using test::shell_quote;

TEST(Cli, LogitsWritesEveryPositionAndMatchesTheLibrary) {
  const auto dir = test::write_tiny_model("qwen3");
  const auto out = dir + "/logits.f32";
  auto r = run_fs("logits --model " + shell_quote(dir) + " --ids 5,6,7,8 --out " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout is for machine-readable output only";
  const auto got = test::read_f32_file(out);
  ASSERT_EQ(got.size(), 4u * 97u);
  auto be = make_cpu_backend(1);
  auto model = Model::load(dir, *be, {});
  const int32_t ids[] = {5, 6, 7, 8};
  model->forward(ids, 4, true);
  EXPECT_LT(test::rel_l2(got, model->logits()), 1e-6);
}

TEST(Cli, GeneratePrintsTheGeneratedIds) {
  const auto dir = test::write_tiny_model("llama");
  auto r = run_fs("generate --model " + shell_quote(dir) + " --ids 1,2,3 -n 5 --temp 0 --ignore-eos --print-ids");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Five comma-separated ids and a newline, equal to the library's greedy continuation.
  auto be = make_cpu_backend(1);
  auto model = Model::load(dir, *be, {});
  std::vector<int32_t> ids = {1, 2, 3};
  std::string want;
  for (int i = 0; i < 5; ++i) {
    model->forward(ids.data() + (i ? ids.size() - 1 : 0), i ? 1 : 3);
    ids.push_back(model->greedy_token());
    if (i) want += ',';
    want += std::to_string(ids.back());
  }
  EXPECT_EQ(r.out, want + "\n");
}

TEST(Cli, SampledGenerationIsReproducibleWithASeed) {
  const auto dir = test::write_tiny_model("qwen2");
  const auto cmd =
      "generate --model " + shell_quote(dir) + " --ids 4,5 -n 8 --temp 1 --top-p 0.9 --seed 7 --ignore-eos --print-ids";
  auto a = run_fs(cmd), b = run_fs(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(Cli, InspectGivesAVerdict) {
  const auto dir = test::write_tiny_model("qwen2");
  auto r = run_fs("inspect --model " + shell_quote(dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Qwen2ForCausalLM"), std::string::npos);
  EXPECT_NE(r.out.find("self_attn.q_proj.bias"), std::string::npos);
  EXPECT_NE(r.out.find("32 → 48"), std::string::npos) << r.out;  // gate_proj: hidden 32 → intermediate 48
  EXPECT_NE(r.out.find("verdict: OK"), std::string::npos);
}

TEST(Cli, InspectFlagsAMissingTensorAndExitsNonZero) {
  const auto dir = test::write_tiny_model("llama");
  const auto bad = dir + "_layers3";
  std::filesystem::create_directories(bad);
  std::filesystem::copy_file(dir + "/model.safetensors", bad + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  std::string cfg = test::read_text_file(dir + "/config.json");
  cfg.replace(cfg.find("\"num_hidden_layers\":2"), 21, "\"num_hidden_layers\":3");
  std::ofstream(bad + "/config.json") << cfg;
  auto r = run_fs("inspect --model " + shell_quote(bad));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("MISSING"), std::string::npos);
  EXPECT_NE(r.out.find("verdict:"), std::string::npos);
}

struct BadCase {
  std::string args;
  std::string expect;  // in stderr
};

// Each case: a non-zero exit (not a crash), stderr naming what is wrong, nothing on stdout.
void expect_clear_errors(const std::vector<BadCase>& cases) {
  for (const auto& c : cases) {
    auto r = run_fs(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_LT(r.exit_code, 128) << "crashed: " << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\nstderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << "no partial output on stdout: " << c.args << "\n" << r.out;
  }
}

TEST(Cli, BadInputIsOneClearErrorAndANonZeroExit) {
  const auto dir = test::write_tiny_model("qwen3", 16);
  const auto m = " --model " + shell_quote(dir);
  // A truncated copy of the weights.
  const auto trunc = dir + "_trunc";
  std::filesystem::create_directories(trunc);
  std::filesystem::copy_file(dir + "/config.json", trunc + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir + "/model.safetensors", trunc + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(trunc + "/model.safetensors",
                               std::filesystem::file_size(trunc + "/model.safetensors") - 100);
  // A config with a key missing.
  const auto nokey = dir + "_nokey";
  std::filesystem::create_directories(nokey);
  std::filesystem::copy_file(dir + "/model.safetensors", nokey + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  std::string cfg = test::read_text_file(dir + "/config.json");
  cfg.replace(cfg.find("\"vocab_size\":97,"), 16, "");
  std::ofstream(nokey + "/config.json") << cfg;

  expect_clear_errors({
      {"generate" + m + " --ids 1,x -n 2", "--ids"},
      {"generate" + m + " --ids 1,97 -n 2", "token id 97"},
      {"generate" + m + " --ids 1,2 -n 0", "-n must be at least 1"},
      {"generate" + m + " --ids 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 -n 2", "context"},
      {"generate" + m + " --ids 1 --top-p 2", "--top-p"},
      {"run --model /no/such/dir -p x --top-p 2", "--top-p"},  // flags are checked before anything loads
      {"logits --model /no/such/dir --ids 1 --out /dev/null", "/no/such/dir"},
      {"logits --model " + shell_quote(trunc) + " --ids 1 --out /dev/null", "model.safetensors"},
      {"logits --model " + shell_quote(nokey) + " --ids 1 --out /dev/null", "\"vocab_size\" is missing"},
      {"bench --shape gpt-5", "not known"},
      {"generate" + m + " --ids 1 --device cuda_x", "--device"},
  });
}

TEST(Cli, ServeRefusesWhatItCannotServe) {
  const auto demo = " --model " + shell_quote(test::source_path("models/fs-demo-kjv"));
  if (run_fs("serve" + demo + " --port 70000").err.find("no HTTP server") != std::string::npos)
    GTEST_SKIP() << "built without cpp-httplib";
  expect_clear_errors({
      {"serve --model /no/such/dir", "/no/such/dir"},
      {"serve" + demo + " --port 70000", "--port 70000 is not a TCP port"},
      {"serve" + demo + " --host 203.0.113.9 --port 0", "cannot listen on 203.0.113.9"},
      {"serve" + demo + " --top-p 2", "--top-p"},
      {"serve --model /no/such/dir --top-p 2", "--top-p"},  // flags are checked before anything loads
  });
}

}  // namespace
}  // namespace fs
