// Jinja2's filters and tests, with the argument names and defaults of Jinja 3.1 (and HF's own `tojson`).
// Each is a small function over Values; the tables at the bottom are also what the parser checks names against.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/jinja_text.h"

namespace fs::jinja {
namespace {

using FilterFn = Value (*)(const Value&, CallArgs&);
using TestFn = bool (*)(const Value&, CallArgs&);

const std::map<std::string, FilterFn, std::less<>>& filters();
const std::map<std::string, TestFn, std::less<>>& tests();

// "a.b.0" → get_item(get_item(get_item(x, "a"), "b"), 0), as Jinja's make_attrgetter.
Value get_path(const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return get_item(item, attribute);
  Value cur = item;
  std::string path = attribute.as_string();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = digits ? get_item(cur, Value(int64_t(std::stoll(part)))) : get_item(cur, Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// A width or indent given by the template, as a count of spaces: bounded, so a runaway number is an error
// rather than an allocation of terabytes.
size_t width_arg(const Value& v, const char* fn) {
  constexpr int64_t kMaxWidth = int64_t(1) << 20;
  if (!v.is_int() && !v.is_bool()) throw EvalError(std::string(fn) + ": the width must be an integer");
  if (v.as_int() > kMaxWidth) throw EvalError(std::string(fn) + ": width " + std::to_string(v.as_int()) + " is too large");
  return size_t(std::max<int64_t>(0, v.as_int()));
}

// Jinja's ignore_case: strings compare lower-cased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(text::lower(v.as_string())) : v;
}

std::vector<Value> sorted(std::vector<Value> items, bool reverse, bool case_sensitive, const Value& attribute) {
  std::vector<Value> keys;
  for (const Value& v : items) keys.push_back(sort_key(attribute.is_none() ? v : get_path(v, attribute), case_sensitive));
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return reverse ? compare(keys[b], keys[a]) < 0 : compare(keys[a], keys[b]) < 0;
  });
  std::vector<Value> out;
  for (size_t i : order) out.push_back(items[i]);
  return out;
}

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Python's round(x, n) for floats: the exact binary value rounded half-to-even at n decimals (what printf does).
double py_round(double x, int64_t digits) {
  if (!std::isfinite(x) || digits > 300) return x;
  if (digits < 0) {
    double scale = std::pow(10.0, double(-digits));
    return std::nearbyint(x / scale) * scale;
  }
  char buf[1024];  // 309 integer digits + '.' + 300 decimals at most
  std::snprintf(buf, sizeof buf, "%.*f", int(digits), x);
  return std::strtod(buf, nullptr);
}

// Python's int(str): optional sign, digits with single underscores, surrounding whitespace.
bool parse_py_int(const std::string& s, int64_t base, int64_t& out) {
  std::string t = text::strip(s, nullptr, true, true), digits;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && t[i - 1] != '_' && std::isalnum(static_cast<unsigned char>(t[i + 1])))
      continue;
    digits.push_back(t[i]);
  }
  if (digits.empty() || base < 2 || base > 36) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, int(base));
  if (errno != 0 || *end != '\0' || digits.find_first_of(" \t\n") != std::string::npos) return false;
  out = v;
  return true;
}

bool parse_py_float(const std::string& s, double& out) {
  std::string t = text::strip(s, nullptr, true, true);
  if (t.empty() || t.find('_') != std::string::npos) return false;
  std::string lower = text::lower(t);
  if (lower.find("0x") != std::string::npos) return false;  // strtod reads hex floats; Python does not
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return *end == '\0';
}

// ---- filters ---------------------------------------------------------------------------------------------------

Value f_abs(const Value& v, CallArgs& a) {
  bind_args("abs", a, {});
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) throw EvalError("integer overflow");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  throw EvalError("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_attr(const Value& v, CallArgs& a) {
  auto p = bind_args("attr", a, {{"name", {}}}, 1);
  if (v.is_undefined()) fail_undefined(v);
  std::string name = to_str(p[0]);
  // attr() looks up attributes only, never keys: on a dict it finds the methods, not the entries.
  if (v.is_dict()) {
    Value m = get_attr(v, name);
    if (m.is_function()) return m;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  }
  return get_attr(v, name);
}

