// UTF-8 helpers for the tokenizer: validation, code-point iteration, and the lossy decoding that Hugging Face's
// decoders use (Rust's String::from_utf8_lossy).
//
// Lossy decoding replaces each "maximal subpart of an ill-formed subsequence" with one U+FFFD (Unicode §3.9,
// "U+FFFD substitution of maximal subparts"): a lead byte followed by the continuation bytes that are still
// valid for it, stopping at the first byte that cannot continue the sequence. Streaming detokenization needs to
// know where a byte string can be cut without changing that result, hence utf8_ends_mid_sequence().
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fs::tok {

constexpr char32_t kReplacementChar = 0xFFFD;

// Byte offset of the first byte of the first ill-formed sequence, or npos when `s` is valid UTF-8.
size_t utf8_first_invalid(std::string_view s);

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i past it.
inline char32_t utf8_next(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  auto cont = [&](size_t k) { return char32_t(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  char32_t cp;
  if (b0 < 0xE0) {
    cp = (char32_t(b0 & 0x1F) << 6) | cont(1);
    i += 2;
  } else if (b0 < 0xF0) {
    cp = (char32_t(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    i += 3;
  } else {
    cp = (char32_t(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    i += 4;
  }
  return cp;
}

// Number of bytes of the UTF-8 sequence that starts with lead byte b (1 for ASCII and for stray bytes).
inline size_t utf8_len(unsigned char b) { return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

void utf8_append(std::string& out, char32_t cp);

// Rust's String::from_utf8_lossy: valid sequences are copied, each maximal ill-formed subpart becomes U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// True when the lossy decoder would stop in the middle of a sequence at the end of `bytes` (e.g. "…\xF0\x9F"):
// more bytes could still complete it, so the text up to here is not final yet.
bool utf8_ends_mid_sequence(std::string_view bytes);

}  // namespace fs::tok
