#include "model/weights.h"

#include <cmath>
#include <random>
#include <sstream>

#include "util/error.h"

namespace fs {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

namespace {

Weight as_weight(const TensorInfo& t) {
  Weight w;
  w.data = t.data;
  w.dtype = t.dtype;
  if (t.shape.size() == 1) {
    w.rows = 1;
    w.cols = t.shape[0];
  } else {
    w.rows = t.shape[0];
    w.cols = t.shape[1];
  }
  return w;
}

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c) {
  const int64_t H = c.hidden_size, V = c.vocab_size, I = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim(),
                D = c.head_dim;
  std::vector<ExpectedTensor> out;
  out.push_back({"model.embed_tokens.weight", {V, H}, -1, [](ModelWeights& w, int) { return &w.embed; }});
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
#define FS_SLOT(field) [](ModelWeights& w, int l) { return &w.layers[l].field; }
    out.push_back({p + "input_layernorm.weight", {H}, i, FS_SLOT(attn_norm)});
    out.push_back({p + "self_attn.q_proj.weight", {Q, H}, i, FS_SLOT(q)});
    out.push_back({p + "self_attn.k_proj.weight", {KV, H}, i, FS_SLOT(k)});
    out.push_back({p + "self_attn.v_proj.weight", {KV, H}, i, FS_SLOT(v)});
    if (c.qkv_bias) {
      out.push_back({p + "self_attn.q_proj.bias", {Q}, i, FS_SLOT(q_bias)});
      out.push_back({p + "self_attn.k_proj.bias", {KV}, i, FS_SLOT(k_bias)});
      out.push_back({p + "self_attn.v_proj.bias", {KV}, i, FS_SLOT(v_bias)});
    }
    if (c.qk_norm) {
      out.push_back({p + "self_attn.q_norm.weight", {D}, i, FS_SLOT(q_norm)});
      out.push_back({p + "self_attn.k_norm.weight", {D}, i, FS_SLOT(k_norm)});
    }
    out.push_back({p + "self_attn.o_proj.weight", {H, Q}, i, FS_SLOT(o)});
    if (c.o_bias) out.push_back({p + "self_attn.o_proj.bias", {H}, i, FS_SLOT(o_bias)});
    out.push_back({p + "post_attention_layernorm.weight", {H}, i, FS_SLOT(mlp_norm)});
    out.push_back({p + "mlp.gate_proj.weight", {I, H}, i, FS_SLOT(gate)});
    out.push_back({p + "mlp.up_proj.weight", {I, H}, i, FS_SLOT(up)});
    out.push_back({p + "mlp.down_proj.weight", {H, I}, i, FS_SLOT(down)});
#undef FS_SLOT
  }
  out.push_back({"model.norm.weight", {H}, -1, [](ModelWeights& w, int) { return &w.final_norm; }});
  if (!c.tie_word_embeddings)
    out.push_back({"lm_head.weight", {V, H}, -1, [](ModelWeights& w, int) { return &w.lm_head; }});
  return out;
}

ModelWeights bind_weights(const ModelConfig& c, const SafeTensorSet& st) {
  ModelWeights w;
  w.layers.resize(c.n_layers);
  std::vector<std::string> problems;
  for (const auto& e : expected_tensors(c)) {
    const TensorInfo* t = st.find(e.name);
    if (!t) {
      problems.push_back("missing tensor \"" + e.name + "\" (expected shape " + shape_str(e.shape) + ")");
      continue;
    }
    if (t->shape != e.shape) {
      problems.push_back("tensor \"" + e.name + "\" in " + t->file + " has shape " + shape_str(t->shape) +
                         ", expected " + shape_str(e.shape));
      continue;
    }
    *e.slot(w, e.layer) = as_weight(*t);
  }
  if (!problems.empty()) {
    std::string msg = "the weights do not match config.json (" + c.architecture + "):";
    const size_t shown = std::min<size_t>(problems.size(), 10);
    for (size_t i = 0; i < shown; ++i) msg += "\n  " + problems[i];
    if (problems.size() > shown) msg += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
    throw Error(msg);
  }
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  return w;
}

