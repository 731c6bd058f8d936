// The small ops against double-precision references: embed, rmsnorm, rope, kv_store, swiglu, argmax; and the
// vectorised e^x against std::exp.
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

// Elementwise f32 math (one rounding or a short chain of them per element) against double.
constexpr double kElementwiseTol = 1e-6;
// rmsnorm sums dim squares in f32 before the elementwise part.
constexpr double kRmsnormTol = 2e-6;

class OpsTest : public BothPathsTest {};

TEST_P(OpsTest, EmbedIsAnExactGather) {  // widening bf16/f16 to f32 is exact, so the tolerance is zero
  for (DType t : {DType::BF16, DType::F16, DType::F32})
    for (int dim : {1, 7, 64, 1000}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " dim=" + std::to_string(dim));
      const int vocab = 50;
      const OwnedWeight table = make_weight(t, vocab, dim, uint32_t(dim));
      const std::vector<int32_t> ids = {0, 49, 3, 3, 17, 0, 48, 1, 2, 5, 9, 11, 13, 21, 34, 40, 44};
      std::vector<float> out = poisoned(ids.size() * size_t(dim));
      cpu::embed(pool, table.w, ids.data(), int(ids.size()), out.data());
      for (size_t i = 0; i < ids.size(); ++i)
        for (int j = 0; j < dim; ++j)
          ASSERT_EQ(double(out[i * dim + j]), table.values[size_t(ids[i]) * dim + j]) << "token " << i;
    }
}

TEST_P(OpsTest, Rmsnorm) {
  uint32_t seed = 1;
  for (DType t : {DType::BF16, DType::F16, DType::F32})
    for (int dim : {1, 7, 64, 1000})
      for (int rows : {1, 3, 17}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " dim=" + std::to_string(dim) + " rows=" + std::to_string(rows));
        const float eps = 1e-6f;
        const OwnedWeight w = make_weight(t, 1, dim, seed++);
        const std::vector<float> x = random_floats(size_t(rows) * dim, seed++, 3.0f);
        std::vector<double> want(x.size());
        for (int r = 0; r < rows; ++r) {
          double ss = 0;
          for (int j = 0; j < dim; ++j) ss += double(x[r * dim + j]) * x[r * dim + j];
          const double inv = 1.0 / std::sqrt(ss / dim + eps);
          for (int j = 0; j < dim; ++j) want[r * dim + j] = x[r * dim + j] * inv * w.values[size_t(j)];
        }
        std::vector<float> out = poisoned(x.size());
        cpu::rmsnorm(pool, x.data(), w.w, eps, rows, dim, out.data());
        EXPECT_LT(rel_l2(out, want), kRmsnormTol);
        std::vector<float> in_place = x;  // out == x is allowed
        cpu::rmsnorm(pool, in_place.data(), w.w, eps, rows, dim, in_place.data());
        EXPECT_EQ(in_place, out);
      }
}

TEST_P(OpsTest, Rope) {
  uint32_t seed = 1;
  for (int head_dim : {2, 6, 64, 128})
    for (int n_heads : {1, 3})
      for (int n : {1, 3, 17}) {
        SCOPED_TRACE("head_dim=" + std::to_string(head_dim) + " heads=" + std::to_string(n_heads) +
                     " n=" + std::to_string(n));
        const int half = head_dim / 2;
        std::vector<float> inv_freq(static_cast<size_t>(half));
        for (int j = 0; j < half; ++j) inv_freq[j] = float(1.0 / std::pow(1e6, 2.0 * j / head_dim));
        std::vector<int32_t> pos(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) pos[i] = 1000 + 37 * i;  // not starting at 0, not consecutive
        std::vector<float> x = random_floats(size_t(n) * n_heads * head_dim, seed++);
        std::vector<double> want(x.size());
        for (int i = 0; i < n; ++i)
          for (int h = 0; h < n_heads; ++h)
            for (int j = 0; j < half; ++j) {
              // θ is the f32 product, as Hugging Face computes it; cos/sin of that θ in double.
              const double theta = double(float(pos[i]) * inv_freq[j]);
              const size_t a = (size_t(i) * n_heads + h) * head_dim + j, b = a + half;
              want[a] = x[a] * std::cos(theta) - x[b] * std::sin(theta);
              want[b] = x[b] * std::cos(theta) + x[a] * std::sin(theta);
            }
        cpu::rope(pool, x.data(), pos.data(), n, n_heads, head_dim, inv_freq.data());
        EXPECT_LT(rel_l2(x, want), kElementwiseTol);
      }
}

