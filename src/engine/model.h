// A loaded model on a backend: its weights, its KV cache, and the forward pass.
//
// forward() runs a batch of tokens at consecutive positions through every layer, appending their keys and values
// to the KV cache, and leaves logits in backend memory. Prefill is one call with the whole prompt (split into
// chunks of at most max_batch tokens); decode is one call per generated token.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace fs {

struct ModelOptions {
  int max_context = 4096;  // KV cache rows per layer (capped at max_position_embeddings)
  int max_batch = 512;     // tokens per forward chunk (prefill is split into chunks of this size)
  LoadProgress progress;   // called while weights are read and uploaded (a progress bar on a terminal)
};

class Model {
 public:
  // Reads DIR/config.json and the safetensors, checks every tensor, uploads the weights to `be`.
  static std::unique_ptr<Model> load(const std::string& dir, Backend& be, const ModelOptions& opt);
  // Random bf16 weights of a known model's shape ("qwen3-0.6b", "llama-3.2-1b", ...) for benchmarks.
  static std::unique_ptr<Model> synthetic(const std::string& shape_name, Backend& be, const ModelOptions& opt);
  ~Model();

  const ModelConfig& config() const { return cfg_; }
  Backend& backend() { return be_; }
  int max_context() const { return max_context_; }
  int position() const { return pos_; }  // tokens already in the KV cache
  size_t weight_bytes() const { return weight_bytes_; }
  // Bytes one decode step reads at context length ctx: every weight once (the embedding row aside) plus the KV
  // cache rows 0..ctx. This is the numerator of the GB/s that `fs bench` prints.
  size_t decode_bytes(int ctx) const;

  // Runs ids[0..n) at positions position()..position()+n-1 and advances position(). With all_logits the logits of
  // every token are kept ([n, vocab]); otherwise only the last token's. Throws fs::Error if an id is out of range or
  // the context would overflow.
  void forward(const int32_t* ids, int n, bool all_logits = false);
  // The logits of the last forward(), copied to the host: [rows, vocab] (rows = n or 1).
  std::vector<float> logits();
  // argmax of the last token's logits, computed on the backend (no vocab-sized copy).
  int32_t greedy_token();
  // The head of the last token's logits for a sampled draw (Backend::logit_window): false where the backend finds
  // more than `cap` ids in the window, or the logits already sit on the host (a forward with all_logits).
  bool logit_window(float temperature, float window, int cap, LogitWindow& out);
  // Greedy decoding with the token fed back on the backend: the argmax of each step is the next step's input
  // without a trip through the host, and step i + 1 is queued before token i is read, so the GPU never waits for
  // the host. emit gets up to max_tokens tokens in order, starting with the argmax of the last forward's logits,
  // and returns false to stop; decoding also stops where the context is full (after emitting the token that
  // would not fit). Afterwards the model is where the loop "forward(&tok, 1); tok = greedy_token();" would leave
  // it: position() counts every emitted token but the last. A step queued for a token that emit refused is
  // dropped (its cache row is rewound), and logits() is then unavailable until the next forward().
  void greedy_decode(int max_tokens, const std::function<bool(int32_t)>& emit);
  // Forgets the cached tokens (the next forward starts at position 0).
  void reset() { pos_ = 0; }
  // Rewinds to n cached tokens (n ≤ position()): later tokens are overwritten by the next forward.
  void truncate(int n);

  // Tests: called after each decoder layer with that layer's output (host copy, [n, hidden]), before the final norm.
  using LayerHook = std::function<void(int layer, const float* hidden, int n)>;
  void set_layer_hook(LayerHook hook) { hook_ = std::move(hook); }

 private:
  Model(ModelConfig cfg, const ModelWeights& host, Backend& be, const ModelOptions& opt);
  // argmax_to: also write the greedy token of the last row there, inside the recorded step (greedy_decode).
  void forward_chunk(int n, bool all_logits, int32_t* argmax_to = nullptr);
  void layer(int l, int n);
  void argmax_last_row(int32_t* out);  // greedy token of the last logits row, into backend memory

  ModelConfig cfg_;
  Backend& be_;
  ModelWeights w_;  // on the backend
  std::shared_ptr<void> keep_;  // what the host weights point into (the mmap, or synthetic storage)
  int max_context_ = 0, max_batch_ = 0, pos_ = 0, logit_rows_ = 0;
  size_t weight_bytes_ = 0;
  std::vector<KvLayer> kv_;
  std::vector<float> all_logits_;  // host copy, [tokens, vocab], when forward(..., all_logits)
  size_t last_row_ = 0;            // offset of the last token's logits in logits_
  LayerHook hook_;

  // Backend buffers, sized for max_batch tokens.
  int32_t* ids_ = nullptr;
  int32_t* positions_ = nullptr;
  int32_t* argmax_ = nullptr;
  float* inv_freq_ = nullptr;
  float *x_ = nullptr, *xn_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *att_ = nullptr;
  float *gate_ = nullptr, *up_ = nullptr, *logits_ = nullptr;
  std::vector<void*> owned_;
};

// The shapes `bench --shape` can synthesize: a config.json body for each.
std::vector<std::string> known_shapes();
ModelConfig shape_config(const std::string& name);

}  // namespace fs
