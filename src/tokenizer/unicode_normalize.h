// Unicode normalization forms (UAX #15) on UTF-8 text: NFD/NFKD decompose, NFC/NFKC decompose then compose.
// The data is Unicode 9.0.0, the version Hugging Face tokenizers normalizes with (see tools/gen_unicode_tables.py).
#pragma once
#include <string>
#include <string_view>

namespace fs::tok {

enum class NormalForm { NFC, NFD, NFKC, NFKD };

// Returns false (and leaves `out` untouched) when `s` is already in the requested form by a cheap scan, which is
// the common case: no character that decomposes, reorders or composes. Otherwise writes the normalized text.
bool unicode_normalize(std::string_view s, NormalForm form, std::string& out);

}  // namespace fs::tok
