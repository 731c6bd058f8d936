// generation_config.json: the model author's defaults for generation — which ids end a reply (eos_token_id, one id
// or a list) and, when do_sample is true, the sampling settings. Flags on the command line override them.
#pragma once
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "model/config.h"

namespace fs {

struct GenerationConfig {
  std::vector<int32_t> eos_ids;
  int bos_id = -1;
  SamplingParams sampling;  // greedy unless the file says do_sample: true
};

// Reads DIR/generation_config.json if it exists; otherwise falls back to config.json's ids. Throws fs::Error on a
// malformed file.
GenerationConfig load_generation_config(const std::string& dir, const ModelConfig& cfg);

// Checks that DIR is a model folder: throws fs::Error naming the path and listing what a model folder holds.
void check_model_dir(const std::string& dir);

}  // namespace fs
