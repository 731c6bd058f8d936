// `obj.name`, `obj[key]`, `obj[a:b:c]`, the methods of str/list/dict, and the global functions.
// Jinja's sandbox looks up `obj.name` as an attribute first and falls back to a key, and `obj[key]` the other way
// round; anything missing is an undefined value (an error only once it is used). Methods that would modify a
// list or dict are refused, as HF's ImmutableSandboxedEnvironment refuses them.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <set>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_text.h"

namespace fs::jinja {

std::vector<Value> bind_args(const std::string& fn, CallArgs& args, std::initializer_list<ArgSpec> params,
                             size_t required) {
  std::vector<Value> out;
  std::vector<bool> given(params.size(), false);
  for (const ArgSpec& p : params) out.push_back(p.default_value);
  if (args.positional.size() > params.size())
    throw EvalError(fn + "() takes at most " + std::to_string(params.size()) + " argument(s), " +
                    std::to_string(args.positional.size()) + " given");
  for (size_t i = 0; i < args.positional.size(); ++i) {
    out[i] = args.positional[i];
    given[i] = true;
  }
  for (auto& [name, value] : args.keyword) {
    size_t k = 0;
    for (const ArgSpec& p : params) {
      if (name == p.name) break;
      ++k;
    }
    if (k == params.size()) throw EvalError(fn + "() got an unexpected keyword argument '" + name + "'");
    if (given[k]) throw EvalError(fn + "() got multiple values for argument '" + name + "'");
    out[k] = value;
    given[k] = true;
  }
  for (size_t k = 0; k < required; ++k)
    if (!given[k]) throw EvalError(fn + "() missing required argument '" + std::string(params.begin()[k].name) + "'");
  return out;
}

namespace {

// "'dict object'", "'None'": how Jinja names an object in "has no attribute" messages.
std::string quoted_desc(const Value& v) {
  std::string out = "'";
  out += v.is_none() ? "None" : v.type_name() + " object";
  out += "'";
  return out;
}

const std::string& need_string(const Value& v, const std::string& fn, const char* what) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) throw EvalError(fn + "() " + what + " must be a string, not '" + v.type_name() + "'");
  return v.as_string();
}

int64_t need_int(const Value& v, const std::string& fn) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_int() && !v.is_bool()) throw EvalError(fn + "(): expected an integer, got '" + v.type_name() + "'");
  return v.as_int();
}

// Python's slice.indices(): clamps start/stop/step to the sequence, and lists the positions the slice takes.
std::vector<int64_t> slice_positions(int64_t len, const Value& start, const Value& stop, const Value& step) {
  auto index = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    if (v.is_int() || v.is_bool()) return v.as_int();
    if (v.is_undefined()) fail_undefined(v);
    throw EvalError("slice indices must be integers or None, not '" + v.type_name() + "'");
  };
  int64_t st = index(step).value_or(1);
  if (st == 0) throw EvalError("slice step cannot be zero");
  int64_t lower = st > 0 ? 0 : -1, upper = st > 0 ? len : len - 1;
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t x = *v < 0 ? *v + len : *v;
    return std::clamp(x, lower, upper);
  };
  int64_t b = clamp(index(start), st > 0 ? lower : upper);
  int64_t e = clamp(index(stop), st > 0 ? upper : lower);
  std::vector<int64_t> pos;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) pos.push_back(i);
  return pos;
}

// Code-point substring [b, e) of s, by Python indices (negative from the end, clamped): for find/startswith.
std::string cp_range(const std::string& s, const Value& start, const Value& end) {
  if ((start.is_none() || start.is_undefined()) && (end.is_none() || end.is_undefined())) return s;
  std::u32string cps = text::decode(s);
  std::u32string out;
  for (int64_t i : slice_positions(int64_t(cps.size()), start.is_undefined() ? Value::none() : start,
                                   end.is_undefined() ? Value::none() : end, Value(1)))
    out.push_back(cps[size_t(i)]);
  return text::encode(out);
}

int64_t cp_offset(const std::string& s, size_t byte_pos) { return text::length(std::string_view(s).substr(0, byte_pos)); }

// str.format(): {} {0} {name}, {{ and }}, with !r / !s. Format specs (":>10") are refused.
std::string py_format(const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else throw EvalError("format(): single '}' encountered in the format string");
      out.push_back('}');
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw EvalError("format(): single '{' encountered in the format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    char conversion = 's';
    size_t bang = field.find('!');
    if (field.find(':') != std::string::npos) throw EvalError("format(): format specs ('{x:...}') are not supported");
    if (bang != std::string::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : 's';
      field.resize(bang);
    }
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t k = field.empty() ? auto_index++ : std::stoul(field);
      if (k >= args.positional.size()) throw EvalError("format(): replacement index " + std::to_string(k) + " out of range");
      v = &args.positional[k];
    } else {
      for (auto& [name, value] : args.keyword)
        if (name == field) v = &value;
      if (!v) throw EvalError("format(): no argument named '" + field + "'");
    }
    out += conversion == 'r' ? repr(*v) : to_str(*v);
  }
  return out;
}

