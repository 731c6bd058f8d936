// Python's arithmetic operators on template values: + - * / // % ** and unary - +.
// Integers are int64 (Python's are unbounded; overflow here is an error rather than a wrong number). Floor
// division and modulo round toward negative infinity, as Python's do.
#include <cmath>
#include <limits>

#include "tokenizer/jinja_value.h"

namespace fs::jinja {
namespace {

constexpr size_t kMaxRepeat = size_t(1) << 26;  // `'x' * n` beyond 64 MiB is a runaway template, not a prompt

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  throw EvalError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

[[noreturn]] void overflow() { throw EvalError("integer overflow (values beyond 64 bits are not supported)"); }
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) overflow();
  return r;
}
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

Value repeat(const Value& seq, int64_t n) {
  size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().items.size();
  if (n <= 0 || unit == 0) return seq.is_string() ? Value(std::string()) : Value::list({}, seq.as_list().is_tuple);
  if (size_t(n) > kMaxRepeat / unit) throw EvalError("repetition result is too large");
  if (seq.is_string()) {
    std::string out;
    out.reserve(unit * size_t(n));
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i)
    out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
  return Value::list(std::move(out), seq.as_list().is_tuple);
}

// Python's float floor division and modulo (the sign of the result follows the divisor).
double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  if (m == 0) m = std::copysign(0.0, b);
  return m;
}

double py_floordiv(double a, double b) {
  double m = std::fmod(a, b);
  double div = (a - m) / b;
  if (m != 0 && ((b < 0) != (m < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floor_div = std::floor(div);
  if (div - floor_div > 0.5) floor_div += 1.0;
  return floor_div;
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  const bool nums = a.is_number() && b.is_number();
  const bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) return Value(add(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(items), a.as_list().is_tuple);
    }
  } else if (op == "-") {
    if (ints) return Value(sub(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() - b.as_double());
  } else if (op == "*") {
    if (ints) return Value(mul(a.as_int(), b.as_int()));
    if (nums) return Value(a.as_double() * b.as_double());
    bool a_seq = a.is_string() || a.is_list(), b_seq = b.is_string() || b.is_list();
    if (a_seq && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
    if (b_seq && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
  } else if (op == "/") {
    if (nums) {
      if (b.as_double() == 0) throw EvalError("division by zero");
      return Value(a.as_double() / b.as_double());
    }
  } else if (op == "//" || op == "%") {
    if (ints) {
      int64_t x = a.as_int(), y = b.as_int();
      if (y == 0) throw EvalError(op == "//" ? "integer division by zero" : "integer modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        if (op == "//") overflow();
        return Value(0);
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      return Value(op == "//" ? q : m);
    }
    if (nums) {
      if (b.as_double() == 0) throw EvalError("float division by zero");
      return Value(op == "//" ? py_floordiv(a.as_double(), b.as_double()) : py_fmod(a.as_double(), b.as_double()));
    }
    if (op == "%" && a.is_string()) throw EvalError("printf-style string formatting ('...' % x) is not supported");
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), result = 1;
      while (e > 0) {
        if (e & 1) result = mul(result, base);
        e >>= 1;
        if (e > 0) base = mul(base, base);
      }
      return Value(result);
    }
    if (nums) {
      if (a.as_double() == 0 && b.as_double() < 0) throw EvalError("0.0 cannot be raised to a negative power");
      return Value(std::pow(a.as_double(), b.as_double()));
    }
  }
  unsupported(op, a, b);
}

Value unary_op(const std::string& op, const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float()) return Value(op == "-" ? -v.as_double() : v.as_double());
  if (v.is_int() || v.is_bool()) {
    if (op == "+") return Value(v.as_int());
    if (v.as_int() == std::numeric_limits<int64_t>::min()) throw EvalError("integer overflow");
    return Value(-v.as_int());
  }
  throw EvalError("bad operand type for unary " + op + ": '" + v.type_name() + "'");
}

}  // namespace fs::jinja