Value f_capitalize(const Value& v, CallArgs& a) {
  bind_args("capitalize", a, {});
  return Value(text::capitalize(to_str(v)));
}

Value f_center(const Value& v, CallArgs& a) {
  auto p = bind_args("center", a, {{"width", Value(80)}});
  std::string s = to_str(v);
  int64_t len = text::length(s), width = int64_t(width_arg(p[0], "center"));
  if (width <= len) return Value(s);
  int64_t marg = width - len, left = marg / 2 + (marg & width & 1);
  return Value(std::string(size_t(left), ' ') + s + std::string(size_t(marg - left), ' '));
}

Value f_length(const Value& v, CallArgs& a) {
  bind_args("length", a, {});
  return Value(length(v));
}

Value f_default(const Value& v, CallArgs& a) {
  auto p = bind_args("default", a, {{"default_value", Value("")}, {"boolean", Value(false)}});
  if (v.is_undefined() || (truthy(p[1]) && !truthy(v))) return p[0];
  return v;
}

Value f_dictsort(const Value& v, CallArgs& a) {
  auto p = bind_args("dictsort", a, {{"case_sensitive", Value(false)}, {"by", Value("key")}, {"reverse", Value(false)}});
  if (!v.is_dict()) throw EvalError("dictsort: can only sort a mapping, not '" + v.type_name() + "'");
  std::string by = to_str(p[1]);
  if (by != "key" && by != "value") throw EvalError("dictsort: 'by' must be 'key' or 'value'");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.as_dict().items) pairs.push_back(Value::list({Value(k), val}, true));
  return Value::list(sorted(std::move(pairs), truthy(p[2]), truthy(p[0]), Value(by == "key" ? 0 : 1)));
}

Value f_escape(const Value& v, CallArgs& a) {
  bind_args("escape", a, {});
  return Value(escape_html(to_str(v)));
}

Value f_first(const Value& v, CallArgs& a) {
  bind_args("first", a, {});
  if (v.is_list()) return v.as_list().items.empty() ? Value::undefined("No first item, sequence was empty.")
                                                     : v.as_list().items.front();
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(const Value& v, CallArgs& a) {
  bind_args("last", a, {});
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_float(const Value& v, CallArgs& a) {
  auto p = bind_args("float", a, {{"default", Value(0.0)}});
  if (v.is_undefined()) fail_undefined(v);  // float(Undefined) raises in Jinja too
  if (v.is_number()) return Value(v.as_double());
  double d;
  if (v.is_string() && parse_py_float(v.as_string(), d)) return Value(d);
  return p[0];
}

Value f_int(const Value& v, CallArgs& a) {
  auto p = bind_args("int", a, {{"default", Value(0)}, {"base", Value(10)}});
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    double d = v.as_double();
    if (!std::isfinite(d)) throw EvalError("cannot convert float " + float_repr(d) + " to integer");
    if (std::fabs(d) >= 9.2e18) throw EvalError("integer overflow");
    return Value(int64_t(d));
  }
  if (v.is_string()) {
    int64_t i;
    if (parse_py_int(v.as_string(), p[1].is_int() ? p[1].as_int() : 10, i)) return Value(i);
    double d;  // "42.23" | int gives 42, as Jinja's fallback through float() does
    if (parse_py_float(v.as_string(), d) && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(int64_t(d));
  }
  return p[0];
}

Value f_indent(const Value& v, CallArgs& a) {
  auto p = bind_args("indent", a, {{"width", Value(4)}, {"first", Value(false)}, {"blank", Value(false)}});
  std::string ind = p[0].is_string() ? p[0].as_string() : std::string(width_arg(p[0], "indent"), ' ');
  std::vector<std::string> lines = text::splitlines(to_str(v) + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    if (i > 0 && (truthy(p[2]) || !lines[i].empty())) out += ind;
    out += lines[i];
  }
  if (truthy(p[1])) out = ind + out;
  return Value(std::move(out));
}

Value f_items(const Value& v, CallArgs& a) {
  bind_args("items", a, {});
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) throw EvalError("items: can only get item pairs from a mapping, not '" + v.type_name() + "'");
  std::vector<Value> out;
  for (const auto& [k, val] : v.as_dict().items) out.push_back(Value::list({Value(k), val}, true));
  return Value::list(std::move(out));
}

Value f_join(const Value& v, CallArgs& a) {
  auto p = bind_args("join", a, {{"d", Value("")}, {"attribute", Value::none()}});
  std::string sep = to_str(p[0]), out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += to_str(p[1].is_none() ? item : get_path(item, p[1]));
  }
  return Value(std::move(out));
}

