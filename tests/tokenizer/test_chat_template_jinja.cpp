// The Jinja language as chat templates use it, feature by feature. Every expected string here is what Jinja2
// 3.1 itself prints under Hugging Face's settings (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, HF's tojson): Python's str() of values, its slicing and string methods, Jinja's scoping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_json.h"

namespace fs {
namespace {

std::string render(const std::string& source, const std::string& variables = "{}") {
  jinja::Template t(source);
  return t.render(jinja::from_json(nlohmann::ordered_json::parse(variables)).as_dict());
}

TEST(JinjaLanguage, WhitespaceControlAndTrimBlocks) {
  EXPECT_EQ(render("a  {% if true %}  b  {% endif %}  c"), "a    b    c");
  EXPECT_EQ(render("line\n    {% if true %}\n    kept\n    {% endif %}\nend"), "line\n    kept\nend");
  EXPECT_EQ(render("x {{- ' y ' -}} z"), "x y z");
  EXPECT_EQ(render("a\n  {{ 'v' }}\n  b"), "a\n  v\n  b");
  EXPECT_EQ(render("a\n   {#- note -#}   \nb"), "ab");
  EXPECT_EQ(render("{% if true +%}\nkeeps the newline{%+ endif %}"), "\nkeeps the newline");
  EXPECT_EQ(render("  {%+ if true %}keeps the indent{% endif %}"), "  keeps the indent");
  EXPECT_EQ(render("{% raw %}{{ not evaluated }}{% endraw %}"), "{{ not evaluated }}");
  EXPECT_EQ(render("a\r\nb\rc\n"), "a\nb\nc");
  EXPECT_EQ(render("one trailing newline is dropped\n\n"), "one trailing newline is dropped\n");
  EXPECT_EQ(render("{% for i in items -%}\n  [{{ i }}]\n{%- endfor %}",
                   R"({"items": [1, 2]})"),
            "[1][2]");
  EXPECT_EQ(render("<ul>\n{% for i in items %}\n  <li>{{ i }}</li>\n{% endfor %}\n</ul>",
                   R"({"items": ["a", "b"]})"),
            "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>");
}

TEST(JinjaLanguage, PrintingValuesAsPythonDoes) {
  EXPECT_EQ(render("{{ n }}|{{ t }}|{{ f }}|{{ i }}|{{ missing }}|",
                   R"({"n": null, "t": true, "f": 1.0, "i": -3})"),
            "None|True|1.0|-3||");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 1/3 }} {{ 10/2 }} {{ 1e16 }} {{ 123456789012345.0 }}"),
            "0.30000000000000004 1e+20 1e-05 0.3333333333333333 5.0 1e+16 123456789012345.0");
  EXPECT_EQ(render("{{ l }} {{ d }}",
                   R"({"l": [1, "it's", null, true, 2.5], "d": {"b": "x\ny", "a": [1, {"k": false}]}})"),
            "[1, \"it's\", None, True, 2.5] {'b': 'x\\ny', 'a': [1, {'k': False}]}");
  EXPECT_EQ(render("{{ (1, 'a') }} {{ (1,) }} {{ [] }} {{ {} }} {{ ['say \"hi\"', \"it's\", 'both \\' \"'] }}"),
            "(1, 'a') (1,) [] {} ['say \"hi\"', \"it's\", 'both \\' \"']");
  EXPECT_EQ(render("{{ ['tab\\t', '\\x01', 'é', '\\u00a0'] }}"), "['tab\\t', '\\x01', 'é', '\\xa0']");
}

TEST(JinjaLanguage, Operators) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} "
                   "{{ 2 ** -1 }}"),
            "3 -4 1 2 3.0 0.5 1024 0.5");
  EXPECT_EQ(render("{{ 1 + 2 * 3 - 4 / 2 }} {{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }}"
                   " {{ true + 1 }}"),
            "5.0 a1NoneTrue ababab [1, 1] [1, 2] 2");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3"
                   "] }}"),
            "True False True True True True");
  EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 'x' in missing }} {{ not 1 "
                   "== 2 }}",
                   R"({"l": [1, 2], "d": {"a": 1}})"),
            "True True True True False True");
  EXPECT_EQ(render("{{ n and s }} [{{ e and s }}] {{ e or 'fallback' }} {{ z or none }} {{ 'x' if true }} [{{ 'x' if"
                   " false }}] {{ 'y' if none else 'z' }}",
                   R"({"n": 1, "s": "S", "e": "", "z": 0})"),
            "S [] fallback None x [] z");
  EXPECT_EQ(render("{{ 'a' 'b' \"c\" }} {{ 1_000 }} {{ 0x1F }} {{ 1.5e3 }} {{ -(3) }} {{ -2 ** 2 }}"),
            "abc 1000 31 1500.0 -3 4");
  EXPECT_EQ(render("{{ 'x' ~ l|length }} {{ s + t | upper }} {{ -n | abs }}",
                   R"({"l": [1, 2, 3], "s": "a", "t": "b", "n": 4})"),
            "x3 aB 4");
}

