// The CPU forward pass against Hugging Face transformers, on the tiny random models in tests/golden/<case>/
// (made by tools/make_model_goldens.py: bf16 weights, HF computing in f32 on the CPU).
//
// Tolerances (DESIGN.md): hidden states after every layer and logits within 1e-4 relative L2 — both sides do f32
// math on the same bf16 weights, so only summation order differs; greedy ids equal at every step where HF's
// top-2 margin exceeds 1e-3 (below that, rounding may legitimately flip the argmax, and the continuations part).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "engine/model.h"
#include "test_util.h"

namespace fs {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::vector<std::string> golden_cases() {
  std::vector<std::string> out;
  const auto root = test::source_path("tests/golden");
  if (!stdfs::exists(root)) return out;
  for (const auto& e : stdfs::directory_iterator(root))
    if (stdfs::exists(e.path() / "golden.json") && stdfs::exists(e.path() / "config.json"))
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = test::source_path("tests/golden/" + GetParam());
    g_ = json::parse(test::read_text_file(dir_ + "/golden.json"));
    prompt_ = g_["prompt_ids"].get<std::vector<int32_t>>();
  }
  std::string dir_;
  json g_;
  std::vector<int32_t> prompt_;
};

TEST_P(Golden, LogitsAndHiddenStatesMatchHuggingFace) {
  auto be = make_cpu_backend(0);
  auto model = Model::load(dir_, *be, {});
  const auto& c = model->config();
  const size_t n = prompt_.size(), H = size_t(c.hidden_size), V = size_t(c.vocab_size);
  const auto hidden_ref = test::read_f32_file(dir_ + "/" + g_.value("hidden_file", "hidden.f32"));
  ASSERT_EQ(hidden_ref.size(), size_t(c.n_layers) * n * H);
  std::vector<double> errs(size_t(c.n_layers), -1);
  model->set_layer_hook([&](int l, const float* h, int rows) {
    ASSERT_EQ(size_t(rows), n);
    errs[size_t(l)] = test::rel_l2(h, hidden_ref.data() + size_t(l) * n * H, n * H);
  });
  model->forward(prompt_.data(), int(n), true);
  for (int l = 0; l < c.n_layers; ++l) EXPECT_LT(errs[size_t(l)], 1e-4) << "hidden state after layer " << l;
  const auto logits = model->logits();
  const auto ref = test::read_f32_file(dir_ + "/" + g_.value("logits_file", "logits.f32"));
  ASSERT_EQ(logits.size(), n * V);
  ASSERT_EQ(ref.size(), n * V);
  EXPECT_LT(test::rel_l2(logits, ref), 1e-4) << "logits of every position";
  // Every position on its own too: a wrong mask or rope at one position cannot hide in the total.
  for (size_t i = 0; i < n; ++i)
    EXPECT_LT(test::rel_l2(logits.data() + i * V, ref.data() + i * V, V), 1e-4) << "position " << i;
}

TEST_P(Golden, GreedyContinuationMatchesWhereTheMarginIsClear) {
  auto be = make_cpu_backend(0);
  auto model = Model::load(dir_, *be, {});
  const auto want = g_["greedy_ids"].get<std::vector<int32_t>>();
  const auto margins = g_["greedy_margins"].get<std::vector<double>>();
  ASSERT_EQ(want.size(), margins.size());
  GenerateOptions opt;
  opt.max_new_tokens = int(want.size());
  std::vector<int32_t> got;
  generate(*model, prompt_, opt, [&](int32_t t) {
    got.push_back(t);
    return true;
  });
  ASSERT_EQ(got.size(), want.size());
  int checked = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (margins[i] <= 1e-3) break;  // a near-tie: beyond it the two continuations may part
    EXPECT_EQ(got[i], want[i]) << "step " << i << " (HF margin " << margins[i] << ")";
    ++checked;
  }
  EXPECT_GT(checked, 0) << "the first step's margin was too small to check anything";
}

TEST_P(Golden, KvCachedDecodeEqualsFullPrefillOverTheGreedySequence) {
  auto be = make_cpu_backend(0);
  auto model = Model::load(dir_, *be, {});
  auto seq = prompt_;
  for (auto t : g_["greedy_ids"]) seq.push_back(t.get<int32_t>());
  model->forward(seq.data(), int(seq.size()), true);
  const auto full = model->logits();
  const size_t V = size_t(model->config().vocab_size);
  model->reset();
  model->forward(prompt_.data(), int(prompt_.size()));
  for (size_t i = prompt_.size(); i < seq.size(); ++i) {
    model->forward(&seq[i], 1);
    const auto row = model->logits();
    EXPECT_LT(test::rel_l2(row.data(), full.data() + i * V, V), 1e-5) << "position " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, Golden, ::testing::ValuesIn(golden_cases()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

}  // namespace
}  // namespace fs
