// fs serve end to end: a Server on a free local port with the bundled demo model on the CPU, spoken to over HTTP
// with cpp-httplib's client. Every reply is checked against the engine run directly (a second copy of the model:
// tokenize, generate, decode), streamed replies against the same request unstreamed, and the KV cache kept
// between requests against a fresh start.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <thread>

#include "engine/generate.h"
#include "engine/generation_config.h"
#include "server/server.h"
#include "test_util.h"

namespace fs {
namespace {

using nlohmann::json;

constexpr int kContext = 256;

class ServeDemo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::source_path("models/fs-demo-kjv");
    ModelOptions mo;
    mo.max_context = kContext;
    be_ = make_cpu_backend(2);
    model_ = Model::load(dir_, *be_, mo);
    ref_be_ = make_cpu_backend(2);
    ref_ = Model::load(dir_, *ref_be_, mo);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_));
    tmpl_ = std::make_unique<ChatTemplate>(ChatTemplate::from_model_dir(dir_));
    gen_ = load_generation_config(dir_, model_->config());
    runner_ = std::make_unique<CompletionRunner>(*model_, *tok_, *tmpl_, "", gen_);
    ServerOptions so;
    so.model_name = "demo";
    so.log_requests = false;
    server_ = std::make_unique<Server>(*runner_, so);
    port_ = server_->bind("127.0.0.1", 0);
    thread_ = std::thread([] { server_->run(); });
    while (!server_->running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  static void TearDownTestSuite() {
    server_->stop();
    thread_.join();
    server_.reset();
    runner_.reset();
    model_.reset(), ref_.reset(), be_.reset(), ref_be_.reset();
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }
  // POSTs a JSON body; returns (status, parsed body).
  static std::pair<int, json> post(const std::string& path, const std::string& body) {
    auto res = client().Post(path.c_str(), body, "application/json");
    if (!res) return {-1, json()};
    return {res->status, json::parse(res->body)};
  }
  // The engine's own reply to prompt ids, with the model's EOS ids unless ignore_eos.
  static std::pair<std::string, int> reference(const std::vector<int32_t>& ids, int max_tokens,
                                               SamplingParams sampling = {}, bool ignore_eos = false) {
    ref_->reset();
    GenerateOptions opt;
    opt.max_new_tokens = max_tokens;
    opt.sampling = sampling;
    if (!ignore_eos) opt.stop_ids = gen_.eos_ids;
    std::vector<int32_t> out;
    generate(*ref_, ids, opt, [&](int32_t t) {
      out.push_back(t);
      return true;
    });
    return {tok_->decode(out, true), int(out.size())};
  }
  static std::vector<int32_t> chat_ids(const json& messages) {
    return tok_->encode(tmpl_->render(messages, true), false);
  }
  // The events of a server-sent event stream, "data: " removed.
  static std::vector<std::string> events(const std::string& body) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < body.size()) {
      const size_t end = body.find("\n\n", at);
      EXPECT_NE(end, std::string::npos) << "unterminated event";
      if (end == std::string::npos) break;
      const std::string e = body.substr(at, end - at);
      EXPECT_EQ(e.rfind("data: ", 0), 0u) << e;
      out.push_back(e.substr(6));
      at = end + 2;
    }
    return out;
  }

  static inline std::string dir_;
  static inline std::unique_ptr<Backend> be_, ref_be_;
  static inline std::unique_ptr<Model> model_, ref_;
  static inline std::unique_ptr<Tokenizer> tok_;
  static inline std::unique_ptr<ChatTemplate> tmpl_;
  static inline GenerationConfig gen_;
  static inline std::unique_ptr<CompletionRunner> runner_;
  static inline std::unique_ptr<Server> server_;
  static inline std::thread thread_;
  static inline int port_ = 0;
};

TEST_F(ServeDemo, HealthAndModels) {
  auto c = client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  const json models = json::parse(m->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "demo");
  EXPECT_EQ(models["data"][0]["max_model_len"], kContext);
}

TEST_F(ServeDemo, CompletionIsTheEnginesContinuation) {
  const auto [status, r] = post("/v1/completions", R"({"prompt": "And God said", "max_tokens": 24})");
  ASSERT_EQ(status, 200) << r.dump();
  const auto ids = tok_->encode("And God said", true);
  const auto [text, n] = reference(ids, 24);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["model"], "demo");
  EXPECT_EQ(r["choices"][0]["text"], text);
  EXPECT_EQ(r["choices"][0]["finish_reason"], n == 24 ? "length" : "stop");
  EXPECT_EQ(r["usage"]["prompt_tokens"], ids.size());
  EXPECT_EQ(r["usage"]["completion_tokens"], n);
  // The same prompt as token ids.
  const auto [status2, r2] = post("/v1/completions", json{{"prompt", ids}, {"max_tokens", 24}}.dump());
  ASSERT_EQ(status2, 200) << r2.dump();
  EXPECT_EQ(r2["choices"][0]["text"], text);
}

