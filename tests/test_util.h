// Helpers shared by every test binary: paths into the source tree, random data, error measures.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace fs::test {

// Absolute path of a file in the source tree, e.g. source_path("tests/golden/qwen3").
std::string source_path(const std::string& rel);
// Random f32 values, normal(0, scale), from a fixed seed so failures reproduce.
std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f);
// ‖a − b‖₂ / ‖b‖₂ (b is the reference). NaN anywhere gives +inf.
double rel_l2(const float* a, const float* b, size_t n);
inline double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() ? rel_l2(a.data(), b.data(), a.size()) : 1e30;
}
// Reads a whole little-endian f32 file.
std::vector<float> read_f32_file(const std::string& path);
std::string read_text_file(const std::string& path);

}  // namespace fs::test
