// The syntax tree of a chat template: what the parser builds once and the interpreter walks on every render.
// Two node types, each a tagged struct (the kind says which fields are used), so the whole grammar is visible
// here at a glance:
//
//   {% for m in messages if m.role != 'system' %}{{ m.content | trim }}{% endfor %}
//
//   For(target=[m], expr=Name(messages), cond=Compare(GetAttr(Name(m), role) != Const('system')),
//       body=[Output(Filter(trim, GetAttr(Name(m), content)))])
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace fs::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Arg {
  std::string name;  // empty: positional
  ExprPtr value;
};

enum class ExprKind {
  Const,        // value
  Name,         // name
  GetAttr,      // kids[0] . name
  GetItem,      // kids[0] [ kids[1] ]
  Slice,        // kids[0] [ kids[1] : kids[2] : kids[3] ]   (absent parts are null)
  Call,         // kids[0] ( args )
  Filter,       // kids[0] | name ( args )
  Test,         // kids[0] is [not] name ( args )           (negated)
  Unary,        // op kids[0]                                 op: - + not
  Binary,       // kids[0] op kids[1]                         op: + - * / // % ** ~ and or
  Compare,      // kids[0] ops[0] kids[1] ops[1] kids[2] ...  ops: == != < <= > >= in notin (chained as Python)
  Conditional,  // kids[0] if kids[1] else kids[2]            (no else: kids[2] is null → undefined)
  List,         // [kids...]
  Tuple,        // (kids...)
  Dict,         // {kids[0]: kids[1], kids[2]: kids[3], ...}
};

struct Expr {
  ExprKind kind;
  int line;
  Value value;                    // Const
  std::string name;               // Name, GetAttr, Filter, Test; the operator of Unary/Binary
  std::vector<ExprPtr> kids;      // operands, see ExprKind
  std::vector<Arg> args;          // Call, Filter, Test
  std::vector<std::string> ops;   // Compare
  bool negated = false;           // Test
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Where `set` and `for` store: one name, several to unpack (`for k, v in ...`), or a namespace attribute.
struct Target {
  std::vector<std::string> names;
  std::string attr;  // `ns.attr`: names = {ns}
};

struct Param {
  std::string name;
  ExprPtr default_value;  // may be null
};

enum class StmtKind {
  Text,       // text
  Output,     // {{ expr }}
  If,         // branches (if + elifs), else_body
  For,        // for target in expr [if cond]: body, else_body
  Set,        // set target = expr
  SetBlock,   // set target: body (captured as a string)
  Macro,      // macro name(params): body
  CallBlock,  // call(params) expr: body becomes the macro's `caller`
  Break,
  Continue,
  Scoped,     // a body run in place: HF's {% generation %} block
  With,       // with assignments: body
};

struct Stmt {
  StmtKind kind;
  int line;
  std::string text;                                          // Text
  ExprPtr expr;                                              // Output, Set, For (iterable), CallBlock (the call)
  ExprPtr cond;                                              // For: the inline `if` filter
  std::vector<std::pair<ExprPtr, Body>> branches;            // If
  Body body;                                                 // For, SetBlock, Macro, CallBlock, Scoped, With
  Body else_body;                                            // If, For
  Target target;                                             // For, Set, SetBlock
  std::string name;                                          // Macro
  std::vector<Param> params;                                 // Macro, CallBlock
  std::vector<std::pair<std::string, ExprPtr>> assignments;  // With
};

}  // namespace fs::jinja
