// The evaluator: walks statements, appending text to the output, and evaluates expressions to Values with
// Python's semantics (see jinja_interpreter.h for the scoping rules).
#include "tokenizer/jinja_interpreter.h"

#include <unordered_map>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"
#include "util/error.h"

namespace fs::jinja {
namespace {

constexpr int kMaxCallDepth = 100;  // macro recursion; deeper is an error, not a stack overflow

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

ScopePtr child_of(const ScopePtr& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

enum class Flow { Normal, Break, Continue };

class Interpreter {
 public:
  std::string run(const Body& body, const Dict& variables) {
    auto globals = std::make_shared<Scope>();
    for (auto& [name, value] : global_functions().items) globals->vars[name] = value;
    for (const auto& [name, value] : variables.items) globals->vars[name] = value;
    std::string out;
    try {
      exec(body, child_of(globals), out);
    } catch (const EvalError& e) {
      fail_at(line_, e.what());
    }
    return out;
  }

 private:
  int line_ = 1;  // the line of the node being evaluated, for error messages
  int call_depth_ = 0;

  // ---- statements ------------------------------------------------------------------------------------------

  Flow exec(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const StmtPtr& s : body) {
      Flow f = exec(*s, scope, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
    switch (s.kind) {
      case StmtKind::Text: out += s.text; return Flow::Normal;
      case StmtKind::Output: out += to_str(eval(*s.expr, scope)); return Flow::Normal;
      case StmtKind::If:
        for (const auto& [cond, body] : s.branches)
          if (truthy(eval(*cond, scope))) return exec(body, scope, out);
        return exec(s.else_body, scope, out);
      case StmtKind::For: exec_for(s, scope, out); return Flow::Normal;
      case StmtKind::Set: assign(s.target, eval(*s.expr, scope), scope, s.line); return Flow::Normal;
      case StmtKind::SetBlock: {
        std::string captured;
        exec(s.body, scope, captured);
        assign(s.target, Value(std::move(captured)), scope, s.line);
        return Flow::Normal;
      }
      case StmtKind::Macro: scope->vars[s.name] = make_macro(s, s.name, scope); return Flow::Normal;
      case StmtKind::CallBlock: {
        Value caller = make_macro(s, "caller", scope);
        out += to_str(eval_call(*s.expr, scope, &caller));
        return Flow::Normal;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
      case StmtKind::Scoped: return exec(s.body, scope, out);
      case StmtKind::With: {
        ScopePtr inner = child_of(scope);
        for (const auto& [name, expr] : s.assignments) inner->vars[name] = eval(*expr, scope);
        return exec(s.body, inner, out);
      }
    }
    return Flow::Normal;
  }

  void bind(const Target& t, const Value& v, Scope& scope, int line) {
    if (t.names.size() == 1) {
      scope.vars[t.names[0]] = v;
      return;
    }
    line_ = line;
    std::vector<Value> parts = iterate(v);
    if (parts.size() != t.names.size())
      throw EvalError(parts.size() > t.names.size()
                          ? "too many values to unpack (expected " + std::to_string(t.names.size()) + ")"
                          : "not enough values to unpack (expected " + std::to_string(t.names.size()) + ", got " +
                                std::to_string(parts.size()) + ")");
    for (size_t i = 0; i < parts.size(); ++i) scope.vars[t.names[i]] = parts[i];
  }

  void assign(const Target& t, const Value& v, const ScopePtr& scope, int line) {
    if (t.attr.empty()) {
      bind(t, v, *scope, line);
      return;
    }
    line_ = line;
    const Value* ns = scope->find(t.names[0]);
    if (!ns || !ns->is_namespace())
      throw EvalError("cannot set '" + t.names[0] + "." + t.attr + "': '" + t.names[0] +
                      "' is not a namespace (make it with namespace())");
    ns->as_namespace().attrs.set(t.attr, v);
  }

  struct LoopState {
    int64_t index0 = 0;
    bool has_changed_value = false;
    Value last_changed;
  };

  void exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
    Value iterable = eval(*s.expr, scope);
    line_ = s.line;
    std::vector<Value> items = iterate(iterable);
    if (s.cond) {  // `for x in xs if cond`: filter first, so loop.index and loop.length count what is kept
      std::vector<Value> kept;
      for (Value& item : items) {
        ScopePtr probe = child_of(scope);
        bind(s.target, item, *probe, s.line);
        if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      exec(s.else_body, child_of(scope), out);
      return;
    }
    auto state = std::make_shared<LoopState>();
    Value cycle = Value::function("loop.cycle", [state](CallArgs& a) {
      if (a.positional.empty()) throw EvalError("loop.cycle() needs at least one value");
      return a.positional[size_t(state->index0) % a.positional.size()];
    });
    Value changed = Value::function("loop.changed", [state](CallArgs& a) {
      Value now = Value::list(a.positional);
      if (state->has_changed_value && equals(now, state->last_changed)) return Value(false);
      state->has_changed_value = true;
      state->last_changed = now;
      return Value(true);
    });
    const int64_t n = int64_t(items.size());
    for (int64_t i = 0; i < n; ++i) {
      state->index0 = i;
      ScopePtr iter_scope = child_of(scope);
      bind(s.target, items[size_t(i)], *iter_scope, s.line);
      Dict loop;
      loop.items = {{"index", Value(i + 1)},         {"index0", Value(i)},         {"revindex", Value(n - i)},
                    {"revindex0", Value(n - i - 1)}, {"first", Value(i == 0)},     {"last", Value(i == n - 1)},
                    {"length", Value(n)},            {"depth", Value(1)},          {"depth0", Value(0)},
                    {"cycle", cycle},                {"changed", changed}};
      if (i > 0) loop.items.emplace_back("previtem", items[size_t(i - 1)]);
      if (i + 1 < n) loop.items.emplace_back("nextitem", items[size_t(i + 1)]);
      iter_scope->vars["loop"] = Value::dict(std::move(loop));
      if (exec(s.body, iter_scope, out) == Flow::Break) break;
    }
  }

  // ---- macros ----------------------------------------------------------------------------------------------

  // A macro sees the scope it was defined in. It holds that scope weakly: the scope holds the macro, and a
  // strong reference both ways would never be freed.
  Value make_macro(const Stmt& m, const std::string& name, const ScopePtr& closure) {
    std::weak_ptr<Scope> weak = closure;
    return Value::function(name, [this, &m, weak](CallArgs& args) {
      ScopePtr scope = weak.lock();
      if (!scope) throw EvalError("macro '" + m.name + "' was called after the block defining it ended");
      return call_macro(m, scope, args);
    });
  }

  // Binds arguments as Jinja does: positionals, then keywords; a parameter nobody passed takes its default or
  // stays undefined. Extra arguments land in `varargs` / `kwargs`, `caller` (from {% call %}) in `caller`.
  Value call_macro(const Stmt& m, const ScopePtr& closure, CallArgs& args) {
    if (++call_depth_ > kMaxCallDepth) throw EvalError("macro calls nested too deeply (recursion?)");
    ScopePtr scope = child_of(closure);
    std::vector<bool> bound(m.params.size(), false);
    std::vector<Value> varargs;
    Dict kwargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < m.params.size()) {
        scope->vars[m.params[i].name] = args.positional[i];
        bound[i] = true;
      } else {
        varargs.push_back(args.positional[i]);
      }
    }
    for (auto& [name, value] : args.keyword) {
      size_t k = 0;
      while (k < m.params.size() && m.params[k].name != name) ++k;
      if (k == m.params.size()) {
        if (name == "caller") scope->vars["caller"] = value;
        else kwargs.set(name, value);
        continue;
      }
      if (bound[k]) throw EvalError("macro '" + m.name + "' got multiple values for argument '" + name + "'");
      scope->vars[name] = value;
      bound[k] = true;
    }
    for (size_t k = 0; k < m.params.size(); ++k) {
      if (bound[k]) continue;
      const Param& p = m.params[k];
      scope->vars[p.name] = p.default_value ? eval(*p.default_value, scope)
                                            : Value::undefined("parameter '" + p.name + "' was not provided");
    }
    scope->vars["varargs"] = Value::list(std::move(varargs), true);
    scope->vars["kwargs"] = Value::dict(std::move(kwargs));
    std::string out;
    exec(m.body, scope, out);
    --call_depth_;
    return Value(std::move(out));
  }

  // ---- expressions -----------------------------------------------------------------------------------------

  CallArgs eval_args(const std::vector<Arg>& args, const ScopePtr& scope) {
    CallArgs ca;
    for (const Arg& a : args) {
      if (a.name.empty()) ca.positional.push_back(eval(*a.value, scope));
      else ca.keyword.emplace_back(a.name, eval(*a.value, scope));
    }
    return ca;
  }

  Value eval_call(const Expr& e, const ScopePtr& scope, const Value* caller) {
    Value callee = eval(*e.kids[0], scope);
    CallArgs args = eval_args(e.args, scope);
    if (caller) args.keyword.emplace_back("caller", *caller);
    line_ = e.line;
    if (callee.is_undefined()) fail_undefined(callee);
    if (!callee.is_function()) throw EvalError("'" + callee.type_name() + "' object is not callable");
    Value result = callee.as_function().call(args);
    line_ = e.line;
    return result;
  }

  Value eval(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case ExprKind::Const: return e.value;
      case ExprKind::Name: {
        const Value* v = scope->find(e.name);
        return v ? *v : Value::undefined("'" + e.name + "' is undefined");
      }
      case ExprKind::GetAttr: {
        Value obj = eval(*e.kids[0], scope);
        line_ = e.line;
        if (obj.is_undefined()) fail_undefined(obj);
        return get_attr(obj, e.name);
      }
      case ExprKind::GetItem: {
        Value obj = eval(*e.kids[0], scope);
        Value key = eval(*e.kids[1], scope);
        line_ = e.line;
        if (obj.is_undefined()) fail_undefined(obj);
        return get_item(obj, key);
      }
      case ExprKind::Slice: {
        Value obj = eval(*e.kids[0], scope);
        Value parts[3];
        for (int i = 0; i < 3; ++i) parts[i] = e.kids[i + 1] ? eval(*e.kids[i + 1], scope) : Value::none();
        line_ = e.line;
        if (obj.is_undefined()) fail_undefined(obj);
        return get_slice(obj, parts[0], parts[1], parts[2]);
      }
      case ExprKind::Call: return eval_call(e, scope, nullptr);
      case ExprKind::Filter: {
        Value v = eval(*e.kids[0], scope);
        CallArgs args = eval_args(e.args, scope);
        line_ = e.line;
        return apply_filter(e.name, v, args);
      }
      case ExprKind::Test: {
        Value v = eval(*e.kids[0], scope);
        CallArgs args = eval_args(e.args, scope);
        line_ = e.line;
        return Value(apply_test(e.name, v, args) != e.negated);
      }
      case ExprKind::Unary: {
        Value v = eval(*e.kids[0], scope);
        line_ = e.line;
        if (e.name == "not") return Value(!truthy(v));
        return unary_op(e.name, v);
      }
      case ExprKind::Binary: return eval_binary(e, scope);
      case ExprKind::Compare: return eval_compare(e, scope);
      case ExprKind::Conditional:
        if (truthy(eval(*e.kids[1], scope))) return eval(*e.kids[0], scope);
        return e.kids[2] ? eval(*e.kids[2], scope) : Value::undefined("the inline if has no else branch");
      case ExprKind::List:
      case ExprKind::Tuple: {
        std::vector<Value> items;
        items.reserve(e.kids.size());
        for (const ExprPtr& k : e.kids) items.push_back(eval(*k, scope));
        return Value::list(std::move(items), e.kind == ExprKind::Tuple);
      }
      case ExprKind::Dict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          Value key = eval(*e.kids[i], scope);
          line_ = e.kids[i]->line;
          if (!key.is_string()) throw EvalError("dict keys must be strings here, not '" + key.type_name() + "'");
          d.set(key.as_string(), eval(*e.kids[i + 1], scope));
        }
        return Value::dict(std::move(d));
      }
    }
    return Value();
  }

