// Helpers for the CPU op tests: weights stored in any dtype, NaN-poisoned outputs, and the double-precision
// reference ops every test compares against.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "engine/backend.h"
#include "model/dtype.h"
#include "test_util.h"

namespace fs::test {

// The fixture of the op tests that run both code paths: the parameter turns the AVX2 kernels on (the test is
// skipped on a CPU without AVX2) or off (the portable path); ops run on a two-thread pool.
class BothPathsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    cpu::set_avx2_enabled(true);
    if (GetParam() && !cpu::use_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
    cpu::set_avx2_enabled(GetParam());
  }
  void TearDown() override { cpu::set_avx2_enabled(true); }
  cpu::ThreadPool pool{2};
};
// Names the two instantiations "avx2" and "portable".
inline std::string path_name(const ::testing::TestParamInfo<bool>& info) { return info.param ? "avx2" : "portable"; }

// A weight tensor that owns its bytes. `values` holds what the kernels will actually see (after rounding to the
// stored dtype), so the reference uses exactly the same numbers.
struct OwnedWeight {
  std::vector<uint8_t> bytes;
  std::vector<double> values;
  Weight w;
};

inline OwnedWeight make_weight(DType dtype, int64_t rows, int64_t cols, uint32_t seed, float scale = 1.0f) {
  OwnedWeight o;
  const std::vector<float> f = random_floats(size_t(rows * cols), seed, scale);
  o.bytes.resize(f.size() * dtype_size(dtype) + 1);  // +1: never a zero-sized buffer
  o.values.resize(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(o.bytes.data() + 4 * i, &f[i], 4);
    } else {
      const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(f[i]) : f32_to_f16(f[i]);
      std::memcpy(o.bytes.data() + 2 * i, &h, 2);
    }
    o.values[i] = load_as_f32(o.bytes.data(), dtype, i);
  }
  o.w = Weight{o.bytes.data(), dtype, rows, cols};
  return o;
}

inline std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()); }

inline double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  if (got.size() != want.size()) return 1e30;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den == 0 ? (num == 0 ? 0 : INFINITY) : std::sqrt(num / den);
}

}  // namespace fs::test