TEST_F(ServeDemo, ChatGoesThroughTheTemplate) {
  const json messages = {{{"role", "system"}, {"content", "Answer as the scripture would."}},
                         {{"role", "user"}, {"content", "Who made the heaven and the earth?"}}};
  const auto [status, r] =
      post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 30}, {"model", "gpt-4o"}}.dump());
  ASSERT_EQ(status, 200) << r.dump();
  const auto ids = chat_ids(messages);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["model"], "demo");  // whatever the client asked for, the one model answered
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], reference(ids, 30).first);
  EXPECT_EQ(r["usage"]["prompt_tokens"], ids.size());
}

TEST_F(ServeDemo, TheCacheKeptBetweenTurnsGivesTheSameReply) {
  json messages = {{{"role", "user"}, {"content", "In the beginning"}}};
  const auto [s1, r1] = post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 20}}.dump());
  ASSERT_EQ(s1, 200) << r1.dump();
  messages.push_back({{"role", "assistant"}, {"content", r1["choices"][0]["message"]["content"]}});
  messages.push_back({{"role", "user"}, {"content", "And then?"}});
  const auto [s2, r2] = post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 20}}.dump());
  ASSERT_EQ(s2, 200) << r2.dump();
  const auto ids = chat_ids(messages);
  EXPECT_GT(r2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 10);  // the first turn was reused
  EXPECT_EQ(r2["choices"][0]["message"]["content"], reference(ids, 20).first);
}

TEST_F(ServeDemo, StreamedRepliesAreTheUnstreamedOnes) {
  for (const char* path : {"/v1/chat/completions", "/v1/completions"}) {
    SCOPED_TRACE(path);
    const bool is_chat = std::string(path) == "/v1/chat/completions";
    json body = {{"max_tokens", 40}, {"temperature", 0.9}, {"seed", 11}};
    if (is_chat)
      body["messages"] = {{{"role", "user"}, {"content", "Tell of the flood."}}};
    else
      body["prompt"] = "And the waters";
    const auto [status, whole] = post(path, body.dump());
    ASSERT_EQ(status, 200) << whole.dump();
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    auto res = client().Post(path, body.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
    const auto ev = events(res->body);
    ASSERT_GE(ev.size(), 4u);
    EXPECT_EQ(ev.back(), "[DONE]");
    std::string text, finish;
    json usage;
    for (size_t i = 0; i + 1 < ev.size(); ++i) {
      const json c = json::parse(ev[i]);
      EXPECT_EQ(c["id"], json::parse(ev[0])["id"]);  // one id for the whole stream
      if (c.contains("usage")) {
        usage = c["usage"];
        EXPECT_TRUE(c["choices"].empty());
        continue;
      }
      const json& ch = c["choices"][0];
      if (is_chat) {
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        if (i == 0) {
          EXPECT_EQ(ch["delta"]["role"], "assistant");
        }
        text += ch["delta"].value("content", "");
      } else {
        text += ch["text"].get<std::string>();
      }
      if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
    }
    const json& want = whole["choices"][0];
    EXPECT_EQ(text, is_chat ? want["message"]["content"] : want["text"]);
    EXPECT_EQ(finish, want["finish_reason"]);
    EXPECT_EQ(usage["completion_tokens"], whole["usage"]["completion_tokens"]);
  }
}

TEST_F(ServeDemo, SeededSamplingIsTheEnginesAndRepeats) {
  const std::string body = R"({"prompt": "Blessed are", "max_tokens": 30, "temperature": 0.8, "top_p": 0.95,
                               "seed": 1234})";
  const auto [s1, r1] = post("/v1/completions", body);
  const auto [s2, r2] = post("/v1/completions", body);
  ASSERT_EQ(s1, 200) << r1.dump();
  ASSERT_EQ(s2, 200) << r2.dump();
  EXPECT_EQ(r1["choices"][0]["text"], r2["choices"][0]["text"]);
  SamplingParams sp;
  sp.temperature = 0.8f, sp.top_p = 0.95f, sp.seed = 1234;
  EXPECT_EQ(r1["choices"][0]["text"], reference(tok_->encode("Blessed are", true), 30, sp).first);
}

