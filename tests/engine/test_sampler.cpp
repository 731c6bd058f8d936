// The sampler: greedy is the argmax; each filter keeps exactly the tokens it should; a seed reproduces a run.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "backends/cpu/ops.h"
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

// Zipf probabilities p ∝ 1/(rank + 1) over V ids in a shuffled order, and the rank of each id.
struct Zipf {
  std::vector<double> probs;
  std::vector<int> rank_of;
  double h = 0;  // the harmonic number: p(rank r) = 1 / (r + 1) / h
  explicit Zipf(int V) : probs(size_t(V)), rank_of(size_t(V)) {
    for (int r = 0; r < V; ++r) h += 1.0 / (r + 1);
    for (int r = 0; r < V; ++r) {
      const int id = int((int64_t(r) * 7919) % V);  // 7919 is prime, and prime to every V used here
      probs[size_t(id)] = 1.0 / (r + 1) / h;
      rank_of[size_t(id)] = r;
    }
  }
  int last_rank_of_top_p(double p) const {  // the shortest prefix of ranks whose mass reaches p
    int last = 0;
    for (double mass = 0; (mass += 1.0 / (last + 1) / h) < p;) ++last;
    return last;
  }
  int deepest_draw(SamplingParams p, int draws = 3000) const {
    p.temperature = 1;
    Sampler s(p);
    const auto logits = logits_of(probs);
    int most = 0;
    for (int i = 0; i < draws; ++i) {
      auto l = logits;
      most = std::max(most, rank_of[size_t(s.sample(l, {}))]);
    }
    return most;
  }
};

// Cuts far beyond the first sorted block (the sampler sorts only a growing prefix: a heap pass up to 4,096
// candidates, a selection beyond): the draws must stay inside the cut that a full sort gives, and reach past the
// blocks sorted before it.
TEST(Sampler, CutsDeepInALargeVocabularyMatchAFullSort) {
  const Zipf small(4000);
  SamplingParams top_p;
  top_p.top_p = 0.8f;
  const int d = small.deepest_draw(top_p);
  EXPECT_LE(d, small.last_rank_of_top_p(0.8));  // rank 680
  EXPECT_GT(d, 256);
  // Min-p 0.002: ranks whose probability is at least 0.002 × the top's, 1/(r + 1) ≥ 0.002: r ≤ 499.
  SamplingParams min_p;
  min_p.min_p = 0.002f;
  const int m = small.deepest_draw(min_p);
  EXPECT_LE(m, 499);
  EXPECT_GT(m, 256);
  // Top-p 0.9 of 20,000: the cut at rank ~7,000, past the heap's 4,096.
  const Zipf large(20000);
  top_p.top_p = 0.9f;
  const int dl = large.deepest_draw(top_p, 600);  // ~5% of the draws land past rank 4,096
  EXPECT_LE(dl, large.last_rank_of_top_p(0.9));
  EXPECT_GT(dl, 4096);
}

// The window a backend gathers (Backend::logit_window; here its CPU oracle) gives exactly the draws of the whole
// row, for every setting that cuts, on a vocabulary the size of Qwen3's.
TEST(Sampler, DrawsFromTheWindowAreTheWholeRowsDraws) {
  const int V = 151936;
  const auto row = [&](int step) {
    std::vector<float> l(V);
    std::mt19937 g{uint32_t(step)};
    std::normal_distribution<float> d(0.f, 3.f);
    for (float& x : l) x = d(g);
    return l;
  };
  struct Setting {
    float t, p, min_p;
    int k;
  };
  for (const Setting st : {Setting{0.6f, 0.9f, 0.f, 0}, Setting{0.6f, 0.95f, 0.f, 20}, Setting{0.8f, 1.f, 0.05f, 0},
                           Setting{1.f, 1.f, 0.f, 40}, Setting{1.5f, 0.99f, 0.f, 0}}) {
    SamplingParams p;
    p.temperature = st.t, p.top_p = st.p, p.min_p = st.min_p, p.top_k = st.k, p.seed = 9;
    Sampler whole(p), windowed(p);
    ASSERT_GT(windowed.window(), 0.f);
    for (int step = 0; step < 20; ++step) {
      auto l = row(step);
      LogitWindow w;
      ASSERT_TRUE(cpu::logit_window(l.data(), V, p.temperature, windowed.window(), 1 << 20, w));
      const int32_t a = windowed.sample(w);
      ASSERT_GE(a, 0) << "the window was too narrow";
      EXPECT_EQ(a, whole.sample(l, {})) << "T " << st.t << " top-p " << st.p << " step " << step;
    }
  }
}

TEST(Sampler, ATooNarrowWindowFallsBack) {
  // 100 ids at 0 and 49,900 at -13: a window of 12 holds 99.89% of the mass, and top-p 0.9995 needs more.
  std::vector<float> l(50000, -13.f);
  std::fill(l.begin(), l.begin() + 100, 0.f);
  SamplingParams p;
  p.temperature = 1, p.top_p = 0.9995f;
  Sampler s(p);
  LogitWindow w;
  ASSERT_TRUE(cpu::logit_window(l.data(), int(l.size()), 1.f, s.window(), 1 << 20, w));
  EXPECT_EQ(w.cands.size(), 100u);
  EXPECT_EQ(s.sample(w), -1);
  p.top_p = 0.99f;  // inside the window
  Sampler s2(p);
  ASSERT_TRUE(cpu::logit_window(l.data(), int(l.size()), 1.f, s2.window(), 1 << 20, w));
  EXPECT_LT(s2.sample(w), 100);
  p.top_p = 1, p.top_k = 200;  // the 200th id lies outside the window
  Sampler s3(p);
  ASSERT_TRUE(cpu::logit_window(l.data(), int(l.size()), 1.f, s3.window(), 1 << 20, w));
  EXPECT_EQ(s3.sample(w), -1);
  // No cut, or a repetition penalty: no window at all.
  p.top_k = 0;
  EXPECT_EQ(Sampler(p).window(), 0.f);
  p.top_p = 0.5f, p.repetition_penalty = 1.1f;
  EXPECT_EQ(Sampler(p).window(), 0.f);
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
