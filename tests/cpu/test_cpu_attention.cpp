// attention (with kv_store) against a double-precision reference: GQA ratios 1, 2, 4 and MQA, odd head sizes,
// positions that do not start at 0, unsorted positions, decode (n = 1) and prefill-sized batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "cpu_test_util.h"
#include "util/error.h"

namespace fs::test {
namespace {

// Scores are f32 dot products of length head_dim, softmax and the weighted sum are f32: a few ulps of relative
// error per output, against double.
constexpr double kAttentionTol = 1e-5;

struct Cache {
  int capacity, kv_dim;
  std::vector<float> k, v;
  KvLayer layer() { return KvLayer{k.data(), v.data(), DType::F32, capacity, kv_dim}; }
};

// Rows 0..filled-1 random, the rest NaN: reading a row a query must not see would poison its output.
Cache make_cache(int capacity, int kv_dim, int filled, uint32_t seed) {
  Cache c{capacity, kv_dim, poisoned(size_t(capacity) * kv_dim), poisoned(size_t(capacity) * kv_dim)};
  const auto k = random_floats(size_t(filled) * kv_dim, seed), v = random_floats(size_t(filled) * kv_dim, seed + 1);
  std::copy(k.begin(), k.end(), c.k.begin());
  std::copy(v.begin(), v.end(), c.v.begin());
  return c;
}

std::vector<double> reference(const std::vector<float>& q, const Cache& c, const std::vector<int32_t>& pos,
                              int n_heads, int n_kv_heads, int d) {
  const int n = int(pos.size()), group = n_heads / n_kv_heads;
  std::vector<double> out(size_t(n) * n_heads * d, 0.0);
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < n_heads; ++h) {
      const int g = h / group;
      const float* qh = q.data() + (size_t(i) * n_heads + h) * d;
      std::vector<double> s(size_t(pos[i]) + 1);
      for (int j = 0; j <= pos[i]; ++j) {
        double dot = 0;
        for (int e = 0; e < d; ++e) dot += double(qh[e]) * c.k[size_t(j) * c.kv_dim + size_t(g) * d + e];
        s[size_t(j)] = dot / std::sqrt(double(d));
      }
      const double m = *std::max_element(s.begin(), s.end());
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - m));
      double* o = out.data() + (size_t(i) * n_heads + h) * d;
      for (int j = 0; j <= pos[i]; ++j)
        for (int e = 0; e < d; ++e) o[e] += s[size_t(j)] / sum * c.v[size_t(j) * c.kv_dim + size_t(g) * d + e];
    }
  return out;
}

void check(cpu::ThreadPool& pool, int n_heads, int n_kv_heads, int d, const std::vector<int32_t>& pos, int capacity,
           uint32_t seed) {
  const int max_pos = *std::max_element(pos.begin(), pos.end());
  SCOPED_TRACE("heads=" + std::to_string(n_heads) + "/" + std::to_string(n_kv_heads) + " d=" + std::to_string(d) +
               " n=" + std::to_string(pos.size()) + " max_pos=" + std::to_string(max_pos) +
               (cpu::use_avx2() ? " avx2" : " portable"));
  Cache c = make_cache(capacity, n_kv_heads * d, max_pos + 1, seed);
  const std::vector<float> q = random_floats(pos.size() * size_t(n_heads) * d, seed + 2, 0.5f);
  std::vector<float> out = poisoned(q.size());
  cpu::attention(pool, q.data(), c.layer(), pos.data(), int(pos.size()), n_heads, n_kv_heads, d, out.data());
  EXPECT_LT(rel_l2(out, reference(q, c, pos, n_heads, n_kv_heads, d)), kAttentionTol);
}

std::vector<int32_t> range(int first, int n) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = first + i;
  return p;
}

class AttentionTest : public BothPathsTest {};

TEST_P(AttentionTest, GqaRatios) {
  uint32_t seed = 10;
  for (auto [h, kvh] : {std::pair{4, 4}, {4, 2}, {8, 2}, {6, 1}, {3, 1}})
    for (int d : {20, 64}) {
      check(pool, h, kvh, d, {0}, 8, seed++);                       // the very first token
      check(pool, h, kvh, d, {37}, 64, seed++);                     // decode deep into the cache
      check(pool, h, kvh, d, range(0, 17), 32, seed++);             // prefill from 0
      check(pool, h, kvh, d, range(11, 3), 20, seed++);             // a second prefill chunk
    }
}

TEST_P(AttentionTest, ArbitraryPositions) {  // nothing may assume pos[i] = i or sorted positions
  check(pool, 4, 2, 24, {5, 0, 9, 9, 2, 30}, 40, 77);
  check(pool, 2, 1, 128, {63}, 64, 78);  // the last row of the cache
}

TEST_P(AttentionTest, PrefillSized) { check(pool, 8, 2, 128, range(100, 64), 200, 99); }

INSTANTIATE_TEST_SUITE_P(Paths, AttentionTest, ::testing::Values(true, false), path_name);

TEST(Attention, ReadsWhatKvStoreWrote) {
  cpu::ThreadPool pool(2);
  const int n_heads = 4, n_kv = 2, d = 16, cap = 24, kv_dim = n_kv * d;
  Cache c = make_cache(cap, kv_dim, 0, 1);  // all NaN
  const std::vector<int32_t> pos = range(0, 10);
  const auto k = random_floats(pos.size() * kv_dim, 5), v = random_floats(pos.size() * kv_dim, 6);
  cpu::kv_store(k.data(), v.data(), pos.data(), int(pos.size()), c.layer());
  const std::vector<float> q = random_floats(pos.size() * n_heads * d, 7);
  std::vector<float> out = poisoned(q.size());
  cpu::attention(pool, q.data(), c.layer(), pos.data(), int(pos.size()), n_heads, n_kv, d, out.data());
  EXPECT_LT(rel_l2(out, reference(q, c, pos, n_heads, n_kv, d)), kAttentionTol);
}

TEST(Attention, RejectsBadArguments) {
  cpu::ThreadPool pool(1);
  Cache c = make_cache(8, 32, 8, 1);
  std::vector<float> q(64), out(64);
  const int32_t good = 3, past_end = 8, negative = -1;
  EXPECT_THROW(cpu::attention(pool, q.data(), c.layer(), &past_end, 1, 2, 2, 16, out.data()), Error);
  EXPECT_THROW(cpu::attention(pool, q.data(), c.layer(), &negative, 1, 2, 2, 16, out.data()), Error);
  EXPECT_THROW(cpu::attention(pool, q.data(), c.layer(), &good, 1, 3, 2, 16, out.data()), Error);  // 3 % 2
  EXPECT_THROW(cpu::attention(pool, q.data(), c.layer(), &good, 1, 4, 4, 16, out.data()), Error);  // kv_dim
  KvLayer f16 = c.layer();
  f16.dtype = DType::F16;
  EXPECT_THROW(cpu::attention(pool, q.data(), f16, &good, 1, 2, 2, 16, out.data()), Error);
}

}  // namespace
}  // namespace fs::test
