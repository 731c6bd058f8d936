// Options shared by several subcommands: the model folder, the device, sampling flags, and ids on the command line.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/backend.h"
#include "engine/generation_config.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "tokenizer/tokenizer.h"

namespace fs::cli {

struct DeviceOptions {
  std::string device = "cpu";  // cpu | cuda
  int threads = 0;             // CPU threads; 0 = one per core
  int ctx = 4096;              // KV cache size in tokens
};
void add_device_flags(CLI::App* cmd, DeviceOptions& d);
std::unique_ptr<Backend> open_backend(const DeviceOptions& d);

// Sampling flags; each is applied only when given, on top of generation_config.json's defaults.
struct SamplingFlags {
  std::optional<float> temp, top_p, min_p, repeat_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  SamplingParams apply(SamplingParams base) const;
};
void add_sampling_flags(CLI::App* cmd, SamplingFlags& s);

// "1,2,3" or "1 2 3" → ids; throws fs::Error naming the flag on anything else.
std::vector<int32_t> parse_ids(const std::string& text, const std::string& flag);

// Loads a model folder with a progress bar on a terminal (loading can take seconds for real models).
std::unique_ptr<Model> load_model(const std::string& dir, Backend& be, const DeviceOptions& d);

// Everything generating from one model folder needs (fs run, chat, serve): backend, weights, tokenizer, generation
// defaults, and how long loading took.
struct Session {
  std::unique_ptr<Backend> be;
  std::unique_ptr<Model> model;
  Tokenizer tok;
  GenerationConfig gen;
  double load_seconds = 0;
};
// Checks the sampling flags first (a bad flag fails before anything loads), then the folder, then loads it.
Session open_session(const std::string& dir, const SamplingFlags& sampling, const DeviceOptions& d);

}  // namespace fs::cli
