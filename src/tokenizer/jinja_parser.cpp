// Recursive-descent parser for the Jinja2 subset chat templates use (grammar in jinja_parser.h).
#include "tokenizer/jinja_parser.h"

#include <set>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_lexer.h"

namespace fs::jinja {
namespace {

constexpr int kMaxDepth = 200;  // nesting of expressions and blocks; deeper is refused, not a stack overflow

// Jinja tags this interpreter does not implement (they load other templates, or change escaping).
const std::set<std::string, std::less<>> kUnsupportedTags = {"extends", "block",      "include", "import",
                                                             "from",    "autoescape", "filter",  "do"};

std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::Data: return "template text";
    case Tok::VarBegin: return "'{{'";
    case Tok::VarEnd: return "'}}'";
    case Tok::BlockBegin: return "'{%'";
    case Tok::BlockEnd: return "'%}'";
    case Tok::Name: return "'" + t.text + "'";
    case Tok::String: return "a string";
    case Tok::Int:
    case Tok::Float: return "the number " + t.text;
    case Tok::Op: return "'" + t.text + "'";
    case Tok::Eof: return "the end of the template";
  }
  return "?";
}

ExprPtr make(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

StmtPtr make_stmt(StmtKind kind, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = line;
  return s;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse() {
    Body body = subparse({});
    if (cur().type != Tok::Eof) fail_at(cur().line, "unexpected " + describe(cur()));
    return body;
  }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;  // break/continue are valid only inside a for loop

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth) fail_at(p.cur().line, "template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  Token next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool is_op(std::string_view op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(std::string_view name) const { return cur().type == Tok::Name && cur().text == name; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    ++pos_;
    return true;
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail_at(cur().line, "expected '" + std::string(op) + "', got " + describe(cur()));
  }
  std::string expect_name(const char* what) {
    if (cur().type != Tok::Name) fail_at(cur().line, std::string("expected ") + what + ", got " + describe(cur()));
    return next().text;
  }
  void expect(Tok type) {
    if (cur().type != type) {
      Token want{type, "", 0};
      fail_at(cur().line, "expected " + describe(want) + ", got " + describe(cur()));
    }
    ++pos_;
  }

  // ---- statements ------------------------------------------------------------------------------------------

  // Parses template text, {{ }} and {% %} until a block tag whose name is in `end_names` (left unconsumed:
  // the caller sees which one) or the end of the template.
  Body subparse(const std::set<std::string, std::less<>>& end_names) {
    Body body;
    while (cur().type != Tok::Eof) {
      const Token& t = cur();
      if (t.type == Tok::Data) {
        auto s = make_stmt(StmtKind::Text, t.line);
        s->text = t.text;
        body.push_back(std::move(s));
        ++pos_;
      } else if (t.type == Tok::VarBegin) {
        auto s = make_stmt(StmtKind::Output, t.line);
        ++pos_;
        s->expr = parse_tuple(true);
        expect(Tok::VarEnd);
        body.push_back(std::move(s));
      } else if (t.type == Tok::BlockBegin) {
        if (peek().type == Tok::Name && end_names.count(peek().text)) {
          ++pos_;
          return body;
        }
        ++pos_;
        body.push_back(parse_statement());
      } else {
        fail_at(t.line, "unexpected " + describe(t));
      }
    }
    return body;
  }

  // Parses the body of a block that was opened by `tag` on `line`, up to one of `end_names`; returns which.
  std::string parse_block_body(Body& body, const std::string& tag, int line,
                               const std::set<std::string, std::less<>>& end_names) {
    skip_op(":");  // Jinja accepts `{% for x in y: %}` for Python's sake
    expect(Tok::BlockEnd);
    DepthGuard guard(*this);
    body = subparse(end_names);
    if (cur().type == Tok::Eof) {
      std::string names;
      for (const auto& n : end_names) names += (names.empty() ? "" : " or ") + std::string("{% ") + n + " %}";
      fail_at(line, "the '" + tag + "' block opened here is never closed (expected " + names + ")");
    }
    return next().text;  // the end tag's name; its '%}' is for the caller
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.type != Tok::Name) fail_at(t.line, "expected a tag name after '{%', got " + describe(t));
    const std::string tag = t.text;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "call") return parse_call_block();
    if (tag == "with") return parse_with();
    if (tag == "generation") return parse_scoped(tag, "endgeneration");
    if (tag == "print") {
      auto s = make_stmt(StmtKind::Output, next().line);
      s->expr = parse_tuple(true);
      expect(Tok::BlockEnd);
      return s;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail_at(t.line, "'" + tag + "' outside of a for loop");
      auto s = make_stmt(tag == "break" ? StmtKind::Break : StmtKind::Continue, next().line);
      expect(Tok::BlockEnd);
      return s;
    }
    if (kUnsupportedTags.count(tag)) fail_at(t.line, "tag \"" + tag + "\" is not supported");
    if (tag.rfind("end", 0) == 0 || tag == "else" || tag == "elif")
      fail_at(t.line, "unexpected '{% " + tag + " %}' (no open block it could close)");
    fail_at(t.line, "unknown tag \"" + tag + "\"");
  }

  StmtPtr parse_if() {
    auto s = make_stmt(StmtKind::If, next().line);
    std::string end;
    do {
      ExprPtr cond = parse_tuple(false);
      Body body;
      end = parse_block_body(body, "if", s->line, {"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(body));
    } while (end == "elif");
    if (end == "else") parse_block_body(s->else_body, "if", s->line, {"endif"});
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_for() {
    auto s = make_stmt(StmtKind::For, next().line);
    s->target = parse_target(false, true);
    if (!skip_name("in")) fail_at(cur().line, "expected 'in' in the for loop, got " + describe(cur()));
    s->expr = parse_tuple(false, true);
    if (skip_name("if")) s->cond = parse_expression();
    if (is_name("recursive")) fail_at(cur().line, "recursive for loops are not supported");
    ++loop_depth_;
    std::string end = parse_block_body(s->body, "for", s->line, {"else", "endfor"});
    --loop_depth_;
    if (end == "else") {
      // The else body runs when nothing was iterated; break/continue there would apply to an outer loop.
      int saved = loop_depth_;
      loop_depth_ = 0;
      parse_block_body(s->else_body, "for", s->line, {"endfor"});
      loop_depth_ = saved;
    }
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_set() {
    int line = next().line;
    Target target = parse_target(true, true);
    if (skip_op("=")) {
      auto s = make_stmt(StmtKind::Set, line);
      s->target = std::move(target);
      s->expr = parse_tuple(true);
      expect(Tok::BlockEnd);
      return s;
    }
    if (is_op("|")) fail_at(cur().line, "filters on a {% set %} block are not supported");
    auto s = make_stmt(StmtKind::SetBlock, line);
    s->target = std::move(target);
    parse_block_body(s->body, "set", line, {"endset"});
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(StmtKind::Macro, next().line);
    s->name = expect_name("a macro name");
    s->params = parse_signature();
    int saved = loop_depth_;
    loop_depth_ = 0;  // a loop around the definition is not a loop around the body
    parse_block_body(s->body, "macro", s->line, {"endmacro"});
    loop_depth_ = saved;
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = make_stmt(StmtKind::CallBlock, next().line);
    if (is_op("(")) s->params = parse_signature();
    s->expr = parse_expression();
    if (s->expr->kind != ExprKind::Call) fail_at(s->line, "{% call %} needs a macro call, like {% call m() %}");
    int saved = loop_depth_;
    loop_depth_ = 0;
    parse_block_body(s->body, "call", s->line, {"endcall"});
    loop_depth_ = saved;
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_with() {
    auto s = make_stmt(StmtKind::With, next().line);
    while (cur().type != Tok::BlockEnd) {
      if (!s->assignments.empty()) expect_op(",");
      std::string name = expect_name("a variable name");
      expect_op("=");
      s->assignments.emplace_back(name, parse_expression());
    }
    parse_block_body(s->body, "with", s->line, {"endwith"});
    expect(Tok::BlockEnd);
    return s;
  }

  StmtPtr parse_scoped(const std::string& tag, const char* end_tag) {
    auto s = make_stmt(StmtKind::Scoped, next().line);
    parse_block_body(s->body, tag, s->line, {end_tag});
    expect(Tok::BlockEnd);
    return s;
  }

  std::vector<Param> parse_signature() {
    std::vector<Param> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      Param p;
      p.name = expect_name("a parameter name");
      if (skip_op("=")) p.default_value = parse_expression();
      else if (!params.empty() && params.back().default_value)
        fail_at(cur().line, "parameter '" + p.name + "' without a default follows one with a default");
      params.push_back(std::move(p));
    }
    expect_op(")");
    return params;
  }

  // A name, `a, b` or `(a, b)` (with_tuple), or `ns.attr` (with_namespace).
  Target parse_target(bool with_namespace, bool with_tuple) {
    Target t;
    if (with_tuple && is_op("(")) {
      ++pos_;
      while (!is_op(")")) {
        if (!t.names.empty()) expect_op(",");
        if (is_op(")")) break;
        t.names.push_back(expect_name("a variable name"));
      }
      expect_op(")");
      if (t.names.empty()) fail_at(cur().line, "expected a variable name, got '()'");
      return t;
    }
    t.names.push_back(expect_name("a variable name"));
    if (with_namespace && is_op(".")) {
      ++pos_;
      t.attr = expect_name("an attribute name");
      return t;
    }
    while (with_tuple && is_op(",")) {
      ++pos_;
      if (cur().type != Tok::Name || is_name("in")) break;
      t.names.push_back(next().text);
    }
    return t;
  }

  // ---- expressions -----------------------------------------------------------------------------------------

  // `a, b` makes a tuple; a single expression stays itself. with_condexpr=false stops before `if` (for the
  // iterable of a for loop, whose `if` filters). Ends at '}}', '%}', ')' or, in a for loop, 'recursive'.
  ExprPtr parse_tuple(bool with_condexpr, bool in_for = false) {
    int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")") ||
          (in_for && (is_name("recursive") || is_name("if"))))
        break;
      items.push_back(with_condexpr ? parse_expression() : parse_or());
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (items.empty()) fail_at(line, "expected an expression, got " + describe(cur()));
      return std::move(items[0]);
    }
    auto e = make(ExprKind::Tuple, line);
    e->kids = std::move(items);
    return e;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    int line = cur().line;
    ExprPtr expr = parse_or();
    while (skip_name("if")) {
      auto e = make(ExprKind::Conditional, line);
      ExprPtr cond = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_expression() : nullptr;
      e->kids.push_back(std::move(expr));
      e->kids.push_back(std::move(cond));
      e->kids.push_back(std::move(otherwise));
      expr = std::move(e);
      line = cur().line;
    }
    return expr;
  }

  ExprPtr binary(const std::string& op, ExprPtr lhs, ExprPtr rhs, int line) {
    auto e = make(ExprKind::Binary, line);
    e->name = op;
    e->kids.push_back(std::move(lhs));
    e->kids.push_back(std::move(rhs));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr lhs = parse_and();
    while (is_name("or")) {
      int line = next().line;
      lhs = binary("or", std::move(lhs), parse_and(), line);
    }
    return lhs;
  }

  ExprPtr parse_and() {
    ExprPtr lhs = parse_not();
    while (is_name("and")) {
      int line = next().line;
      lhs = binary("and", std::move(lhs), parse_not(), line);
    }
    return lhs;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::Unary, next().line);
      e->name = "not";
      e->kids.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    auto e = make(ExprKind::Compare, line);
    while (true) {
      static const std::set<std::string, std::less<>> kCompare = {"==", "!=", "<", "<=", ">", ">="};
      if (cur().type == Tok::Op && kCompare.count(cur().text)) {
        e->ops.push_back(next().text);
      } else if (is_name("in")) {
        ++pos_;
        e->ops.push_back("in");
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        pos_ += 2;
        e->ops.push_back("notin");
      } else {
        break;
      }
      e->kids.push_back(parse_math1());
    }
    if (e->ops.empty()) return first;
    e->kids.insert(e->kids.begin(), std::move(first));
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr lhs = parse_concat();
    while (is_op("+") || is_op("-")) {
      Token op = next();
      lhs = binary(op.text, std::move(lhs), parse_concat(), op.line);
    }
    return lhs;
  }

  ExprPtr parse_concat() {
    ExprPtr lhs = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      lhs = binary("~", std::move(lhs), parse_math2(), line);
    }
    return lhs;
  }

  ExprPtr parse_math2() {
    ExprPtr lhs = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Token op = next();
      lhs = binary(op.text, std::move(lhs), parse_pow(), op.line);
    }
    return lhs;
  }

  ExprPtr parse_pow() {
    ExprPtr lhs = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      lhs = binary("**", std::move(lhs), parse_unary(true), line);
    }
    return lhs;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      Token op = next();
      node = make(ExprKind::Unary, op.line);
      node->name = op.text;
      node->kids.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::Name) {
      std::string name = next().text;
      auto e = make(ExprKind::Const, line);
      if (name == "true" || name == "True") e->value = Value(true);
      else if (name == "false" || name == "False") e->value = Value(false);
      else if (name == "none" || name == "None") e->value = Value::none();
      else {
        e->kind = ExprKind::Name;
        e->name = name;
      }
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) s += next().text;  // adjacent literals concatenate, as in Python
      auto e = make(ExprKind::Const, line);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Tok::Int || t.type == Tok::Float) {
      Token num = next();
      auto e = make(ExprKind::Const, line);
      e->value = num.type == Tok::Int ? Value(num.int_value) : Value(num.float_value);
      return e;
    }
    if (is_op("(")) {
      ++pos_;
      ExprPtr e = parse_paren_tuple(line);
      expect_op(")");
      return e;
    }
    if (is_op("[")) return parse_list();
    if (is_op("{")) return parse_dict();
    fail_at(line, "unexpected " + describe(t) + " in an expression");
  }

  ExprPtr parse_paren_tuple(int line) {
    if (is_op(")")) return make(ExprKind::Tuple, line);  // ()
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    auto e = make(ExprKind::Tuple, line);
    e->kids.push_back(std::move(first));
    while (skip_op(",")) {
      if (is_op(")")) break;
      e->kids.push_back(parse_expression());
    }
    return e;
  }

  ExprPtr parse_list() {
    auto e = make(ExprKind::List, next().line);
    while (!is_op("]")) {
      if (!e->kids.empty()) expect_op(",");
      if (is_op("]")) break;
      e->kids.push_back(parse_expression());
    }
    expect_op("]");
    return e;
  }

  ExprPtr parse_dict() {
    auto e = make(ExprKind::Dict, next().line);
    while (!is_op("}")) {
      if (!e->kids.empty()) expect_op(",");
      if (is_op("}")) break;
      e->kids.push_back(parse_expression());
      expect_op(":");
      e->kids.push_back(parse_expression());
    }
    expect_op("}");
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter(std::move(node));
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    Token t = next();
    if (t.text == ".") {
      if (cur().type == Tok::Int) {  // x.0 is x[0]
        auto e = make(ExprKind::GetItem, t.line);
        auto key = make(ExprKind::Const, t.line);
        key->value = Value(next().int_value);
        e->kids.push_back(std::move(obj));
        e->kids.push_back(std::move(key));
        return e;
      }
      auto e = make(ExprKind::GetAttr, t.line);
      e->name = expect_name("an attribute name after '.'");
      e->kids.push_back(std::move(obj));
      return e;
    }
    // '[': an index, a slice, or several (a tuple key)
    std::vector<ExprPtr> keys;
    while (!is_op("]")) {
      if (!keys.empty()) expect_op(",");
      keys.push_back(parse_subscribed(obj, t.line));
      if (keys.back()->kind == ExprKind::Slice) {
        expect_op("]");
        return std::move(keys.back());
      }
    }
    expect_op("]");
    if (keys.empty()) fail_at(t.line, "empty subscript '[]'");
    auto e = make(ExprKind::GetItem, t.line);
    e->kids.push_back(std::move(obj));
    if (keys.size() == 1) {
      e->kids.push_back(std::move(keys[0]));
    } else {
      auto tuple = make(ExprKind::Tuple, t.line);
      tuple->kids = std::move(keys);
      e->kids.push_back(std::move(tuple));
    }
    return e;
  }

  // One subscript: an expression, or a slice `a:b:c` with any part absent. A slice takes `obj` (moved).
  ExprPtr parse_subscribed(ExprPtr& obj, int line) {
    ExprPtr parts[3];
    if (!is_op(":")) {
      parts[0] = parse_expression();
      if (!is_op(":")) return std::move(parts[0]);
    }
    ++pos_;  // the first ':'
    if (!is_op("]") && !is_op(",") && !is_op(":")) parts[1] = parse_expression();
    if (skip_op(":") && !is_op("]") && !is_op(",")) parts[2] = parse_expression();
    auto e = make(ExprKind::Slice, line);
    e->kids.push_back(std::move(obj));
    for (auto& p : parts) e->kids.push_back(std::move(p));
    return e;
  }

  std::vector<Arg> parse_call_args() {
    expect_op("(");
    std::vector<Arg> args;
    bool seen_keyword = false;
    while (!is_op(")")) {
      if (!args.empty()) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*") || is_op("**")) fail_at(cur().line, "argument unpacking (*args, **kwargs) is not supported");
      Arg a;
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        a.name = next().text;
        ++pos_;
        seen_keyword = true;
      } else if (seen_keyword) {
        fail_at(cur().line, "a positional argument follows a keyword argument");
      }
      a.value = parse_expression();
      args.push_back(std::move(a));
    }
    expect_op(")");
    return args;
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(ExprKind::Call, cur().line);
    e->args = parse_call_args();
    e->kids.push_back(std::move(callee));
    return e;
  }

  ExprPtr parse_filter(ExprPtr node) {
    int line = next().line;  // '|'
    auto e = make(ExprKind::Filter, line);
    e->name = expect_name("a filter name after '|'");
    while (is_op(".")) {
      ++pos_;
      e->name += ".";
      e->name += expect_name("a filter name");
    }
    if (!is_supported_filter(e->name)) fail_at(line, "filter \"" + e->name + "\" is not supported");
    if (is_op("(")) e->args = parse_call_args();
    e->kids.push_back(std::move(node));
    return e;
  }

  ExprPtr parse_test(ExprPtr node) {
    int line = next().line;  // 'is'
    auto e = make(ExprKind::Test, line);
    e->negated = skip_name("not");
    e->name = expect_name("a test name after 'is'");
    while (is_op(".")) {
      ++pos_;
      e->name += ".";
      e->name += expect_name("a test name");
    }
    if (!is_supported_test(e->name)) fail_at(line, "test \"" + e->name + "\" is not supported");
    if (is_op("(")) {
      e->args = parse_call_args();
    } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                cur().type == Tok::Float || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      // `x is divisibleby 3`, `x is sameas false`: one argument without parentheses
      if (is_name("is")) fail_at(cur().line, "tests cannot be chained ('is ... is')");
      Arg a;
      a.value = parse_postfix(parse_primary());
      e->args.push_back(std::move(a));
    }
    e->kids.push_back(std::move(node));
    return e;
  }
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize(source)).parse(); }

}  // namespace fs::jinja
