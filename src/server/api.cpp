#include "server/api.h"

#include <cmath>
#include <limits>

namespace fs {

namespace {

using nlohmann::json;

bool given(const json& body, const char* key) { return body.contains(key) && !body.at(key).is_null(); }

float number(const json& body, const char* key) {
  const json& v = body.at(key);
  if (!v.is_number()) throw RequestError(key, "must be a number, got " + std::string(v.type_name()));
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw RequestError(key, "must be finite");
  return float(d);
}

int64_t integer(const json& body, const char* key, int64_t lo, int64_t hi) {
  const json& v = body.at(key);
  if (!v.is_number_integer()) throw RequestError(key, "must be an integer, got " + std::string(v.type_name()));
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    throw RequestError(key, "is out of range");
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi)
    throw RequestError(key,
                       "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(i));
  return i;
}

bool boolean(const json& body, const char* key) {
  const json& v = body.at(key);
  if (!v.is_boolean()) throw RequestError(key, "must be true or false, got " + std::string(v.type_name()));
  return v.get<bool>();
}

// Fields this engine does not implement: accepted only at the value that means "off".
void refuse_unsupported(const json& body) {
  auto refuse = [](const std::string& key, const std::string& why) {
    throw RequestError(key, "is not supported by this server (" + why + ")");
  };
  if (given(body, "n") && !(body["n"].is_number_integer() && body["n"].get<int64_t>() == 1))
    refuse("n", "one choice per request; send n = 1 or leave it out");
  if (given(body, "best_of") && !(body["best_of"].is_number_integer() && body["best_of"].get<int64_t>() == 1))
    refuse("best_of", "one choice per request");
  for (const char* key : {"frequency_penalty", "presence_penalty"})
    if (given(body, key) && !(body[key].is_number() && body[key].get<double>() == 0.0))
      refuse(key, "use repetition_penalty, the multiplicative penalty of Hugging Face");
  if (given(body, "logprobs") && !(body["logprobs"].is_boolean() && !body["logprobs"].get<bool>()))
    refuse("logprobs", "no log-probabilities are returned");
  if (given(body, "top_logprobs")) refuse("top_logprobs", "no log-probabilities are returned");
  if (given(body, "echo") && !(body["echo"].is_boolean() && !body["echo"].get<bool>()))
    refuse("echo", "the prompt is not repeated in the response");
  if (given(body, "suffix")) refuse("suffix", "no fill-in-the-middle");
  if (given(body, "logit_bias") && !(body["logit_bias"].is_object() && body["logit_bias"].empty()))
    refuse("logit_bias", "no per-token biases");
  for (const char* key : {"tools", "functions"})
    if (given(body, key) && !(body[key].is_array() && body[key].empty())) refuse(key, "no tool calling");
  for (const char* key : {"tool_choice", "function_call"})
    if (given(body, key) && body[key] != "none" && body[key] != "auto") refuse(key, "no tool calling");
  if (given(body, "response_format") &&
      !(body["response_format"].is_object() && body["response_format"].value("type", "") == "text"))
    refuse("response_format", "no constrained output; only {\"type\": \"text\"}");
}

// content: a string, or a list of parts of which only {"type": "text", "text": ...} exist here; parts are joined.
std::string message_text(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return "";
  if (!content.is_array()) throw RequestError(where, "must be a string or a list of text parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!part.is_object() || part.value("type", "") != "text")
      throw RequestError(at, "only parts of type \"text\" are supported");
    if (!part.contains("text") || !part["text"].is_string()) throw RequestError(at + ".text", "must be a string");
    text += part["text"].get<std::string>();
  }
  return text;
}

json parse_messages(const json& body) {
  if (!given(body, "messages")) throw RequestError("messages", "is required");
  const json& in = body["messages"];
  if (!in.is_array() || in.empty()) throw RequestError("messages", "must be a non-empty list of messages");
  json out = json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const json& m = in[i];
    if (!m.is_object()) throw RequestError(at, "must be an object with \"role\" and \"content\"");
    if (!m.contains("role") || !m["role"].is_string() || m["role"].get<std::string>().empty())
      throw RequestError(at + ".role", "must be a non-empty string");
    if (!m.contains("content")) throw RequestError(at + ".content", "is required");
    json msg = m;  // other keys (name, reasoning_content, ...) reach the template as they are
    msg["content"] = message_text(m["content"], at + ".content");
    out.push_back(std::move(msg));
  }
  return out;
}

void parse_prompt(const json& body, CompletionRequest& r) {
  if (!given(body, "prompt")) throw RequestError("prompt", "is required");
  // One prompt per request: a string, a list holding one string, or a list of token ids.
  const json& p = body["prompt"];
  const json& text = p.is_array() && p.size() == 1 && p[0].is_string() ? p[0] : p;
  if (text.is_string()) {
    r.prompt = text.get<std::string>();
    if (r.prompt.empty()) throw RequestError("prompt", "is empty");
    return;
  }
  if (p.is_array() && !p.empty()) {
    for (const json& id : p) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
        throw RequestError("prompt", "must be a string or a list of token ids (non-negative integers)" +
                                         std::string(p[0].is_string() ? "; one prompt per request" : ""));
      r.prompt_ids.push_back(int32_t(id.get<int64_t>()));
    }
    return;
  }
  throw RequestError("prompt", "must be a non-empty string or a non-empty list of token ids");
}

