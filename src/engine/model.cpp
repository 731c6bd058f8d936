// The forward pass of a pre-norm decoder-only transformer (Llama / Mistral / Qwen2 / Qwen3), written once over the
// Backend interface. For a batch of n tokens at positions p..p+n-1 (H = hidden, Q = heads·head_dim, KV = kv heads·
// head_dim, I = intermediate):
//
//   x[n,H]   = embed(ids)
//   per layer:
//     h      = rmsnorm(x)                          attention block
//     q[n,Q] = h·Wqᵀ (+bq)   k[n,KV] = h·Wkᵀ (+bk)   v[n,KV] = h·Wvᵀ (+bv)
//     q, k   = rmsnorm per head (Qwen3's QK-norm)
//     q, k   = rope(q, k, positions)
//     cache[positions] ← k, v
//     a[n,Q] = softmax(q·Kᵀ/√d + causal mask)·V     (grouped: heads share kv heads)
//     x     += a·Woᵀ                                residual
//     h      = rmsnorm(x)                          MLP block
//     x     += (silu(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ              residual
//   logits   = rmsnorm(x)·Wlmᵀ
#include "engine/model.h"

#include <algorithm>
#include <filesystem>

#include "engine/generation_config.h"
#include "util/error.h"

namespace fs {

Model::Model(ModelConfig cfg, const ModelWeights& host, Backend& be, const ModelOptions& opt)
    : cfg_(std::move(cfg)), be_(be) {
  if (opt.max_context < 1) throw Error("--ctx must be at least 1");
  max_context_ = std::min(opt.max_context, cfg_.max_position_embeddings);
  max_batch_ = std::max(1, std::min(opt.max_batch, max_context_));
  w_ = upload_weights(host, be_, opt.progress);
  weight_bytes_ = fs::weight_bytes(host, cfg_);

  auto buffer = [&](size_t bytes) {
    void* p = be_.alloc(bytes);
    owned_.push_back(p);
    return p;
  };
  const size_t B = size_t(max_batch_), f = sizeof(float);
  ids_ = static_cast<int32_t*>(buffer(B * 4));
  positions_ = static_cast<int32_t*>(buffer(B * 4));
  argmax_ = static_cast<int32_t*>(buffer(4));
  x_ = static_cast<float*>(buffer(B * cfg_.hidden_size * f));
  xn_ = static_cast<float*>(buffer(B * cfg_.hidden_size * f));
  q_ = static_cast<float*>(buffer(B * cfg_.q_dim() * f));
  k_ = static_cast<float*>(buffer(B * cfg_.kv_dim() * f));
  v_ = static_cast<float*>(buffer(B * cfg_.kv_dim() * f));
  att_ = static_cast<float*>(buffer(B * cfg_.q_dim() * f));
  gate_ = static_cast<float*>(buffer(B * cfg_.intermediate_size * f));
  up_ = static_cast<float*>(buffer(B * cfg_.intermediate_size * f));
  logits_ = static_cast<float*>(buffer(B * cfg_.vocab_size * f));

  const auto inv = rope_inv_freq(cfg_);
  inv_freq_ = static_cast<float*>(buffer(inv.size() * f));
  be_.to_device(inv_freq_, inv.data(), inv.size() * f);

  const size_t kv_bytes = size_t(max_context_) * cfg_.kv_dim() * dtype_size(be_.kv_dtype());
  for (int l = 0; l < cfg_.n_layers; ++l)
    kv_.push_back({buffer(kv_bytes), buffer(kv_bytes), be_.kv_dtype(), max_context_, cfg_.kv_dim()});
}

Model::~Model() {
  for (void* p : owned_) be_.release(p);
}

std::unique_ptr<Model> Model::load(const std::string& dir, Backend& be, const ModelOptions& opt) {
  check_model_dir(dir);
  ModelConfig cfg = load_config(dir);
  auto st = std::make_shared<SafeTensorSet>(SafeTensorSet::open_dir(dir));
  ModelWeights host = bind_weights(cfg, *st);
  std::unique_ptr<Model> m(new Model(std::move(cfg), host, be, opt));
  m->keep_ = st;  // the CPU backend computes straight from the mapping
  return m;
}

std::unique_ptr<Model> Model::synthetic(const std::string& shape_name, Backend& be, const ModelOptions& opt) {
  ModelConfig cfg = shape_config(shape_name);
  auto syn = std::make_shared<SyntheticWeights>(synthesize_weights(cfg, 1234));
  std::unique_ptr<Model> m(new Model(std::move(cfg), syn->weights, be, opt));
  m->keep_ = syn;
  return m;
}

size_t Model::decode_bytes(int ctx) const {
  const size_t embed_row = size_t(cfg_.hidden_size) * dtype_size(w_.embed.dtype);
  size_t weights = weight_bytes_ - w_.embed.bytes() + embed_row;
  if (cfg_.tie_word_embeddings) weights += w_.lm_head.bytes();  // the tied table is read in full by the lm head
  const size_t kv = size_t(cfg_.n_layers) * 2 * size_t(ctx) * cfg_.kv_dim() * dtype_size(be_.kv_dtype());
  return weights + kv;
}

void Model::truncate(int n) {
  if (n < 0 || n > pos_) throw Error("cannot rewind the KV cache to " + std::to_string(n) + " tokens");
  pos_ = n;
}

void Model::forward(const int32_t* ids, int n, bool all_logits) {
  if (n < 1) throw Error("forward: no tokens");
  for (int i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= cfg_.vocab_size)
      throw Error("token id " + std::to_string(ids[i]) + " (at index " + std::to_string(i) +
                  ") is out of range: the vocabulary has " + std::to_string(cfg_.vocab_size) + " tokens");
  if (pos_ + n > max_context_)
    throw Error(std::to_string(pos_ + n) + " tokens do not fit the context of " + std::to_string(max_context_) +
                " tokens (--ctx, capped by max_position_embeddings)");
  all_logits_.clear();
  for (int done = 0; done < n;) {
    const int c = std::min(max_batch_, n - done);
    std::vector<int32_t> pos(c);
    for (int i = 0; i < c; ++i) pos[i] = pos_ + i;
    be_.to_device(ids_, ids + done, size_t(c) * 4);
    be_.to_device(positions_, pos.data(), size_t(c) * 4);
    forward_chunk(c, all_logits);
    if (all_logits) {
      const size_t old = all_logits_.size();
      all_logits_.resize(old + size_t(c) * cfg_.vocab_size);
      be_.to_host(all_logits_.data() + old, logits_, size_t(c) * cfg_.vocab_size * sizeof(float));
    }
    pos_ += c;
    done += c;
  }
  logit_rows_ = all_logits ? n : 1;
}

void Model::forward_chunk(int n, bool all_logits, int32_t* argmax_to) {
  const int H = cfg_.hidden_size;
  const int context_class = be_.plan_context(pos_ + n);  // this chunk's tokens sit at positions pos_ .. pos_ + n - 1
  auto body = [&] {
    be_.embed(w_.embed, ids_, n, x_);
    for (int l = 0; l < cfg_.n_layers; ++l) {
      layer(l, n);
      if (hook_) {
        std::vector<float> h(size_t(n) * H);
        be_.to_host(h.data(), x_, h.size() * sizeof(float));
        hook_(l, h.data(), n);
      }
    }
    // Only the rows whose logits are wanted go through the final norm and the (large) lm head; a greedy step's
    // one row also takes its argmax there (on CUDA inside the lm head's own launch).
    const int rows = all_logits ? n : 1;
    const float* last = x_ + size_t(n - rows) * H;
    if (argmax_to && rows == 1) {
      be_.rmsnorm_matmul_argmax(last, w_.final_norm, cfg_.rms_norm_eps, xn_, w_.lm_head, logits_, argmax_to);
      return;
    }
    const Weight* lm_head[] = {&w_.lm_head};
    float* const logits[] = {logits_};
    be_.rmsnorm_matmul(last, w_.final_norm, cfg_.rms_norm_eps, rows, xn_, 1, lm_head, nullptr, logits);
    if (argmax_to) argmax_last_row(argmax_to);
  };
  last_row_ = size_t(all_logits ? n - 1 : 0) * cfg_.vocab_size;
  // A single token may run as one fused backend call (one persistent kernel on CUDA) instead of the ops below.
  if (n == 1 && !hook_) {
    const DecodeStep step{&cfg_, &w_, kv_.data(), ids_, positions_, inv_freq_, x_, q_, k_, v_, att_, gate_, logits_};
    if (be_.decode_step(step)) {
      if (argmax_to) argmax_last_row(argmax_to);
      return;
    }
  }
  // A single-token step is the same sequence of ops over the same buffers every time: a backend may record it
  // once and replay it (CUDA graphs), removing the launch cost of a few hundred small kernels. The greedy token is
  // recorded with it (its own key), so it is part of the graph rather than a launch after it.
  if (n == 1 && !hook_) {
    const std::string key = std::string(argmax_to ? "decode-greedy" : all_logits ? "decode-all" : "decode") + "/" +
                            std::to_string(context_class);
    be_.run_recorded(key, body);
  } else {
    body();
  }
}

void Model::layer(int l, int n) {
  const LayerWeights& w = w_.layers[l];
  const int D = cfg_.head_dim;
  const float eps = cfg_.rms_norm_eps;
  auto opt = [](const Weight& t) { return t.data ? &t : nullptr; };  // biases and QK-norm exist in some models

  // Attention block: q, k, v = rmsnorm(x)·W(q,k,v)ᵀ (+ bias); QK-norm; RoPE; cache; attend; x += a·Woᵀ.
  const Weight* qkv[] = {&w.q, &w.k, &w.v};
  const Weight* qkv_bias[] = {opt(w.q_bias), opt(w.k_bias), opt(w.v_bias)};
  float* qkv_out[] = {q_, k_, v_};
  be_.rmsnorm_matmul(x_, w.attn_norm, eps, n, xn_, 3, qkv, qkv_bias, qkv_out);
  be_.qk_norm_rope_attention(q_, k_, v_, opt(w.q_norm), opt(w.k_norm), eps, positions_, n, cfg_.n_heads,
                             cfg_.n_kv_heads, D, inv_freq_, kv_[l], att_);
  be_.matmul(att_, n, w.o, opt(w.o_bias), x_, /*accumulate=*/true);

  // MLP block (SwiGLU): x += (silu(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ with h = rmsnorm(x).
  be_.mlp(x_, w.mlp_norm, eps, n, w.gate, w.up, w.down, xn_, gate_, up_, gate_);
}

void Model::argmax_last_row(int32_t* out) { be_.argmax(logits_ + last_row_, 1, cfg_.vocab_size, out); }

std::vector<float> Model::logits() {
  if (logit_rows_ == 0) throw Error("logits(): no forward pass has run");
  if (!all_logits_.empty()) return all_logits_;
  std::vector<float> out(cfg_.vocab_size);
  be_.to_host(out.data(), logits_ + last_row_, out.size() * sizeof(float));
  return out;
}

bool Model::logit_window(float temperature, float window, int cap, LogitWindow& out) {
  if (logit_rows_ == 0) throw Error("logit_window(): no forward pass has run");
  if (!all_logits_.empty()) return false;
  return be_.logit_window(logits_ + last_row_, cfg_.vocab_size, temperature, window, cap, out);
}

void Model::greedy_decode(int max_tokens, const std::function<bool(int32_t)>& emit) {
  if (logit_rows_ == 0) throw Error("greedy_decode(): no forward pass has run");
  if (max_tokens < 1) return;
  all_logits_.clear();
  argmax_last_row(ids_);  // token 0, already the next step's input
  be_.read_async(0, ids_, 4);
  for (int i = 0, slot = 0; i < max_tokens; ++i, slot ^= 1) {
    // Queue step i + 1 (input: token i, in ids_) before reading token i.
    const bool ahead = i + 1 < max_tokens && pos_ < max_context_;
    if (ahead) {
      be_.to_device(positions_, &pos_, 4);
      forward_chunk(1, false, ids_);  // ends with ids_ = argmax(logits): the next step's input
      ++pos_;
      logit_rows_ = 1;
      be_.read_async(slot ^ 1, ids_, 4);
    }
    int32_t tok = 0;
    be_.wait_read(slot, &tok, 4);
    if (!emit(tok)) {
      if (ahead) --pos_, logit_rows_ = 0;  // the step run for tok is dropped
      return;
    }
    if (!ahead) return;
  }
}

int32_t Model::greedy_token() {
  if (logit_rows_ == 0) throw Error("greedy_token(): no forward pass has run");
  argmax_last_row(argmax_);
  int32_t id = 0;
  be_.to_host(&id, argmax_, 4);
  return id;
}

}  // namespace fs
