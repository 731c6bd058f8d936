// The regular expressions of tokenizer.json (Split pre-tokenizer, Replace normalizer/decoder), run by PCRE2.
//
// Hugging Face compiles these with Oniguruma; PCRE2 with PCRE2_UTF | PCRE2_UCP agrees with it on the constructs
// tokenizer files use (\p{L}, \p{N}, (?i:...) with Unicode case folding, lookahead), except that PCRE2's \s also
// matches U+180E MONGOLIAN VOWEL SEPARATOR, which stopped being White_Space in Unicode 6.3. We therefore rewrite
// \s and \S to \p{White_Space} and \P{White_Space}, Oniguruma's definition.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/function_ref.h"

namespace fs::tok {

class Regex {
 public:
  // `literal`: match `pattern` as plain text (Hugging Face's {"String": ...} patterns). Throws fs::Error with
  // `what` (e.g. "tokenizer.json: pre_tokenizer Split pattern") and PCRE2's message when it does not compile.
  Regex(std::string_view pattern, bool literal, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(start, end) for every non-overlapping match, left to right, like Rust's find_iter: after an
  // empty match the search resumes one character later, and an empty match right where the previous match
  // ended is skipped. `text` must be valid UTF-8 (not re-checked).
  void find_all(std::string_view text, FunctionRef<void(size_t, size_t)> on_match) const;

  // Rewrites \s and \S as described above; exposed for the tests.
  static std::string translate(std::string_view pattern);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string what_;
};

}  // namespace fs::tok