TEST_F(ServeDemo, StopStringsCutTheReply) {
  const auto ids = tok_->encode("And God said", true);
  const std::string full = reference(ids, 40, {}, true).first;
  ASSERT_GT(full.size(), 20u);
  const std::string stop = full.substr(10, 4);  // somewhere in the middle
  const auto [status, r] = post(
      "/v1/completions",
      json{{"prompt", "And God said"}, {"max_tokens", 40}, {"ignore_eos", true}, {"stop", {"NEVER", stop}}}.dump());
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["choices"][0]["text"], full.substr(0, full.find(stop)));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServeDemo, IgnoreEosSpendsTheWholeBudget) {
  const auto [status, r] = post("/v1/completions", R"({"prompt": "Amen", "max_tokens": 50, "ignore_eos": true})");
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["usage"]["completion_tokens"], 50);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
}

TEST_F(ServeDemo, BadRequestsGetAnErrorNamingTheField) {
  auto expect_error = [](const std::string& path, const std::string& body, int status, const json& param) {
    const auto [got, r] = post(path, body);
    EXPECT_EQ(got, status) << body;
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["param"], param) << r.dump();
    EXPECT_FALSE(r["error"]["message"].get<std::string>().empty());
    EXPECT_FALSE(r.contains("choices"));
  };
  expect_error("/v1/chat/completions", "{oops", 400, nullptr);
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000})",
               400, "max_tokens");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "n": 3})", 400, "n");
  expect_error("/v1/completions", json{{"prompt", std::vector<int>(kContext + 5, 1)}}.dump(), 400, "prompt");
  expect_error("/v1/completions", R"({"prompt": [1, 99999999]})", 400, "prompt");
  expect_error("/v1/completions", "{\"prompt\": \"\\udc00\"}", 400, nullptr);  // a lone surrogate: not JSON text
  expect_error("/v1/completions", "{\"prompt\": \"" + std::string(17 << 20, 'a') + "\"}", 413, nullptr);
  auto res = client().Get("/v1/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(json::parse(res->body)["error"]["message"].get<std::string>().find("/v1/nothing"), std::string::npos);
  // The server still answers after all of that.
  const auto [status, r] = post("/v1/completions", R"({"prompt": "And", "max_tokens": 3})");
  EXPECT_EQ(status, 200) << r.dump();
}

TEST_F(ServeDemo, WithoutAChatTemplateOnlyChatIsRefused) {
  CompletionRunner bare(*model_, *tok_, std::nullopt, "this model has no usable chat template", gen_);
  const auto chat = parse_request(R"({"messages": [{"role": "user", "content": "hi"}]})", Endpoint::kChat, {});
  try {
    bare.prepare(chat, 1);
    ADD_FAILURE() << "a chat request was accepted without a template";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.param(), "messages");
    EXPECT_NE(std::string(e.what()).find("no usable chat template"), std::string::npos);
  }
  const auto text = parse_request(R"({"prompt": "And"})", Endpoint::kCompletions, {});
  EXPECT_EQ(bare.prepare(text, 1).ids, tok_->encode("And", true));
}

TEST_F(ServeDemo, AnAddressInUseOrNotOursIsAClearError) {
  Server other(*runner_, {});
  try {
    other.bind("127.0.0.1", port_);
    ADD_FAILURE() << "bound a port in use";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port_)), std::string::npos) << e.what();
  }
  EXPECT_THROW(other.bind("127.0.0.1", 70000), Error);
  EXPECT_THROW(other.bind("203.0.113.9", 0), Error);  // TEST-NET-3: no machine's own address
}

TEST_F(ServeDemo, AClientThatLeavesMidStreamStopsGeneration) {
  const std::string body =
      R"({"prompt": "And it came to pass", "max_tokens": 200, "ignore_eos": true, "stream": true})";
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  int chunks = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // hang up
  auto c = client();
  auto res = c.send(req);
  EXPECT_FALSE(res);  // the transfer was cancelled
  EXPECT_EQ(chunks, 3);
  // The next request is served correctly from a consistent cache.
  const auto ids = tok_->encode("And it came to pass", true);
  const auto [status, r] = post("/v1/completions", R"({"prompt": "And it came to pass", "max_tokens": 12})");
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["choices"][0]["text"], reference(ids, 12).first);
  EXPECT_LT(runner_->cached_tokens(), int(ids.size()) + 12);
}

}  // namespace
}  // namespace fs