ModelWeights upload_weights(const ModelWeights& host, Backend& be, const LoadProgress& progress) {
  size_t total = 0, done = 0;
  if (progress) {
    total = host.embed.bytes() + host.final_norm.bytes() +
            (host.lm_head.data == host.embed.data ? 0 : host.lm_head.bytes());
    for (const auto& l : host.layers)
      for (const Weight* x : {&l.attn_norm, &l.q, &l.k, &l.v, &l.o, &l.q_bias, &l.k_bias, &l.v_bias, &l.o_bias,
                              &l.q_norm, &l.k_norm, &l.mlp_norm, &l.gate, &l.up, &l.down})
        if (x->data) total += x->bytes();
  }
  auto up = [&](const Weight& w) {
    if (!w.data) return w;
    if (progress) {
      // One read per 4 KiB page faults the mapping in.
      const auto* p = static_cast<const volatile uint8_t*>(w.data);
      uint8_t sink = 0;
      for (size_t i = 0; i < w.bytes(); i += 4096) sink ^= p[i];
      (void)sink;
      done += w.bytes();
      progress(done, total);
    }
    return be.upload(w);
  };
  ModelWeights d;
  d.embed = up(host.embed);
  d.final_norm = up(host.final_norm);
  // A tied lm head is the embedding table: upload it once.
  d.lm_head = host.lm_head.data == host.embed.data ? d.embed : up(host.lm_head);
  for (const auto& l : host.layers) {
    LayerWeights x;
    for (auto [dst, src] : {std::pair{&x.attn_norm, &l.attn_norm}, {&x.q, &l.q}, {&x.k, &l.k}, {&x.v, &l.v},
                            {&x.o, &l.o}, {&x.q_bias, &l.q_bias}, {&x.k_bias, &l.k_bias}, {&x.v_bias, &l.v_bias},
                            {&x.o_bias, &l.o_bias}, {&x.q_norm, &l.q_norm}, {&x.k_norm, &l.k_norm},
                            {&x.mlp_norm, &l.mlp_norm}, {&x.gate, &l.gate}, {&x.up, &l.up}, {&x.down, &l.down}})
      *dst = up(*src);
    d.layers.push_back(x);
  }
  return d;
}

SyntheticWeights synthesize_weights(const ModelConfig& c, uint32_t seed) {
  SyntheticWeights s;
  s.weights.layers.resize(c.n_layers);
  std::mt19937 rng(seed);
  for (const auto& e : expected_tensors(c)) {
    int64_t n = 1;
    for (auto d : e.shape) n *= d;
    // Norm weights near 1 and matrices scaled by 1/sqrt(fan_in), so activations stay O(1) like a trained model's.
    const bool vec = e.shape.size() == 1;
    const float scale = vec ? 0.1f : 1.0f / std::sqrt(float(e.shape[1]));
    const float center = vec && e.name.find("norm") != std::string::npos ? 1.0f : 0.0f;
    std::normal_distribution<float> dist(center, scale);
    std::vector<uint16_t> buf(static_cast<size_t>(n));
    // Filling a billion values with a normal distribution is slow; draw 4096 and tile them with an odd stride.
    std::vector<uint16_t> pool(4096);
    for (auto& x : pool) x = f32_to_bf16(dist(rng));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = pool[(i * 2654435761u + i / 4096) & 4095];
    Weight w;
    w.data = buf.data();
    w.dtype = DType::BF16;
    w.rows = vec ? 1 : e.shape[0];
    w.cols = vec ? e.shape[0] : e.shape[1];
    *e.slot(s.weights, e.layer) = w;
    s.storage.push_back(std::move(buf));  // moving a vector keeps its buffer, so w.data stays valid
  }
  if (c.tie_word_embeddings) s.weights.lm_head = s.weights.embed;
  return s;
}

size_t weight_bytes(const ModelWeights& w, const ModelConfig& c) {
  size_t n = w.embed.bytes() + w.final_norm.bytes();
  if (!c.tie_word_embeddings) n += w.lm_head.bytes();
  for (const auto& l : w.layers)
    for (const Weight* x : {&l.attn_norm, &l.q, &l.k, &l.v, &l.o, &l.q_bias, &l.k_bias, &l.v_bias, &l.o_bias,
                            &l.q_norm, &l.k_norm, &l.mlp_norm, &l.gate, &l.up, &l.down})
      if (x->data) n += x->bytes();
  return n;
}

}  // namespace fs
