// Python string semantics over UTF-8 (see jinja_text.h).
#include "tokenizer/jinja_text.h"

#include <cstdio>
#include <utility>

namespace fs::jinja::text {
namespace {

bool is_ascii_upper(char32_t c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char32_t c) { return c >= 'a' && c <= 'z'; }
char32_t to_upper(char32_t c) { return is_ascii_lower(c) ? c - 32 : c; }
char32_t to_lower(char32_t c) { return is_ascii_upper(c) ? c + 32 : c; }

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
         c == 0x2028 || c == 0x2029;
}

// Code points Python's repr() escapes although they are not ASCII: the format characters, separators and
// private-use ranges a chat message might plausibly carry (Unicode categories Cc, Cf, Zs, Zl, Zp, Cs, Co).
bool is_unprintable(char32_t c) {
  return (c >= 0x80 && c <= 0xa0) || c == 0xad || (c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd ||
         c == 0x70f || c == 0x180e || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
         (c >= 0x205f && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0x3000 ||
         (c >= 0xd800 && c <= 0xf8ff) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) || c == 0xfffe || c == 0xffff ||
         (c >= 0xe0000 && c <= 0xe007f) || c >= 0xf0000;
}

void append_hex(std::string& out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, value);
  out += buf;
}

bool in_set(char32_t c, const std::u32string* set) {
  if (!set) return is_space(c);
  return set->find(c) != std::u32string::npos;
}

}  // namespace

// The code point that starts at s[i] and its length in bytes. Overlong forms, surrogates, values past U+10FFFF
// and stray bytes are invalid: the first byte alone becomes U+DC80..U+DCFF (surrogateescape).
std::pair<char32_t, size_t> decode_at(std::string_view s, size_t i) {
  unsigned char b = s[i];
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 1) return {b, 1};
  char32_t cp = n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  bool ok = n > 0 && i + n <= s.size();
  for (size_t k = 1; ok && k < n; ++k) {
    unsigned char c = s[i + k];
    ok = (c >> 6) == 2;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
             (cp >= 0xd800 && cp <= 0xdfff)))
    ok = false;
  if (!ok) return {0xdc00 + b, 1};
  return {cp, n};
}

std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto [cp, n] = decode_at(s, i);
    out.push_back(cp);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= 0xdc80 && cp <= 0xdcff) {
    out.push_back(char(cp - 0xdc00));
  } else if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xc0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xe0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(char(0xf0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  }
}

std::string encode(const std::u32string& cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

int64_t length(std::string_view s) { return is_ascii(s) ? int64_t(s.size()) : int64_t(decode(s).size()); }

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

std::string strip(std::string_view s, const std::string* chars, bool left, bool right) {
  // Only the ends are looked at (decoding whole strings here dominated rendering time).
  std::u32string set;
  if (chars) set = decode(*chars);
  const std::u32string* setp = chars ? &set : nullptr;
  size_t b = 0, e = s.size();
  while (left && b < e) {
    auto [cp, n] = decode_at(s, b);
    if (!in_set(cp, setp)) break;
    b += n;
  }
  while (right && e > b) {
    size_t j = e - 1;  // back to the first byte of the last code point
    while (j > b && (static_cast<unsigned char>(s[j]) >> 6) == 2 && e - j < 4) --j;
    auto [cp, n] = decode_at(s, j);
    if (j + n != e) {  // not one well-formed character: the last byte on its own
      cp = 0xdc00 + static_cast<unsigned char>(s[e - 1]);
      j = e - 1;
    }
    if (!in_set(cp, setp)) break;
    e = j;
  }
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    // An explicit separator: every occurrence splits, empty pieces stay.
    if (!from_right) {
      size_t pos = 0;
      while (maxsplit != 0) {
        size_t hit = s.find(*sep, pos);
        if (hit == std::string_view::npos) break;
        parts.emplace_back(s.substr(pos, hit - pos));
        pos = hit + sep->size();
        if (maxsplit > 0) --maxsplit;
      }
      parts.emplace_back(s.substr(pos));
    } else {
      size_t end = s.size();
      while (maxsplit != 0 && end >= sep->size()) {
        size_t hit = s.rfind(*sep, end - sep->size());
        if (hit == std::string_view::npos) break;
        parts.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
        end = hit;
        if (maxsplit > 0) --maxsplit;
      }
      parts.emplace_back(s.substr(0, end));
      std::vector<std::string> reversed(parts.rbegin(), parts.rend());
      parts = std::move(reversed);
    }
    return parts;
  }
  // Whitespace runs: leading/trailing whitespace gives no empty pieces; past maxsplit the rest stays whole.
  std::u32string cps = decode(s);
  if (!from_right) {
    size_t i = 0, n = cps.size();
    while (true) {
      while (i < n && is_space(cps[i])) ++i;
      if (i == n) break;
      if (maxsplit == 0) {  // the rest stays whole, trailing whitespace included
        parts.push_back(encode(cps.substr(i)));
        break;
      }
      size_t j = i;
      while (j < n && !is_space(cps[j])) ++j;
      parts.push_back(encode(cps.substr(i, j - i)));
      i = j;
      if (maxsplit > 0) --maxsplit;
    }
  } else {
    size_t e = cps.size();
    while (true) {
      while (e > 0 && is_space(cps[e - 1])) --e;
      if (e == 0) break;
      if (maxsplit == 0) {  // the rest stays whole, leading whitespace included
        parts.push_back(encode(cps.substr(0, e)));
        break;
      }
      size_t j = e;
      while (j > 0 && !is_space(cps[j - 1])) --j;
      parts.push_back(encode(cps.substr(j, e - j)));
      e = j;
      if (maxsplit > 0) --maxsplit;
    }
    std::vector<std::string> reversed(parts.rbegin(), parts.rend());
    parts = std::move(reversed);
  }
  return parts;
}