std::vector<std::string> parse_stop(const json& body) {
  if (!given(body, "stop")) return {};
  const json& s = body["stop"];
  std::vector<std::string> stops;
  if (s.is_string()) {
    stops.push_back(s.get<std::string>());
  } else if (s.is_array()) {
    for (const json& x : s) {
      if (!x.is_string()) throw RequestError("stop", "must be a string or a list of strings");
      stops.push_back(x.get<std::string>());
    }
  } else {
    throw RequestError("stop", "must be a string or a list of strings");
  }
  for (const auto& x : stops)
    if (x.empty()) throw RequestError("stop", "an empty stop string would end every reply before it starts");
  return stops;
}

}  // namespace

CompletionRequest parse_request(std::string_view body_text, Endpoint endpoint, const SamplingParams& defaults) {
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::parse_error& e) {
    throw RequestError("", std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) throw RequestError("", "the request body must be a JSON object");
  refuse_unsupported(body);

  CompletionRequest r;
  r.endpoint = endpoint;
  if (given(body, "model")) {
    if (!body["model"].is_string()) throw RequestError("model", "must be a string");
    r.model = body["model"].get<std::string>();
  }
  if (endpoint == Endpoint::kChat) {
    r.messages = parse_messages(body);
    if (given(body, "chat_template_kwargs")) {
      if (!body["chat_template_kwargs"].is_object()) throw RequestError("chat_template_kwargs", "must be an object");
      r.template_kwargs = body["chat_template_kwargs"];
    }
  } else {
    parse_prompt(body, r);
  }
  // max_completion_tokens is the chat API's newer name for the same budget.
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (given(body, key)) r.max_tokens = int(integer(body, key, 1, std::numeric_limits<int32_t>::max()));

  r.sampling = defaults;
  SamplingParams& s = r.sampling;
  if (given(body, "temperature")) {
    s.temperature = number(body, "temperature");
    if (s.temperature < 0) throw RequestError("temperature", "must be ≥ 0 (0 is greedy)");
  }
  if (given(body, "top_p")) {
    s.top_p = number(body, "top_p");
    if (!(s.top_p > 0 && s.top_p <= 1)) throw RequestError("top_p", "must be in (0, 1]");
  }
  if (given(body, "top_k")) {
    // -1 is how vLLM spells "off"; 0 is how Hugging Face does.
    const int64_t k = integer(body, "top_k", -1, std::numeric_limits<int32_t>::max());
    s.top_k = k < 0 ? 0 : int(k);
  }
  if (given(body, "min_p")) {
    s.min_p = number(body, "min_p");
    if (!(s.min_p >= 0 && s.min_p <= 1)) throw RequestError("min_p", "must be in [0, 1]");
  }
  if (given(body, "repetition_penalty")) {
    s.repetition_penalty = number(body, "repetition_penalty");
    if (!(s.repetition_penalty > 0)) throw RequestError("repetition_penalty", "must be > 0 (1 is off)");
  }
  if (given(body, "seed"))
    r.seed = uint64_t(integer(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
  r.stop = parse_stop(body);
  if (given(body, "ignore_eos")) r.ignore_eos = boolean(body, "ignore_eos");
  if (given(body, "stream")) r.stream = boolean(body, "stream");
  if (given(body, "stream_options")) {
    const json& o = body["stream_options"];
    if (!o.is_object()) throw RequestError("stream_options", "must be an object");
    if (!r.stream) throw RequestError("stream_options", "is only allowed with \"stream\": true");
    if (given(o, "include_usage")) r.include_usage = boolean(o, "include_usage");
  }
  return r;
}

nlohmann::json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

namespace {
json envelope(const ResponseId& r, bool chunk) {
  const bool chat = r.endpoint == Endpoint::kChat;
  return {{"id", r.id},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", r.created},
          {"model", r.model}};
}
json reason(const std::string& finish_reason) { return finish_reason.empty() ? json(nullptr) : json(finish_reason); }
}  // namespace

nlohmann::json response_json(const ResponseId& r, const std::string& text, const std::string& finish_reason,
                             const Usage& u) {
  json out = envelope(r, false);
  json choice = {{"index", 0}, {"finish_reason", reason(finish_reason)}};
  if (r.endpoint == Endpoint::kChat)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text, choice["logprobs"] = nullptr;
  out["choices"] = json::array({choice});
  out["usage"] = usage_json(u);
  return out;
}

nlohmann::json chunk_json(const ResponseId& r, const std::string& text, const std::string& finish_reason,
                          bool role_only) {
  json out = envelope(r, true);
  json choice = {{"index", 0}, {"finish_reason", reason(finish_reason)}};
  if (r.endpoint == Endpoint::kChat) {
    json delta = json::object();
    if (role_only) delta = {{"role", "assistant"}, {"content", ""}};
    if (!text.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text, choice["logprobs"] = nullptr;
  }
  out["choices"] = json::array({choice});
  return out;
}

nlohmann::json usage_chunk_json(const ResponseId& r, const Usage& u) {
  json out = envelope(r, true);
  out["choices"] = json::array();
  out["usage"] = usage_json(u);
  return out;
}

nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", nullptr}}}};
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace fs
