// Tokens → syntax tree, by recursive descent over Jinja2's grammar (one function per precedence level):
//
//   expression  := or ('if' or ('else' expression)?)*
//   or          := and ('or' and)*          and := not ('and' not)*        not := 'not' not | compare
//   compare     := math1 (('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not' 'in') math1)*
//   math1       := concat (('+'|'-') concat)*                              concat := math2 ('~' math2)*
//   math2       := pow (('*'|'/'|'//'|'%') pow)*                           pow := unary ('**' unary)*
//   unary       := ('-'|'+') unary | primary postfix* (filter | test | call)*
//   primary     := name | string+ | number | '(' tuple ')' | '[' list ']' | '{' dict '}'
//   postfix     := '.' name | '[' subscript ']' | '(' args ')'
//
// So `a + b | trim` filters only b, and `not x == y` is `not (x == y)`, as in Jinja.
// Unknown filters, tests and tags are rejected here, at load time, with the line they are on.
#pragma once
#include <string_view>

#include "tokenizer/jinja_ast.h"

namespace fs::jinja {

Body parse_template(std::string_view source);

}  // namespace fs::jinja