std::vector<std::string> splitlines(std::string_view s) {
  std::u32string cps = decode(s);
  std::vector<std::string> lines;
  size_t start = 0, i = 0;
  while (i < cps.size()) {
    if (is_line_break(cps[i])) {
      lines.push_back(encode(cps.substr(start, i - start)));
      if (cps[i] == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
      start = ++i;
    } else {
      ++i;
    }
  }
  if (start < cps.size()) lines.push_back(encode(cps.substr(start)));
  return lines;
}

std::string replace(std::string_view s, std::string_view old, std::string_view rep, int64_t count) {
  std::string out;
  if (old.empty()) {
    std::u32string cps = decode(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count != 0) {
        out += rep;
        if (count > 0) --count;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  while (count != 0) {
    size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(rep);
    pos = hit + old.size();
    if (count > 0) --count;
  }
  out.append(s.substr(pos));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(to_upper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(to_lower(static_cast<unsigned char>(c)));
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = char(to_upper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string py_title(std::string_view s) {
  std::string out(s);
  bool previous_cased = false;
  for (char& ch : out) {
    char32_t c = static_cast<unsigned char>(ch);
    bool cased = is_ascii_upper(c) || is_ascii_lower(c);
    if (cased) ch = char(previous_cased ? to_lower(c) : to_upper(c));
    previous_cased = cased;
  }
  return out;
}

bool is_lower(std::string_view s) {
  bool any = false;
  for (unsigned char c : s) {
    if (is_ascii_upper(c)) return false;
    any = any || is_ascii_lower(c);
  }
  return any;
}

bool is_upper(std::string_view s) {
  bool any = false;
  for (unsigned char c : s) {
    if (is_ascii_lower(c)) return false;
    any = any || is_ascii_upper(c);
  }
  return any;
}

std::string py_repr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode(s)) {
    if (c == char32_t(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      append_hex(out, "\\x", c, 2);
    } else if (c < 0x7f) {
      out.push_back(char(c));
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      append_hex(out, "\\udc", c & 0xff, 2);  // an undecodable byte, shown as Python shows its surrogate
    } else if (!is_unprintable(c)) {
      append_utf8(out, c);
    } else if (c <= 0xff) {
      append_hex(out, "\\x", c, 2);
    } else if (c <= 0xffff) {
      append_hex(out, "\\u", c, 4);
    } else {
      append_hex(out, "\\U", c, 8);
    }
  }
  out.push_back(quote);
  return out;
}

std::string json_quote(std::string_view s, bool ensure_ascii) {
  std::string out = "\"";
  auto escape_unit = [&](unsigned u) { append_hex(out, "\\u", u, 4); };
  auto one = [&](char32_t c) {
    switch (c) {
      case '"': out += "\\\""; return;
      case '\\': out += "\\\\"; return;
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case '\b': out += "\\b"; return;
      case '\f': out += "\\f"; return;
      default: break;
    }
    if (c < 0x20) {
      escape_unit(c);
    } else if (!ensure_ascii || c < 0x7f) {
      append_utf8(out, c);
    } else if (c <= 0xffff) {
      escape_unit(c);
    } else {
      char32_t v = c - 0x10000;
      escape_unit(0xd800 + (v >> 10));
      escape_unit(0xdc00 + (v & 0x3ff));
    }
  };
  if (is_ascii(s)) {
    for (unsigned char c : s) one(c);
  } else {
    for (char32_t c : decode(s)) one(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace fs::jinja::text
