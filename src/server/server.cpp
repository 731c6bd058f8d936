#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace fs {

namespace {

using nlohmann::json;

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_hex() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& param = "") {
  res.status = status;
  const char* type = status == 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error";
  res.set_content(dump(error_json(message, type, param)), "application/json");
}

}  // namespace

struct Server::Impl {
  CompletionRunner& runner;
  ServerOptions opt;
  httplib::Server http;
  int64_t started = unix_seconds();
  std::atomic<bool> stopping = false;

  Impl(CompletionRunner& r, ServerOptions o) : runner(r), opt(std::move(o)) {
    http.set_payload_max_length(opt.max_body_bytes);
    // httplib's default is SO_REUSEPORT, with which a second server on the same port binds without complaint and
    // the kernel splits the connections between the two. SO_REUSEADDR alone still allows a quick restart.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      const json model = {{"id", opt.model_name},
                          {"object", "model"},
                          {"created", started},
                          {"owned_by", "failed-star"},
                          {"max_model_len", runner.context()}};
      res.set_content(dump({{"object", "list"}, {"data", json::array({model})}}), "application/json");
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      complete(req, res, Endpoint::kCompletions);
    });
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { complete(req, res, Endpoint::kChat); });
    // Statuses httplib sets by itself (no route, body too large) get a JSON body like every other error.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404)
        send_error(
            res, 404,
            "no route " + req.method + " " + req.path +
                " (this server has GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions)");
      else if (res.status == 413)
        send_error(res, 413, "the request body is larger than " + std::to_string(opt.max_body_bytes) + " bytes");
      else
        send_error(res, res.status, "HTTP status " + std::to_string(res.status));
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        send_error(res, 500, e.what());
      } catch (...) {
        send_error(res, 500, "unknown error");
      }
    });
  }

  void log(Endpoint e, const CompletionResult& r) const {
    if (!opt.log_requests) return;
    const double tps = r.usage.completion_tokens > 1 ? (r.usage.completion_tokens - 1) / r.decode_seconds : 0.0;
    std::fprintf(stderr, "%s: prompt %d tokens (%d cached), %.3f s | %d generated (%s), %.1f tok/s\n",
                 e == Endpoint::kChat ? "chat" : "completion", r.usage.prompt_tokens, r.usage.cached_tokens,
                 r.prefill_seconds, r.usage.completion_tokens, r.finish_reason.c_str(), tps);
  }

  void complete(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    CompletionRequest request;
    PreparedCompletion prepared;
    try {
      request = parse_request(req.body, endpoint, opt.sampling);
      prepared = runner.prepare(request, opt.seed);
    } catch (const RequestError& e) {
      send_error(res, e.status(), e.what(), e.param());
      return;
    }
    const ResponseId id{(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-") + random_hex(), unix_seconds(),
                        opt.model_name, endpoint};
    if (!request.stream) {
      std::string text;
      const CompletionResult r = runner.run(prepared, [&](const std::string& piece) {
        text += piece;
        return true;
      });
      log(endpoint, r);
      res.set_content(dump(response_json(id, text, r.finish_reason, r.usage)), "application/json");
      return;
    }
    // Streamed: the provider runs after this handler returns, on the same connection's thread.
    const bool usage = request.include_usage;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, id, prepared, usage](size_t, httplib::DataSink& sink) {
      auto event = [&](const json& data) {
        const std::string line = "data: " + dump(data) + "\n\n";
        return sink.write(line.data(), line.size());
      };
      bool listening = id.endpoint != Endpoint::kChat || event(chunk_json(id, "", "", /*role_only=*/true));
      CompletionResult r;
      try {
        if (listening)
          r = runner.run(prepared,
                         [&](const std::string& piece) { return listening = event(chunk_json(id, piece, "")); });
      } catch (const std::exception& e) {  // the status line is gone: the error travels as an event
        event(error_json(e.what(), "server_error"));
        sink.done();
        return true;
      }
      if (!listening) return false;  // the client left: drop the connection
      log(id.endpoint, r);
      event(chunk_json(id, "", r.finish_reason));
      if (usage) event(usage_chunk_json(id, r.usage));
      const std::string done = "data: [DONE]\n\n";
      sink.write(done.data(), done.size());
      sink.done();
      return true;
    });
  }
};

Server::Server(CompletionRunner& runner, ServerOptions opt) : impl_(std::make_unique<Impl>(runner, std::move(opt))) {}
Server::~Server() = default;

int Server::bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) throw Error("--port " + std::to_string(port) + " is not a TCP port (0-65535)");
  const int bound = port == 0 ? impl_->http.bind_to_any_port(host) : impl_->http.bind_to_port(host, port) ? port : -1;
  if (bound < 0)
    throw Error("cannot listen on " + host + ":" + std::to_string(port) +
                " (the address is not this machine's, or the port is in use)");
  return bound;
}

void Server::run() {
  if (!impl_->http.listen_after_bind() && !impl_->stopping)
    throw Error("the HTTP server stopped: its listening socket failed");
}

bool Server::running() const { return impl_->http.is_running(); }

void Server::stop() {
  impl_->stopping = true;
  impl_->http.stop();
}

}  // namespace fs
