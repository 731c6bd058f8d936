// decode_step — the whole decode step as one persistent kernel (src/backends/cuda/decode_step.cu, opt-in:
// CudaOptions::persistent, FS_CUDA_ENABLE=persistent) — against the op-by-op decode of the same backend, on random
// bf16 weights of the real models' shapes: Qwen3-0.6B (QK-norm, head_dim 128, groups of 2), Llama-3.2-1B
// (head_dim 64, groups of 4, llama3 RoPE) and Qwen2.5-0.5B (q/k/v biases, groups of 7: two passes of the
// attention's head loop). The op path is itself held
// to the CPU oracle (test_fused, test_attention, test_cuda_model), and test_cuda_model also decodes the golden
// models through the persistent kernel, against the CPU. On the same shapes, TensorCoreAttentionMatchesSimt holds
// the default decode (tensor-core attention) to the op path with the SIMT attention.
//
// Tolerance kStepTol 1e-3 (relative L2 of the logits), stated before measuring: both paths compute in f32 from the
// same bf16 weights and differ only in the order of their sums (~1e-6 relative per op); but a K or V element that
// lands next to a bf16 rounding boundary can round the other way in the cache (2⁻⁸ relative, in about one element
// in a thousand), and layers carry that forward. 1e-3 leaves room for that and still fails any wrong row, head,
// position or phase order, which shows up at order 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "engine/model.h"
#include "test_util.h"
#include "util/error.h"

