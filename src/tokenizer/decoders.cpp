// Decoders turn token strings back into text. Supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace,
// Sequence, and the space join Hugging Face uses when there is no decoder.
//
//   Llama 2 (SentencePiece style):  "▁Hello" "<0xF0>" "<0x9F>" "<0x98>" "<0x80>"
//     Replace ▁→" "      " Hello" "<0xF0>" ...          ByteFallback  " Hello" "😀"
//     Fuse               " Hello😀"                     Strip (1 leading " ")  "Hello😀"
//   Qwen / Llama 3 (byte level):    "Hello" "Ġworld"  →  ByteLevel maps each character back to its byte and
//     decodes the bytes as UTF-8, lossily (U+FFFD for ill-formed bytes): "Hello world"
//
// Every step also answers cut_is_clean() for streaming (components.h); the reasons are given step by step.
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace fs::tok {
namespace {

// ByteLevel: a token whose characters are all in the byte alphabet gives those bytes, any other token (an added
// token such as "<|im_start|>" written with characters outside it) gives its own UTF-8 bytes; then the whole byte
// string is decoded lossily. Lossy decoding of left+right equals decoding each, unless left ends inside a
// character that right may complete.
class ByteLevelDecoder : public Decoder {
 public:
  void apply(std::vector<std::string>& tokens, const Part&, bool) const override {
    std::string bytes = to_bytes(tokens);
    tokens.assign(1, utf8_lossy(bytes));
  }
  bool fuses() const override { return true; }
  bool cut_is_clean(const std::vector<std::string>& left, const Part&, bool fused) const override {
    return !fused && !utf8_ends_mid_sequence(to_bytes(left));
  }

 private:
  static std::string to_bytes(const std::vector<std::string>& tokens) {
    const auto& alphabet = byte_level_alphabet();
    std::string bytes;
    for (const std::string& t : tokens) {
      const size_t mark = bytes.size();
      size_t i = 0;
      bool all_mapped = true;
      while (i < t.size()) {
        const int b = alphabet.byte_of(utf8_next(t, i));
        if (b < 0) {
          all_mapped = false;
          break;
        }
        bytes += char(b);
      }
      if (!all_mapped) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    return bytes;
  }
};

// ByteFallback: runs of "<0xNN>" tokens become their bytes: the run's text if it is valid UTF-8, otherwise one
// U+FFFD per byte. A cut after a byte token could split a run, so only a cut after another token is clean.
class ByteFallbackDecoder : public Decoder {
 public:
  void apply(std::vector<std::string>& tokens, const Part&, bool) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      if (utf8_first_invalid(run) == std::string::npos) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run_len; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      const int b = byte_of_token(t);
      if (b >= 0) {
        run += char(b);
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
  bool cut_is_clean(const std::vector<std::string>& left, const Part&, bool fused) const override {
    return !fused && (left.empty() || byte_of_token(left.back()) < 0);
  }

 private:
  // "<0xNN>" → NN, else -1. Like Rust's u8::from_str_radix, the two characters may be hex digits of either case,
  // or '+' followed by one digit.
  static int byte_of_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (t[3] == '+') return hex(t[4]);
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder : public Decoder {
 public:
  void apply(std::vector<std::string>& tokens, const Part&, bool) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
  bool fuses() const override { return true; }
  bool cut_is_clean(const std::vector<std::string>&, const Part&, bool) const override { return true; }
};

// Strip: removes up to `start` leading and `stop` trailing `content` characters from each token. After a fusing
// step "each token" is the whole text, so the leading strip belongs to the first window and the trailing strip
// to the last; a cut is clean once the leading strip is settled and the window does not end in `content`.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void apply(std::vector<std::string>& tokens, const Part& part, bool fused) const override {
    for (std::string& t : tokens) {
      t = strip(t, !fused || part.at_start ? start_ : 0, !fused || part.at_end ? stop_ : 0);
    }
  }
  bool cut_is_clean(const std::vector<std::string>& left, const Part& part, bool fused) const override {
    if (!fused || left.empty()) return !fused || !part.at_start || start_ == 0;
    const std::u32string chars = to_chars(left[0]);
    if (part.at_start && start_ > 0) {
      size_t lead = 0;
      while (lead < chars.size() && lead < start_ && chars[lead] == content_) ++lead;
      if (lead < start_ && lead == chars.size()) return false;  // all content so far: the strip may go on
    }
    return stop_ == 0 || chars.empty() || chars.back() != content_;
  }

 private:
  static std::u32string to_chars(const std::string& s) {
    std::u32string out;
    size_t i = 0;
    while (i < s.size()) out += utf8_next(s, i);
    return out;
  }
  std::string strip(const std::string& t, size_t start, size_t stop) const {
    const std::u32string chars = to_chars(t);
    size_t begin = 0;
    while (begin < chars.size() && begin < start && chars[begin] == content_) ++begin;
    size_t end = chars.size();
    for (size_t k = 0; k < stop && end > begin && chars[end - 1] == content_; ++k) --end;
    std::string out;
    for (size_t k = begin; k < end; ++k) utf8_append(out, chars[k]);
    return out;
  }
  char32_t content_;
  size_t start_, stop_;
};

// Replace: pattern → content in each token. On a fused window a string pattern could straddle the cut; the cut is
// clean when no proper suffix of the window is a prefix of the pattern. A regex could match anything, so after
// fusing a regex Replace never cuts (the text then comes out at finish()).
class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const std::string& pattern, bool is_regex, std::string content, const std::string& where)
      : pattern_(pattern), is_regex_(is_regex), regex_(pattern, !is_regex, where), content_(std::move(content)) {}
  void apply(std::vector<std::string>& tokens, const Part&, bool) const override {
    for (std::string& t : tokens) {
      std::string out;
      size_t done = 0;
      regex_.find_all(t, [&](size_t start, size_t end) {
        out.append(t, done, start - done);
        out += content_;
        done = end;
      });
      out.append(t, done, std::string::npos);
      t.swap(out);
    }
  }
  bool cut_is_clean(const std::vector<std::string>& left, const Part&, bool fused) const override {
    if (!fused || left.empty()) return true;
    if (is_regex_) return false;
    const std::string& text = left[0];
    for (size_t len = 1; len < pattern_.size() && len <= text.size(); ++len) {
      if (text.compare(text.size() - len, len, pattern_, 0, len) == 0) return false;
    }
    return true;
  }

 private:
  std::string pattern_;
  bool is_regex_;
  Regex regex_;
  std::string content_;
};

// Metaspace: the replacement character becomes a space, except in the sequence's first token where it is
// dropped (unless prepend_scheme is "never"). After fusing, the whole text is that first token.
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool drop_in_first) : replacement_(replacement), drop_(drop_in_first) {}
  void apply(std::vector<std::string>& tokens, const Part& part, bool fused) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      const bool first = fused || (part.at_start && k == 0);
      std::string out;
      size_t i = 0;
      while (i < tokens[k].size()) {
        const char32_t c = utf8_next(tokens[k], i);
        if (c != replacement_) {
          utf8_append(out, c);
        } else if (!(first && drop_)) {
          out += ' ';
        }
      }
      tokens[k].swap(out);
    }
  }
  bool cut_is_clean(const std::vector<std::string>&, const Part&, bool) const override { return true; }

 private:
  char32_t replacement_;
  bool drop_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void apply(std::vector<std::string>& tokens, const Part& part, bool fused) const override {
    for (const auto& step : steps_) {
      step->apply(tokens, part, fused);
      fused = fused || step->fuses();
    }
  }
  bool fuses() const override {
    for (const auto& step : steps_) {
      if (step->fuses()) return true;
    }
    return false;
  }
  // Clean only if clean at every step, each judged on what the steps before it made of the window.
  bool cut_is_clean(const std::vector<std::string>& left, const Part& part, bool fused) const override {
    std::vector<std::string> tokens = left;
    const Part window{part.at_start, false};
    for (const auto& step : steps_) {
      if (!step->cut_is_clean(tokens, window, fused)) return false;
      step->apply(tokens, window, fused);
      fused = fused || step->fuses();
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// No decoder in tokenizer.json: Hugging Face joins the tokens with single spaces. A window after the first one
// starts with the space that joins it to the text before.
class SpaceJoinDecoder : public Decoder {
 public:
  void apply(std::vector<std::string>& tokens, const Part& part, bool) const override {
    if (tokens.empty()) return;
    std::string all = part.at_start ? "" : " ";
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (k > 0) all += ' ';
      all += tokens[k];
    }
    tokens.assign(1, std::move(all));
  }
  bool fuses() const override { return true; }
  bool cut_is_clean(const std::vector<std::string>&, const Part&, bool) const override { return true; }
};

size_t size_field(const Json& j, const char* key, const std::string& where) {
  const Json& v = field(j, key, where);
  if (!v.is_number_unsigned()) fail(where, std::string("field \"") + key + "\" must be a non-negative integer");
  return v.get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where) {
  const std::string type = type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(char_field(j, "content", where), size_field(j, "start", where),
                                          size_field(j, "stop", where));
  }
  if (type == "Replace") {
    auto [pattern, is_regex] = pattern_field(j, where);
    if (pattern.empty()) fail(where, "Replace with an empty pattern is not supported");
    return std::make_unique<ReplaceDecoder>(pattern, is_regex, string_field(j, "content", where),
                                            where + " Replace");
  }
  if (type == "Metaspace") {
    bool drop = true;
    if (j.contains("prepend_scheme")) {
      drop = string_field(j, "prepend_scheme", where) != "never";
    } else {
      drop = bool_field(j, "add_prefix_space", true, where);
    }
    return std::make_unique<MetaspaceDecoder>(char_field(j, "replacement", where), drop);
  }
  if (type == "Sequence") {
    const Json& list = field(j, "decoders", where);
    if (!list.is_array()) fail(where, "field \"decoders\" must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const Json& item : list) steps.push_back(make_decoder(item, where));
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  fail_unsupported(where, type);
}

std::unique_ptr<Decoder> make_space_join_decoder() { return std::make_unique<SpaceJoinDecoder>(); }

}  // namespace fs::tok
