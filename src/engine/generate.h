// The generation loop: prefill the prompt in one forward pass, then decode one token at a time until a stop id,
// the token budget, or the context runs out. Each new token is handed to a callback as soon as it exists, so the
// caller can stream text.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/model.h"
#include "engine/sampler.h"

namespace fs {

struct GenerateOptions {
  int max_new_tokens = 128;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;  // e.g. the EOS ids of generation_config.json; the stop token is reported too
};

struct GenerateStats {
  int prompt_tokens = 0;
  int generated = 0;
  double prefill_seconds = 0;  // prompt → first token's logits
  double decode_seconds = 0;   // the remaining tokens
  bool stopped_by_eos = false;
};

// The next token from the last forward's logits by a sampled draw: from the head of the distribution that the
// backend gathers (Model::logit_window: on a GPU a few KB cross to the host instead of the whole vocabulary) where
// the settings cut the distribution, else from the whole row. `context`: the tokens so far (repetition penalty).
int32_t sample_next(Model& model, Sampler& sampler, std::span<const int32_t> context);

// Runs on top of whatever the model's KV cache already holds (multi-turn chat appends to it).
// on_token returns false to stop early.
GenerateStats generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token);

}  // namespace fs
