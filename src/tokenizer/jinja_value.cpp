// Python semantics of template values: truthiness, str(), repr(), ==, ordering, `in`, len() (see jinja_value.h).
#include "tokenizer/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "tokenizer/jinja_text.h"

namespace fs::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  Value v;
  v.v_ = std::make_shared<const List>(List{std::move(items), is_tuple});
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.v_ = std::make_shared<const Dict>(std::move(d));
  return v;
}

Value Value::function(std::string name, std::function<Value(CallArgs&)> fn) {
  Value v;
  v.v_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

Value Value::make_namespace(Dict attrs) {
  Value v;
  v.v_ = std::make_shared<Namespace>(Namespace{std::move(attrs)});
  return v;
}

int64_t Value::as_int() const { return is_bool() ? int64_t(as_bool()) : std::get<int64_t>(v_); }

double Value::as_double() const { return is_float() ? std::get<double>(v_) : double(as_int()); }

bool Value::same_object(const Value& other) const {
  if (kind() != other.kind()) return false;
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::Bool: return as_bool() == other.as_bool();
    case Kind::Int: return as_int() == other.as_int();
    case Kind::Float: return as_double() == other.as_double();
    case Kind::String: return as_string() == other.as_string();
    case Kind::List: return &as_list() == &other.as_list();
    case Kind::Dict: return &as_dict() == &other.as_dict();
    case Kind::Namespace: return &as_namespace() == &other.as_namespace();
    case Kind::Function: return &as_function() == &other.as_function();
  }
  return false;
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return as_list().is_tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Function: return "function";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.as_bool();
    case Value::Kind::Int: return v.as_int() != 0;
    case Value::Kind::Float: return v.as_double() != 0.0;
    case Value::Kind::String: return !v.as_string().empty();
    case Value::Kind::List: return !v.as_list().items.empty();
    case Value::Kind::Dict: return !v.as_dict().items.empty();
    case Value::Kind::Namespace:
    case Value::Kind::Function: return true;
  }
  return false;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest digits that round-trip, then laid out the way Python's repr does: positional notation when the
  // decimal exponent is in [-4, 16), else d.ddde±XX; a positional integer keeps ".0".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  int exponent = std::atoi(sci.c_str() + e_pos + 1);
  int decpt = exponent + 1;  // where the decimal point goes, counted from the first digit
  std::string out = negative ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(size_t(-decpt), '0');
      out += digits;
    } else if (size_t(decpt) < digits.size()) {
      out += digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
    } else {
      out += digits + std::string(size_t(decpt) - digits.size(), '0') + ".0";
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp_buf;
  }
  return out;
}

namespace {

std::string container_repr(const Value& v) {
  if (v.is_list()) {
    const List& l = v.as_list();
    std::string out(1, l.is_tuple ? '(' : '[');
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += ", ";
      out += repr(l.items[i]);
    }
    if (l.is_tuple && l.items.size() == 1) out += ",";
    out += l.is_tuple ? ")" : "]";
    return out;
  }
  const Dict& d = v.is_dict() ? v.as_dict() : v.as_namespace().attrs;
  std::string out(1, '{');
  for (size_t i = 0; i < d.items.size(); ++i) {
    if (i) out += ", ";
    out += text::py_repr(d.items[i].first) + ": " + repr(d.items[i].second);
  }
  out += "}";
  return v.is_namespace() ? std::string("<Namespace ") + out + ">" : out;
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "";
    case Value::Kind::String: return v.as_string();
    default: return repr(v);
  }
}

std::string repr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.as_bool() ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Float: return float_repr(v.as_double());
    case Value::Kind::String: return text::py_repr(v.as_string());
    case Value::Kind::List:
    case Value::Kind::Dict:
    case Value::Kind::Namespace: return container_repr(v);
    case Value::Kind::Function: return "<function " + v.as_function().name + ">";
  }
  return "";
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.as_string() == b.as_string();
    case Value::Kind::List: {
      const auto& x = a.as_list().items;
      const auto& y = b.as_list().items;
      if (a.as_list().is_tuple != b.as_list().is_tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!equals(x[i], y[i])) return compare(x[i], y[i]);
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  throw EvalError("cannot order '" + a.type_name() + "' and '" + b.type_name() + "' (no <, > between them)");
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (!item.is_string())
        throw EvalError("'in <string>' requires a string on the left, not '" + item.type_name() + "'");
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::List:
      for (const Value& v : container.as_list().items)
        if (equals(v, item)) return true;
      return false;
    case Value::Kind::Dict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default: throw EvalError("'" + container.type_name() + "' object is not a container (right side of 'in')");
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return text::length(v.as_string());
    case Value::Kind::List: return int64_t(v.as_list().items.size());
    case Value::Kind::Dict: return int64_t(v.as_dict().items.size());
    default: throw EvalError("object of type '" + v.type_name() + "' has no length");
  }
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Value::Kind::Undefined: break;
    case Value::Kind::String:
      for (char32_t c : text::decode(v.as_string())) {
        std::string s;
        text::append_utf8(s, c);
        out.emplace_back(std::move(s));
      }
      break;
    case Value::Kind::List: out = v.as_list().items; break;
    case Value::Kind::Dict:
      for (const auto& kv : v.as_dict().items) out.emplace_back(kv.first);
      break;
    default: throw EvalError("'" + v.type_name() + "' object is not iterable");
  }
  return out;
}

void fail_undefined(const Value& v) {
  const std::string& hint = v.undefined_hint();
  throw EvalError(hint.empty() ? "a value is undefined" : hint);
}

}  // namespace fs::jinja