TEST(JinjaLanguage, SubscriptsAndSlices) {
  EXPECT_EQ(render("{{ l[0] }} {{ l[-1] }} [{{ l[10] }}] {{ l[1:] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[:1] }} {{ l.0 }"
                   "}",
                   R"({"l": [3, 1, 2]})"),
            "3 2 [] [1, 2] [2, 1, 3] [1, 2] [3] 3");
  EXPECT_EQ(render("{{ s[0] }} {{ s[-1] }} {{ s[::-1] }} {{ s[1:4] }} {{ s[::2] }} {{ u[::-1] }} {{ u[1:3] }} {{ u|l"
                   "ength }}",
                   R"({"s": "Hello", "u": "héllo 日本 😀"})"),
            "H o olleH ell Hlo 😀 本日 olléh él 10");
  EXPECT_EQ(render("{{ d.a }} {{ d['b'] }} {{ d['items'] }} [{{ d.zzz }}] {{ n.a.b[1].c }} {{ n['a']['b'][0] }} {{ m"
                   "[1].x }}",
                   R"({"d": {"b": 2, "a": 1, "items": "K"}, "n": {"a": {"b": [10, {"c": "deep"}]}}, "m": [{}, {"x": null}]})"),
            "1 2 K [] deep 10 None");
  EXPECT_EQ(render("{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d.keys()|list }} {{ d.values()|list }"
                   "} {{ d.items()|list }}",
                   R"({"d": {"b": 2, "a": 1}})"),
            "1 None 5 ['b', 'a'] [2, 1] [('b', 2), ('a', 1)]");
}

TEST(JinjaLanguage, StringMethods) {
  EXPECT_EQ(render("{{ s.upper() }} {{ s.lower() }} {{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.sp"
                   "lit() }} {{ s.split('o') }} {{ s.split('o', 1) }} {{ s.rsplit('o', 1) }}",
                   R"({"s": "Hello World"})"),
            "HELLO WORLD hello world True True ['Hello', 'World'] ['Hell', ' W', 'rld'] ['Hell', ' World'] ['Hello W'"
            ", 'rld']");
  EXPECT_EQ(render("[{{ w.strip() }}] [{{ w.lstrip() }}] [{{ w.rstrip() }}] [{{ '--x--'.strip('-') }}] [{{ 'aXbXc'.r"
                   "eplace('X', '-') }}] [{{ 'abc'.replace('', '.') }}] [{{ '-'.join(['a', 'b']) }}]",
                   R"({"w": " 　 x  \n"})"),
            "[x] [x  \n] [ 　 x] [x] [a-b-c] [.a.b.c.] [a-b]");
  EXPECT_EQ(render("{{ s.find('o') }} {{ s.rfind('o') }} {{ s.count('l') }} {{ u.find('日') }} {{ 'hello world'.title"
                   "() }} {{ 'hELLO'.capitalize() }}",
                   R"({"s": "Hello World", "u": "héllo 日本"})"),
            "4 7 3 6 Hello World Hello");
  EXPECT_EQ(render("{{ '{} and {x}'.format(1, x='y') }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '  a  b  '.split(none, "
                   "1) }} {{ 'a,b,,c'.split(',') }}"),
            "1 and y ['a', 'b', 'c'] ['a', 'b  '] ['a', 'b', '', 'c']");
  EXPECT_EQ(render("{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[0].rstrip('\\n').split('<thin"
                   "k>')[-1].lstrip('\\n') }}",
                   R"({"c": "<think>\nwhy\n</think>\n\nanswer"})"),
            "answer|why");
}

