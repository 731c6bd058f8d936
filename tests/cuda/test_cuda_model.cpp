// The whole model on the GPU against the golden vectors (Hugging Face, f32 math on bf16 weights) and against the
// CPU oracle, for every golden case and the demo model.
//
// Tolerances (relative L2), stated before measuring and why:
//   kModelTol 1e-2  logits of a prefill. The tensor-core GEMM rounds activations to bf16 (unit roundoff 2⁻⁹ ≈ 2e-3)
//                   before each prefill matmul, and the KV cache is bf16; the rounding of every matmul in every
//                   layer adds up, so a few × 2e-3 is expected and 1e-2 bounds it.
//   kDecodeTol 1e-2 logits of token-by-token decode (f32 GEMV, bf16 KV cache) against the CPU's decode.
// Greedy ids must equal HF's wherever HF's top-2 margin exceeds 0.1 (a 1e-2 relative error moves a logit of size
// ~3 by ~0.03, so only margins well above that are decided by the model rather than by rounding).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backends/cuda/cuda_backend.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "greedy_loop.h"
#include "test_util.h"

namespace fs {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr double kModelTol = 1e-2;
constexpr double kDecodeTol = 1e-2;
constexpr double kGreedyMargin = 0.1;

struct Case {
  std::string name, model_dir, golden_dir;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  const auto root = test::source_path("tests/golden");
  for (const auto& e : stdfs::directory_iterator(root)) {
    if (!stdfs::exists(e.path() / "golden.json")) continue;
    const json g = json::parse(test::read_text_file((e.path() / "golden.json").string()));
    const std::string model = g.contains("model_dir") ? test::source_path(g["model_dir"]) : e.path().string();
    out.push_back({e.path().filename().string(), model, e.path().string()});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

class CudaModel : public ::testing::TestWithParam<Case> {};

TEST_P(CudaModel, MatchesGoldenAndCpu) {
  const auto& c = GetParam();
  const json g = json::parse(test::read_text_file(c.golden_dir + "/golden.json"));
  const auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
  auto gpu = make_cuda_backend();
  auto cpu = make_cpu_backend(0);
  auto mg = Model::load(c.model_dir, *gpu, {});
  auto mc = Model::load(c.model_dir, *cpu, {});
  const size_t V = size_t(mg->config().vocab_size);

  // Prefill: every position against HF.
  mg->forward(prompt.data(), int(prompt.size()), true);
  const auto logits = mg->logits();
  const auto ref = test::read_f32_file(c.golden_dir + "/logits.f32");
  const double e_prefill = test::rel_l2(logits, ref);
  RecordProperty("prefill_rel_l2", std::to_string(e_prefill));
  std::printf("  %-14s prefill vs HF %.2e", c.name.c_str(), e_prefill);
  EXPECT_LT(e_prefill, kModelTol);

  // Decode the greedy sequence token by token on the GPU and the CPU: the default op-by-op decode, then the
  // persistent kernel (opt-in, decode_step.cu). Returns the worst step's error.
  auto seq = prompt;
  for (auto t : g["greedy_ids"]) seq.push_back(t.get<int32_t>());
  auto decode_vs_cpu = [&](Model& gpu_model) {
    gpu_model.reset();
    mc->reset();
    gpu_model.forward(prompt.data(), int(prompt.size()));
    mc->forward(prompt.data(), int(prompt.size()));
    double worst = 0;
    for (size_t i = prompt.size(); i < seq.size(); ++i) {
      gpu_model.forward(&seq[i], 1);
      mc->forward(&seq[i], 1);
      worst = std::max(worst, test::rel_l2(gpu_model.logits(), mc->logits()));
    }
    return worst;
  };
  const double worst = decode_vs_cpu(*mg);
  CudaOptions po;
  po.persistent = true;
  CudaBackend pgpu(po);
  auto mp = Model::load(c.model_dir, pgpu, {});
  const double worst_p = decode_vs_cpu(*mp);
  std::printf("   decode vs CPU (worst step) %.2e, persistent %.2e\n", worst, worst_p);
  EXPECT_LT(worst, kDecodeTol);
  EXPECT_LT(worst_p, kDecodeTol);
  EXPECT_EQ(pgpu.fused_steps(), long(seq.size() - prompt.size())) << "the persistent kernel did not run";

  // Greedy generation (argmax on the GPU) against HF's ids where the margin is clear.
  mg->reset();
  GenerateOptions opt;
  const auto want = g["greedy_ids"].get<std::vector<int32_t>>();
  const auto margins = g["greedy_margins"].get<std::vector<double>>();
  opt.max_new_tokens = int(want.size());
  std::vector<int32_t> got;
  generate(*mg, prompt, opt, [&](int32_t t) {
    got.push_back(t);
    return true;
  });
  for (size_t i = 0; i < want.size() && margins[i] > kGreedyMargin; ++i) EXPECT_EQ(got[i], want[i]) << "step " << i;
  // generate ran Model::greedy_decode (the token fed back on the GPU, read one step behind): exactly the tokens
  // and the position of the plain loop on the same GPU.
  const int pos_after = mg->position();
  EXPECT_EQ(got, test::greedy_token_loop(*mg, prompt, int(want.size())));
  EXPECT_EQ(pos_after, mg->position());
  (void)V;
}

// What fs serve and fs chat do between requests, on the GPU: greedy decoding stopped early by the caller (the step
// already queued for the next token is dropped), the cache rewound to a prefix the next prompt shares, and only the
// rest of that prompt prefilled. Every logit after that must be a fresh start's on the same GPU.
TEST_P(CudaModel, ARewoundCacheContinuesLikeAFreshStart) {
  const auto& c = GetParam();
  const json g = json::parse(test::read_text_file(c.golden_dir + "/golden.json"));
  const auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
  auto gpu = make_cuda_backend();
  auto m = Model::load(c.model_dir, *gpu, {});
  GenerateOptions opt;
  opt.max_new_tokens = 8;
  std::vector<int32_t> first;
  generate(*m, prompt, opt, [&](int32_t t) {
    first.push_back(t);
    return first.size() < 3;  // the caller stops after three tokens
  });
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(m->position(), int(prompt.size()) + 2);  // the last token was only sampled

  // The next prompt: the first half of this one, then other tokens; then three tokens decoded one by one.
  const size_t keep = std::max<size_t>(1, prompt.size() / 2);
  std::vector<int32_t> next(prompt.begin(), prompt.begin() + long(keep));
  next.insert(next.end(), first.begin(), first.end());
  next.insert(next.end(), prompt.rbegin(), prompt.rend());
  const std::vector<int32_t> extra = {prompt[0], first[1], prompt.back()};
  auto run = [&](bool reuse) {
    if (reuse)
      m->truncate(int(keep));
    else
      m->reset();
    const size_t from = reuse ? keep : 0;
    m->forward(next.data() + from, int(next.size() - from));
    std::vector<std::vector<float>> logits = {m->logits()};
    for (int32_t t : extra) {
      m->forward(&t, 1);
      logits.push_back(m->logits());
    }
    return logits;
  };
  const auto reused = run(true), fresh = run(false);
  for (size_t i = 0; i < fresh.size(); ++i) EXPECT_LT(test::rel_l2(reused[i], fresh[i]), kDecodeTol) << "step " << i;
}

INSTANTIATE_TEST_SUITE_P(Goldens, CudaModel, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace fs
