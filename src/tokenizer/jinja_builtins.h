// The library a chat template can call: filters (`x | trim`), tests (`x is defined`), methods of strings, lists
// and dicts (`s.startswith('<')`, `d.items()`), and the globals (`namespace()`, `range()`, `raise_exception()`,
// `strftime_now()`). Each follows the Jinja2 3.1 / Python behaviour HF renders with; what is missing is refused by
// name (a filter or test at load time, a method when called).
#pragma once
#include <string>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace fs::jinja {

bool is_supported_filter(std::string_view name);
bool is_supported_test(std::string_view name);

Value apply_filter(const std::string& name, const Value& value, CallArgs& args);
bool apply_test(const std::string& name, const Value& value, CallArgs& args);

// `obj.name`: an attribute first (a method of str/list/dict, bound to obj), then a key. Missing → undefined.
Value get_attr(const Value& obj, const std::string& name);
// `obj[key]`: a key or index first (negative counts from the end), then an attribute. Missing → undefined.
Value get_item(const Value& obj, const Value& key);
// `obj[start:stop:step]` on a list or string (absent parts are undefined values).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// The names every template sees: range, namespace, dict, raise_exception, strftime_now, cycler, joiner.
Dict global_functions();

// Binds a builtin's arguments to its parameters, Python style: positionals in order, then keywords by name;
// unknown keywords or too many positionals throw. A parameter without a given value takes its default.
struct ArgSpec {
  const char* name;
  Value default_value;
};
std::vector<Value> bind_args(const std::string& fn, CallArgs& args, std::initializer_list<ArgSpec> params,
                             size_t required = 0);

}  // namespace fs::jinja
