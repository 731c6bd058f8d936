// The sampler: greedy is the argmax; each filter keeps exactly the tokens it should; a seed reproduces a run.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "engine/sampler.h"
#include "util/error.h"

namespace fs {
namespace {

// Logits whose softmax is exactly the given probabilities.
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(float(std::log(x)));
  return l;
}

std::set<int32_t> support(SamplingParams p, const std::vector<double>& probs, int draws = 3000) {
  std::set<int32_t> seen;
  Sampler s(p);
  for (int i = 0; i < draws; ++i) {
    auto l = logits_of(probs);
    seen.insert(s.sample(l, {}));
  }
  return seen;
}

const std::vector<double> kProbs = {0.05, 0.4, 0.3, 0.15, 0.1};  // order by probability: 1, 2, 3, 4, 0

TEST(Sampler, GreedyIsArgmax) {
  Sampler s({});
  auto l = logits_of(kProbs);
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  SamplingParams p;
  p.temperature = 1;
  p.top_k = 2;
  EXPECT_EQ(support(p, kProbs), (std::set<int32_t>{1, 2}));
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  SamplingParams p;
  p.temperature = 1;
  p.top_p = 0.8f;  // 0.4 + 0.3 = 0.7 < 0.8, + 0.15 = 0.85 ≥ 0.8
  EXPECT_EQ(support(p, kProbs), (std::set<int32_t>{1, 2, 3}));
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheTop) {
  SamplingParams p;
  p.temperature = 1;
  p.min_p = 0.3f;  // floor 0.12: keeps 0.4, 0.3, 0.15
  EXPECT_EQ(support(p, kProbs), (std::set<int32_t>{1, 2, 3}));
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1;
  p.seed = 5;
  Sampler s(p);
  std::map<int32_t, int> count;
  const int N = 20000;
  for (int i = 0; i < N; ++i) {
    auto l = logits_of(kProbs);
    ++count[s.sample(l, {})];
  }
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(double(count[i]) / N, kProbs[size_t(i)], 0.015) << "token " << i;
}

TEST(Sampler, LowTemperatureApproachesGreedy) {
  SamplingParams p;
  p.temperature = 0.01f;  // the top two differ by log(4/3) = 0.29 in logit: 29 after scaling
  EXPECT_EQ(support(p, kProbs, 500), (std::set<int32_t>{1}));
}

TEST(Sampler, SameSeedSameTokens) {
  SamplingParams p;
  p.temperature = 1;
  p.seed = 42;
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) {
    auto la = logits_of(kProbs), lb = logits_of(kProbs);
    EXPECT_EQ(a.sample(la, {}), b.sample(lb, {}));
  }
}

// A vocabulary whose cuts lie far beyond the first sorted block (the sampler sorts only a growing prefix): Zipf
// probabilities p ∝ 1/(rank + 1) over 4,000 ids in a shuffled order. The draws must stay inside the cut that a full
// sort gives, and reach well past the first blocks of 64 and 256.
TEST(Sampler, CutsDeepInALargeVocabularyMatchAFullSort) {
  const int V = 4000;
  std::vector<int32_t> id_of_rank(V);
  for (int r = 0; r < V; ++r) id_of_rank[size_t(r)] = int32_t((r * 2749) % V);  // 2749 is prime to 4000
  std::vector<double> probs(V);
  double h = 0;
  for (int r = 0; r < V; ++r) h += 1.0 / (r + 1);
  for (int r = 0; r < V; ++r) probs[size_t(id_of_rank[size_t(r)])] = 1.0 / (r + 1) / h;
  std::vector<int> rank_of(V);
  for (int r = 0; r < V; ++r) rank_of[size_t(id_of_rank[size_t(r)])] = r;

  auto deepest = [&](SamplingParams p) {
    p.temperature = 1;
    int most = 0;
    for (int32_t id : support(p, probs)) most = std::max(most, rank_of[size_t(id)]);
    return most;
  };
  // Top-p 0.8: the shortest prefix of ranks whose mass reaches 0.8.
  int last = 0;
  for (double mass = 0; (mass += 1.0 / (last + 1) / h) < 0.8;) ++last;
  SamplingParams top_p;
  top_p.top_p = 0.8f;
  const int d = deepest(top_p);
  EXPECT_LE(d, last);
  EXPECT_GT(d, 256);
  // Min-p 0.002: ranks whose probability is at least 0.002 × the top's, 1/(r + 1) ≥ 0.002: r ≤ 499.
  SamplingParams min_p;
  min_p.min_p = 0.002f;
  const int m = deepest(min_p);
  EXPECT_LE(m, 499);
  EXPECT_GT(m, 256);
}

TEST(Sampler, RepetitionPenaltyFollowsTheCtrlRule) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f};
  const int32_t ctx[] = {0, 1, 1};
  apply_repetition_penalty(l, ctx, 2.0f);
  EXPECT_FLOAT_EQ(l[0], 1.0f);   // positive: divided
  EXPECT_FLOAT_EQ(l[1], -4.0f);  // negative: multiplied, once even though it appears twice
  EXPECT_FLOAT_EQ(l[2], 1.0f);   // not in the context
}

TEST(Sampler, BadParametersNameTheFlag) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.temperature = -1;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_THROW(validate(p), Error);
}

}  // namespace
}  // namespace fs
