// Unicode normalization, written from UAX #15:
//   1. Decompose: replace each character by its full canonical (NFD) or compatibility (NFKD) decomposition;
//      Hangul syllables decompose arithmetically (S = 0xAC00 + (L·21 + V)·28 + T).
//   2. Canonical ordering: within each run of non-starters (combining class ≠ 0) sort stably by combining class.
//   3. (NFC/NFKC) Compose: walk the characters; a character C composes with the last starter S when there is a
//      primary composite for (S, C) and nothing between them blocks it (a blocker has a class of 0 or ≥ C's).
// The tables (unicode_data.inc) are two-level lookups for combining class and flags, plus sorted arrays for the
// decompositions and the composition pairs; all are generated, see tools/gen_unicode_tables.py.
#include "tokenizer/unicode_normalize.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenizer/utf8.h"

namespace fs::tok {
namespace {

struct Decomposition {
  uint32_t cp;
  uint16_t offset;
  uint8_t length;
};
struct CompositionPair {
  uint32_t first, second, composite;
};

#include "tokenizer/unicode_data.inc"

constexpr uint8_t kHasCanonical = 1, kHasCompat = 2, kComposesAsSecond = 4;
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t combining_class(char32_t cp) {
  return kCccBlocks[kCccIndex[cp >> kBlockShift]][cp & ((1u << kBlockShift) - 1)];
}
uint8_t flags(char32_t cp) {
  return kFlagsBlocks[kFlagsIndex[cp >> kBlockShift]][cp & ((1u << kBlockShift) - 1)];
}
bool is_hangul_syllable(char32_t cp) { return cp >= kSBase && cp < kSBase + kSCount; }

template <size_t N>
const Decomposition* find_decomposition(const Decomposition (&table)[N], char32_t cp) {
  const Decomposition* it =
      std::lower_bound(table, table + N, cp, [](const Decomposition& d, char32_t c) { return d.cp < c; });
  return it != table + N && it->cp == cp ? it : nullptr;
}

void decompose_char(char32_t cp, bool compat, std::vector<char32_t>& out) {
  if (is_hangul_syllable(cp)) {
    const int s = int(cp - kSBase);
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const uint8_t f = flags(cp);
  if (compat && (f & kHasCompat)) {
    const Decomposition* d = find_decomposition(kCompat, cp);
    out.insert(out.end(), kCompatData + d->offset, kCompatData + d->offset + d->length);
  } else if (f & kHasCanonical) {
    const Decomposition* d = find_decomposition(kCanonical, cp);
    out.insert(out.end(), kCanonicalData + d->offset, kCanonicalData + d->offset + d->length);
  } else {
    out.push_back(cp);
  }
}

// Stable sort of each maximal run of non-starters by combining class (insertion sort: runs are short).
void canonical_order(std::vector<char32_t>& cps) {
  for (size_t i = 1; i < cps.size(); ++i) {
    const uint8_t c = combining_class(cps[i]);
    if (c == 0) continue;
    size_t j = i;
    while (j > 0) {
      const uint8_t prev = combining_class(cps[j - 1]);
      if (prev == 0 || prev <= c) break;
      std::swap(cps[j - 1], cps[j]);
      --j;
    }
  }
}

// The primary composite of (first, second), or 0 when they do not compose.
char32_t compose_pair(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (is_hangul_syllable(first) && (first - kSBase) % kTCount == 0 && second > kTBase && second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const CompositionPair* end = kCompositions + std::size(kCompositions);
  const CompositionPair* it = std::lower_bound(kCompositions, end, std::pair(first, second),
                                               [](const CompositionPair& p, std::pair<char32_t, char32_t> k) {
                                                 return p.first != k.first ? p.first < k.first : p.second < k.second;
                                               });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

void compose(std::vector<char32_t>& cps) {
  if (cps.empty()) return;
  size_t starter = SIZE_MAX;  // index of the last starter in the output
  int last_class = -1;        // class of the last character appended to the output (-1: none since the starter)
  size_t out = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    const int cls = combining_class(c);
    if (starter != SIZE_MAX) {
      // Blocked when a character between the starter and C has class 0 or a class ≥ C's.
      const bool blocked = last_class != -1 && (last_class == 0 || last_class >= cls);
      if (!blocked) {
        if (const char32_t composite = compose_pair(cps[starter], c)) {
          cps[starter] = composite;
          continue;
        }
      }
    }
    if (cls == 0) {
      starter = out;
      last_class = -1;
    } else {
      last_class = cls;
    }
    cps[out++] = c;
  }
  cps.resize(out);
}

// Whether any character of s could change under the form: decomposes, has a non-zero class, or (NFC/NFKC)
// composes with what precedes it.
bool needs_work(std::string_view s, NormalForm form) {
  const bool compat = form == NormalForm::NFKC || form == NormalForm::NFKD;
  const bool composing = form == NormalForm::NFC || form == NormalForm::NFKC;
  const uint8_t mask = kHasCanonical | (compat ? kHasCompat : 0) | (composing ? kComposesAsSecond : 0);
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const char32_t cp = utf8_next(s, i);
    if ((flags(cp) & mask) || combining_class(cp) != 0) return true;
    if (!composing && is_hangul_syllable(cp)) return true;
  }
  return false;
}

}  // namespace

bool unicode_normalize(std::string_view s, NormalForm form, std::string& out) {
  if (!needs_work(s, form)) return false;
  const bool compat = form == NormalForm::NFKC || form == NormalForm::NFKD;
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) decompose_char(utf8_next(s, i), compat, cps);
  canonical_order(cps);
  if (form == NormalForm::NFC || form == NormalForm::NFKC) compose(cps);
  out.clear();
  out.reserve(s.size() + 8);
  for (char32_t cp : cps) utf8_append(out, cp);
  return true;
}

}  // namespace fs::tok