TEST_P(OpsTest, Swiglu) {
  for (size_t count : {size_t(1), size_t(7), size_t(1000), size_t(100003)}) {
    SCOPED_TRACE("count=" + std::to_string(count));
    std::vector<float> gate = random_floats(count, 3, 4.0f), up = random_floats(count, 4);
    if (count > 2) gate[0] = -100.f, gate[1] = 100.f;  // e^-x overflows / vanishes
    std::vector<double> want(count);
    for (size_t i = 0; i < count; ++i) want[i] = double(gate[i]) / (1.0 + std::exp(-double(gate[i]))) * up[i];
    std::vector<float> out = poisoned(count);
    cpu::swiglu(pool, gate.data(), up.data(), count, out.data());
    EXPECT_LT(rel_l2(out, want), kElementwiseTol);
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, OpsTest, ::testing::Values(true, false), path_name);

TEST(Embed, RejectsIdsOutsideTheVocabulary) {
  cpu::ThreadPool pool(1);
  const OwnedWeight table = make_weight(DType::BF16, 10, 4, 1);
  std::vector<float> out(8);
  const int32_t too_big[] = {1, 10}, negative[] = {-1};
  EXPECT_THROW(cpu::embed(pool, table.w, too_big, 2, out.data()), Error);
  EXPECT_THROW(cpu::embed(pool, table.w, negative, 1, out.data()), Error);
}

TEST(Rmsnorm, RejectsAWeightOfTheWrongLength) {
  cpu::ThreadPool pool(1);
  const OwnedWeight w = make_weight(DType::BF16, 1, 8, 1);
  std::vector<float> x(16, 1.f);
  EXPECT_THROW(cpu::rmsnorm(pool, x.data(), w.w, 1e-6f, 2, 16, x.data()), Error);
}

TEST(Rope, RejectsAnOddHeadDim) {
  cpu::ThreadPool pool(1);
  std::vector<float> x(6), inv(3);
  const int32_t pos = 0;
  EXPECT_THROW(cpu::rope(pool, x.data(), &pos, 1, 1, 5, inv.data()), Error);
}

TEST(KvStore, WritesExactlyTheGivenRows) {
  const int cap = 12, kv_dim = 5;
  std::vector<float> kc = poisoned(cap * kv_dim), vc = poisoned(cap * kv_dim);
  const KvLayer layer{kc.data(), vc.data(), DType::F32, cap, kv_dim};
  const std::vector<int32_t> pos = {7, 2, 11};
  const auto k = random_floats(pos.size() * kv_dim, 1), v = random_floats(pos.size() * kv_dim, 2);
  cpu::kv_store(k.data(), v.data(), pos.data(), int(pos.size()), layer);
  for (int row = 0; row < cap; ++row) {
    const auto it = std::find(pos.begin(), pos.end(), row);
    for (int e = 0; e < kv_dim; ++e) {
      if (it == pos.end()) {
        EXPECT_TRUE(std::isnan(kc[row * kv_dim + e])) << "row " << row << " was written";
      } else {
        const size_t i = size_t(it - pos.begin());
        EXPECT_EQ(kc[row * kv_dim + e], k[i * kv_dim + e]);
        EXPECT_EQ(vc[row * kv_dim + e], v[i * kv_dim + e]);
      }
    }
  }
}

TEST(KvStore, RejectsPositionsOutsideTheCache) {
  std::vector<float> kc(20), vc(20), k(5), v(5);
  const KvLayer layer{kc.data(), vc.data(), DType::F32, 4, 5};
  const int32_t past_end = 4, negative = -1;
  EXPECT_THROW(cpu::kv_store(k.data(), v.data(), &past_end, 1, layer), Error);
  EXPECT_THROW(cpu::kv_store(k.data(), v.data(), &negative, 1, layer), Error);
}

TEST(Argmax, FirstMaximumWinsAndNanNeverWins) {
  cpu::ThreadPool pool(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {1, 3, 3, 2,            // tie: the first 3
                                nan, -5, nan, -4,      // NaN ignored
                                -INFINITY, -INFINITY, -INFINITY, -INFINITY,  // all equal: index 0
                                0, 0, 0, 7};
  std::vector<int32_t> out(4, -1);
  cpu::argmax(pool, x.data(), 4, 4, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{1, 3, 0, 3}));
}

TEST(Argmax, ManyRowsAndAWideRow) {
  cpu::ThreadPool pool(2);
  const int rows = 300, cols = 1001;
  std::vector<float> x = random_floats(size_t(rows) * cols, 9);
  std::vector<int32_t> out(rows, -1);
  cpu::argmax(pool, x.data(), rows, cols, out.data());
  for (int r = 0; r < rows; ++r) {
    const float* row = x.data() + size_t(r) * cols;
    ASSERT_EQ(out[r], int32_t(std::max_element(row, row + cols) - row)) << "row " << r;
  }
}

// The vectorised e^x of the AVX2 path (exp_shifted with shift 0) against std::exp: within 2 ulp wherever the
// result is a normal float, exactly 0 / inf / NaN at the ends.
TEST(Simd, ExpIsWithinTwoUlpOfStdExp) {
  std::vector<float> x;
  for (float v = -90.f; v <= 90.f; v += 0.0037f) x.push_back(v);
  for (float v : {0.f, -0.f, 1e-8f, -1e-8f, 88.72283935546875f, 88.7228f, -87.3365f, -87.33655f, 200.f, -200.f,
                  INFINITY, -INFINITY})
    x.push_back(v);
  std::vector<float> got = x;
  const float sum = cpu::exp_shifted(got.data(), int64_t(got.size()), 0.f);
  double want_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    want_sum += want;
    if (std::isinf(want)) {
      EXPECT_EQ(got[i], want) << "x = " << x[i];
      continue;
    }
    if (want < std::numeric_limits<float>::min()) {  // subnormal results may flush to 0
      EXPECT_NEAR(got[i], want, 1e-37) << "x = " << x[i];
      continue;
    }
    const float ulp = std::nextafter(want, INFINITY) - want;
    ASSERT_LE(std::fabs(got[i] - want), 2 * ulp) << "x = " << x[i] << " got " << got[i] << " want " << want;
  }
  EXPECT_TRUE(std::isinf(sum) && std::isinf(want_sum));
  std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN()};
  cpu::exp_shifted(nan.data(), 1, 0.f);
  EXPECT_TRUE(std::isnan(nan[0]));
}

}  // namespace
}  // namespace fs::test
