// UTF-8 validation and lossy decoding. One state machine serves all three entry points: it reports, for the
// sequence that starts at a byte, how many bytes form a valid character or how long the ill-formed maximal
// subpart is (Unicode Table 3-7, "Well-Formed UTF-8 Byte Sequences").
#include "tokenizer/utf8.h"

#include <cstring>

namespace fs::tok {
namespace {

struct Step {
  size_t len;     // bytes consumed
  bool valid;     // a whole, well-formed character
  bool truncated; // ill-formed only because the input ended (a valid prefix of a character)
};

// The allowed range of the second byte depends on the lead byte; later bytes are always 80..BF.
Step step(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {1, true, false};
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, false};  // 80..C1 (stray continuation, overlong lead) or F5..FF
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return {k, false, true};
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) return {k, false, false};
    lo = 0x80;
    hi = 0xBF;
  }
  return {need, true, false};
}

}  // namespace

size_t utf8_first_invalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, 8 bytes at a time: no byte has its top bit set.
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Step st = step(s, i);
    if (!st.valid) return i;
    i += st.len;
  }
  return std::string_view::npos;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const Step st = step(bytes, i);
    if (st.valid) {
      out.append(bytes.substr(i, st.len));
    } else {
      utf8_append(out, kReplacementChar);
    }
    i += st.len;
  }
  return out;
}

bool utf8_ends_mid_sequence(std::string_view bytes) {
  // Only the last character can be unfinished; look at most 3 bytes back for its lead byte.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<unsigned char>(bytes[n - back]);
    if (b < 0x80 || b >= 0xC0) {  // a lead byte (or ASCII): does its sequence run off the end?
      const Step st = step(bytes, n - back);
      return st.truncated;
    }
  }
  return false;  // only continuation bytes: each is its own ill-formed subpart, nothing pending
}

}  // namespace fs::tok
