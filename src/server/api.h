// The OpenAI-compatible API as plain data: a request body checked field by field into a CompletionRequest, and the
// JSON bodies of responses, streamed chunks and errors. No sockets here (server.cpp), no model (completion.cpp).
//
//   POST /v1/completions        {"prompt": "text" | [ids], "max_tokens", "temperature", "stop", "stream", ...}
//   POST /v1/chat/completions   {"messages": [{"role", "content"}], ...the same sampling fields}
//
// Fields OpenAI defines that this engine cannot honour (n > 1, logprobs, tools, penalties other than 0, ...) are
// refused by name rather than ignored, so a client never gets an answer to a question it did not ask. Unknown
// fields are ignored (clients send their own extras). null means "not given", as OpenAI's SDKs send it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"
#include "util/error.h"

namespace fs {

// A request the server refuses: the HTTP status, the field at fault ("" for the body as a whole) and why.
class RequestError : public Error {
 public:
  RequestError(std::string param, const std::string& message, int status = 400)
      : Error(param.empty() ? message : param + ": " + message), param_(std::move(param)), status_(status) {}
  const std::string& param() const { return param_; }
  int status() const { return status_; }

 private:
  std::string param_;
  int status_;
};

enum class Endpoint { kCompletions, kChat };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;                // echoed back in the response
  std::string prompt;               // completions: text (BOS etc. added by the tokenizer's post-processor)
  std::vector<int32_t> prompt_ids;  // completions: or token ids, used as they are
  nlohmann::json messages;          // chat: [{"role", "content": string, ...}], content parts joined
  nlohmann::json template_kwargs = nlohmann::json::object();  // chat_template_kwargs, e.g. {"enable_thinking": false}
  std::optional<int> max_tokens;                              // unset: up to the end of the context
  SamplingParams sampling;                                    // the server's defaults, then the request's fields
  std::optional<uint64_t> seed;   // the request's seed; unset: the server picks one (or its --seed)
  std::vector<std::string> stop;  // stop strings
  bool ignore_eos = false;        // keep going past the model's end-of-sequence ids
  bool stream = false, include_usage = false;
};

// Parses and checks a request body. defaults: the sampling settings when the request gives none. Throws
// RequestError naming the field.
CompletionRequest parse_request(std::string_view body, Endpoint endpoint, const SamplingParams& defaults);

struct Usage {
  int prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
};

// What identifies one response across its chunks.
struct ResponseId {
  std::string id;  // "cmpl-…" or "chatcmpl-…"
  int64_t created = 0;
  std::string model;
  Endpoint endpoint = Endpoint::kCompletions;
};

nlohmann::json usage_json(const Usage& u);
// The whole response of a non-streamed request.
nlohmann::json response_json(const ResponseId& r, const std::string& text, const std::string& finish_reason,
                             const Usage& u);
// One server-sent event's data. A chat stream opens with the role (role_only), then text pieces; the last chunk
// has empty text and the finish reason.
nlohmann::json chunk_json(const ResponseId& r, const std::string& text, const std::string& finish_reason,
                          bool role_only = false);
// The chunk that carries the usage when the request asked for stream_options.include_usage (no choices).
nlohmann::json usage_chunk_json(const ResponseId& r, const Usage& u);
// {"error": {"message", "type", "param", "code"}}, OpenAI's shape.
nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& param = "");
// JSON text with any invalid UTF-8 replaced (U+FFFD) instead of thrown.
std::string dump(const nlohmann::json& j);

}  // namespace fs
