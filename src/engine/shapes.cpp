// The exact shapes of a few real models, so `fs bench --shape NAME` can synthesize random bf16 weights in memory
// and measure speed without a download. The numbers are those of each model's config.json on Hugging Face.
#include <nlohmann/json.hpp>

#include "engine/model.h"
#include "util/error.h"

namespace fs {

namespace {

struct Shape {
  const char* name;
  const char* config;
};

const Shape kShapes[] = {
    {"qwen3-0.6b", R"({"architectures":["Qwen3ForCausalLM"],"vocab_size":151936,"hidden_size":1024,
      "intermediate_size":3072,"num_hidden_layers":28,"num_attention_heads":16,"num_key_value_heads":8,
      "head_dim":128,"max_position_embeddings":40960,"rms_norm_eps":1e-6,"rope_theta":1000000,
      "tie_word_embeddings":true})"},
    {"qwen3-1.7b", R"({"architectures":["Qwen3ForCausalLM"],"vocab_size":151936,"hidden_size":2048,
      "intermediate_size":6144,"num_hidden_layers":28,"num_attention_heads":16,"num_key_value_heads":8,
      "head_dim":128,"max_position_embeddings":40960,"rms_norm_eps":1e-6,"rope_theta":1000000,
      "tie_word_embeddings":true})"},
    {"llama-3.2-1b", R"({"architectures":["LlamaForCausalLM"],"vocab_size":128256,"hidden_size":2048,
      "intermediate_size":8192,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,
      "head_dim":64,"max_position_embeddings":131072,"rms_norm_eps":1e-5,"rope_theta":500000,
      "rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
      "original_max_position_embeddings":8192},"tie_word_embeddings":true})"},
    {"qwen2.5-0.5b", R"({"architectures":["Qwen2ForCausalLM"],"vocab_size":151936,"hidden_size":896,
      "intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
      "max_position_embeddings":32768,"rms_norm_eps":1e-6,"rope_theta":1000000,"tie_word_embeddings":true})"},
};

}  // namespace

std::vector<std::string> known_shapes() {
  std::vector<std::string> names;
  for (const auto& s : kShapes) names.push_back(s.name);
  return names;
}

ModelConfig shape_config(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) return parse_config(s.config, std::string("shape ") + s.name);
  std::string known;
  for (const auto& s : kShapes) known += std::string(known.empty() ? "" : ", ") + s.name;
  throw Error("--shape \"" + name + "\" is not known (known: " + known + ")");
}

}  // namespace fs
