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