TEST(JinjaLanguage, Filters) {
  EXPECT_EQ(render("{{ w|trim }}|{{ 'xxaxx'|trim('x') }}|{{ l|length }}|{{ s|length }}|{{ d|length }}|{{ s|upper }}|"
                   "{{ missing|length }}",
                   R"({"w": " \t x \n", "l": [1, 2], "s": "abc", "d": {"a": 1}})"),
            "x|a|2|3|1|ABC|0");
  EXPECT_EQ(render("{{ l|first }} {{ l|last }} {{ s|first }} {{ l|join(', ') }} {{ l|join }} {{ w|sort }} {{ w|sort("
                   "case_sensitive=true) }} {{ w|sort(reverse=true) }} {{ l|reverse|list }} {{ s|reverse }}",
                   R"({"l": [3, 1, 2], "s": "abc", "w": ["b", "A", "c", "a"]})"),
            "3 2 a 3, 1, 2 312 ['A', 'a', 'b', 'c'] ['A', 'a', 'b', 'c'] ['c', 'b', 'A', 'a'] [2, 1, 3] cba");
  EXPECT_EQ(render("{{ missing|default('dv') }} {{ e|default('dv') }} {{ e|default('dv', true) }} {{ n|default('dv')"
                   " }} {{ s|d('x') }}",
                   R"({"e": "", "n": null, "s": "s"})"),
            "dv  dv None s");
  EXPECT_EQ(render("{{ m|map(attribute='role')|list }} {{ m|map(attribute='x', default='-')|list }} {{ w|map('upper'"
                   ")|list }} {{ m|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ m|rejec"
                   "tattr('x')|map(attribute='content')|join }}",
                   R"({"m": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "x": 1}], "w": ["a", "b"]})"),
            "['user', 'assistant'] ['-', 1] ['A', 'B'] ['hi'] hi");
  EXPECT_EQ(render("{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{"
                   " l|sum }} {{ l|max }} {{ l|min }} {{ [1, 2, 1]|unique|list }}",
                   R"({"l": [3, 1, 2, 4]})"),
            "[3, 1] [2, 4] [1, 'a'] 10 4 1 [1, 2]");
  EXPECT_EQ(render("{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }} {{ d|list }}",
                   R"({"d": {"b": 1, "a": 2}})"),
            "[('b', 1), ('a', 2)] [('a', 2), ('b', 1)] [('a', 2), ('b', 1)] ['b', 'a']");
  EXPECT_EQ(render("{{ '42'|int + 1 }} {{ '42.9'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.9|int }} {{ '3.5'|float "
                   "}} {{ 7|float }} {{ 7|string ~ '!' }}"),
            "43 42 0 5 3 3.5 7.0 7!");
  EXPECT_EQ(render("{{ 'hello world-foo(bar'|title }} {{ 'hELLO wORLD'|capitalize }} {{ -3|abs }} {{ 2.567|round(2) "
                   "}} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 7|round }}"),
            "Hello World-Foo(Bar Hello world 3 2.57 2.0 4.0 3.0 7");
  EXPECT_EQ(render("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ '<a href=\"x\">&'|e }}|{{ 'Hello'|r"
                   "eplace('l', 'L') }}|{{ 'Hello'|replace('l', 'L', 1) }}|{{ 'x'|center(5) }}|"),
            "a\n    b\n\n    c|  a\n  b|&lt;a href=&#34;x&#34;&gt;&amp;|HeLLo|HeLlo|  x  |");
}

TEST(JinjaLanguage, Tojson) {
  EXPECT_EQ(render("{{ d|tojson }}",
                   R"({"d": {"z": 1, "a": [1.0, 2, null, true, "é \"q\" \\ \n"], "m": {}}})"),
            "{\"z\": 1, \"a\": [1.0, 2, null, true, \"é \\\"q\\\" \\\\ \\n\"], \"m\": {}}");
  EXPECT_EQ(render("{{ d|tojson(indent=2) }}",
                   R"({"d": {"z": 1, "a": [1, []], "m": {}}})"),
            "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    []\n  ],\n  \"m\": {}\n}");
  EXPECT_EQ(render("{{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=[',', ':']) }} {{ 'é😀'|tojson(ensure_ascii"
                   "=true) }} {{ 'é'|tojson }}",
                   R"({"d": {"z": 1, "a": 2}})"),
            "{\"a\": 2, \"z\": 1} {\"z\":1,\"a\":2} \"\\u00e9\\ud83d\\ude00\" \"é\"");
}

TEST(JinjaLanguage, Tests) {
  EXPECT_EQ(render("{{ n is number }} {{ t is number }} {{ n is integer }} {{ t is integer }} {{ f is float }} {{ s "
                   "is string }} {{ d is mapping }} {{ l is iterable }} {{ n is iterable }} {{ s is sequence }}",
                   R"({"n": 7, "t": true, "f": 1.5, "s": "x", "d": {}, "l": []})"),
            "True True True False True True True True False True");
  EXPECT_EQ(render("{{ missing is defined }} {{ missing is undefined }} {{ x is none }} {{ x is not none }} {{ t is "
                   "true }} {{ 1 is true }} {{ t is false }} {{ 0 is false }} {{ t is boolean }}",
                   R"({"x": null, "t": true})"),
            "False True True False True False False False True");
  EXPECT_EQ(render("{{ 7 is odd }} {{ 7 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 2 is in [1,"
                   " 2] }} {{ 7 is eq 7 }} {{ 7 is lt 8 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ none is sameas"
                   " none }}"),
            "True False True False True True True True True True");
}

