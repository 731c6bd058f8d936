// The generation loop: prefill the prompt in one forward pass, then decode one token at a time until a stop id,
// the token budget, or the context runs out. Each new token is handed to a callback as soon as it exists, so the
// caller can stream text.
#pragma once
#include <cstdint>
#include <functional>
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

// Runs on top of whatever the model's KV cache already holds (multi-turn chat appends to it).
// on_token returns false to stop early.
GenerateStats generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token);

}  // namespace fs
