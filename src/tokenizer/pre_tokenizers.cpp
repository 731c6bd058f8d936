// Pre-tokenizers cut normalized text into pieces; BPE then runs on each piece alone, so merges never cross a
// piece boundary. Supported: Split (regex or string, all five delimiter behaviours, invert), ByteLevel, Metaspace,
// Digits, Sequence.
//
// Split follows Hugging Face: find every non-overlapping match; the text becomes alternating gaps and matches,
// (with invert, matches and gaps swap roles) and the behaviour decides what becomes a piece:
//   Isolated            every gap and every match is its own piece      "a, b" /,/ → "a" "," " b"
//   Removed             gaps only                                        → "a" " b"
//   MergedWithPrevious  a match joins the gap before it                  → "a," " b"
//   MergedWithNext      a match joins the gap after it                   → "a" ", b"
//   Contiguous          consecutive matches (and consecutive gaps) fuse
// Empty pieces are dropped.
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace fs::tok {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  fail(where, "unknown split behavior \"" + name + "\"");
}

struct Span {
  size_t start, end;
  bool is_match;
};

// The behaviour's pieces from the gap/match spans, in order.
std::vector<Span> apply_behavior(const std::vector<Span>& spans, Behavior behavior) {
  std::vector<Span> out;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Isolated:
      return spans;
    case Behavior::Removed:
      for (const Span& s : spans) {
        if (!s.is_match) out.push_back(s);
      }
      return out;
    case Behavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    case Behavior::MergedWithNext:
      for (size_t k = spans.size(); k-- > 0;) {
        const Span& s = spans[k];
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().start = s.start;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return {out.rbegin(), out.rend()};
    case Behavior::Contiguous:
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
  }
  return out;
}

// Regex split with a behaviour; the Isolated, non-inverted case (every modern byte-level tokenizer) streams the
// pieces straight from the matcher without building the span list.
void regex_split(const Regex& regex, Behavior behavior, bool invert, std::string_view text, bool first,
                 PieceSink sink) {
  if (text.empty()) return;
  if (behavior == Behavior::Isolated) {
    size_t prev = 0;
    regex.find_all(text, [&](size_t start, size_t end) {
      if (start > prev) sink(text.substr(prev, start - prev), first && prev == 0);
      if (end > start) sink(text.substr(start, end - start), first && start == 0);
      prev = end;
    });
    if (prev < text.size()) sink(text.substr(prev), first && prev == 0);
    return;
  }
  std::vector<Span> spans;
  size_t prev = 0;
  regex.find_all(text, [&](size_t start, size_t end) {
    if (start != prev) spans.push_back({prev, start, invert});
    spans.push_back({start, end, !invert});
    prev = end;
  });
  if (prev != text.size()) spans.push_back({prev, text.size(), invert});
  for (const Span& s : apply_behavior(spans, behavior)) {
    if (s.end > s.start) sink(text.substr(s.start, s.end - s.start), first && s.start == 0);
  }
}

