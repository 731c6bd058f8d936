// JsonScanner: RFC 8259 strings, integers and structure; numbers other than ids are only skipped (raw_value).
#include "tokenizer/json_scan.h"

#include <cctype>
#include <cstring>

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace fs::tok {

void JsonScanner::fail(const std::string& msg) const {
  // Line and column make a hand-edited file fixable.
  size_t line = 1, col = 1;
  for (size_t k = 0; k < i_ && k < s_.size(); ++k) {
    if (s_[k] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  throw Error(what_ + ": malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(col) +
              ": " + msg);
}

void JsonScanner::expect(char c) {
  if (peek() != c) {
    fail(i_ >= s_.size() ? std::string("unexpected end of file, expected '") + c + "'"
                         : std::string("expected '") + c + "', found '" + s_[i_] + "'");
  }
  ++i_;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view JsonScanner::string(std::string& buf) {
  expect('"');
  const size_t start = i_;
  // Fast path: scan to the closing quote; most vocab strings have no escapes.
  while (i_ < s_.size()) {
    const auto c = static_cast<unsigned char>(s_[i_]);
    if (c == '"') {
      std::string_view out = s_.substr(start, i_ - start);
      ++i_;
      if (utf8_first_invalid(out) != std::string_view::npos) fail("string is not valid UTF-8");
      return out;
    }
    if (c == '\\') break;
    if (c < 0x20) fail("control character in string");
    ++i_;
  }
  if (i_ >= s_.size()) fail("unterminated string");
  buf.assign(s_.substr(start, i_ - start));
  auto read_hex4 = [&]() -> char32_t {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    char32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex_value(s_[i_ + k]);
      if (h < 0) fail("bad \\u escape");
      v = v * 16 + char32_t(h);
    }
    i_ += 4;
    return v;
  };
  while (true) {
    if (i_ >= s_.size()) fail("unterminated string");
    const auto c = static_cast<unsigned char>(s_[i_]);
    if (c == '"') {
      ++i_;
      break;
    }
    if (c < 0x20) fail("control character in string");
    if (c != '\\') {
      buf += char(c);
      ++i_;
      continue;
    }
    if (++i_ >= s_.size()) fail("unterminated string");
    const char e = s_[i_++];
    switch (e) {
      case '"': buf += '"'; break;
      case '\\': buf += '\\'; break;
      case '/': buf += '/'; break;
      case 'b': buf += '\b'; break;
      case 'f': buf += '\f'; break;
      case 'n': buf += '\n'; break;
      case 'r': buf += '\r'; break;
      case 't': buf += '\t'; break;
      case 'u': {
        char32_t cp = read_hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') fail("lone surrogate in \\u escape");
          i_ += 2;
          const char32_t lo = read_hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) fail("lone surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("lone surrogate in \\u escape");
        }
        utf8_append(buf, cp);
        break;
      }
      default: fail(std::string("bad escape \\") + e);
    }
  }
  if (utf8_first_invalid(buf) != std::string_view::npos) fail("string is not valid UTF-8");
  return buf;
}

int32_t JsonScanner::int32() {
  skip_ws();
  const size_t start = i_;
  int64_t v = 0;
  while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
    v = v * 10 + (s_[i_] - '0');
    if (v > INT32_MAX) fail("id does not fit in 32 bits");
    ++i_;
  }
  if (i_ == start) fail("expected a non-negative integer id");
  if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) fail("expected an integer id");
  return int32_t(v);
}

void JsonScanner::skip_string() {
  std::string unused;
  string(unused);
}

std::string_view JsonScanner::raw_value() {
  skip_ws();
  const size_t start = i_;
  if (i_ >= s_.size()) fail("unexpected end of file, expected a value");
  const char c = s_[i_];
  if (c == '"') {
    skip_string();
  } else if (c == '{' || c == '[') {
    // Track nesting; strings are skipped whole so brackets inside them do not count.
    int depth = 0;
    do {
      skip_ws();
      if (i_ >= s_.size()) fail("unexpected end of file inside a value");
      const char d = s_[i_];
      if (d == '"') {
        skip_string();
      } else {
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') --depth;
        ++i_;
      }
    } while (depth > 0);
  } else {
    // true/false/null/number: take the run of token characters; nlohmann validates the slice later.
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                              s_[i_] == '.')) {
      ++i_;
    }
    if (i_ == start) fail(std::string("unexpected character '") + c + "'");
  }
  return s_.substr(start, i_ - start);
}

bool JsonScanner::next_member(bool& first, std::string& key_buf, std::string_view& key) {
  if (first) {
    first = false;
    if (consume('}')) return false;
  } else {
    if (consume('}')) return false;
    expect(',');
  }
  if (peek() != '"') fail("expected a member name");
  key = string(key_buf);
  expect(':');
  return true;
}

bool JsonScanner::next_element(bool& first) {
  if (first) {
    first = false;
    if (consume(']')) return false;
  } else {
    if (consume(']')) return false;
    expect(',');
  }
  return true;
}

}  // namespace fs::tok
