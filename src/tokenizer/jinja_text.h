// Python's string semantics over UTF-8 bytes, for the chat-template interpreter. Python strings are sequences of
// code points, so len(), indexing, slicing and reversing work on code points here too; strip()/split() with no
// argument use Python's idea of whitespace (str.isspace: ASCII space and controls \t\n\v\f\r\x1c-\x1f, plus
// U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
// Case mapping (upper/lower/title/capitalize) changes ASCII letters only: chat templates apply it to role names
// and keywords, never to user text.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fs::jinja::text {

// UTF-8 ↔ code points. A byte that is not valid UTF-8 decodes to U+DC80..U+DCFF (Python's "surrogateescape")
// and encodes back to the same byte, so a malformed string passes through unchanged instead of failing.
std::u32string decode(std::string_view s);
std::string encode(const std::u32string& cps);
void append_utf8(std::string& out, char32_t cp);
bool is_ascii(std::string_view s);
int64_t length(std::string_view s);  // in code points

bool is_space(char32_t cp);  // Python's str.isspace
// str.strip/lstrip/rstrip. chars == nullptr: Python whitespace; otherwise any code point in *chars.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split / str.rsplit. sep == nullptr: runs of whitespace, empty pieces dropped. maxsplit < 0: no limit.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right);
std::vector<std::string> splitlines(std::string_view s);  // str.splitlines() without keepends
// str.replace(old, new, count); count < 0 replaces all. An empty `old` inserts between code points, as Python does.
std::string replace(std::string_view s, std::string_view old, std::string_view rep, int64_t count);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // first character upper, the rest lower
std::string py_title(std::string_view s);    // str.title(): a letter after a non-letter is upper-cased
bool is_lower(std::string_view s);           // str.islower(): has a cased letter and none is upper
bool is_upper(std::string_view s);

// Python's repr() of a str: single quotes unless the text has ' and no ", backslash escapes for \\ \n \r \t and
// the quote, \xNN for other control characters and \xNN/\uNNNN for the non-printable ones this knows about.
std::string py_repr(std::string_view s);
// A JSON string literal as Python's json.dumps writes it (ensure_ascii: \uNNNN for everything past ASCII).
std::string json_quote(std::string_view s, bool ensure_ascii);

}  // namespace fs::jinja::text
