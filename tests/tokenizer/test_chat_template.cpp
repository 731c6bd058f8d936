// The real chat templates (Qwen3, Llama-3) on small conversations, with the expected prompts written out by
// reading the templates (and checked against Jinja2 under HF's settings). The byte-for-byte comparison with HF
// itself over every conversation in tests/data/chat is test_chat_template_golden.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"

namespace fs {
namespace {

using ojson = nlohmann::ordered_json;

ChatTemplate load(const std::string& model) {
  return ChatTemplate::from_model_dir(test::source_path("tests/data/tokenizers/" + model));
}

ojson conversation(const std::string& name) {
  return ojson::parse(test::read_text_file(test::source_path("tests/data/chat/" + name + ".json")));
}

const char* kQwenSystemTwoTurns =
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nHello!<|im_end|>\n"
    "<|im_start|>assistant\nHi there! How can I help?<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n";

TEST(ChatTemplateQwen3, SystemAndTwoUserTurnsWithGenerationPrompt) {
  ChatTemplate t = load("qwen3");
  ojson messages = conversation("system_multi_turn")["messages"];
  EXPECT_EQ(t.render(messages, true), std::string(kQwenSystemTwoTurns) + "<|im_start|>assistant\n");
  EXPECT_EQ(t.render(messages, false), kQwenSystemTwoTurns);
}

TEST(ChatTemplateQwen3, EnableThinkingFalseAddsAnEmptyThinkBlock) {
  ChatTemplate t = load("qwen3");
  ojson messages = conversation("system_multi_turn")["messages"];
  EXPECT_EQ(t.render(messages, true, ojson{{"enable_thinking", false}}),
            std::string(kQwenSystemTwoTurns) + "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  // `enable_thinking is false` is a test for the value False: true (or 0) leaves the prompt as without it.
  EXPECT_EQ(t.render(messages, true, ojson{{"enable_thinking", true}}), t.render(messages, true));
  EXPECT_EQ(t.render(messages, true, ojson{{"enable_thinking", 0}}), t.render(messages, true));
}

TEST(ChatTemplateQwen3, NoSystemPrompt) {
  ChatTemplate t = load("qwen3");
  EXPECT_EQ(t.render(conversation("no_system")["messages"], true),
            "<|im_start|>user\nName a prime number.<|im_end|>\n"
            "<|im_start|>assistant\n7<|im_end|>\n"
            "<|im_start|>user\nAnother one?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateQwen3, ThinkBlocksAreDroppedBeforeTheLastQueryAndKeptAfterIt) {
  // The assistant turn before the last user message loses its <think> block; the one after it (the last
  // message) keeps its reasoning, re-wrapped with the surrounding newlines normalised.
  ChatTemplate t = load("qwen3");
  EXPECT_EQ(t.render(conversation("think_history")["messages"], false),
            "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nAgain simple.\n</think>\n\n6<|im_end|>\n");
}

TEST(ChatTemplateQwen3, ReasoningContentField) {
  ChatTemplate t = load("qwen3");
  EXPECT_EQ(t.render(conversation("reasoning_content")["messages"], false),
            "<|im_start|>user\nIs 91 prime?<|im_end|>\n"
            "<|im_start|>assistant\nNo: 91 = 7 × 13.<|im_end|>\n"
            "<|im_start|>user\nIs 97 prime?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nNo divisor up to 9 works.\n</think>\n\nYes.<|im_end|>\n");
}

TEST(ChatTemplateQwen3, ToolsAndToolCalls) {
  ChatTemplate t = load("qwen3");
  ojson conv = conversation("tool_calls");
  std::string got = t.render(conv["messages"], true, ojson{{"tools", conv["tools"]}});
  // The tool list is printed with HF's tojson: json.dumps(ensure_ascii=False), keys in the order given.
  const std::string system =
      "<|im_start|>system\nYou are a weather bot.\n\n# Tools\n\nYou may call one or more functions to assist with "
      "the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the current "
      "weather for a city.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
      "\"string\", \"description\": \"The city, e.g. “Paris”\"}, \"unit\": {\"type\": \"string\", \"enum\": "
      "[\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"]}}}\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"description\": \"Get the local time.\", "
      "\"parameters\": {\"type\": \"object\", \"properties\": {\"tz\": {\"type\": \"string\"}}, \"required\": "
      "[]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call><|im_end|>\n";
  const std::string turns =
      "<|im_start|>user\nWeather and time in Paris?<|im_end|>\n"
      // content is empty, so no newline before the first call; arguments: an object via tojson, a string as is
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
      "\"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": "
      "\"Europe/Paris\"}}\n</tool_call><|im_end|>\n"
      // consecutive tool results share one user turn
      "<|im_start|>user\n<tool_response>\n{\"temperature\": 21, \"sky\": \"sunny\"}\n</tool_response>\n"
      "<tool_response>\n14:05\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\nIt is 21 °C and sunny in Paris, and 14:05.<|im_end|>\n"
      "<|im_start|>user\nThanks!<|im_end|>\n"
      "<|im_start|>assistant\n";
  EXPECT_EQ(got, system + turns);
}

