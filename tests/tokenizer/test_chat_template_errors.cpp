// Bad templates and bad inputs fail with fs::Error naming the construct and its line — at load time when the
// problem is in the template text, at render time when it is in the values — never with a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_json.h"
#include "util/error.h"

namespace fs {
namespace {

// The message of the fs::Error that loading `source` throws ("" if it loads).
std::string load_error(const std::string& source) {
  try {
    jinja::Template t(source);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The message of the fs::Error that rendering throws ("" if it renders).
std::string render_error(const std::string& source, const std::string& variables = "{}") {
  jinja::Template t(source);
  try {
    t.render(jinja::from_json(nlohmann::ordered_json::parse(variables)).as_dict());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatTemplateErrors, UnsupportedConstructsAreNamedWithTheirLine) {
  EXPECT_EQ(load_error("a\nb\n{{ x }}\n{{ text | wordwrap }}"), "chat template line 4: filter \"wordwrap\" is not supported");
  EXPECT_EQ(load_error("{% if x is prime %}{% endif %}"), "chat template line 1: test \"prime\" is not supported");
  EXPECT_EQ(load_error("\n{% include 'other.jinja' %}"), "chat template line 2: tag \"include\" is not supported");
  EXPECT_EQ(load_error("{% extends 'base' %}"), "chat template line 1: tag \"extends\" is not supported");
  EXPECT_EQ(load_error("{% do x.append(1) %}"), "chat template line 1: tag \"do\" is not supported");
  EXPECT_EQ(load_error("{% frobnicate %}"), "chat template line 1: unknown tag \"frobnicate\"");
  EXPECT_EQ(load_error("{% for x in y recursive %}{% endfor %}"),
            "chat template line 1: recursive for loops are not supported");
  EXPECT_EQ(load_error("{{ f(*args) }}"), "chat template line 1: argument unpacking (*args, **kwargs) is not supported");
  EXPECT_EQ(load_error("{% set x | upper %}a{% endset %}"),
            "chat template line 1: filters on a {% set %} block are not supported");
  EXPECT_EQ(render_error("{{ '%s' % 1 }}"),
            "chat template line 1: printf-style string formatting ('...' % x) is not supported");
  EXPECT_EQ(render_error("{{ 'x'.center(5) }}"), "chat template line 1: string method 'center' is not supported");
}

TEST(ChatTemplateErrors, MalformedTemplates) {
  EXPECT_EQ(load_error("line1\n{% if x %}\nno end"),
            "chat template line 2: the 'if' block opened here is never closed (expected {% elif %} or {% else %} or "
            "{% endif %})");
  EXPECT_EQ(load_error("{% for m in messages %}{{ m }}"),
            "chat template line 1: the 'for' block opened here is never closed (expected {% else %} or {% endfor %})");
  EXPECT_EQ(load_error("{% for x in y %}{% endif %}{% endfor %}"),
            "chat template line 1: unexpected '{% endif %}' (no open block it could close)");
  EXPECT_EQ(load_error("ok\n{% endfor %}"), "chat template line 2: unexpected '{% endfor %}' (no open block it could close)");
  EXPECT_EQ(load_error("{{ x"), "chat template line 1: unexpected end of template: the '{{' tag is never closed");
  EXPECT_EQ(load_error("a\n{% if x"), "chat template line 2: unexpected end of template: the '{%' tag is never closed");
  EXPECT_EQ(load_error("{# no end"), "chat template line 1: missing end of comment tag '#}'");
  EXPECT_EQ(load_error("{% raw %}abc"), "chat template line 1: missing {% endraw %} for this {% raw %}");
  EXPECT_EQ(load_error("{{ 'abc }}"), "chat template line 1: unterminated string literal (missing closing ')");
  EXPECT_EQ(load_error("{{ a ) }}"), "chat template line 1: unexpected ')'");
  EXPECT_EQ(load_error("{{ (a ] }}"), "chat template line 1: unexpected ']', expected ')'");
  EXPECT_EQ(load_error("{{ }}"), "chat template line 1: expected an expression, got '}}'");
  EXPECT_EQ(load_error("{{ 1 2 }}"), "chat template line 1: expected '}}', got the number 2");
  EXPECT_EQ(load_error("{{ x @ y }}"), "chat template line 1: unexpected character '@' inside a tag");
  EXPECT_EQ(load_error("{% %}"), "chat template line 1: expected a tag name after '{%', got '%}'");
  EXPECT_EQ(load_error("{% break %}"), "chat template line 1: 'break' outside of a for loop");
  EXPECT_EQ(load_error("{% if x %}{% else %}{% else %}{% endif %}"),
            "chat template line 1: unexpected '{% else %}' (no open block it could close)");
  EXPECT_EQ(load_error("{% macro m(a=1, b) %}{% endmacro %}"),
            "chat template line 1: parameter 'b' without a default follows one with a default");
  EXPECT_EQ(load_error("{{ '\\x4' }}"), "chat template line 1: truncated \\x escape in a string literal");
  EXPECT_EQ(load_error("{{ 99999999999999999999 }}"),
            "chat template line 1: integer literal 99999999999999999999 is too large");
  EXPECT_EQ(load_error("{% set 1 = 2 %}"), "chat template line 1: expected a variable name, got the number 1");
}

TEST(ChatTemplateErrors, DeepNestingIsRefusedNotAStackOverflow) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_EQ(load_error(deep), "chat template line 1: template nested too deeply");
  std::string blocks;
  for (int i = 0; i < 500; ++i) blocks += "{% if true %}";
  EXPECT_EQ(load_error(blocks), "chat template line 1: template nested too deeply");
  EXPECT_EQ(render_error("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"),
            "chat template line 1: macro calls nested too deeply (recursion?)");
}

TEST(ChatTemplateErrors, RenderTimeErrorsNameTheLine) {
  EXPECT_EQ(render_error("ok\n{{ raise_exception('Conversation roles must alternate') }}"),
            "chat template line 2: the template raised an error: Conversation roles must alternate");
  EXPECT_EQ(render_error("{{ missing.attr }}"), "chat template line 1: 'missing' is undefined");
  EXPECT_EQ(render_error("\n\n{{ missing + 1 }}"), "chat template line 3: 'missing' is undefined");
  EXPECT_EQ(render_error("{{ m.content.strip() }}", R"({"m": {"role": "user"}})"),
            "chat template line 1: 'dict object' has no attribute 'content'");
  EXPECT_EQ(render_error("{{ 'a' + 1 }}"), "chat template line 1: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(render_error("{{ 1 / 0 }}"), "chat template line 1: division by zero");
  EXPECT_EQ(render_error("{% for i in 5 %}{% endfor %}"), "chat template line 1: 'int' object is not iterable");
  EXPECT_EQ(render_error("{{ 5() }}"), "chat template line 1: 'int' object is not callable");
  EXPECT_EQ(render_error("{{ x < 'a' }}", R"({"x": 1})"),
            "chat template line 1: cannot order 'int' and 'str' (no <, > between them)");
  EXPECT_EQ(render_error("{{ missing | tojson }}"),
            "chat template line 1: Object of type Undefined is not JSON serializable");
  EXPECT_EQ(render_error("{% set ns = 5 %}{% set ns.x = 1 %}"),
            "chat template line 1: cannot set 'ns.x': 'ns' is not a namespace (make it with namespace())");
  EXPECT_EQ(render_error("{{ l.append(4) }}", R"({"l": []})"),
            "chat template line 1: list.append() modifies the list, which chat templates may not do (HF renders "
            "them in an immutable sandbox)");
  EXPECT_EQ(render_error("{{ 'abc'[::0] }}"), "chat template line 1: slice step cannot be zero");
  EXPECT_EQ(render_error("{{ 2 ** 64 }}"), "chat template line 1: integer overflow (values beyond 64 bits are not supported)");
  EXPECT_EQ(render_error("{{ range(1000000) | length }}"),
            "chat template line 1: range() too big (the sandbox allows 100000 items)");
  EXPECT_EQ(render_error("{{ 'x' * 100000000 }}"), "chat template line 1: repetition result is too large");
  EXPECT_EQ(render_error("{{ 'x' | center(10000000000) }}"), "chat template line 1: center: width 10000000000 is too large");
  EXPECT_EQ(render_error("{{ 'x' | indent(10000000000) }}"), "chat template line 1: indent: width 10000000000 is too large");
  EXPECT_EQ(render_error("{{ [] | tojson(indent=10000000000) }}"),
            "chat template line 1: tojson: width 10000000000 is too large");
  EXPECT_EQ(render_error("{{ ([] * 10000000000) | length }}{{ '' * 10000000000 }}"), "");  // empty: no work, no loop
  EXPECT_EQ(render_error("{% set a, b = [1] %}"), "chat template line 1: not enough values to unpack (expected 2, got 1)");
  EXPECT_EQ(render_error("{{ 'x'.split('') }}"), "chat template line 1: str.split(): empty separator");
  EXPECT_EQ(render_error("{{ 'a'|replace('a') }}"), "chat template line 1: replace() missing required argument 'new'");
  EXPECT_EQ(render_error("{{ 'a'|trim(1, 2) }}"), "chat template line 1: trim() takes at most 1 argument(s), 2 given");
}

TEST(ChatTemplateErrors, ApiInputChecks) {
  ChatTemplate t("{{ messages | length }}", "", "");
  EXPECT_THROW(t.render(nlohmann::json::object(), true), Error);
  EXPECT_THROW(t.render(nlohmann::json::array(), true, nlohmann::json::array()), Error);
  EXPECT_THROW(ChatTemplate("{% if %}", "", ""), Error);  // parsed at construction
}

class ModelDirErrors : public ::testing::Test {
 protected:
  std::filesystem::path dir_;
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fs_chat_template_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string load_dir_error() {
    try {
      ChatTemplate::from_model_dir(dir_.string());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(ModelDirErrors, MissingFileOrTemplate) {
  EXPECT_NE(load_dir_error().find("tokenizer_config.json: cannot open"), std::string::npos);
  write("tokenizer_config.json", "{not json");
  EXPECT_NE(load_dir_error().find("tokenizer_config.json: not a JSON object"), std::string::npos);
  write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  EXPECT_NE(load_dir_error().find("no \"chat_template\""), std::string::npos);
  // llama2's config in the test data has no template either
  try {
    ChatTemplate::from_model_dir(test::source_path("tests/data/tokenizers/llama2"));
    ADD_FAILURE() << "llama2 has no chat template";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no \"chat_template\""), std::string::npos);
  }
}

TEST_F(ModelDirErrors, BadFieldsAndTheOtherForms) {
  write("tokenizer_config.json", R"({"chat_template": 5})");
  EXPECT_NE(load_dir_error().find("must be a string or a list"), std::string::npos);
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "x"}]})");
  EXPECT_NE(load_dir_error().find("without one named \"default\""), std::string::npos);
  write("tokenizer_config.json", R"({"chat_template": "x", "bos_token": 3})");
  EXPECT_NE(load_dir_error().find("\"bos_token\" must be a string"), std::string::npos);
  write("tokenizer_config.json", R"({"chat_template": "{% if %}"})");
  EXPECT_EQ(load_dir_error(), "chat template line 1: expected an expression, got '%}'");

  // the list form, AddedToken objects, and a template kept in chat_template.jinja
  write("tokenizer_config.json",
        R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}],
            "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": null})");
  ChatTemplate t = ChatTemplate::from_model_dir(dir_.string());
  EXPECT_EQ(t.render(nlohmann::json::array(), true), "D<s>");
  EXPECT_EQ(t.eos_token(), "");
  write("tokenizer_config.json", R"({"eos_token": "</s>"})");
  write("chat_template.jinja", "J{{ eos_token }}\n");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_.string()).render(nlohmann::json::array(), true), "J</s>");
}

}  // namespace
}  // namespace fs
