// Chat template → tokens, as Jinja2's lexer does it under HF's settings (trim_blocks=True, lstrip_blocks=True).
//
//   "Hi {{- name }}!{% if x %}\n  ok{% endif %}"
//     → Data("Hi") VarBegin Name(name) VarEnd Data("!") BlockBegin Name(if) Name(x) BlockEnd Data("  ok") ...
//
// The whitespace rules live here, because Jinja applies them while lexing:
//   - newlines: \r\n and \r become \n, and one trailing newline of the template is dropped (keep_trailing_newline
//     is off);
//   - `{%-` `{{-` `{#-` strip all whitespace before the tag, `-%}` `-}}` `-#}` all whitespace after it;
//   - trim_blocks: the first newline right after `%}` or `#}` is removed (`+%}` keeps it);
//   - lstrip_blocks: spaces and tabs between the start of a line and `{%` or `{#` are removed (`{%+` keeps them);
//   - `{% raw %}...{% endraw %}` is copied as text.
// Inside a tag, `}}` and `%}` end the tag only outside brackets, so `{{ {'a': {'b': 1}} }}` works.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fs::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data: the text; Name: the identifier; String: the decoded value; Op: the operator
  int line;
  int64_t int_value = 0;
  double float_value = 0;
};

// Throws fs::Error("chat template line N: ...") for an unclosed tag or comment, an unknown character, etc.
std::vector<Token> tokenize(std::string_view source);

// "chat template line N: what" — every template error, at parse or render time, has this form.
[[noreturn]] void fail_at(int line, const std::string& what);

}  // namespace fs::jinja
