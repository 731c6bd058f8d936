// The forward pass on the CPU, without a Hugging Face reference: the KV cache gives the same logits as a full
// prefill, chunked prefill equals one-shot prefill, and bad input is a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// The CPU backend, recording what the forward pass tells a backend about the context (plan_context) and the keys
// of the steps it offers for recording (run_recorded); class 1 from contexts of 8 on.
class PlanRecorder final : public Backend {
 public:
  std::unique_ptr<Backend> cpu = make_cpu_backend(1);
  std::vector<int> planned;
  std::vector<std::string> keys;

  int plan_context(int max_len) override { return planned.push_back(max_len), max_len >= 8 ? 1 : 0; }
  void run_recorded(std::string_view key, const std::function<void()>& step) override {
    keys.emplace_back(key);
    step();
  }
  std::string name() const override { return cpu->name(); }
  void* alloc(size_t bytes) override { return cpu->alloc(bytes); }
  void release(void* p) override { cpu->release(p); }
  void to_device(void* d, const void* s, size_t n) override { cpu->to_device(d, s, n); }
  void to_host(void* d, const void* s, size_t n) override { cpu->to_host(d, s, n); }
  Weight upload(const Weight& w) override { return cpu->upload(w); }
  void embed(const Weight& t, const int32_t* ids, int n, float* out) override { cpu->embed(t, ids, n, out); }
  void rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) override {
    cpu->rmsnorm(x, w, eps, rows, dim, out);
  }
  void matmul(const float* x, int n, const Weight& w, const Weight* b, float* out, bool acc) override {
    cpu->matmul(x, n, w, b, out, acc);
  }
  void rope(float* x, const int32_t* pos, int n, int h, int d, const float* f) override {
    cpu->rope(x, pos, n, h, d, f);
  }
  void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& c) override {
    cpu->kv_store(k, v, pos, n, c);
  }
  void attention(const float* q, const KvLayer& c, const int32_t* pos, int n, int h, int kvh, int d,
                 float* out) override {
    cpu->attention(q, c, pos, n, h, kvh, d, out);
  }
  void swiglu(const float* g, const float* u, size_t n, float* out) override { cpu->swiglu(g, u, n, out); }
  void argmax(const float* x, int rows, int cols, int32_t* out) override { cpu->argmax(x, rows, cols, out); }
};

// Every forward chunk first tells the backend the longest context it reaches (the chunk's last position + 1), and a
// one-token step's recording key carries the backend's class for it, so that a backend choosing kernels by context
// (the CUDA q/k/v cap) never replays a step recorded for another class.
TEST(ModelPlan, EveryChunkPlansItsContextAndTheKeyCarriesTheClass) {
  const auto dir = test::write_tiny_model("qwen3");
  PlanRecorder be;
  ModelOptions small;
  small.max_batch = 4;  // 6 tokens → chunks of 4 and 2
  auto model = Model::load(dir, be, small);
  const auto prompt = some_ids(6, model->config().vocab_size, 5);
  model->forward(prompt.data(), 6);
  EXPECT_EQ(be.planned, (std::vector<int>{4, 6}));
  EXPECT_TRUE(be.keys.empty()) << "prefill chunks are not recorded";
  model->greedy_decode(4, [](int32_t) { return true; });  // queues the steps at positions 6, 7, 8
  EXPECT_EQ(be.planned, (std::vector<int>{4, 6, 7, 8, 9}));
  EXPECT_EQ(be.keys, (std::vector<std::string>{"decode-greedy/0", "decode-greedy/1", "decode-greedy/1"}));
}

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