  Value eval_binary(const Expr& e, const ScopePtr& scope) {
    Value lhs = eval(*e.kids[0], scope);
    if (e.name == "and") return truthy(lhs) ? eval(*e.kids[1], scope) : lhs;  // Python returns the operand
    if (e.name == "or") return truthy(lhs) ? lhs : eval(*e.kids[1], scope);
    Value rhs = eval(*e.kids[1], scope);
    line_ = e.line;
    if (e.name == "~") return Value(to_str(lhs) + to_str(rhs));
    return binary_op(e.name, lhs, rhs);
  }

  Value eval_compare(const Expr& e, const ScopePtr& scope) {
    Value lhs = eval(*e.kids[0], scope);
    for (size_t i = 0; i < e.ops.size(); ++i) {
      Value rhs = eval(*e.kids[i + 1], scope);
      line_ = e.line;
      const std::string& op = e.ops[i];
      bool ok = op == "==" ? equals(lhs, rhs)
                : op == "!=" ? !equals(lhs, rhs)
                : op == "in" ? contains(rhs, lhs)
                : op == "notin" ? !contains(rhs, lhs)
                : op == "<" ? compare(lhs, rhs) < 0
                : op == "<=" ? compare(lhs, rhs) <= 0
                : op == ">" ? compare(lhs, rhs) > 0
                            : compare(lhs, rhs) >= 0;
      if (!ok) return Value(false);
      lhs = std::move(rhs);
    }
    return Value(true);
  }
};

}  // namespace

Template::Template(std::string_view source) : body_(parse_template(source)) {}

std::string Template::render(const Dict& variables) const { return Interpreter().run(body_, variables); }

}  // namespace fs::jinja
