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

namespace {
// The softmax's maximum and denominator over n candidates. Helpers rather than loops in Sampler::draw: there the
// running maximum was the variable its `prob` lambda captures by reference, and GCC kept it in memory (a store and a
// reload a candidate: +0.25 ms over 152k, bench/results/2026-11-27-session20.log, part 7).
float largest(const std::pair<float, int32_t>* c, size_t n) {
  float m = c[0].first;
  for (size_t i = 1; i < n; ++i) m = c[i].first > m ? c[i].first : m;
  return m;
}
double sum_exp(const std::pair<float, int32_t>* c, size_t n, float top) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(std::exp(c[i].first - top));
  return s;
}
}  // namespace

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> context) {
  apply_repetition_penalty(logits, context, p_.repetition_penalty);
  if (p_.greedy()) return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  cand_.clear();
  for (size_t i = 0; i < logits.size(); ++i) cand_.emplace_back(logits[i] / p_.temperature, int32_t(i));
  return draw(/*complete=*/true, nullptr);
}

int32_t Sampler::sample(LogitWindow& w) {
  cand_.swap(w.cands);
  return cand_.empty() ? -1 : draw(w.complete, &w);
}

float Sampler::window() const {
  if (p_.greedy() || p_.repetition_penalty != 1.0f) return 0;
  // Min-p keeps exactly the ids with exp(z − max) ≥ min_p: its window is exact. Top-k and top-p take a window of 12
  // (a token there is e^-12 ≈ 6e-6 as likely as the top one), and fall back when it holds too little.
  if (p_.min_p > 0.0f) return -std::log(p_.min_p);
  return p_.top_k > 0 || p_.top_p < 1.0f ? 12.0f : 0.0f;
}

int32_t Sampler::draw(bool complete, const LogitWindow* row) {
  // Candidates (z = logit / T, id). Top-k, top-p and min-p each keep a prefix of the candidates sorted most likely
  // first, and such a prefix can be put in order without sorting the rest: only as much of the list is sorted as
  // the cuts need. Sorting all of a 152k vocabulary took ~14 ms a token (docs/sampling.md).
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < keep) {
    keep = size_t(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + long(keep), cand_.end(), by_logit);
    cand_.resize(keep);
    complete = true;  // the survivors are exactly these k
    row = nullptr;    // and the softmax is over them alone
  } else if (p_.top_k > 0 && !complete) {
    return -1;  // fewer than k ids in the window: the k-th lies outside it
  }
  // The softmax over the survivors needs only their largest logit and the sum (max-subtracted for stability).
  const float top = row ? row->max : largest(cand_.data(), keep);
  const double sum = row ? row->sum : sum_exp(cand_.data(), keep, top);
  auto prob = [&](size_t i) { return double(std::exp(cand_[i].first - top)) / sum; };
  const size_t survivors = keep;

  // Top-p: the shortest most-likely prefix whose mass reaches p (always at least one token). Min-p: the prefix of
  // tokens at least min_p × the top token's probability (1 / sum). The sorted prefix grows (64, 256, 1024, ...
  // candidates) until it holds the cut.
  if (p_.top_p < 1.0f || p_.min_p > 0.0f) {
    const double floor = p_.min_p / sum;
    size_t sorted = 0, i = 0;
    double mass = 0;
    bool cut = false;
    for (size_t want = std::min(keep, size_t(64));; want = std::min(keep, want * 4)) {
      // Sort the prefix up to `want`. Up to 4,096 candidates, one heap pass over the list (partial_sort: the heap
      // starts from the prefix already sorted, so most candidates lose their one comparison with its top at once);
      // beyond, a selection and a sort of the new block (nth_element is linear), so that even a cut that needs the
      // whole row (a flat distribution) costs about one sort, not a heap of 100k entries (15-18 against 40 ms).
      auto from = cand_.begin() + long(sorted), to = cand_.begin() + long(want), end = cand_.begin() + long(keep);
      if (want <= 4096) {
        std::partial_sort(cand_.begin(), to, end, by_logit);
      } else {
        if (to < end) std::nth_element(from, to, end, by_logit);
        std::sort(from, to, by_logit);
      }
      sorted = want;
      for (; i < sorted && !cut; ++i) {
        const double q = prob(i);
        if (i > 0 && q < floor) break;  // min-p: this token and every later one are dropped
        mass += q;
        cut = p_.top_p < 1.0f && mass >= p_.top_p;  // top-p: this token is the last one kept
      }
      if (cut || i < sorted || sorted == keep) break;
    }
    // A window without the top-p cut: the mass it misses may hold it. (Min-p's window holds its cut exactly.)
    if (!cut && i == keep && !complete && p_.min_p <= 0.0f) return -1;
    keep = std::max<size_t>(i, 1);
  }
  // One uniform draw over what is left, in the list's order (most likely first wherever a cut sorted it). The
  // survivors' probabilities sum to 1 when all of them are here; a cut, or a window, leaves less.
  double total = keep == survivors && complete ? 1.0 : 0.0;
  if (total == 0.0)
    for (size_t i = 0; i < keep; ++i) total += prob(i);
  double r = uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= prob(i);
    if (r < 0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace fs
