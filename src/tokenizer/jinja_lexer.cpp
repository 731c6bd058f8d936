// Jinja2's lexer under trim_blocks + lstrip_blocks, written as a hand scanner (see jinja_lexer.h for the rules).
#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "tokenizer/jinja_text.h"
#include "util/error.h"

namespace fs::jinja {

void fail_at(int line, const std::string& what) {
  throw fs::Error("chat template line " + std::to_string(line) + ": " + what);
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Jinja's operators, longest first so `//` wins over `/`.
constexpr std::array<std::string_view, 26> kOperators = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(",
    ")",  "{",  "}",  ">",  "<",  "=",  ".", ":", "|", ",", ";"};

std::string normalize_newlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

// Python's `\s` over UTF-8: how many bytes of whitespace start at `pos`.
size_t whitespace_run(std::string_view s, size_t pos) {
  size_t start = pos;
  while (pos < s.size()) {
    unsigned char c = s[pos];
    if (c < 0x80) {
      if (!text::is_space(c)) break;
      ++pos;
      continue;
    }
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    std::u32string cp = text::decode(s.substr(pos, std::min(len, s.size() - pos)));
    if (cp.size() != 1 || !text::is_space(cp[0])) break;
    pos += len;
  }
  return pos - start;
}

bool all_whitespace(std::string_view s) { return !s.empty() && whitespace_run(s, 0) == s.size(); }

// Python's "unicode-escape" decoding of a string literal's body.
std::string unescape(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out.push_back(c);
      continue;
    }
    char e = body[++i];
    auto hex_escape = [&](size_t digits) {
      std::string hex(body.substr(i + 1, std::min(digits, body.size() - i - 1)));
      if (hex.size() != digits || !std::all_of(hex.begin(), hex.end(), is_hex))
        fail_at(line, "truncated \\" + std::string(1, e) + " escape in a string literal");
      unsigned long cp = std::strtoul(hex.c_str(), nullptr, 16);
      if (cp > 0x10ffff) fail_at(line, "illegal Unicode character in a string literal");
      text::append_utf8(out, char32_t(cp));
      i += digits;
    };
    switch (e) {
      case '\n': break;  // line continuation
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': hex_escape(2); break;
      case 'u': hex_escape(4); break;
      case 'U': hex_escape(8); break;
      case 'N': fail_at(line, "\\N{...} escapes in string literals are not supported");
      default:
        if (e >= '0' && e <= '7') {
          unsigned cp = 0;
          size_t k = 0;
          while (k < 3 && i + k < body.size() && body[i + k] >= '0' && body[i + k] <= '7')
            cp = cp * 8 + unsigned(body[i + k++] - '0');
          text::append_utf8(out, cp);
          i += k - 1;
        } else {
          out.push_back('\\');  // Python keeps unknown escapes as written
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t tag = find_tag_start(pos_);
      if (tag == std::string::npos) {
        emit(Tok::Data, src_.substr(pos_), line_);
        break;
      }
      lex_tag(tag);
    }
    tokens_.push_back(Token{Tok::Eof, "", line_});
    return std::move(tokens_);
  }

 private:
  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // the last thing consumed ended with a newline (lstrip_blocks needs this)
  std::vector<Token> tokens_;

  bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  void emit(Tok type, std::string text, int line) {
    if (type == Tok::Data && text.empty()) return;
    tokens_.push_back(Token{type, std::move(text), line});
  }

  // Consumes src_[pos_, end): counts its newlines and remembers whether it ended a line.
  void advance_to(size_t end) {
    line_ += int(std::count(src_.begin() + long(pos_), src_.begin() + long(end), '\n'));
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    pos_ = end;
  }

  size_t find_tag_start(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1))
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    return std::string::npos;
  }

  // The text before a tag, after `-` stripping or lstrip_blocks.
  std::string leading_text(size_t tag, char sign, bool lstrip) const {
    std::string_view text = std::string_view(src_).substr(pos_, tag - pos_);
    if (sign == '-') return text::strip(text, nullptr, false, true);
    if (sign != '+' && lstrip) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_whitespace(text.substr(l_pos))) return std::string(text.substr(0, l_pos));
    }
    return std::string(text);
  }

  // `{%(-|+|)\s*raw\s*(-%}\s*|%})` at `tag`: returns the end of the match, or npos.
  size_t match_raw_begin(size_t tag) const {
    size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    p += whitespace_run(src_, p);
    if (!at(p, "raw")) return std::string::npos;
    p += 3;
    p += whitespace_run(src_, p);
    if (at(p, "-%}")) return p + 3 + whitespace_run(src_, p + 3);
    if (at(p, "%}")) return p + 2;
    return std::string::npos;
  }

  void lex_tag(size_t tag) {
    char kind = src_[tag + 1];
    size_t after = tag + 2;
    char sign = 0;
    if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
    size_t raw_end = kind == '%' ? match_raw_begin(tag) : std::string::npos;
    emit(Tok::Data, leading_text(tag, sign, kind != '{'), line_);
    int tag_line = line_ + int(std::count(src_.begin() + long(pos_), src_.begin() + long(tag), '\n'));
    if (raw_end != std::string::npos) {
      advance_to(raw_end);
      lex_raw_body(tag_line);
    } else if (kind == '#') {
      advance_to(after);
      lex_comment(tag_line);
    } else {
      advance_to(after);
      emit(kind == '%' ? Tok::BlockBegin : Tok::VarBegin, "", tag_line);
      lex_expression(kind, tag_line);
    }
  }

  // Finds a closing `#}` / `%}`: `+X}` keeps what follows, `-X}` eats following whitespace, a plain one eats one
  // newline (trim_blocks). Returns {where the closer starts, where the match ends}.
  std::pair<size_t, size_t> find_closer(size_t from, char mark) const {
    std::string close = std::string(1, mark) + "}";
    for (size_t p = src_.find(close, from); p != std::string::npos; p = src_.find(close, p + 1)) {
      if (p > from && src_[p - 1] == '+') return {p - 1, p + 2};
      if (p > from && src_[p - 1] == '-') return {p - 1, p + 2 + whitespace_run(src_, p + 2)};
      return {p, p + 2 + (p + 2 < src_.size() && src_[p + 2] == '\n' ? 1 : 0)};
    }
    return {std::string::npos, std::string::npos};
  }

  void lex_comment(int tag_line) {
    auto [closer, end] = find_closer(pos_, '#');
    if (closer == std::string::npos) fail_at(tag_line, "missing end of comment tag '#}'");
    advance_to(end);
  }

  void lex_raw_body(int tag_line) {
    // The body runs to `{%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?)`.
    for (size_t p = src_.find("{%", pos_); p != std::string::npos; p = src_.find("{%", p + 1)) {
      size_t q = p + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      q += whitespace_run(src_, q);
      if (!at(q, "endraw")) continue;
      q += 6;
      q += whitespace_run(src_, q);
      size_t end;
      if (at(q, "+%}")) end = q + 3;
      else if (at(q, "-%}")) end = q + 3 + whitespace_run(src_, q + 3);
      else if (at(q, "%}")) end = q + 2 + (q + 2 < src_.size() && src_[q + 2] == '\n' ? 1 : 0);
      else continue;
      emit(Tok::Data, leading_text(p, sign, true), line_);
      advance_to(end);
      return;
    }
    fail_at(tag_line, "missing {% endraw %} for this {% raw %}");
  }

  void lex_expression(char kind, int tag_line) {
    std::vector<char> balance;  // closers expected for open ( [ {
    const char* what = kind == '%' ? "'{%' tag" : "'{{' tag";
    while (true) {
      if (pos_ >= src_.size())
        fail_at(tag_line, std::string("unexpected end of template: the ") + what + " is never closed");
      if (balance.empty() && lex_tag_end(kind)) return;
      char c = src_[pos_];
      size_t ws = whitespace_run(src_, pos_);
      if (ws) {
        advance_to(pos_ + ws);
      } else if (is_digit(c)) {
        lex_number();
      } else if (is_name_start(c)) {
        size_t e = pos_;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        emit(Tok::Name, src_.substr(pos_, e - pos_), line_);
        advance_to(e);
      } else if (c == '\'' || c == '"') {
        lex_string(c);
      } else {
        lex_operator(balance);
      }
    }
  }

  bool lex_tag_end(char kind) {
    size_t end = std::string::npos;
    if (kind == '%') {
      if (at(pos_, "+%}")) end = pos_ + 3;
      else if (at(pos_, "-%}")) end = pos_ + 3 + whitespace_run(src_, pos_ + 3);
      else if (at(pos_, "%}")) end = pos_ + 2 + (pos_ + 2 < src_.size() && src_[pos_ + 2] == '\n' ? 1 : 0);
    } else {
      if (at(pos_, "-}}")) end = pos_ + 3 + whitespace_run(src_, pos_ + 3);
      else if (at(pos_, "}}")) end = pos_ + 2;
    }
    if (end == std::string::npos) return false;
    emit(kind == '%' ? Tok::BlockEnd : Tok::VarEnd, "", line_);
    advance_to(end);
    return true;
  }

  // Digits with optional `_` between them.
  size_t digits_end(size_t p) const {
    size_t e = p;
    while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e > p && e + 1 < src_.size() &&
                                                     is_digit(src_[e + 1]))))
      ++e;
    return e;
  }

  void lex_number() {
    std::string_view s = src_;
    size_t int_end = digits_end(pos_);
    size_t e = int_end;
    bool is_float = false;
    if (e + 1 < s.size() && s[e] == '.' && is_digit(s[e + 1]) && !(pos_ > 0 && s[pos_ - 1] == '.')) {
      e = digits_end(e + 1);
      is_float = true;
    }
    if (e < s.size() && (s[e] == 'e' || s[e] == 'E') && !(pos_ > 0 && s[pos_ - 1] == '.')) {
      size_t x = e + 1;
      if (x < s.size() && (s[x] == '+' || s[x] == '-')) ++x;
      if (x < s.size() && is_digit(s[x])) {
        e = digits_end(x);
        is_float = true;
      }
    }
    std::string digits;
    Token tok{is_float ? Tok::Float : Tok::Int, "", line_};
    if (!is_float) {
      // Jinja: 0b.., 0o.., 0x.., or a decimal without leading zeros (a lone "0", maybe "0_0").
      int base = 10;
      size_t p = pos_;
      if (s[p] == '0' && p + 1 < s.size() && std::string_view("bBoOxX").find(s[p + 1]) != std::string_view::npos) {
        base = (s[p + 1] | 0x20) == 'b' ? 2 : (s[p + 1] | 0x20) == 'o' ? 8 : 16;
        p += 2;
        e = p;
        while (e < s.size() && (is_hex(s[e]) || s[e] == '_')) ++e;
      } else if (s[p] == '0') {
        e = p + 1;
        while (e + 1 < s.size() && s[e] == '_' && s[e + 1] == '0') e += 2;
        while (e < s.size() && s[e] == '0') ++e;
      }
      for (size_t i = p; i < e; ++i)
        if (s[i] != '_') digits.push_back(s[i]);
      errno = 0;
      char* end = nullptr;
      tok.int_value = std::strtoll(digits.c_str(), &end, base);
      if (errno == ERANGE) fail_at(line_, "integer literal " + digits + " is too large");
      if (digits.empty() || *end != '\0') fail_at(line_, "malformed number '" + std::string(s.substr(pos_, e - pos_)) + "'");
    } else {
      for (size_t i = pos_; i < e; ++i)
        if (s[i] != '_') digits.push_back(s[i]);
      tok.float_value = std::strtod(digits.c_str(), nullptr);
    }
    tok.text = std::string(s.substr(pos_, e - pos_));
    tokens_.push_back(tok);
    advance_to(e);
  }

  void lex_string(char quote) {
    size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) p += src_[p] == '\\' ? 2 : 1;
    if (p >= src_.size()) fail_at(line_, std::string("unterminated string literal (missing closing ") + quote + ")");
    int line = line_;
    std::string value = unescape(std::string_view(src_).substr(pos_ + 1, p - pos_ - 1), line);
    tokens_.push_back(Token{Tok::String, std::move(value), line});
    advance_to(p + 1);
  }

  void lex_operator(std::vector<char>& balance) {
    for (std::string_view op : kOperators) {
      if (!at(pos_, op)) continue;
      char c = op[0];
      if (op.size() == 1 && (c == '(' || c == '[' || c == '{')) {
        balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      } else if (op.size() == 1 && (c == ')' || c == ']' || c == '}')) {
        if (balance.empty()) fail_at(line_, std::string("unexpected '") + c + "'");
        if (balance.back() != c)
          fail_at(line_, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
        balance.pop_back();
      }
      emit(Tok::Op, std::string(op), line_);
      advance_to(pos_ + op.size());
      return;
    }
    fail_at(line_, "unexpected character '" + src_.substr(pos_, 1) + "' inside a tag");
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace fs::jinja