TEST(ChatTemplateQwen3, ConversationEndingInAToolResult) {
  // The last message is a tool result, so the last *query* is the first user message, and the assistant turn
  // after it keeps its reasoning even though it is not the last message.
  ChatTemplate t = load("qwen3");
  ojson conv = conversation("multi_step_tools");
  std::string got = t.render(conv["messages"], true);  // without tools: no system block at all
  EXPECT_EQ(got,
            "<|im_start|>user\nWho wrote Dune?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nI should search.\n</think>\n\nLet me check.\n<tool_call>\n"
            "{\"name\": \"search\", \"arguments\": {\"q\": \"Dune novel author\"}}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nFrank Herbert (1965)\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateLlama3, SystemAndTwoTurns) {
  ChatTemplate t = load("llama3");
  ojson messages = conversation("system_multi_turn")["messages"];
  const std::string expected =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHi there! How can I help?<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(t.render(messages, true), expected);
  // This (base-model) template appends the assistant header whether or not a generation prompt is asked for.
  EXPECT_EQ(t.render(messages, false), expected);
}

TEST(ChatTemplateLlama3, ContentIsTrimmed) {
  ChatTemplate t = load("llama3");
  ojson messages = conversation("unicode_whitespace")["messages"];
  // `| trim` strips Python whitespace at both ends, U+00A0 (no-break space) included; inner text is untouched.
  EXPECT_EQ(t.render(messages, true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nRéponds en français. 日本語も可。"
            "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nSay \"hi\" and 'bye' \\ emoji: 😀<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n«Salut» — 👋<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nLine one\r\nLine two\n\nLine four<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, ReadsTokensAndTemplateFromTheConfig) {
  ChatTemplate llama = load("llama3");
  EXPECT_EQ(llama.bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(llama.eos_token(), "<|end_of_text|>");
  ChatTemplate qwen = load("qwen3");
  EXPECT_EQ(qwen.bos_token(), "");  // null in the config: the template sees bos_token as undefined
  EXPECT_EQ(qwen.eos_token(), "<|im_end|>");
  EXPECT_NE(qwen.source().find("enable_thinking"), std::string::npos);
}

TEST(ChatTemplate, SortedAndOrderedJsonGiveTheSameTextWhenNoObjectIsPrinted) {
  ChatTemplate t = load("qwen3");
  ojson ordered = conversation("think_history")["messages"];
  nlohmann::json sorted = nlohmann::json::parse(ordered.dump());
  EXPECT_EQ(t.render(sorted, true, {{"enable_thinking", false}}), t.render(ordered, true, {{"enable_thinking", false}}));
}

TEST(ChatTemplate, VariablesSeenByTheTemplate) {
  ChatTemplate t(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ documents }}|"
      "{{ messages | length }}|{{ extra_var }}|{{ missing is defined }}",
      "<s>", "</s>");
  EXPECT_EQ(t.render(nlohmann::json::array({{{"role", "user"}, {"content", "x"}}}), true, {{"extra_var", 42}}),
            "<s>|</s>|True|None|None|1|42|False");
  ChatTemplate no_tokens("[{{ bos_token }}]{{ bos_token is defined }}", "", "");
  EXPECT_EQ(no_tokens.render(nlohmann::json::array(), false), "[]False");
  // extra overrides the defaults, tools included
  EXPECT_EQ(ChatTemplate("{{ tools | length }}", "", "").render(nlohmann::json::array(), false, {{"tools", {1, 2}}}),
            "2");
}

TEST(ChatTemplate, CopiesShareTheParsedTemplate) {
  ChatTemplate a("{% for m in messages %}{{ m.content }};{% endfor %}", "", "");
  ChatTemplate b = a;
  nlohmann::json msgs = nlohmann::json::array({{{"role", "user"}, {"content", "a"}}, {{"role", "user"}, {"content", "b"}}});
  EXPECT_EQ(a.render(msgs, false), "a;b;");
  EXPECT_EQ(b.render(msgs, false), "a;b;");
}

}  // namespace
}  // namespace fs
