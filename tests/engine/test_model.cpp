// The forward pass on the CPU, without a Hugging Face reference: the KV cache gives the same logits as a full
// prefill, chunked prefill equals one-shot prefill, and bad input is a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/model.h"
#include "greedy_loop.h"
#include "test_util.h"
#include "tiny_model.h"
#include "util/error.h"

namespace fs {
namespace {

std::vector<int32_t> some_ids(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& x : ids) x = int32_t(rng() % uint32_t(vocab));
  return ids;
}

class ModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ModelTest, KvCachedDecodeEqualsFullPrefill) {
  const auto dir = test::write_tiny_model(GetParam());
  auto be = make_cpu_backend(2);
  auto model = Model::load(dir, *be, {});
  const int V = model->config().vocab_size, n = 12;
  const auto ids = some_ids(n, V, 7);
  // Reference: all positions at once.
  model->forward(ids.data(), n, true);
  const auto full = model->logits();
  // Prefill the first 5, then decode one token at a time.
  model->reset();
  model->forward(ids.data(), 5, true);
  auto got = model->logits();
  for (int i = 5; i < n; ++i) {
    model->forward(&ids[size_t(i)], 1);
    const auto row = model->logits();
    got.insert(got.end(), row.begin(), row.end());
  }
  ASSERT_EQ(got.size(), full.size());
  EXPECT_LT(test::rel_l2(got, full), 1e-5) << "f32 math, different summation order only";
}

TEST_P(ModelTest, ChunkedPrefillEqualsOneShot) {
  const auto dir = test::write_tiny_model(GetParam());
  auto be = make_cpu_backend(1);
  ModelOptions small;
  small.max_batch = 4;  // 11 tokens → chunks of 4, 4, 3
  auto chunked = Model::load(dir, *be, small);
  auto whole = Model::load(dir, *be, {});
  const auto ids = some_ids(11, chunked->config().vocab_size, 3);
  chunked->forward(ids.data(), 11, true);
  whole->forward(ids.data(), 11, true);
  EXPECT_LT(test::rel_l2(chunked->logits(), whole->logits()), 1e-5);
}

TEST_P(ModelTest, GreedyTokenIsTheArgmaxOfTheLogits) {
  const auto dir = test::write_tiny_model(GetParam());
  auto be = make_cpu_backend(1);
  auto model = Model::load(dir, *be, {});
  const auto ids = some_ids(6, model->config().vocab_size, 9);
  model->forward(ids.data(), 6);
  const auto l = model->logits();
  EXPECT_EQ(model->greedy_token(), int32_t(std::max_element(l.begin(), l.end()) - l.begin()));
}

// greedy_decode (the next token fed back on the backend, read one step behind) against the plain loop
// (greedy_loop.h): the same tokens and the same position afterwards, when emit runs out of tokens, when it refuses
// one (the step queued for it is dropped), and when the context fills up.
TEST_P(ModelTest, GreedyDecodeEqualsTheTokenLoop) {
  const auto dir = test::write_tiny_model(GetParam());
  auto be = make_cpu_backend(1);
  ModelOptions opt;
  opt.max_context = 5 + 6;
  auto model = Model::load(dir, *be, opt);
  const auto prompt = some_ids(5, model->config().vocab_size, 11);
  for (int n : {1, 4, 20}) {  // 20: the context (11) fills after 7 tokens
    SCOPED_TRACE("n " + std::to_string(n));
    const auto want = test::greedy_token_loop(*model, prompt, n);
    const int want_pos = model->position();
    model->reset();
    model->forward(prompt.data(), int(prompt.size()));
    std::vector<int32_t> got;
    model->greedy_decode(n, [&](int32_t t) { return got.push_back(t), true; });
    EXPECT_EQ(got, want);
    EXPECT_EQ(model->position(), want_pos);
  }
  // emit refuses the third token: two steps stay in the cache, the one queued for the third is dropped.
  model->reset();
  model->forward(prompt.data(), int(prompt.size()));
  std::vector<int32_t> got;
  model->greedy_decode(10, [&](int32_t t) { return got.push_back(t), got.size() < 3; });
  EXPECT_EQ(got, test::greedy_token_loop(*model, prompt, 3));
  model->reset();
  model->forward(prompt.data(), int(prompt.size()));
  int seen = 0;
  model->greedy_decode(10, [&](int32_t) { return ++seen < 3; });
  EXPECT_EQ(model->position(), 5 + 2);
  EXPECT_THROW(model->logits(), Error);  // the last forward was dropped
}

INSTANTIATE_TEST_SUITE_P(Archs, ModelTest, ::testing::Values("qwen3", "qwen2", "llama"));

TEST(ModelErrors, IdOutOfVocabulary) {
  const auto dir = test::write_tiny_model("llama");
  auto be = make_cpu_backend(1);
  auto model = Model::load(dir, *be, {});
  const int32_t ids[] = {1, 97};
  try {
    model->forward(ids, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 97 (at index 1) is out of range"), std::string::npos) << e.what();
  }
  EXPECT_EQ(model->position(), 0) << "a rejected batch must not touch the cache";
}

TEST(ModelErrors, PromptLongerThanTheContext) {
  const auto dir = test::write_tiny_model("qwen3", 16);
  auto be = make_cpu_backend(1);
  auto model = Model::load(dir, *be, {});
  const auto ids = some_ids(17, 97, 1);
  try {
    model->forward(ids.data(), 17);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not fit the context of 16"), std::string::npos) << e.what();
  }
}

TEST(ModelErrors, MisshapenAndMissingTensorsAreListed) {
  const auto dir = test::write_tiny_model("qwen2");
  // Claim a larger hidden size than the weights have: every tensor is misshapen.
  std::ifstream in(dir + "/config.json");
  std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = std::filesystem::path(dir).string() + "_bad";
  std::filesystem::create_directories(bad);
  std::filesystem::copy_file(dir + "/model.safetensors", bad + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  cfg.replace(cfg.find("\"num_hidden_layers\":2"), 21, "\"num_hidden_layers\":3");
  std::ofstream(bad + "/config.json") << cfg;
  auto be = make_cpu_backend(1);
  try {
    Model::load(bad, *be, {});
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("missing tensor \"model.layers.2.input_layernorm.weight\""), std::string::npos) << m;
  }
}

TEST(ModelErrors, WrongPathNamesThePathAndWhatAFolderHolds) {
  auto be = make_cpu_backend(1);
  try {
    Model::load("/nonexistent/model", *be, {});
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent/model"), std::string::npos);
    EXPECT_NE(m.find("config.json"), std::string::npos);
    EXPECT_NE(m.find("model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace fs