namespace fs {
namespace {

constexpr double kStepTol = 1e-3;

std::vector<int32_t> random_ids(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> ids(n);
  for (auto& t : ids) t = pick(rng);
  return ids;
}

class CudaDecodeStep : public ::testing::TestWithParam<std::string> {
 protected:
  // The model named by the test parameter, random bf16 weights of its real shape, on `be`.
  std::unique_ptr<Model> model(Backend& be) const {
    ModelOptions mo;
    mo.max_context = 1024;
    return Model::synthetic(GetParam(), be, mo);
  }
  // The same random prompt through both models, then 4 random one-token steps: the relative L2 between their
  // logits after each step.
  static std::vector<double> decode_both(Model& a, Model& b, int prompt_len, uint32_t seed) {
    const int vocab = a.config().vocab_size;
    const auto prompt = random_ids(prompt_len, vocab, seed);
    a.reset();
    b.reset();
    a.forward(prompt.data(), prompt_len);
    b.forward(prompt.data(), prompt_len);
    std::vector<double> errs;
    for (int32_t id : random_ids(4, vocab, seed + 1)) {
      a.forward(&id, 1);
      b.forward(&id, 1);
      errs.push_back(test::rel_l2(a.logits(), b.logits()));
    }
    return errs;
  }
};

TEST_P(CudaDecodeStep, MatchesOpByOpDecode) {
  CudaOptions fused_opts, ops_opts;
  fused_opts.persistent = true;
  ops_opts.attn_tc = false;  // the f32 SIMT decode attention, as the persistent kernel's (no bf16 q or P)
  CudaBackend fused(fused_opts), ops(ops_opts);
  auto mf = model(fused), m_ops = model(ops);
  // Contexts: 5 and 200 tokens (one attention split per kv head on the op path), 900 (every split, and the merge).
  uint32_t seed = 11;
  for (int prompt_len : {5, 200, 900}) {
    SCOPED_TRACE("prompt of " + std::to_string(prompt_len) + " tokens");
    const long before = fused.fused_steps();
    const auto errs = decode_both(*mf, *m_ops, prompt_len, seed);
    seed += 2;
    for (size_t i = 0; i < errs.size(); ++i) EXPECT_LT(errs[i], kStepTol) << "step " << i;
    std::printf("  %s, context %d: persistent vs op-by-op %.2e\n", GetParam().c_str(), prompt_len, errs[0]);
    EXPECT_EQ(fused.fused_steps() - before, long(errs.size())) << "the persistent kernel did not run";
  }
  EXPECT_EQ(ops.fused_steps(), 0);
}

// The default decode (tensor-core attention with QK-norm, RoPE and the K/V store folded in: attention_decode_tc.cu)
// against the same backend with the SIMT attention, at the real models' head_dim and group sizes — the golden models
// are too small (head_dim 16/32) to reach the fused kernel's real-shape paths. Tolerance kTcStepTol 5e-2, stated
// before measuring: each layer's attention output may differ by kAttnTcTol (8e-3, q and P rounded to bf16) and L
// layers add such errors roughly in quadrature, √28 · 8e-3 ≈ 4.2e-2 if each reached the logits undiluted; a wrong
// head, position or split shows up at order 1.
constexpr double kTcStepTol = 5e-2;

TEST_P(CudaDecodeStep, TensorCoreAttentionMatchesSimt) {
  CudaOptions simt_opts;
  simt_opts.attn_tc = false;
  CudaBackend tc, simt(simt_opts);
  ASSERT_TRUE(tc.attn_tc());
  auto mt = model(tc), ms = model(simt);
  uint32_t seed = 31;
  for (int prompt_len : {200, 900}) {
    SCOPED_TRACE("prompt of " + std::to_string(prompt_len) + " tokens");
    const auto errs = decode_both(*mt, *ms, prompt_len, seed);
    seed += 2;
    for (size_t i = 0; i < errs.size(); ++i) EXPECT_LT(errs[i], kTcStepTol) << "step " << i;
    std::printf("  %s, context %d: tensor-core vs SIMT attention, worst of 4 steps %.2e\n", GetParam().c_str(),
                prompt_len, *std::max_element(errs.begin(), errs.end()));
  }
}

// The q/k/v GEMV's cap follows the context (CudaBackend::plan_context): greedy decoding across the boundary of
// one attention split (256 positions) records a second graph, for the other cap, and replays each where it
// belongs. The cap moves blocks, not arithmetic, so the tokens and the last logits equal, bit for bit, those of a
// backend without the cap (one recording).
TEST(CudaContextClasses, GreedyDecodeAcrossTheClassBoundary) {
  CudaOptions off;
  off.qkv_cap = false;
  CudaBackend capped, uncapped(off);
  ModelOptions mo;
  mo.max_context = 512;
  auto a = Model::synthetic("qwen3-0.6b", capped, mo), b = Model::synthetic("qwen3-0.6b", uncapped, mo);
  const auto prompt = random_ids(250, a->config().vocab_size, 41);
  std::vector<int32_t> ta, tb;
  a->forward(prompt.data(), int(prompt.size()));
  b->forward(prompt.data(), int(prompt.size()));
  a->greedy_decode(12, [&](int32_t t) { return ta.push_back(t), true; });
  b->greedy_decode(12, [&](int32_t t) { return tb.push_back(t), true; });
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(a->position(), b->position());
  EXPECT_GT(a->position(), 257);
  EXPECT_EQ(test::rel_l2(a->logits(), b->logits()), 0.0);
  EXPECT_EQ(capped.recordings(), 2u) << "one graph per context class";
  EXPECT_EQ(uncapped.recordings(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaDecodeStep, ::testing::Values("qwen3-0.6b", "llama-3.2-1b", "qwen2.5-0.5b"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

TEST(CudaDecodeStepOptions, FromTheEnvironment) {
  ::setenv("FS_CUDA_ENABLE", "persistent", 1);
  ::setenv("FS_CUDA_DISABLE", "pdl,wgmma,attn-tc,rope-attn,qkv-cap,argmax-keys", 1);
  const CudaOptions o = cuda_options_from_env();
  EXPECT_TRUE(o.persistent);
  EXPECT_FALSE(o.pdl);
  EXPECT_FALSE(o.wgmma);
  EXPECT_FALSE(o.attn_tc);
  EXPECT_FALSE(o.rope_attn);
  EXPECT_FALSE(o.qkv_cap);
  EXPECT_FALSE(o.argmax_keys);
  ::setenv("FS_CUDA_ENABLE", "persistent,warp-drive", 1);
  try {
    cuda_options_from_env();
    ADD_FAILURE() << "an unknown feature was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("FS_CUDA_ENABLE: unknown feature 'warp-drive'"), std::string::npos) << e.what();
  }
  ::unsetenv("FS_CUDA_ENABLE");
  ::unsetenv("FS_CUDA_DISABLE");
  EXPECT_FALSE(cuda_options_from_env().persistent);
  EXPECT_TRUE(cuda_options_from_env().wgmma);
}

TEST(CudaDecodeStepFallback, F32CacheRunsTheOps) {
  CudaOptions o;
  o.persistent = true;
  o.kv_dtype = DType::F32;  // the persistent kernel reads a bf16 cache only
  CudaBackend gpu(o);
  ModelOptions mo;
  mo.max_context = 64;
  auto m = Model::synthetic("qwen3-0.6b", gpu, mo);
  const int32_t ids[2] = {1, 2};
  m->forward(ids, 1);
  m->forward(ids + 1, 1);
  EXPECT_EQ(gpu.fused_steps(), 0);
  EXPECT_EQ(m->logits().size(), size_t(m->config().vocab_size));
}

}  // namespace
}  // namespace fs
