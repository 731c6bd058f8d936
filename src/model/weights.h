// Named tensors → the model's structure: one struct per decoder layer, with every shape checked at load.
//
// Hugging Face names (for every supported architecture):
//   model.embed_tokens.weight                      [vocab, hidden]
//   model.layers.{i}.input_layernorm.weight        [hidden]
//   model.layers.{i}.self_attn.q_proj.weight       [n_heads·head_dim, hidden]   (+ .bias for Qwen2)
//   model.layers.{i}.self_attn.k_proj.weight       [n_kv_heads·head_dim, hidden] (+ .bias)
//   model.layers.{i}.self_attn.v_proj.weight       [n_kv_heads·head_dim, hidden] (+ .bias)
//   model.layers.{i}.self_attn.q_norm.weight       [head_dim]                    (Qwen3 only)
//   model.layers.{i}.self_attn.k_norm.weight       [head_dim]                    (Qwen3 only)
//   model.layers.{i}.self_attn.o_proj.weight       [hidden, n_heads·head_dim]
//   model.layers.{i}.post_attention_layernorm.weight [hidden]
//   model.layers.{i}.mlp.gate_proj.weight          [intermediate, hidden]
//   model.layers.{i}.mlp.up_proj.weight            [intermediate, hidden]
//   model.layers.{i}.mlp.down_proj.weight          [hidden, intermediate]
//   model.norm.weight                              [hidden]
//   lm_head.weight                                 [vocab, hidden]  (absent when tie_word_embeddings)
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "model/config.h"
#include "model/safetensors.h"

namespace fs {

struct LayerWeights {
  Weight attn_norm, q, k, v, o, q_bias, k_bias, v_bias, o_bias, q_norm, k_norm;
  Weight mlp_norm, gate, up, down;
};

struct ModelWeights {
  Weight embed, final_norm, lm_head;
  std::vector<LayerWeights> layers;
};

// What one expected tensor should look like; the list drives loading, `fs inspect`, and `bench --shape`.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;  // HF shape: [out, in] for matrices, [n] for vectors
  int layer = -1;              // -1 for the embedding, final norm and lm head
  Weight* (*slot)(ModelWeights&, int layer) = nullptr;
};
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c);
// "[151936, 1024]": how loading errors and `fs inspect` write a shape.
std::string shape_str(const std::vector<int64_t>& shape);

// Binds the mapped tensors to a ModelWeights of host pointers. Checks that every expected tensor is present with
// its expected shape and a supported dtype; throws fs::Error listing what is missing or misshapen.
ModelWeights bind_weights(const ModelConfig& c, const SafeTensorSet& st);

// The same structure on a backend: each weight uploaded once (zero copy on the CPU). With a progress callback,
// every page of each weight is touched first, so the disk reads happen here (with a progress bar) rather than
// during the first forward pass.
using LoadProgress = std::function<void(size_t bytes_done, size_t bytes_total)>;
ModelWeights upload_weights(const ModelWeights& host, Backend& be, const LoadProgress& progress = nullptr);

// Random bf16 weights of a model's exact shapes, held in memory (for `fs bench --shape` without a download).
struct SyntheticWeights {
  ModelWeights weights;
  std::vector<std::vector<uint16_t>> storage;
};
SyntheticWeights synthesize_weights(const ModelConfig& c, uint32_t seed);

// Total parameters and bytes; for `inspect` and the benchmark's byte accounting.
size_t weight_bytes(const ModelWeights& w, const ModelConfig& c);

}  // namespace fs
