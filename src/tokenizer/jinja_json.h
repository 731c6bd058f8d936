// JSON in and out of the template world. In: the caller's messages and variables (nlohmann::json or, to keep
// the key order a Python dict would have, nlohmann::ordered_json). Out: the `tojson` filter, which HF replaces
// with Python's json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) — so the bytes
// follow Python: ", " and ": " between items without indent, "," and ": " with it, floats as Python's repr.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tokenizer/jinja_value.h"

namespace fs::jinja {

Value from_json(const nlohmann::json& j);
Value from_json(const nlohmann::ordered_json& j);

struct DumpOptions {
  std::optional<std::string> indent;  // json.dumps(indent=): None, or the text of one level (an int n → n spaces)
  std::optional<std::string> item_separator;  // separators=(item, key); default depends on indent, as in Python
  std::optional<std::string> key_separator;
  bool ensure_ascii = false;
  bool sort_keys = false;
};
// Throws EvalError for values JSON cannot hold (undefined, functions, namespaces), as json.dumps raises.
std::string dumps(const Value& v, const DumpOptions& options);

}  // namespace fs::jinja
