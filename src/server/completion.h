// One model serving requests one at a time: a request's prompt becomes token ids (through the chat template for
// chat), generation streams text through the stop strings, and the KV cache is kept between requests.
//
// Keeping the cache is what makes a chat fast: a client sends the whole conversation every turn, and everything up
// to the new user message is already in the cache from the turn before.
//
//   cached (KV rows)   [system][user 1][assistant 1 ]
//   new prompt         [system][user 1][assistant 1 ][user 2][assistant header]
//                      └──── common prefix: reused ──┘└─── run through prefill ───┘
//
// The cache is truncated to the longest common prefix (Model::truncate) and only the rest is prefilled; at least
// one token always goes through the model, since its logits choose the first new token.
//
// Batch 1: the engine decodes one sequence at a time, so requests take turns (a mutex) and later ones wait.
#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/generation_config.h"
#include "engine/model.h"
#include "server/api.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace fs {

// A request turned into what generation needs.
struct PreparedCompletion {
  std::vector<int32_t> ids;  // the whole prompt
  int max_tokens = 0;        // the request's budget, or what is left of the context
  SamplingParams sampling;   // with the seed resolved
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

struct CompletionResult {
  std::string finish_reason;  // "stop" (an end-of-sequence id or a stop string) or "length"
  Usage usage;
  double prefill_seconds = 0, decode_seconds = 0;
};

class CompletionRunner {
 public:
  // chat_template: empty when the model has none (then chat requests are refused with template_error).
  CompletionRunner(Model& model, Tokenizer tok, std::optional<ChatTemplate> chat_template, std::string template_error,
                   GenerationConfig gen);

  // Tokenizes the prompt and checks it against the context. Throws RequestError naming the field. An unset seed
  // becomes `default_seed` when given, else a fresh random one.
  PreparedCompletion prepare(const CompletionRequest& r, std::optional<uint64_t> default_seed) const;
  // Generates one reply. on_text gets each piece of text once it is final (stop strings removed) and returns false
  // when nobody listens any more (the client left): generation then stops.
  CompletionResult run(const PreparedCompletion& p, const std::function<bool(const std::string&)>& on_text);

  int context() const { return model_.max_context(); }
  int cached_tokens() const;  // tokens in the KV cache that the next request may reuse

 private:
  Model& model_;
  Tokenizer tok_;
  std::optional<ChatTemplate> template_;
  std::string template_error_;
  GenerationConfig gen_;
  mutable std::mutex mu_;        // one generation at a time
  std::vector<int32_t> cached_;  // the tokens whose keys and values are in the cache, in order
};

}  // namespace fs