Value call_str_method(const std::string& s, const std::string& name, CallArgs& args) {
  const std::string fn = "str." + name;
  if (name == "startswith" || name == "endswith") {
    auto a = bind_args(fn, args, {{"prefix", {}}, {"start", Value::none()}, {"end", Value::none()}}, 1);
    std::string hay = cp_range(s, a[1], a[2]);
    std::vector<Value> options = a[0].is_list() ? a[0].as_list().items : std::vector<Value>{a[0]};
    for (const Value& o : options) {
      const std::string& p = need_string(o, fn, "the prefix");
      bool hit = name == "startswith" ? hay.compare(0, p.size(), p) == 0
                                      : hay.size() >= p.size() && hay.compare(hay.size() - p.size(), p.size(), p) == 0;
      if (hit) return Value(true);
    }
    return Value(false);
  }
  if (name == "split" || name == "rsplit") {
    auto a = bind_args(fn, args, {{"sep", Value::none()}, {"maxsplit", Value(-1)}});
    std::string sep;
    if (!a[0].is_none()) {
      sep = need_string(a[0], fn, "the separator");
      if (sep.empty()) throw EvalError(fn + "(): empty separator");
    }
    std::vector<Value> parts;
    for (auto& p : text::split(s, a[0].is_none() ? nullptr : &sep, need_int(a[1], fn), name == "rsplit"))
      parts.emplace_back(std::move(p));
    return Value::list(std::move(parts));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto a = bind_args(fn, args, {{"chars", Value::none()}});
    std::string chars = a[0].is_none() ? "" : need_string(a[0], fn, "chars");
    return Value(text::strip(s, a[0].is_none() ? nullptr : &chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "replace") {
    auto a = bind_args(fn, args, {{"old", {}}, {"new", {}}, {"count", Value(-1)}}, 2);
    return Value(text::replace(s, need_string(a[0], fn, "old"), need_string(a[1], fn, "new"), need_int(a[2], fn)));
  }
  if (name == "join") {
    auto a = bind_args(fn, args, {{"iterable", {}}}, 1);
    std::string out;
    size_t i = 0;
    for (const Value& item : iterate(a[0])) {
      if (!item.is_string())
        throw EvalError("str.join(): sequence item " + std::to_string(i) + ": expected str, found '" +
                        item.type_name() + "'");
      if (i++) out += s;
      out += item.as_string();
    }
    return Value(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    auto a = bind_args(fn, args, {{"sub", {}}, {"start", Value::none()}, {"end", Value::none()}}, 1);
    const std::string& sub = need_string(a[0], fn, "the substring");
    std::string hay = cp_range(s, a[1], a[2]);
    int64_t offset = a[1].is_none() ? 0 : text::length(s) - text::length(cp_range(s, a[1], Value::none()));
    if (name == "count") {
      if (sub.empty()) return Value(text::length(hay) + 1);
      int64_t n = 0;
      for (size_t p = hay.find(sub); p != std::string::npos; p = hay.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    size_t p = name[0] == 'r' ? hay.rfind(sub) : hay.find(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") throw EvalError(fn + "(): substring not found");
      return Value(-1);
    }
    return Value(offset + cp_offset(hay, p));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    auto a = bind_args(fn, args, {{"affix", {}}}, 1);
    const std::string& x = need_string(a[0], fn, "the argument");
    if (name == "removeprefix" && s.compare(0, x.size(), x) == 0) return Value(s.substr(x.size()));
    if (name == "removesuffix" && !x.empty() && s.size() >= x.size() &&
        s.compare(s.size() - x.size(), x.size(), x) == 0)
      return Value(s.substr(0, s.size() - x.size()));
    return Value(s);
  }
  if (name == "format") return Value(py_format(s, args));
  static const std::set<std::string, std::less<>> kNoArgs = {
      "upper",   "lower",   "title",   "capitalize", "splitlines", "islower", "isupper",
      "isspace", "isdigit", "isdecimal", "isnumeric", "isalpha",   "isalnum"};
  if (!kNoArgs.count(name)) throw EvalError("string method '" + name + "' is not supported");
  bind_args(fn, args, {});
  if (name == "upper") return Value(text::upper(s));
  if (name == "lower") return Value(text::lower(s));
  if (name == "title") return Value(text::py_title(s));
  if (name == "capitalize") return Value(text::capitalize(s));
  if (name == "splitlines") {
    std::vector<Value> lines;
    for (auto& l : text::splitlines(s)) lines.emplace_back(std::move(l));
    return Value::list(std::move(lines));
  }
  if (name == "islower") return Value(text::is_lower(s));
  if (name == "isupper") return Value(text::is_upper(s));
  auto all_of = [&](auto pred) {
    std::u32string cps = text::decode(s);
    return Value(!cps.empty() && std::all_of(cps.begin(), cps.end(), pred));
  };
  auto ascii = [](char32_t c, int (*f)(int)) { return c < 0x80 && f(int(c)); };
  if (name == "isspace") return all_of([](char32_t c) { return text::is_space(c); });
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric")
    return all_of([&](char32_t c) { return ascii(c, ::isdigit); });
  if (name == "isalpha") return all_of([&](char32_t c) { return ascii(c, ::isalpha); });
  return all_of([&](char32_t c) { return ascii(c, ::isalnum); });  // isalnum
}

const std::set<std::string, std::less<>> kStrMethods = {
    "startswith", "endswith", "split",   "rsplit",  "strip",     "lstrip",       "rstrip",       "replace",
    "join",       "find",     "rfind",   "index",   "rindex",    "count",        "removeprefix", "removesuffix",
    "format",     "upper",    "lower",   "title",   "capitalize", "splitlines",  "islower",      "isupper",
    "isspace",    "isdigit",  "isdecimal", "isnumeric", "isalpha", "isalnum",    "center",       "ljust",
    "rjust",      "zfill",    "swapcase", "partition", "rpartition", "encode",   "expandtabs",   "casefold",
    "istitle",    "isidentifier", "isprintable", "isascii", "translate", "maketrans", "format_map"};
const std::set<std::string, std::less<>> kDictMethods = {"items", "keys",    "values",     "get",   "copy",
                                                         "pop",   "popitem", "setdefault", "update", "clear",
                                                         "fromkeys"};
const std::set<std::string, std::less<>> kListMethods = {"index", "count",  "copy",    "append", "extend", "insert",
                                                         "pop",   "remove", "reverse", "sort",   "clear"};
const std::set<std::string, std::less<>> kMutating = {"pop",    "popitem", "setdefault", "update", "clear", "append",
                                                      "extend", "insert",  "remove",     "reverse", "sort"};

Value call_dict_method(const Dict& d, const std::string& name, CallArgs& args) {
  const std::string fn = "dict." + name;
  if (name == "get") {
    auto a = bind_args(fn, args, {{"key", {}}, {"default", Value::none()}}, 1);
    const Value* v = a[0].is_string() ? d.find(a[0].as_string()) : nullptr;
    return v ? *v : a[1];
  }
  bind_args(fn, args, {});
  std::vector<Value> out;
  for (const auto& [k, v] : d.items) {
    if (name == "items") out.push_back(Value::list({Value(k), v}, true));
    else if (name == "keys") out.emplace_back(k);
    else if (name == "values") out.push_back(v);
  }
  if (name == "copy") return Value::dict(d);
  if (name == "items" || name == "keys" || name == "values") return Value::list(std::move(out));
  throw EvalError("dict method '" + name + "' is not supported");
}

Value call_list_method(const List& l, const std::string& name, CallArgs& args) {
  const std::string fn = "list." + name;
  if (name == "copy") {
    bind_args(fn, args, {});
    return Value::list(l.items, l.is_tuple);
  }
  auto a = bind_args(fn, args, {{"value", {}}}, 1);
  int64_t n = 0;
  for (size_t i = 0; i < l.items.size(); ++i) {
    if (!equals(l.items[i], a[0])) continue;
    if (name == "index") return Value(int64_t(i));
    ++n;
  }
  if (name == "index") throw EvalError("list.index(x): x not in list");
  return Value(n);
}

Value bound_method(const Value& obj, const std::string& name) {
  if (kMutating.count(name))
    return Value::function(name, [name, type = obj.type_name()](CallArgs&) -> Value {
      throw EvalError(type + "." + name + "() modifies the " + type +
                      ", which chat templates may not do (HF renders them in an immutable sandbox)");
    });
  return Value::function(name, [obj, name](CallArgs& args) {
    if (obj.is_string()) return call_str_method(obj.as_string(), name, args);
    if (obj.is_dict()) return call_dict_method(obj.as_dict(), name, args);
    return call_list_method(obj.as_list(), name, args);
  });
}

Value missing(const Value& obj, const std::string& name) {
  return Value::undefined(quoted_desc(obj) + " has no attribute '" + name + "'");
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_string() && kStrMethods.count(name)) return bound_method(obj, name);
  if (obj.is_list() && kListMethods.count(name)) return bound_method(obj, name);
  if (obj.is_dict()) {
    if (kDictMethods.count(name)) return bound_method(obj, name);
    if (const Value* v = obj.as_dict().find(name)) return *v;
  }
  if (obj.is_namespace()) {
    if (const Value* v = obj.as_namespace().attrs.find(name)) return *v;
  }
  return missing(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t n = length(obj), i = key.as_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n)
      return Value::undefined(quoted_desc(obj) + " has no element " + std::to_string(key.as_int()));
    if (obj.is_list()) return obj.as_list().items[size_t(i)];
    if (text::is_ascii(obj.as_string())) return Value(obj.as_string().substr(size_t(i), 1));
    std::string ch;
    text::append_utf8(ch, text::decode(obj.as_string())[size_t(i)]);
    return Value(std::move(ch));
  }
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return Value::undefined(quoted_desc(obj) + " has no element " + repr(key));
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_list()) {
    std::vector<Value> out;
    for (int64_t i : slice_positions(int64_t(obj.as_list().items.size()), start, stop, step))
      out.push_back(obj.as_list().items[size_t(i)]);
    return Value::list(std::move(out), obj.as_list().is_tuple);
  }
  if (obj.is_string()) {
    std::u32string cps = text::decode(obj.as_string());
    std::u32string out;
    for (int64_t i : slice_positions(int64_t(cps.size()), start, stop, step)) out.push_back(cps[size_t(i)]);
    return Value(text::encode(out));
  }
  if (obj.is_dict()) throw EvalError("a dict cannot be sliced (unhashable type: 'slice')");
  throw EvalError("'" + obj.type_name() + "' object is not subscriptable");
}

// ---- globals ---------------------------------------------------------------------------------------------------

namespace {

Dict dict_from_args(const std::string& fn, CallArgs& args) {
  Dict d;
  for (const Value& p : args.positional) {
    if (!p.is_dict()) throw EvalError(fn + "() takes a dict or keyword arguments, not '" + p.type_name() + "'");
    for (const auto& [k, v] : p.as_dict().items) d.set(k, v);
  }
  for (auto& [k, v] : args.keyword) d.set(k, v);
  return d;
}

Value range_fn(CallArgs& args) {
  constexpr int64_t kMaxRange = 100000;  // Jinja's sandbox refuses larger ranges too
  if (!args.keyword.empty()) throw EvalError("range() takes no keyword arguments");
  std::vector<int64_t> a;
  for (const Value& v : args.positional) a.push_back(need_int(v, "range"));
  if (a.empty() || a.size() > 3) throw EvalError("range() takes 1 to 3 arguments");
  int64_t start = a.size() == 1 ? 0 : a[0], stop = a.size() == 1 ? a[0] : a[1], step = a.size() == 3 ? a[2] : 1;
  if (step == 0) throw EvalError("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (int64_t(out.size()) >= kMaxRange) throw EvalError("range() too big (the sandbox allows 100000 items)");
    out.emplace_back(i);
  }
  return Value::list(std::move(out));
}

Value strftime_now(CallArgs& args) {
  auto a = bind_args("strftime_now", args, {{"format", {}}}, 1);
  const std::string& fmt = need_string(a[0], "strftime_now", "the format");
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string buf(64 + fmt.size() * 4, '\0');
  size_t n = fmt.empty() ? 0 : std::strftime(buf.data(), buf.size(), fmt.c_str(), &local);
  buf.resize(n);
  return Value(std::move(buf));
}

}  // namespace

Dict global_functions() {
  Dict g;
  g.set("range", Value::function("range", range_fn));
  g.set("namespace", Value::function("namespace",
                                     [](CallArgs& a) { return Value::make_namespace(dict_from_args("namespace", a)); }));
  g.set("dict", Value::function("dict", [](CallArgs& a) { return Value::dict(dict_from_args("dict", a)); }));
  g.set("raise_exception", Value::function("raise_exception", [](CallArgs& a) -> Value {
          std::string msg = a.positional.empty() ? "" : to_str(a.positional[0]);
          throw EvalError("the template raised an error: " + msg);
        }));
  g.set("strftime_now", Value::function("strftime_now", strftime_now));
  g.set("joiner", Value::function("joiner", [](CallArgs& a) {
          auto p = bind_args("joiner", a, {{"sep", Value(", ")}});
          auto used = std::make_shared<bool>(false);
          std::string sep = to_str(p[0]);
          return Value::function("joiner", [used, sep](CallArgs&) {
            if (!*used) {
              *used = true;
              return Value(std::string());
            }
            return Value(sep);
          });
        }));
  return g;
}

}  // namespace fs::jinja
