// The OpenAI request bodies: what is accepted, what each field becomes, and that every refusal names its field.
#include <gtest/gtest.h>

#include "server/api.h"

namespace fs {
namespace {

using nlohmann::json;

CompletionRequest chat(const json& body, const SamplingParams& defaults = {}) {
  return parse_request(body.dump(), Endpoint::kChat, defaults);
}
CompletionRequest completion(const json& body) { return parse_request(body.dump(), Endpoint::kCompletions, {}); }

// The field a refused request names ("" when nothing was refused).
std::string refused(const std::string& body, Endpoint e = Endpoint::kChat) {
  try {
    parse_request(body, e, {});
  } catch (const RequestError& err) {
    EXPECT_EQ(err.status(), 400);
    if (!err.param().empty()) {
      EXPECT_NE(std::string(err.what()).find(err.param()), std::string::npos);
    }
    return err.param().empty() ? "<body>" : err.param();
  }
  return "";
}

const json kHello = {{"messages", {{{"role", "user"}, {"content", "Hello"}}}}};

TEST(ServerApi, MinimalChatRequest) {
  const auto r = chat(kHello);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"], "Hello");
  EXPECT_FALSE(r.max_tokens);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.seed);
  EXPECT_TRUE(r.sampling.greedy());
}

TEST(ServerApi, SamplingFieldsOverrideTheDefaults) {
  SamplingParams defaults;
  defaults.temperature = 0.7f, defaults.top_p = 0.8f, defaults.top_k = 20;
  json body = kHello;
  EXPECT_FLOAT_EQ(chat(body, defaults).sampling.top_p, 0.8f);
  body.update({{"temperature", 1},
               {"top_k", -1},
               {"min_p", 0.05},
               {"repetition_penalty", 1.1},
               {"seed", 42},
               {"max_tokens", 16},
               {"top_p", nullptr}});
  const auto r = chat(body, defaults);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);           // vLLM's -1 is "off"
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.8f);  // null: not given
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.max_tokens, 16);
  body.erase("max_tokens");
  body["max_completion_tokens"] = 9;
  EXPECT_EQ(chat(body).max_tokens, 9);
}

TEST(ServerApi, ContentPartsAreJoinedAndOtherKeysKept) {
  json body = {{"messages",
                {{{"role", "system"}, {"content", nullptr}},
                 {{"role", "user"},
                  {"name", "ann"},
                  {"content", {{{"type", "text"}, {"text", "one "}}, {{"type", "text"}, {"text", "two"}}}}}}}};
  const auto r = chat(body);
  EXPECT_EQ(r.messages[0]["content"], "");
  EXPECT_EQ(r.messages[1]["content"], "one two");
  EXPECT_EQ(r.messages[1]["name"], "ann");
}

TEST(ServerApi, PromptForms) {
  EXPECT_EQ(completion({{"prompt", "Once"}}).prompt, "Once");
  EXPECT_EQ(completion({{"prompt", {"Once"}}}).prompt, "Once");
  EXPECT_EQ(completion({{"prompt", {1, 2, 3}}}).prompt_ids, (std::vector<int32_t>{1, 2, 3}));
}

TEST(ServerApi, StopStringsAndStreaming) {
  json body = kHello;
  body.update({{"stop", "\n"}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  auto r = chat(body);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n"}));
  EXPECT_TRUE(r.stream && r.include_usage);
  body["stop"] = {"a", "b"};
  EXPECT_EQ(chat(body).stop.size(), 2u);
}

TEST(ServerApi, EachBadFieldIsNamed) {
  auto with = [](json extra, json base = kHello) {
    base.update(extra);
    return base.dump();
  };
  EXPECT_EQ(refused("{not json"), "<body>");
  EXPECT_EQ(refused("[1, 2]"), "<body>");
  EXPECT_EQ(refused("{}"), "messages");
  EXPECT_EQ(refused(R"({"messages": []})"), "messages");
  EXPECT_EQ(refused(R"({"messages": ["hi"]})"), "messages[0]");
  EXPECT_EQ(refused(R"({"messages": [{"content": "hi"}]})"), "messages[0].role");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user"}]})"), "messages[0].content");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": 5}]})"), "messages[0].content");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"),
            "messages[0].content[0]");
  EXPECT_EQ(refused(with({{"max_tokens", 0}})), "max_tokens");
  EXPECT_EQ(refused(with({{"max_tokens", "10"}})), "max_tokens");
  EXPECT_EQ(refused(with({{"max_tokens", 1.5}})), "max_tokens");
  EXPECT_EQ(refused(with({{"max_tokens", 1e12}})), "max_tokens");
  EXPECT_EQ(refused(with({{"temperature", -0.5}})), "temperature");
  EXPECT_EQ(refused(with({{"temperature", "hot"}})), "temperature");
  EXPECT_EQ(refused(with({{"top_p", 0}})), "top_p");
  EXPECT_EQ(refused(with({{"top_p", 1.5}})), "top_p");
  EXPECT_EQ(refused(with({{"top_k", -2}})), "top_k");
  EXPECT_EQ(refused(with({{"min_p", 2}})), "min_p");
  EXPECT_EQ(refused(with({{"repetition_penalty", 0}})), "repetition_penalty");
  EXPECT_EQ(refused(with({{"seed", "x"}})), "seed");
  EXPECT_EQ(refused(with({{"stop", 3}})), "stop");
  EXPECT_EQ(refused(with({{"stop", {"a", 3}}})), "stop");
  EXPECT_EQ(refused(with({{"stop", ""}})), "stop");
  EXPECT_EQ(refused(with({{"stream", "yes"}})), "stream");
  EXPECT_EQ(refused(with({{"stream_options", {{"include_usage", true}}}})), "stream_options");
  EXPECT_EQ(refused(with({{"model", 7}})), "model");
  EXPECT_EQ(refused(with({{"chat_template_kwargs", "x"}})), "chat_template_kwargs");
  EXPECT_EQ(refused(with({{"ignore_eos", 1}})), "ignore_eos");
  EXPECT_EQ(refused(R"({"prompt": ""})", Endpoint::kCompletions), "prompt");
  EXPECT_EQ(refused(R"({"prompt": ["a", "b"]})", Endpoint::kCompletions), "prompt");
  EXPECT_EQ(refused(R"({"prompt": [1, -2]})", Endpoint::kCompletions), "prompt");
  EXPECT_EQ(refused(R"({"prompt": 5})", Endpoint::kCompletions), "prompt");
  EXPECT_EQ(refused(R"({"messages": []})", Endpoint::kCompletions), "prompt");
}

