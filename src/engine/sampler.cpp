#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "util/error.h"

namespace fs {

void validate(const SamplingParams& p) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) throw Error("--temp must be ≥ 0");
  if (p.top_k < 0) throw Error("--top-k must be ≥ 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) throw Error("--top-p must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) throw Error("--min-p must be in [0, 1]");
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    throw Error("--repeat-penalty must be > 0");
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<int32_t> seen(context.begin(), context.end());  // each token penalised once
  for (int32_t id : seen) {
    if (id < 0 || size_t(id) >= logits.size()) continue;
    float& l = logits[size_t(id)];
    l = l > 0 ? l / penalty : l * penalty;
  }
}

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) { validate(p); }

double Sampler::uniform() { return double(rng_() >> 11) * (1.0 / 9007199254740992.0); }

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> context) {
  apply_repetition_penalty(logits, context, p_.repetition_penalty);
  if (p_.greedy()) return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());

  // Candidates (logit / T, id). Top-k, top-p and min-p each keep a prefix of the candidates sorted most likely
  // first, and such a prefix can be put in order without sorting the rest (partial_sort): only as much of the list
  // is sorted as the cuts need. Sorting all of a 152k vocabulary took ~14 ms a token (docs/sampling.md).
  cand_.clear();
  for (size_t i = 0; i < logits.size(); ++i) cand_.emplace_back(logits[i] / p_.temperature, int32_t(i));
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < keep) {
    keep = size_t(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + long(keep), cand_.end(), by_logit);
    cand_.resize(keep);
  }
  // The softmax over the survivors needs only their largest logit and the sum (max-subtracted for stability).
  float top = cand_[0].first;
  for (size_t i = 1; i < keep; ++i) top = std::max(top, cand_[i].first);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += double(std::exp(cand_[i].first - top));
  auto prob = [&](size_t i) { return double(std::exp(cand_[i].first - top)) / sum; };
  const size_t survivors = keep;

  // Top-p: the shortest most-likely prefix whose mass reaches p (always at least one token). Min-p: the prefix of
  // tokens at least min_p × the top token's probability (1 / sum). The sorted prefix grows until it holds the cut.
  if (p_.top_p < 1.0f || p_.min_p > 0.0f) {
    const double floor = p_.min_p / sum;
    size_t sorted = std::min(keep, size_t(64)), i = 0;
    double mass = 0;
    bool cut = false;
    for (;;) {
      std::partial_sort(cand_.begin(), cand_.begin() + long(sorted), cand_.begin() + long(keep), by_logit);
      for (; i < sorted && !cut; ++i) {
        const double q = prob(i);
        if (i > 0 && q < floor) break;  // min-p: this token and every later one are dropped
        mass += q;
        cut = p_.top_p < 1.0f && mass >= p_.top_p;  // top-p: this token is the last one kept
      }
      if (cut || i < sorted || sorted == keep) break;
      sorted = std::min(keep, sorted * 4);
    }
    keep = std::max<size_t>(i, 1);
  }
  // One uniform draw over what is left, in the list's order (most likely first wherever a cut sorted it). The
  // survivors' probabilities sum to 1; only a top-p or min-p cut leaves less.
  double total = keep == survivors ? 1.0 : 0.0;
  if (keep < survivors)
    for (size_t i = 0; i < keep; ++i) total += prob(i);
  double r = uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= prob(i);
    if (r < 0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace fs
