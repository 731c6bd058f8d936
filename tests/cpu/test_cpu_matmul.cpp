// matmul against a double-precision reference: every weight dtype, odd shapes, bias and accumulate, the AVX2 and
// the portable paths, and the GEMV (n = 1) and GEMM (n > 1) regimes.
#include <gtest/gtest.h>

#include <string>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "cpu_test_util.h"
#include "util/error.h"

namespace fs::test {
namespace {

// f32 accumulation over K ≤ ~1000 products of unit-variance numbers, compared with double: the error is a few
// f32 ulps times sqrt(K), far below this bound; a wrong index or a missed element is far above it.
constexpr double kMatmulTol = 1e-5;

struct Case {
  int n;
  int64_t rows, cols;
};

// out = (accumulate ? out0 : 0) + x · Wᵀ + bias, in double.
std::vector<double> reference(const std::vector<float>& x, int n, const OwnedWeight& w, const OwnedWeight* bias,
                              const std::vector<float>& out0, bool accumulate) {
  const int64_t N = w.w.rows, K = w.w.cols;
  std::vector<double> out(size_t(n * N));
  for (int t = 0; t < n; ++t)
    for (int64_t r = 0; r < N; ++r) {
      double s = accumulate ? out0[size_t(t * N + r)] : 0.0;
      if (bias) s += bias->values[size_t(r)];
      for (int64_t k = 0; k < K; ++k) s += double(x[size_t(t * K + k)]) * w.values[size_t(r * K + k)];
      out[size_t(t * N + r)] = s;
    }
  return out;
}

void check_case(cpu::ThreadPool& pool, const Case& c, DType wt, bool with_bias, DType bias_t, bool accumulate,
                uint32_t seed) {
  SCOPED_TRACE("n=" + std::to_string(c.n) + " W=[" + std::to_string(c.rows) + "," + std::to_string(c.cols) +
               "] " + dtype_name(wt) + (with_bias ? " bias " + std::string(dtype_name(bias_t)) : "") +
               (accumulate ? " accumulate" : "") + (cpu::use_avx2() ? " avx2" : " portable"));
  const OwnedWeight w = make_weight(wt, c.rows, c.cols, seed);
  const OwnedWeight b = make_weight(bias_t, 1, c.rows, seed + 1);
  const std::vector<float> x = random_floats(size_t(c.n * c.cols), seed + 2);
  std::vector<float> out = accumulate ? random_floats(size_t(c.n * c.rows), seed + 3)
                                      : poisoned(size_t(c.n * c.rows));
  const std::vector<double> want = reference(x, c.n, w, with_bias ? &b : nullptr, out, accumulate);
  cpu::matmul(pool, x.data(), c.n, w.w, with_bias ? &b.w : nullptr, out.data(), accumulate);
  EXPECT_LT(rel_l2(out, want), kMatmulTol);
}

// Shapes chosen to hit every edge: K below 16, K not a multiple of 16, K spanning several 1024-wide k-blocks with a
// ragged last block, N not a multiple of the row tiles (3 for GEMM, 8 for GEMV), n not a multiple of the token
// tile (3).
const Case kCases[] = {
    {1, 1, 1},     {1, 7, 5},    {1, 33, 16},  {1, 67, 1041}, {1, 258, 64},  {3, 5, 17},  {3, 31, 200},
    {17, 29, 47},  {17, 64, 1030}, {64, 37, 96}, {64, 10, 33},  {2, 13, 528},  {4, 3, 16},  {5, 200, 32},
    {5, 40, 2100}, {1, 50, 2100},
};

class MatmulTest : public BothPathsTest {};

TEST_P(MatmulTest, AllDtypesAndShapes) {
  uint32_t seed = 100;
  for (const Case& c : kCases)
    for (DType wt : {DType::BF16, DType::F16, DType::F32}) check_case(pool, c, wt, false, wt, false, seed++);
}

TEST_P(MatmulTest, BiasAndAccumulate) {
  uint32_t seed = 500;
  for (const Case& c : {Case{1, 45, 70}, Case{3, 22, 530}, Case{17, 40, 64}})
    for (DType wt : {DType::BF16, DType::F16, DType::F32})
      for (DType bt : {DType::BF16, DType::F32})
        for (bool bias : {false, true})
          for (bool acc : {false, true}) check_case(pool, c, wt, bias, bt, acc, seed++);
}

TEST_P(MatmulTest, LargerGemm) {  // several k-blocks and many row blocks shared between the threads
  check_case(pool, Case{64, 300, 1100}, DType::BF16, true, DType::BF16, true, 900);
  check_case(pool, Case{20, 97, 1536}, DType::F16, false, DType::F16, false, 901);
}

INSTANTIATE_TEST_SUITE_P(Paths, MatmulTest, ::testing::Values(true, false), path_name);

TEST(Matmul, RejectsBadArguments) {
  cpu::ThreadPool pool(1);
  const OwnedWeight w = make_weight(DType::BF16, 4, 8, 1);
  const OwnedWeight b = make_weight(DType::BF16, 1, 5, 2);
  std::vector<float> x(16), out(8);
  EXPECT_THROW(cpu::matmul(pool, x.data(), 2, w.w, &b.w, out.data(), false), Error);  // bias of 5 for 4 rows
  EXPECT_THROW(cpu::matmul(pool, x.data(), -1, w.w, nullptr, out.data(), false), Error);
  Weight empty = w.w;
  empty.cols = 0;
  EXPECT_THROW(cpu::matmul(pool, x.data(), 1, empty, nullptr, out.data(), false), Error);
}

TEST(Matmul, ZeroTokensTouchesNothing) {
  cpu::ThreadPool pool(2);
  const OwnedWeight w = make_weight(DType::BF16, 4, 8, 1);
  std::vector<float> out = poisoned(4);
  cpu::matmul(pool, nullptr, 0, w.w, nullptr, out.data(), false);
  EXPECT_TRUE(std::isnan(out[0]));
}

}  // namespace
}  // namespace fs::test