TEST(ServerApi, UnsupportedFeaturesAreRefusedNotIgnored) {
  auto with = [](json extra) {
    json body = kHello;
    body.update(extra);
    return body.dump();
  };
  EXPECT_EQ(refused(with({{"n", 2}})), "n");
  EXPECT_EQ(refused(with({{"logprobs", true}})), "logprobs");
  EXPECT_EQ(refused(with({{"top_logprobs", 3}})), "top_logprobs");
  EXPECT_EQ(refused(with({{"frequency_penalty", 0.5}})), "frequency_penalty");
  EXPECT_EQ(refused(with({{"presence_penalty", -1}})), "presence_penalty");
  EXPECT_EQ(refused(with({{"tools", {{{"type", "function"}}}}})), "tools");
  EXPECT_EQ(refused(with({{"tool_choice", "required"}})), "tool_choice");
  EXPECT_EQ(refused(with({{"response_format", {{"type", "json_object"}}}})), "response_format");
  EXPECT_EQ(refused(with({{"logit_bias", {{"5", 1}}}})), "logit_bias");
  EXPECT_EQ(refused(R"({"prompt": "a", "echo": true})", Endpoint::kCompletions), "echo");
  EXPECT_EQ(refused(R"({"prompt": "a", "suffix": "b"})", Endpoint::kCompletions), "suffix");
  // The values that mean "off" are what SDKs send by default: accepted.
  EXPECT_EQ(refused(with({{"n", 1},
                          {"logprobs", false},
                          {"frequency_penalty", 0},
                          {"presence_penalty", 0.0},
                          {"tools", json::array()},
                          {"tool_choice", "none"},
                          {"response_format", {{"type", "text"}}},
                          {"logit_bias", json::object()},
                          {"user", "someone"},
                          {"some_extension", {1, 2}}})),
            "");
}

TEST(ServerApi, ResponseShapes) {
  const ResponseId chat_id{"chatcmpl-1", 1700000000, "demo", Endpoint::kChat};
  const Usage u{5, 2, 3};
  const json full = response_json(chat_id, "Hi", "stop", u);
  EXPECT_EQ(full["object"], "chat.completion");
  EXPECT_EQ(full["choices"][0]["message"]["content"], "Hi");
  EXPECT_EQ(full["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(full["usage"]["total_tokens"], 8);
  EXPECT_EQ(full["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
  const json first = chunk_json(chat_id, "", "", true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  const json last = chunk_json(chat_id, "", "length");
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(usage_chunk_json(chat_id, u)["choices"].empty());

  const ResponseId text_id{"cmpl-1", 1700000000, "demo", Endpoint::kCompletions};
  EXPECT_EQ(response_json(text_id, "abc", "length", u)["choices"][0]["text"], "abc");
  EXPECT_EQ(chunk_json(text_id, "x", "")["object"], "text_completion");
  const json err = error_json("bad", "invalid_request_error", "top_p");
  EXPECT_EQ(err["error"]["param"], "top_p");
  EXPECT_EQ(dump(json("\xff")), "\"\xef\xbf\xbd\"");  // invalid UTF-8 is replaced, not thrown
}

}  // namespace
}  // namespace fs
