#include "model/dtype.h"

#include <cmath>

namespace fs {

bool parse_dtype(std::string_view s, DType* out) {
  if (s == "F32") *out = DType::F32;
  else if (s == "F16") *out = DType::F16;
  else if (s == "BF16") *out = DType::BF16;
  else return false;
  return true;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  float f;
  if (exp == 0) {  // zero or subnormal: man · 2^-24
    f = std::ldexp(float(man), -24);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits |= sign;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (man << 13))              // inf / NaN
                            : (sign | ((exp + 112) << 23) | (man << 13));      // rebias 15 → 127
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.f) return sign | 0x7c00u;                       // overflow → inf
  if (a < 6.103515625e-05f) {                                    // subnormal range: round a · 2^24
    return sign | uint16_t(std::nearbyint(a * 16777216.f));
  }
  uint32_t u = bits & 0x7fffffffu;
  u += 0xfffu + ((u >> 13) & 1u);                                // round to nearest even at bit 13
  return sign | uint16_t(((u >> 23) - 112) << 10 | ((u >> 13) & 0x3ffu));
}

}  // namespace fs
