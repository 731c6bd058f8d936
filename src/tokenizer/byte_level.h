// GPT-2's byte-level alphabet: every byte 0..255 is given a printable Unicode character so that a BPE vocabulary
// of ordinary strings can spell any byte sequence. Printable Latin-1 bytes keep their own code point ('!'..'~',
// '¡'..'¬', '®'..'ÿ'); the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) are numbered from U+0100 in
// byte order, so space 0x20 becomes 'Ġ' (U+0120) and newline 0x0A becomes 'Ċ' (U+010A).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/utf8.h"

namespace fs::tok {

struct ByteLevelAlphabet {
  std::array<char32_t, 256> char_of_byte{};
  std::array<int16_t, 0x144> byte_of_char{};  // all the characters are below U+0144; -1: not in the alphabet
  std::array<std::string, 256> utf8_of_byte;  // char_of_byte in UTF-8 (1 or 2 bytes)

  ByteLevelAlphabet() {
    byte_of_char.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char_of_byte[b] = printable ? char32_t(b) : next++;
      byte_of_char[char_of_byte[b]] = int16_t(b);
      utf8_append(utf8_of_byte[b], char_of_byte[b]);
    }
  }
  // -1 when cp is not one of the 256 characters.
  int byte_of(char32_t cp) const { return cp < byte_of_char.size() ? byte_of_char[cp] : -1; }
};

inline const ByteLevelAlphabet& byte_level_alphabet() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

// The byte-level spelling of raw bytes: each byte replaced by its character.
inline void byte_level_encode(std::string_view bytes, std::string& out) {
  const auto& a = byte_level_alphabet();
  out.clear();
  for (unsigned char b : bytes) out += a.utf8_of_byte[b];
}

}  // namespace fs::tok
