// Turning logits into the next token.
//
// Greedy decoding takes the argmax. Sampling reshapes the distribution first, in Hugging Face's order:
//   1. repetition penalty: each token already in the context has its logit divided by `penalty` if positive,
//      multiplied if negative (the CTRL rule), so it becomes less likely;
//   2. temperature: logits / T (T < 1 sharpens, T > 1 flattens);
//   3. top-k: keep the k most likely tokens;
//   4. top-p (nucleus): keep the smallest set of most likely tokens whose probabilities sum to ≥ p;
//   5. min-p: drop tokens whose probability is below min_p × the top token's probability;
// then draws from the softmax of what is left with a seeded generator, so a seed makes runs reproducible.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/backend.h"

namespace fs {

struct SamplingParams {
  float temperature = 0.0f;  // 0 → greedy
  int top_k = 0;             // 0 → off
  float top_p = 1.0f;        // 1 → off
  float min_p = 0.0f;        // 0 → off
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool greedy() const { return temperature <= 0.0f; }
};

// Throws fs::Error naming the flag when a parameter is out of range.
void validate(const SamplingParams& p);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // Picks the next token from logits [vocab]; `context` holds the tokens seen so far (for the repetition penalty).
  // logits is modified (it is scratch).
  int32_t sample(std::span<float> logits, std::span<const int32_t> context);
  // The same draw from the head of the distribution alone (Backend::logit_window), where window() > 0: the token
  // sample() picks from the whole row (exactly, given the same denominator: the CPU oracle's is; a GPU sums in
  // another order, within 1e-5 by the test). Returns -1, having drawn nothing, where the window turns out too narrow
  // (fewer than top-k ids in it, or less than top-p of the mass): the caller then passes the whole row to sample().
  // w.cands is consumed.
  int32_t sample(LogitWindow& w);
  // How far below the largest z = logit / T a token can be and still be drawn, for Backend::logit_window; 0 where the
  // draw needs the whole row (greedy, no top-k / top-p / min-p cut, or a repetition penalty, applied on the host).
  float window() const;
  const SamplingParams& params() const { return p_; }

 private:
  // The cuts and the draw over the candidates in cand_. complete: cand_ holds every id; row: the largest z and the
  // denominator over the whole row, when known (a window); else they are computed from cand_.
  int32_t draw(bool complete, const LogitWindow* row);
  double uniform();  // [0, 1) with 53 random bits, identical on every platform
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;  // scratch: (logit, id)
};

// The CTRL repetition penalty in place (exposed for tests).
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context, float penalty);

}  // namespace fs
