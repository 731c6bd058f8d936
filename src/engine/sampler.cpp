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

  // Candidates sorted by logit, most likely first. Top-k cuts the list before the sort when it can.
  cand_.clear();
  for (size_t i = 0; i < logits.size(); ++i) cand_.emplace_back(logits[i] / p_.temperature, int32_t(i));
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < keep) {
    keep = size_t(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), by_logit);
    cand_.resize(keep);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax over the survivors (max-subtracted for stability).
  const float top = cand_[0].first;
  std::vector<double> prob(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += prob[i] = std::exp(double(cand_[i].first - top));
  for (auto& x : prob) x /= sum;
  // Top-p: the shortest prefix whose mass reaches p (always at least one token).
  if (p_.top_p < 1.0f) {
    double mass = 0;
    size_t n = 0;
    while (n < keep && mass < p_.top_p) mass += prob[n++];
    keep = std::max<size_t>(n, 1);
  }
  // Min-p: relative to the most likely token.
  if (p_.min_p > 0.0f) {
    const double floor = p_.min_p * prob[0];
    size_t n = 1;
    while (n < keep && prob[n] >= floor) ++n;
    keep = n;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += prob[i];
  double r = uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= prob[i];
    if (r < 0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace fs
