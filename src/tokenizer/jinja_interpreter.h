// A parsed Jinja template and the tree-walking evaluator that renders it.
//
//   source ──tokenize──▶ tokens ──parse──▶ Body (AST) ──render(variables)──▶ text
//            (jinja_lexer)        (jinja_parser)          (this file)
//
// Scopes follow Jinja2: the variables passed in sit below the template's own top-level scope; each for-loop
// iteration, macro call and `with` block gets a child scope, so `{% set %}` inside a loop is gone after the
// iteration (templates use namespace() to carry state out, and so must they here). `if` opens no scope.
#pragma once
#include <string>
#include <string_view>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_value.h"

namespace fs::jinja {

class Template {
 public:
  // Parses the whole template; a syntax error or an unsupported construct throws fs::Error with its line.
  explicit Template(std::string_view source);
  // Renders with these variables (plus the globals: range, namespace, raise_exception, strftime_now, ...).
  // Errors at render time (an undefined value misused, a type error, raise_exception) throw fs::Error too.
  std::string render(const Dict& variables) const;

 private:
  Body body_;
};

}  // namespace fs::jinja
