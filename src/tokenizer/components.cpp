// Shared helpers for reading tokenizer.json component objects, with error messages that name the component.
#include "tokenizer/components.h"

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace fs::tok {

void fail(const std::string& where, const std::string& msg) { throw Error(where + ": " + msg); }
void fail_unsupported(const std::string& where, const std::string& type) {
  throw Error(where + " type \"" + type + "\" is not supported");
}

const Json& field(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  const auto it = j.find(key);
  if (it == j.end()) fail(where, std::string("missing field \"") + key + "\"");
  return *it;
}

std::string string_field(const Json& j, const char* key, const std::string& where) {
  const Json& v = field(j, key, where);
  if (!v.is_string()) fail(where, std::string("field \"") + key + "\" must be a string");
  return v.get<std::string>();
}

bool bool_field(const Json& j, const char* key, bool fallback, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(where, std::string("field \"") + key + "\" must be true or false");
  return it->get<bool>();
}

std::string type_of(const Json& j, const std::string& where) { return string_field(j, "type", where); }

std::pair<std::string, bool> pattern_field(const Json& j, const std::string& where) {
  const Json& p = field(j, "pattern", where);
  if (p.is_object() && p.size() == 1) {
    if (p.contains("String") && p["String"].is_string()) return {p["String"].get<std::string>(), false};
    if (p.contains("Regex") && p["Regex"].is_string()) return {p["Regex"].get<std::string>(), true};
  }
  fail(where, "field \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
}

char32_t char_field(const Json& j, const char* key, const std::string& where) {
  const std::string s = string_field(j, key, where);
  size_t i = 0;
  if (s.empty() || utf8_first_invalid(s) != std::string::npos) {
    fail(where, std::string("field \"") + key + "\" must be one character");
  }
  const char32_t c = utf8_next(s, i);
  if (i != s.size()) fail(where, std::string("field \"") + key + "\" must be one character");
  return c;
}

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace fs::tok
