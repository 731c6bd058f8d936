// PCRE2 wrapper: compile once (JIT when the library has it), match from many threads. Each thread has its own
// match data; the JIT stack is PCRE2's default (32 KiB on the machine stack), enough for tokenizer patterns, whose
// repeats are single character classes. A match failure other than "no match" (a resource limit) is an error.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace fs::tok {

struct Regex::Impl {
  pcre2_code* code = nullptr;  // null for a literal pattern
  bool jit = false;
  std::string literal;
  ~Impl() { pcre2_code_free(code); }
};

std::string Regex::translate(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      const char next = p[i + 1];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += p[i];
        out += next;
      }
      ++i;  // an escaped character is copied as a pair, so "\\\\s" stays a backslash followed by 's'
    } else {
      out += p[i];
    }
  }
  return out;
}

Regex::Regex(std::string_view pattern, bool literal, const std::string& what) : impl_(new Impl), what_(what) {
  if (literal) {  // plain text: found with string_view::find, no regex engine needed
    if (pattern.empty()) throw Error(what + ": empty pattern");
    impl_->literal = pattern;
    return;
  }
  const std::string source = translate(pattern);
  // MULTILINE: Oniguruma's default (Ruby) syntax makes ^ and $ line anchors.
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | PCRE2_MULTILINE;
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &err,
                              &err_offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error(what + ": regex /" + std::string(pattern) + "/ does not compile: " +
                reinterpret_cast<const char*>(msg) + " (at offset " + std::to_string(err_offset) + ")");
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

void Regex::find_all(std::string_view text, FunctionRef<void(size_t, size_t)> on_match) const {
  if (!impl_->code) {
    const std::string& lit = impl_->literal;
    for (size_t at = text.find(lit); at != std::string_view::npos; at = text.find(lit, at + lit.size())) {
      on_match(at, at + lit.size());
    }
    return;
  }
  // One match block per thread, shared by all patterns: only the whole-match offsets are read, and they are
  // copied out before on_match runs (which may search again, with another pattern, on this thread).
  struct MatchData {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~MatchData() { pcre2_match_data_free(md); }
  };
  thread_local MatchData holder;
  pcre2_match_data* md = holder.md;
  if (!md) throw Error(what_ + ": out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  size_t last_end = SIZE_MAX;
  while (pos <= text.size()) {
    const int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, text.size(), pos, 0, md, nullptr)
                              : pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw Error(what_ + ": regex match failed: " + reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t start = ov[0], end = ov[1];
    if (start == end) {
      // Empty match: report it unless it touches the previous match, then step over one character.
      if (end != last_end) on_match(start, end);
      last_end = end;
      if (end >= text.size()) break;
      pos = end + utf8_len(static_cast<unsigned char>(text[end]));
      continue;
    }
    on_match(start, end);
    last_end = end;
    pos = end;
  }
}

}  // namespace fs::tok