TEST(JinjaLanguage, Loops) {
  EXPECT_EQ(render("{% for i in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop."
                   "first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('"
                   "a', 'b') }} {% endfor %}",
                   R"({"l": [3, 1, 2]})"),
            "1032TrueFalse3[|1]a 2121FalseFalse3[3|2]b 3210FalseTrue3[1|]a ");
  EXPECT_EQ(render("{% for i in [] %}x{% else %}empty{% endfor %} {% for i in l if i > 1 %}{{ i }}:{{ loop.index }}/"
                   "{{ loop.length }} {% else %}none{% endfor %}",
                   R"({"l": [3, 1, 2]})"),
            "empty 3:1/2 2:2/2 ");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% f"
                   "or (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %} {% for c in 'abc' %}{{ c }}.{% endfor %}",
                   R"({"d": {"x": 1, "y": 2}})"),
            "x=1;y=2; xy 37 a.b.c.");
  EXPECT_EQ(render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% end"
                   "if %}{{ i }}{% endfor %} {{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list "
                   "}}"),
            "0134 [0, 1, 2] [1, 4, 7] [5, 3, 1]");
  EXPECT_EQ(render("{% for i in [1, 2] %}{% for j in 'ab' %}{{ loop.index }}{{ j }}{% endfor %}/{{ loop.index }} {% "
                   "endfor %}"),
            "1a2b/1 1a2b/2 ");
  EXPECT_EQ(render("{% for i in [1, 1, 2, 1] %}{% if loop.changed(i) %}{{ i }}{% endif %}{% endfor %} {% for i in mi"
                   "ssing %}x{% else %}undefined iterates as empty{% endfor %}"),
            "121 undefined iterates as empty");
}

TEST(JinjaLanguage, ScopesAndNamespaces) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in l %}{% set x = i %}{{ x }}{% endfor %}{{ x }}",
                   R"({"l": [7, 8]})"),
            "781");
  EXPECT_EQ(render("{% set ns = namespace(total=0, found=false) %}{% for i in l %}{% set ns.total = ns.total + i %}{"
                   "% if i == 8 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.found }} {{ n"
                   "s }}",
                   R"({"l": [7, 8]})"),
            "15 True <Namespace {'total': 15, 'found': True}>");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 3, 4 %}{{ t }} {% set block %}inner {{ a }}{% end"
                   "set %}[{{ block }}]"),
            "12 (3, 4) [inner 1]");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }} {% for i in [1, 2] %}{% if i == 1 %}{% set z = 's"
                   "et' %}{% endif %}[{{ z }}]{% endfor %}"),
            "5 [set][]");
  EXPECT_EQ(render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]"), "3[]");
}

TEST(JinjaLanguage, Macros) {
  EXPECT_EQ(render("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') "
                   "}} {{ greet('B', 'Hi') }} {{ greet(greeting='Yo', name='C') }} {{ greet() }}"),
            "Hello, A! Hi, B! Yo, C! Hello, !");
  EXPECT_EQ(render("{% macro m(x) %}[{{ x }}|{{ varargs }}|{{ kwargs }}]{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
            "[1|(2, 3)|{'k': 4}]");
  EXPECT_EQ(render("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold"
                   " {{ 1 + 1 }}{% endcall %}"),
            "<b>bold 2</b>");
  EXPECT_EQ(render("{% macro countdown(x) %}{{ x }}{% if x > 0 %},{{ countdown(x - 1) }}{% endif %}{% endmacro %}{{ "
                   "countdown(3) }}"),
            "3,2,1,0");
  EXPECT_EQ(render("{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{% set g = 'H' %}{{ m() }} {% macro d(a, b="
                   "a ~ '!') %}{{ b }}{% endmacro %}{{ d('x') }}"),
            "H x!");
  EXPECT_EQ(render("{% generation %}kept {{ 1 }}{% endgeneration %} {% print 'printed' %} {{ {'a': {'b': 1}} }} {{ '"
                   "}}' }}"),
            "kept 1 printed {'a': {'b': 1}} }}");
}

TEST(JinjaLanguage, ParsedOnceRenderedManyTimes) {
  jinja::Template t("{% for m in messages %}{{ m }};{% endfor %}");
  for (int i = 0; i < 3; ++i) {
    jinja::Dict vars;
    vars.set("messages", jinja::Value::list({jinja::Value(i), jinja::Value("x")}));
    EXPECT_EQ(t.render(vars), std::to_string(i) + ";x;");
  }
}

}  // namespace
}  // namespace fs
