// config.json → ModelConfig: the numbers that fix every tensor's shape and every constant of the forward pass.
//
// Supported architectures (all decoder-only, pre-norm, RoPE + GQA + SwiGLU + RMSNorm):
//   LlamaForCausalLM   (Llama 2/3; Llama-3.x rope_scaling {"rope_type": "llama3"}; SmolLM uses it too)
//   MistralForCausalLM (Llama with an optional sliding window, which must be null or ≥ the context we run)
//   Qwen2ForCausalLM   (bias on the q/k/v projections)
//   Qwen3ForCausalLM   (RMSNorm on each query/key head — "QK-norm" — and an explicit head_dim)
#pragma once
#include <string>
#include <vector>

namespace fs {

struct RopeScaling {
  std::string type;  // "" (none) or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int original_max_position = 8192;
};

struct ModelConfig {
  std::string architecture;  // e.g. "Qwen3ForCausalLM"
  std::string model_type;    // e.g. "qwen3"
  int vocab_size = 0;
  int hidden_size = 0;        // d_model
  int intermediate_size = 0;  // the MLP's hidden width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (GQA: n_heads is a multiple)
  int head_dim = 0;    // hidden_size / n_heads unless config says otherwise
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 (and Llama with attention_bias: true)
  bool o_bias = false;    // Llama with attention_bias: true
  bool qk_norm = false;   // Qwen3
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads DIR/config.json; throws fs::Error naming the key that is missing or wrong.
ModelConfig load_config(const std::string& dir);
// The same from JSON text (tests, and `bench --shape`).
ModelConfig parse_config(const std::string& json_text, const std::string& where = "config.json");

// The RoPE inverse frequencies, [head_dim / 2]: inv_freq[j] = theta^(-2j / head_dim), then llama3 scaling:
// long wavelengths (> original_max / low_freq_factor) are slowed down by `factor`, short ones (< original_max /
// high_freq_factor) are kept, and those between are blended smoothly.
std::vector<float> rope_inv_freq(const ModelConfig& c);

}  // namespace fs