class Split : public PreTokenizer {
 public:
  Split(const Json& j, const std::string& where) : Split(j, pattern_field(j, where), where) {}
  Split(const Json& j, const std::pair<std::string, bool>& pattern, const std::string& where)
      : regex_(pattern.first, !pattern.second, where + " Split"),
        behavior_(parse_behavior(string_field(j, "behavior", where), where)),
        invert_(bool_field(j, "invert", false, where)) {}
  void split(std::string_view text, bool first, PieceSink sink) const override {
    regex_split(regex_, behavior_, invert_, text, first, sink);
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(const Json& j, const std::string& where)
      : add_prefix_space_(bool_field(j, "add_prefix_space", true, where)),
        use_regex_(bool_field(j, "use_regex", true, where)) {
    if (use_regex_) regex_ = std::make_unique<Regex>(kGpt2Pattern, false, where + " ByteLevel");
  }
  void split(std::string_view text, bool first, PieceSink sink) const override {
    std::string prefixed;
    if (add_prefix_space_ && !text.empty() && text[0] != ' ') {
      prefixed = " ";
      prefixed += text;
      text = prefixed;
    }
    std::string mapped;
    auto emit = [&](std::string_view piece, bool f) {
      if (!map_bytes_) return sink(piece, f);
      byte_level_encode(piece, mapped);
      sink(mapped, f);
    };
    if (use_regex_) {
      regex_split(*regex_, Behavior::Isolated, false, text, first, emit);
    } else if (!text.empty()) {
      emit(text, first);
    }
  }
  bool defer_byte_mapping() override {
    map_bytes_ = false;
    return true;
  }

 private:
  bool add_prefix_space_, use_regex_;
  bool map_bytes_ = true;
  std::unique_ptr<Regex> regex_;
};

// SentencePiece's whitespace handling as a pre-tokenizer: spaces become the replacement ("▁"), one may be
// prepended, and (split: true) the text is cut before each replacement character.
class Metaspace : public PreTokenizer {
 public:
  Metaspace(const Json& j, const std::string& where) {
    const char32_t rep = char_field(j, "replacement", where);
    utf8_append(replacement_, rep);
    if (j.contains("prepend_scheme")) {
      const std::string scheme = string_field(j, "prepend_scheme", where);
      if (scheme == "always") {
        scheme_ = Scheme::Always;
      } else if (scheme == "first") {
        scheme_ = Scheme::First;
      } else if (scheme == "never") {
        scheme_ = Scheme::Never;
      } else {
        fail(where, "unknown Metaspace prepend_scheme \"" + scheme + "\"");
      }
    } else {
      scheme_ = bool_field(j, "add_prefix_space", true, where) ? Scheme::Always : Scheme::Never;
    }
    split_ = bool_field(j, "split", true, where);
    regex_ = std::make_unique<Regex>(replacement_, true, where + " Metaspace");
  }
  void split(std::string_view text, bool first, PieceSink sink) const override {
    std::string s;
    s.reserve(text.size() + replacement_.size());
    for (char c : text) {
      if (c == ' ') {
        s += replacement_;
      } else {
        s += c;
      }
    }
    const bool prepend = scheme_ == Scheme::Always || (scheme_ == Scheme::First && first);
    if (prepend && s.compare(0, replacement_.size(), replacement_) != 0) s.insert(0, replacement_);
    if (split_) {
      regex_split(*regex_, Behavior::MergedWithNext, false, s, first, sink);
    } else if (!s.empty()) {
      sink(s, first);
    }
  }

 private:
  enum class Scheme { Always, First, Never };
  std::string replacement_;
  Scheme scheme_ = Scheme::Always;
  bool split_ = true;
  std::unique_ptr<Regex> regex_;
};

// Digits: each numeric character (Unicode N: Nd, Nl, No) alone, or runs of them together.
class Digits : public PreTokenizer {
 public:
  Digits(const Json& j, const std::string& where)
      : regex_("\\p{N}", false, where + " Digits"),
        behavior_(bool_field(j, "individual_digits", false, where) ? Behavior::Isolated : Behavior::Contiguous) {}
  void split(std::string_view text, bool first, PieceSink sink) const override {
    regex_split(regex_, behavior_, false, text, first, sink);
  }

 private:
  Regex regex_;
  Behavior behavior_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::string_view text, bool first, PieceSink sink) const override { run(0, text, first, sink); }
  bool defer_byte_mapping() override { return !steps_.empty() && steps_.back()->defer_byte_mapping(); }

 private:
  void run(size_t k, std::string_view text, bool first, PieceSink sink) const {
    if (k == steps_.size()) return sink(text, first);
    steps_[k]->split(text, first, [&](std::string_view piece, bool f) { run(k + 1, piece, f, sink); });
  }
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where) {
  const std::string type = type_of(j, where);
  if (type == "Split") return std::make_unique<Split>(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, where);
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, where);
  if (type == "Digits") return std::make_unique<Digits>(j, where);
  if (type == "Sequence") {
    const Json& list = field(j, "pretokenizers", where);
    if (!list.is_array()) fail(where, "field \"pretokenizers\" must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const Json& item : list) steps.push_back(make_pre_tokenizer(item, where));
    return std::make_unique<SequencePre>(std::move(steps));
  }
  fail_unsupported(where, type);
}

}  // namespace fs::tok
