// The HTTP side of `fs serve`: OpenAI-compatible routes over one CompletionRunner, on cpp-httplib.
//
//   GET  /health                 {"status": "ok"}
//   GET  /v1/models              the one model, as {"object": "list", "data": [...]}
//   POST /v1/completions         text completion (api.h lists the fields)
//   POST /v1/chat/completions    chat, through the model's chat template
//
// A streamed response ("stream": true) is a chain of server-sent events, one JSON chunk per piece of text, ended
// by "data: [DONE]". Errors are OpenAI's {"error": {...}} with a 4xx status that names the field at fault.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "server/completion.h"

namespace fs {

struct ServerOptions {
  std::string model_name;            // what /v1/models lists and responses echo when the request names none
  SamplingParams sampling;           // defaults for requests that set no sampling fields
  std::optional<uint64_t> seed;      // fixed seed for requests without one (else each gets a random seed)
  size_t max_body_bytes = 16 << 20;  // larger request bodies get 413
  bool log_requests = true;          // one line per request on stderr
};

class Server {
 public:
  Server(CompletionRunner& runner, ServerOptions opt);
  ~Server();
  // Binds host:port (port 0: any free port) and returns the port; throws fs::Error when it cannot.
  int bind(const std::string& host, int port);
  // Serves until stop() (from another thread). Throws fs::Error if the listening socket fails.
  void run();
  bool running() const;  // run() is accepting connections
  void stop();           // run() returns once the requests in progress are answered

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fs