Value f_list(const Value& v, CallArgs& a) {
  bind_args("list", a, {});
  return Value::list(iterate(v));
}

Value f_lower(const Value& v, CallArgs& a) {
  bind_args("lower", a, {});
  return Value(text::lower(to_str(v)));
}

Value f_upper(const Value& v, CallArgs& a) {
  bind_args("upper", a, {});
  return Value(text::upper(to_str(v)));
}

Value f_map(const Value& v, CallArgs& a) {
  std::vector<Value> out;
  const Value* attribute = nullptr;
  const Value* fallback = nullptr;
  for (auto& [k, val] : a.keyword) {
    if (k == "attribute") attribute = &val;
    else if (k == "default") fallback = &val;
  }
  if (attribute) {
    for (const Value& item : iterate(v)) {
      Value x = get_path(item, *attribute);
      out.push_back(fallback && !fallback->is_none() && x.is_undefined() ? *fallback : x);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty()) throw EvalError("map() needs a filter name or attribute=");
  std::string name = to_str(a.positional[0]);
  if (!is_supported_filter(name)) throw EvalError("filter \"" + name + "\" is not supported");
  CallArgs rest{{a.positional.begin() + 1, a.positional.end()}, a.keyword};
  for (const Value& item : iterate(v)) {
    CallArgs copy = rest;
    out.push_back(apply_filter(name, item, copy));
  }
  return Value::list(std::move(out));
}

Value min_or_max(const Value& v, CallArgs& a, bool want_max) {
  auto p = bind_args(want_max ? "max" : "min", a, {{"case_sensitive", Value(false)}, {"attribute", Value::none()}});
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) { return sort_key(p[1].is_none() ? x : get_path(x, p[1]), truthy(p[0])); };
  size_t best = 0;
  Value best_key = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    int c = compare(k, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Value f_max(const Value& v, CallArgs& a) { return min_or_max(v, a, true); }
Value f_min(const Value& v, CallArgs& a) { return min_or_max(v, a, false); }

// select/reject/selectattr/rejectattr: keep the items whose (attribute's) test result is `keep`.
Value select_items(const Value& v, CallArgs& a, bool by_attr, bool keep) {
  size_t off = by_attr ? 1 : 0;
  if (by_attr && a.positional.empty()) throw EvalError("selectattr/rejectattr need an attribute name");
  std::string test = a.positional.size() > off ? to_str(a.positional[off]) : "";
  if (!test.empty() && !is_supported_test(test)) throw EvalError("test \"" + test + "\" is not supported");
  std::vector<Value> out;
  for (const Value& item : iterate(v)) {
    Value x = by_attr ? get_path(item, a.positional[0]) : item;
    bool result;
    if (test.empty()) {
      result = truthy(x);
    } else {
      CallArgs args{{a.positional.begin() + long(std::min(a.positional.size(), off + 1)), a.positional.end()},
                    a.keyword};
      result = apply_test(test, x, args);
    }
    if (result == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(const Value& v, CallArgs& a) { return select_items(v, a, false, true); }
Value f_reject(const Value& v, CallArgs& a) { return select_items(v, a, false, false); }
Value f_selectattr(const Value& v, CallArgs& a) { return select_items(v, a, true, true); }
Value f_rejectattr(const Value& v, CallArgs& a) { return select_items(v, a, true, false); }

Value f_replace(const Value& v, CallArgs& a) {
  auto p = bind_args("replace", a, {{"old", {}}, {"new", {}}, {"count", Value::none()}}, 2);
  return Value(text::replace(to_str(v), to_str(p[0]), to_str(p[1]), p[2].is_none() ? -1 : p[2].as_int()));
}

Value f_reverse(const Value& v, CallArgs& a) {
  bind_args("reverse", a, {});
  if (v.is_string()) {
    std::u32string cps = text::decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(text::encode(cps));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_round(const Value& v, CallArgs& a) {
  auto p = bind_args("round", a, {{"precision", Value(0)}, {"method", Value("common")}});
  std::string method = to_str(p[1]);
  if (method != "common" && method != "ceil" && method != "floor")
    throw EvalError("round: method must be 'common', 'ceil' or 'floor'");
  if (!v.is_number()) throw EvalError("round: cannot round '" + v.type_name() + "'");
  int64_t digits = p[0].is_number() ? p[0].as_int() : 0;
  if (method == "common") {
    if (!v.is_float()) return Value(v.as_int());  // Python's round(int, n) stays an int for n >= 0
    return Value(py_round(v.as_double(), digits));
  }
  double scale = std::pow(10.0, double(digits));
  double x = v.as_double() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_string(const Value& v, CallArgs& a) {
  bind_args("string", a, {});
  return Value(to_str(v));
}

Value f_sort(const Value& v, CallArgs& a) {
  auto p = bind_args("sort", a, {{"reverse", Value(false)}, {"case_sensitive", Value(false)}, {"attribute", Value::none()}});
  return Value::list(sorted(iterate(v), truthy(p[0]), truthy(p[1]), p[2]));
}

Value f_sum(const Value& v, CallArgs& a) {
  auto p = bind_args("sum", a, {{"attribute", Value::none()}, {"start", Value(0)}});
  Value total = p[1];
  for (const Value& item : iterate(v)) total = binary_op("+", total, p[0].is_none() ? item : get_path(item, p[0]));
  return total;
}

Value f_title(const Value& v, CallArgs& a) {
  bind_args("title", a, {});
  // Jinja's own title: words start after runs of whitespace, '-', '(', '{', '[' or '<'.
  std::string s = to_str(v), out;
  bool word_start = true;
  for (char c : s) {
    bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::is_space(static_cast<unsigned char>(c));
    out += sep ? std::string(1, c) : word_start ? text::upper(std::string(1, c)) : text::lower(std::string(1, c));
    word_start = sep;
  }
  return Value(std::move(out));
}

// HF's tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value f_tojson(const Value& v, CallArgs& a) {
  auto p = bind_args("tojson", a,
                     {{"ensure_ascii", Value(false)}, {"indent", Value::none()}, {"separators", Value::none()},
                      {"sort_keys", Value(false)}});
  DumpOptions o;
  o.ensure_ascii = truthy(p[0]);
  if (p[1].is_string()) o.indent = p[1].as_string();
  else if (p[1].is_int() || p[1].is_bool()) o.indent = std::string(width_arg(p[1], "tojson"), ' ');
  else if (!p[1].is_none()) throw EvalError("tojson: indent must be an integer or a string");
  if (!p[2].is_none()) {
    if (!p[2].is_list() || p[2].as_list().items.size() != 2 || !p[2].as_list().items[0].is_string() ||
        !p[2].as_list().items[1].is_string())
      throw EvalError("tojson: separators must be a pair of strings");
    o.item_separator = p[2].as_list().items[0].as_string();
    o.key_separator = p[2].as_list().items[1].as_string();
  }
  o.sort_keys = truthy(p[3]);
  return Value(dumps(v, o));
}

Value f_trim(const Value& v, CallArgs& a) {
  auto p = bind_args("trim", a, {{"chars", Value::none()}});
  std::string chars = p[0].is_none() ? "" : to_str(p[0]);
  return Value(text::strip(to_str(v), p[0].is_none() ? nullptr : &chars, true, true));
}

Value f_unique(const Value& v, CallArgs& a) {
  auto p = bind_args("unique", a, {{"case_sensitive", Value(false)}, {"attribute", Value::none()}});
  std::vector<Value> out, seen;
  for (const Value& item : iterate(v)) {
    Value key = sort_key(p[1].is_none() ? item : get_path(item, p[1]), truthy(p[0]));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

// Python's \w, approximately past ASCII: letters and digits of any script count, while whitespace, punctuation
// and symbol blocks (general punctuation, arrows, CJK punctuation, emoji) do not.
bool is_word_char(char32_t c) {
  if (c < 0x80) return std::isalnum(int(c)) || c == '_';
  return !text::is_space(c) && !(c >= 0xa0 && c <= 0xbf) && c != 0xd7 && c != 0xf7 && !(c >= 0x2000 && c <= 0x2bff) &&
         !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xe000 && c <= 0xf8ff) && !(c >= 0xfe00 && c <= 0xfe0f) &&
         !(c >= 0xff01 && c <= 0xff0f) && !(c >= 0x1f000 && c <= 0x1faff) && !(c >= 0xdc80 && c <= 0xdcff);
}

Value f_wordcount(const Value& v, CallArgs& a) {
  bind_args("wordcount", a, {});
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : text::decode(to_str(v))) {
    bool word = is_word_char(c);
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

// ---- tests -----------------------------------------------------------------------------------------------------

Value one_arg(const char* name, CallArgs& a) { return bind_args(name, a, {{"other", {}}}, 1)[0]; }

bool t_defined(const Value& v, CallArgs& a) { return bind_args("defined", a, {}), !v.is_undefined(); }
bool t_undefined(const Value& v, CallArgs& a) { return bind_args("undefined", a, {}), v.is_undefined(); }
bool t_none(const Value& v, CallArgs& a) { return bind_args("none", a, {}), v.is_none(); }
bool t_boolean(const Value& v, CallArgs& a) { return bind_args("boolean", a, {}), v.is_bool(); }
bool t_false(const Value& v, CallArgs& a) { return bind_args("false", a, {}), v.is_bool() && !v.as_bool(); }
bool t_true(const Value& v, CallArgs& a) { return bind_args("true", a, {}), v.is_bool() && v.as_bool(); }
bool t_integer(const Value& v, CallArgs& a) { return bind_args("integer", a, {}), v.is_int(); }
bool t_float(const Value& v, CallArgs& a) { return bind_args("float", a, {}), v.is_float(); }
bool t_number(const Value& v, CallArgs& a) { return bind_args("number", a, {}), v.is_number(); }
bool t_string(const Value& v, CallArgs& a) { return bind_args("string", a, {}), v.is_string(); }
bool t_mapping(const Value& v, CallArgs& a) { return bind_args("mapping", a, {}), v.is_dict(); }
bool t_iterable(const Value& v, CallArgs& a) {
  bind_args("iterable", a, {});
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool t_sequence(const Value& v, CallArgs& a) { return t_iterable(v, a); }
bool t_callable(const Value& v, CallArgs& a) {
  bind_args("callable", a, {});
  return v.is_function() || v.is_undefined();
}
bool t_sameas(const Value& v, CallArgs& a) { return v.same_object(one_arg("sameas", a)); }
bool t_escaped(const Value& v, CallArgs& a) { return bind_args("escaped", a, {}), false; }
bool t_lower(const Value& v, CallArgs& a) { return bind_args("lower", a, {}), text::is_lower(to_str(v)); }
bool t_upper(const Value& v, CallArgs& a) { return bind_args("upper", a, {}), text::is_upper(to_str(v)); }
bool t_odd(const Value& v, CallArgs& a) {
  bind_args("odd", a, {});
  return equals(binary_op("%", v, Value(2)), Value(1));
}
bool t_even(const Value& v, CallArgs& a) {
  bind_args("even", a, {});
  return equals(binary_op("%", v, Value(2)), Value(0));
}
bool t_divisibleby(const Value& v, CallArgs& a) {
  return equals(binary_op("%", v, bind_args("divisibleby", a, {{"num", {}}}, 1)[0]), Value(0));
}
bool t_in(const Value& v, CallArgs& a) { return contains(bind_args("in", a, {{"seq", {}}}, 1)[0], v); }
bool t_eq(const Value& v, CallArgs& a) { return equals(v, one_arg("eq", a)); }
bool t_ne(const Value& v, CallArgs& a) { return !equals(v, one_arg("ne", a)); }
bool t_lt(const Value& v, CallArgs& a) { return compare(v, one_arg("lt", a)) < 0; }
bool t_le(const Value& v, CallArgs& a) { return compare(v, one_arg("le", a)) <= 0; }
bool t_gt(const Value& v, CallArgs& a) { return compare(v, one_arg("gt", a)) > 0; }
bool t_ge(const Value& v, CallArgs& a) { return compare(v, one_arg("ge", a)) >= 0; }
bool t_filter(const Value& v, CallArgs& a) {
  return bind_args("filter", a, {}), v.is_string() && is_supported_filter(v.as_string());
}
bool t_test(const Value& v, CallArgs& a) {
  return bind_args("test", a, {}), v.is_string() && is_supported_test(v.as_string());
}

const std::map<std::string, FilterFn, std::less<>>& filters() {
  static const std::map<std::string, FilterFn, std::less<>> table = {
      {"abs", f_abs},          {"attr", f_attr},       {"capitalize", f_capitalize},
      {"center", f_center},    {"count", f_length},    {"d", f_default},
      {"default", f_default},  {"dictsort", f_dictsort}, {"e", f_escape},
      {"escape", f_escape},    {"first", f_first},     {"float", f_float},
      {"indent", f_indent},    {"int", f_int},         {"items", f_items},
      {"join", f_join},        {"last", f_last},       {"length", f_length},
      {"list", f_list},        {"lower", f_lower},     {"map", f_map},
      {"max", f_max},          {"min", f_min},         {"reject", f_reject},
      {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse},
      {"round", f_round},      {"safe", f_string},     {"select", f_select},
      {"selectattr", f_selectattr}, {"sort", f_sort},  {"string", f_string},
      {"sum", f_sum},          {"title", f_title},     {"tojson", f_tojson},
      {"trim", f_trim},        {"unique", f_unique},   {"upper", f_upper},
      {"wordcount", f_wordcount}};
  return table;
}

const std::map<std::string, TestFn, std::less<>>& tests() {
  static const std::map<std::string, TestFn, std::less<>> table = {
      {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},
      {"boolean", t_boolean},   {"false", t_false},         {"true", t_true},
      {"integer", t_integer},   {"float", t_float},         {"number", t_number},
      {"string", t_string},     {"mapping", t_mapping},     {"iterable", t_iterable},
      {"sequence", t_sequence}, {"callable", t_callable},   {"sameas", t_sameas},
      {"escaped", t_escaped},   {"lower", t_lower},         {"upper", t_upper},
      {"odd", t_odd},           {"even", t_even},           {"divisibleby", t_divisibleby},
      {"in", t_in},             {"eq", t_eq},               {"equalto", t_eq},
      {"==", t_eq},             {"ne", t_ne},               {"!=", t_ne},
      {"lt", t_lt},             {"lessthan", t_lt},         {"<", t_lt},
      {"le", t_le},             {"<=", t_le},               {"gt", t_gt},
      {"greaterthan", t_gt},    {">", t_gt},                {"ge", t_ge},
      {">=", t_ge},             {"filter", t_filter},       {"test", t_test}};
  return table;
}

}  // namespace

bool is_supported_filter(std::string_view name) { return filters().count(name) > 0; }
bool is_supported_test(std::string_view name) { return tests().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& value, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw EvalError("filter \"" + name + "\" is not supported");
  return it->second(value, args);
}

bool apply_test(const std::string& name, const Value& value, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) throw EvalError("test \"" + name + "\" is not supported");
  return it->second(value, args);
}

}  // namespace fs::jinja
