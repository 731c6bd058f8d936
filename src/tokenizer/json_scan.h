// A small, strict JSON reader for the two big sections of tokenizer.json: model.vocab (an object of ~150k
// string → id entries) and model.merges (~150k–300k entries). nlohmann::json needs ~300 ms to build a DOM of an
// 11 MB file (~120 ms even through its SAX interface); this reader walks the text once with no allocation per
// value, and hands every other value to nlohmann as a raw slice, so the small parts keep a convenient DOM.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace fs::tok {

class JsonScanner {
 public:
  // `what` names the file in error messages.
  JsonScanner(std::string_view text, std::string what) : s_(text), what_(std::move(what)) {}

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool at_end() {
    skip_ws();
    return i_ >= s_.size();
  }
  char peek() {
    skip_ws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c);
  // Consumes c (after whitespace) if it is next.
  bool consume(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  // A string value. Returns a view into the input when it has no escapes; otherwise decodes into `buf` and
  // returns a view of it. Rejects control characters, bad escapes and lone surrogates.
  std::string_view string(std::string& buf);
  // A non-negative integer that fits int32.
  int32_t int32();
  // Skips any value and returns its raw text.
  std::string_view raw_value();

  // Iteration: `bool first = true; expect('{'); while (next_member(first, buf, key)) { ...value... }`
  // (arrays alike with '[' and next_element). `first` lives with the caller, so loops can nest.
  bool next_member(bool& first, std::string& key_buf, std::string_view& key);
  bool next_element(bool& first);

  [[noreturn]] void fail(const std::string& msg) const;
  size_t offset() const { return i_; }

 private:
  void skip_string();
  std::string_view s_;
  std::string what_;
  size_t i_ = 0;
};

}  // namespace fs::tok
