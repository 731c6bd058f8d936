// The values a chat template computes with, modelled on the Python objects Jinja2 hands around, because the
// output must match Hugging Face byte for byte: `{{ x }}` prints Python's str(x) (None → "None", True → "True",
// 1.0 → "1.0", a list → "['a', 1]"), truthiness and `==` follow Python, and an undefined name is a value of its own
// (prints empty, is false, iterates as empty; most other uses are errors).
//
//   Undefined | None | Bool | Int (int64) | Float (double) | String (UTF-8) | List | Dict | Namespace | Function
//
// Lists and dicts are shared and never modified (HF renders in Jinja's *immutable* sandbox: `.append()`, `.pop()`
// are refused there too). A Namespace (`namespace(...)`) is the one mutable object: `{% set ns.x = 1 %}`.
// Dicts keep insertion order (Python does; `tojson` shows it) and have string keys (JSON's).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace fs::jinja {

// A failure while evaluating (a type error, an undefined value used, raise_exception). The interpreter adds the
// template line and turns it into fs::Error.
class EvalError : public std::runtime_error {
 public:
  explicit EvalError(const std::string& what) : std::runtime_error(what) {}
};

class Value;
struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // only changes how it prints: (1, 2) instead of [1, 2]
};
struct Dict {
  std::vector<std::pair<std::string, Value>> items;  // insertion order; small, so lookups scan
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);  // replaces in place, or appends
};
struct Namespace {
  Dict attrs;
};
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};
struct Function {
  std::string name;  // for messages and printing
  std::function<Value(CallArgs&)> call;
};
struct Undefined {
  std::string hint;  // what was missing, e.g. "'foo' is undefined"; shown when the value is misused
};

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  Value() : v_(jinja::Undefined{}) {}
  static Value undefined(std::string hint) { return Value(jinja::Undefined{std::move(hint)}); }
  static Value none() { return Value(nullptr); }
  Value(std::nullptr_t) : v_(nullptr) {}
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t(i)) {}
  Value(double f) : v_(f) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value dict(Dict d);
  static Value function(std::string name, std::function<Value(CallArgs&)> fn);
  static Value make_namespace(Dict attrs);

  Kind kind() const { return Kind(v_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_float() const { return kind() == Kind::Float; }
  bool is_number() const { return is_bool() || is_int() || is_float(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_namespace() const { return kind() == Kind::Namespace; }
  bool is_function() const { return kind() == Kind::Function; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const;  // Int or Bool
  double as_double() const;  // any number
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(v_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<const Dict>>(v_); }
  Namespace& as_namespace() const { return *std::get<std::shared_ptr<Namespace>>(v_); }
  Function& as_function() const { return *std::get<std::shared_ptr<Function>>(v_); }
  const std::string& undefined_hint() const { return std::get<jinja::Undefined>(v_).hint; }
  // Same object (Python `is`), for the `sameas` test.
  bool same_object(const Value& other) const;

  // Python's type name, for messages: 'str', 'int', 'list', 'dict', 'NoneType', ...
  std::string type_name() const;

 private:
  explicit Value(jinja::Undefined u) : v_(std::move(u)) {}
  std::variant<jinja::Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<const List>,
               std::shared_ptr<const Dict>, std::shared_ptr<Namespace>, std::shared_ptr<Function>>
      v_;
};

// Python semantics, used by every part of the interpreter.
bool truthy(const Value& v);                          // bool(v); undefined is false
std::string to_str(const Value& v);                   // str(v); undefined → ""
std::string repr(const Value& v);                     // repr(v): strings quoted the way Python quotes them
std::string float_repr(double d);                     // repr(float): shortest round-trip digits, "1.0", "1e-05"
bool equals(const Value& a, const Value& b);          // a == b (1 == 1.0 == True; lists, dicts by content)
int compare(const Value& a, const Value& b);          // <0, 0, >0 for a < b; throws EvalError where Python does
bool contains(const Value& container, const Value& item);  // item in container
// len(v): code points of a string, items of a list or dict; undefined → 0. Throws for other kinds.
int64_t length(const Value& v);
// Iterating v the way a Python for loop does: a string gives its characters, a dict its keys, undefined nothing.
std::vector<Value> iterate(const Value& v);
// Python's arithmetic: + - * / // % ** on numbers (bool counts as int, int64 overflow is an error), + on
// strings and lists, * between a string or list and an int. Unary - and +. (`~` and and/or live in the evaluator.)
Value binary_op(const std::string& op, const Value& a, const Value& b);
Value unary_op(const std::string& op, const Value& v);
// Throws EvalError with the undefined value's own message (Jinja's UndefinedError).
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace fs::jinja
