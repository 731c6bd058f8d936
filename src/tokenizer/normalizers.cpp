// Normalizers: whole-string rewrites applied to each stretch of input text between added tokens, before
// pre-tokenization. Supported: NFC, NFD, NFKC, NFKD, Prepend, Replace (string or regex), Strip, Sequence.
//   NFC        canonical composition (Qwen's: "e" + U+0301 becomes "é"), see unicode_normalize.cpp
//   Prepend    SentencePiece-style models (Llama 2) put "▁" in front of the text...
//   Replace    ...and turn every " " into "▁", so a word's token carries its leading space
#include <string>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode_normalize.h"
#include "tokenizer/utf8.h"

namespace fs::tok {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string& s) const override {
    std::string out;
    if (unicode_normalize(s, form_, out)) s.swap(out);
  }

 private:
  NormalForm form_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prefix_);  // Hugging Face leaves an empty string empty
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(const std::string& pattern, bool is_regex, std::string content, const std::string& where)
      : regex_(pattern, !is_regex, where), content_(std::move(content)) {}
  void normalize(std::string& s) const override {
    std::string out;
    size_t done = 0;
    regex_.find_all(s, [&](size_t start, size_t end) {
      out.append(s, done, start - done);
      out += content_;
      done = end;
    });
    if (done == 0 && out.empty()) return;  // no match
    out.append(s, done, std::string::npos);
    s.swap(out);
  }

 private:
  Regex regex_;
  std::string content_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t begin = 0, end = s.size();
    if (left_) {
      size_t i = 0;
      while (i < s.size()) {
        size_t next = i;
        if (!is_white_space(utf8_next(s, next))) break;
        i = next;
      }
      begin = i;
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!is_white_space(utf8_next(s, i))) break;
        end = start;
      }
    }
    s = s.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& s) const override {
    for (const auto& step : steps_) step->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where) {
  const std::string type = type_of(j, where);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
  if (type == "Prepend") return std::make_unique<Prepend>(string_field(j, "prepend", where));
  if (type == "Replace") {
    auto [pattern, is_regex] = pattern_field(j, where + " Replace");
    if (pattern.empty()) fail(where, "Replace with an empty pattern is not supported");
    return std::make_unique<Replace>(pattern, is_regex, string_field(j, "content", where), where + " Replace");
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(bool_field(j, "strip_left", false, where),
                                   bool_field(j, "strip_right", false, where));
  }
  if (type == "Sequence") {
    const Json& list = field(j, "normalizers", where);
    if (!list.is_array()) fail(where, "field \"normalizers\" must be an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const Json& item : list) steps.push_back(make_normalizer(item, where));
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  fail_unsupported(where, type);
}

}  // namespace fs::tok
