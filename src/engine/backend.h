// The backend interface: the handful of ops a decoder-only transformer needs, and the memory they work in.
//
// The forward pass (engine/forward.cpp) is written once against this interface; backends/cpu and backends/cuda
// implement it, one op per file. Conventions every backend keeps:
//   * Activations are f32, row-major, one row per token: x[n, dim].
//   * Weights stay in their stored dtype (bf16, f16 or f32). A matrix is [rows, cols] = [out_features, in_features],
//     exactly as Hugging Face stores nn.Linear.weight, so y = x · Wᵀ.
//   * Every pointer handed to an op is backend memory (RAM for the CPU, device memory for CUDA), including the
//     token ids and positions: the CUDA backend can then record one decode step as a graph and replay it.
//   * Ops are asynchronous with respect to the host; to_host() waits for everything queued before it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/dtype.h"

namespace fs {

// A weight tensor as the kernels see it: [rows, cols], row-major, in its stored dtype.
// A vector (a norm weight, a bias) is rows == 1, cols == length.
struct Weight {
  const void* data = nullptr;
  DType dtype = DType::BF16;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t bytes() const { return size_t(rows) * size_t(cols) * dtype_size(dtype); }
};

// One layer's slice of the KV cache: K and V each [capacity, kv_dim] with kv_dim = n_kv_heads · head_dim,
// row p holding the key/value of the token at position p. The backend picks the element type.
struct KvLayer {
  void* k = nullptr;
  void* v = nullptr;
  DType dtype = DType::F32;
  int capacity = 0;
  int kv_dim = 0;
};

// The head of a sampling distribution, the part a truncated draw can reach (Backend::logit_window): for one row of
// logits and z = logit / temperature, every id whose z lies within a window of the largest.
struct LogitWindow {
  float max = 0;          // the largest z of the row
  double sum = 0;         // Σ exp(z − max) over the whole row: the softmax's denominator
  std::vector<std::pair<float, int32_t>> cands;  // (z, id) of every z ≥ max − window, in any order
  bool complete = false;  // cands holds the whole row
};

struct ModelConfig;
struct ModelWeights;

// What a fused decode step reads and writes (Backend::decode_step): the model on this backend, its KV cache, and
// the forward pass's buffers (x [hidden], q [q_dim], k, v [kv_dim], att [q_dim], h [intermediate], logits [vocab]).
struct DecodeStep {
  const ModelConfig* cfg = nullptr;
  const ModelWeights* w = nullptr;
  const KvLayer* kv = nullptr;  // [cfg->n_layers]
  const int32_t* id = nullptr;  // [1], backend memory, like every pointer here
  const int32_t* pos = nullptr;
  const float* inv_freq = nullptr;
  float *x = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *att = nullptr, *h = nullptr, *logits = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu (2 threads, avx2)", "cuda (NVIDIA H100 80GB HBM3)": printed by bench and run.
  virtual std::string name() const = 0;

  // ---- memory ----
  virtual void* alloc(size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual void to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void to_host(void* host_dst, const void* src, size_t bytes) = 0;  // waits for queued work
  // A small read-back that does not wait: read_async copies `bytes` (at most kReadBytes) from backend memory into
  // slot 0 or 1 once the work queued before it is done; wait_read waits for that copy, reports what to_host would
  // (a kernel's error), and hands the bytes over. The host can so read token i while step i + 1 already runs
  // (Model::greedy_decode). The default is to_host at once.
  static constexpr size_t kReadBytes = 16;
  virtual void read_async(int slot, const void* src, size_t bytes) { to_host(read_slots_[slot], src, bytes); }
  virtual void wait_read(int slot, void* host_dst, size_t bytes) {
    std::memcpy(host_dst, read_slots_[slot], bytes);
  }
  // Makes a host weight readable by the kernels. The CPU returns it unchanged (the mmapped bytes are used in
  // place); CUDA copies it to the GPU once. The result lives as long as the backend.
  virtual Weight upload(const Weight& host) = 0;
  // dst ← src, both backend memory. The default bounces through the host; backends override it with a real
  // device-to-device copy, which `fs bench` times to measure the memory bandwidth it reports against.
  virtual void copy(void* dst, const void* src, size_t bytes) {
    std::vector<uint8_t> tmp(bytes);
    to_host(tmp.data(), src, bytes);
    to_device(dst, tmp.data(), bytes);
  }
  // The KV cache element type this backend stores (f32 on the CPU: it is the oracle).
  virtual DType kv_dtype() const { return DType::F32; }

  // ---- ops (n = number of tokens in the batch) ----
  // out[i, :] = table[ids[i], :] widened to f32.                                         table [vocab, dim]
  virtual void embed(const Weight& table, const int32_t* ids, int n, float* out) = 0;
  // out[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · w.                        x, out [rows, dim]; w [1, dim]
  // (Also the per-head QK-norm: rows = n · heads, dim = head_dim.) out may equal x.
  virtual void rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) = 0;
  // out[n, w.rows] = x[n, w.cols] · wᵀ (+ bias[1, w.rows] when bias is not null). out never aliases x.
  // With accumulate the product is added to what out holds: that is the residual connection, x += f(x),
  // done in the same pass over out instead of a separate add.
  virtual void matmul(const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) = 0;
  // Rotates each head of x[n, n_heads · head_dim] in place by angle pos[i] · inv_freq[j], pairing element j with
  // j + head_dim/2 (Hugging Face's rotate_half convention). inv_freq [head_dim/2] already holds any llama3 scaling.
  virtual void rope(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) = 0;
  // Writes k[i, :] and v[i, :] (each [n, kv_dim]) into cache rows pos[i].
  virtual void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) = 0;
  // Causal GQA attention: query i (q[n, n_heads · head_dim]) attends cache rows 0..pos[i]; query head h reads
  // kv head h / (n_heads / n_kv_heads); scores scaled by 1/sqrt(head_dim), softmax in f32.   out like q.
  virtual void attention(const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                         int n_kv_heads, int head_dim, float* out) = 0;
  // out[i] = silu(gate[i]) · up[i] with silu(x) = x / (1 + e^-x).  count = n · intermediate; out may equal gate.
  virtual void swiglu(const float* gate, const float* up, size_t count, float* out) = 0;
  // out[r] = index of the largest x[r, :] (the first one on ties).          x [rows, cols]; out [rows] (int32)
  virtual void argmax(const float* x, int rows, int cols, int32_t* out) = 0;
  // For sampling, where the logits live in device memory: fills `out` from one row x [cols] with z = x / temperature
  // — the largest z, the softmax's denominator over the whole row, and every (z, id) with z ≥ max − window — so
  // that the host draws from the head of the distribution instead of copying the whole vocabulary. Returns false,
  // `out` unspecified, where more than `cap` ids lie that close, or where the backend does not offer it; the caller
  // then reads the row. Waits for the queued work, like to_host. CUDA offers it (logit_window.cu); the CPU does not,
  // its row being in host memory already (cpu::logit_window is the oracle the CUDA op is tested against).
  virtual bool logit_window(const float* x, int cols, float temperature, float window, int cap, LogitWindow& out) {
    (void)x, (void)cols, (void)temperature, (void)window, (void)cap, (void)out;
    return false;
  }

  // ---- fused ops ----
  // Decode is memory-bound and each kernel launch costs microseconds, so a few neighbouring ops are offered
  // fused: one pass over the data instead of several. The defaults below compose the basic ops (the CPU uses
  // them, so it stays the plain oracle); the CUDA backend overrides each with a single kernel.
  //
  // out[j] = rmsnorm(x; norm, eps) · w[j]ᵀ (+ bias[j]) for j < count (1..3): the q/k/v projections of the
  // normalised residual stream. normed [n, dim] is scratch. bias may be null, and so may each bias[j].
  virtual void rmsnorm_matmul(const float* x, const Weight& norm, float eps, int n, float* normed, int count,
                              const Weight* const w[], const Weight* const bias[], float* const out[]) {
    rmsnorm(x, norm, eps, n, int(norm.cols), normed);
    for (int j = 0; j < count; ++j) matmul(normed, n, *w[j], bias ? bias[j] : nullptr, out[j], false);
  }
  // out = silu(h · w_gateᵀ) ⊙ (h · w_upᵀ) with h = rmsnorm(x; norm, eps): the first half of the SwiGLU MLP.
  // normed [n, dim], gate and up [n, w_gate.rows] are scratch; out may equal gate.
  virtual void rmsnorm_swiglu(const float* x, const Weight& norm, float eps, int n, const Weight& w_gate,
                              const Weight& w_up, float* normed, float* gate, float* up, float* out) {
    rmsnorm(x, norm, eps, n, int(norm.cols), normed);
    matmul(normed, n, w_gate, nullptr, gate, false);
    matmul(normed, n, w_up, nullptr, up, false);
    swiglu(gate, up, size_t(n) * size_t(w_gate.rows), out);
  }
  // The whole MLP block (SwiGLU): x += (silu(h·W_gateᵀ) ⊙ h·W_upᵀ)·W_downᵀ with h = rmsnorm(x). normed [n, dim],
  // gate, up, act [n, inter] are scratch for the steps; a fused implementation may leave them untouched.
  virtual void mlp(float* x, const Weight& norm, float eps, int n, const Weight& w_gate, const Weight& w_up,
                   const Weight& w_down, float* normed, float* gate, float* up, float* act) {
    rmsnorm_swiglu(x, norm, eps, n, w_gate, w_up, normed, gate, up, act);
    matmul(act, n, w_down, nullptr, x, /*accumulate=*/true);
  }
  // The greedy token of one row: logits = rmsnorm(x; norm, eps) · wᵀ [w.rows], then out[0] = argmax(logits) —
  // the final norm, the lm head and the argmax that end a greedy decode step. x is one row; normed is scratch.
  virtual void rmsnorm_matmul_argmax(const float* x, const Weight& norm, float eps, float* normed, const Weight& w,
                                     float* logits, int32_t* out) {
    const Weight* const ws[] = {&w};
    float* const outs[] = {logits};
    rmsnorm_matmul(x, norm, eps, 1, normed, 1, ws, nullptr, outs);
    argmax(logits, 1, int(w.rows), out);
  }
  // Per-head QK-norm (skipped where q_norm / k_norm is null), RoPE on q and k, then k and v into the cache rows
  // pos[i]: everything between the q/k/v projections and attention.
  virtual void qk_norm_rope_store(float* q, float* k, const float* v, const Weight* q_norm, const Weight* k_norm,
                                  float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads, int head_dim,
                                  const float* inv_freq, const KvLayer& cache) {
    if (q_norm) rmsnorm(q, *q_norm, eps, n * n_heads, head_dim, q);
    if (k_norm) rmsnorm(k, *k_norm, eps, n * n_kv_heads, head_dim, k);
    rope(q, pos, n, n_heads, head_dim, inv_freq);
    rope(k, pos, n, n_kv_heads, head_dim, inv_freq);
    kv_store(k, v, pos, n, cache);
  }
  // qk_norm_rope_store, then attention over the cache into out [n, n_heads · head_dim]: everything between the
  // q/k/v projections and the o projection. A fused implementation may leave q and k unrotated.
  virtual void qk_norm_rope_attention(float* q, float* k, const float* v, const Weight* q_norm,
                                      const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads,
                                      int n_kv_heads, int head_dim, const float* inv_freq, const KvLayer& cache,
                                      float* out) {
    qk_norm_rope_store(q, k, v, q_norm, k_norm, eps, pos, n, n_heads, n_kv_heads, head_dim, inv_freq, cache);
    attention(q, cache, pos, n, n_heads, n_kv_heads, head_dim, out);
  }

  // The longest context (last position + 1) that the ops queued next attend over. A backend may pick kernels by it
  // (CUDA: the q/k/v GEMV's blocks per SM); it returns which class of contexts shares that choice, and a recording
  // of those ops (run_recorded) must carry the class in its key. Every forward chunk calls it first.
  virtual int plan_context(int max_len) {
    (void)max_len;
    return 0;
  }

  // The whole single-token forward pass (embedding, every layer, final norm, lm head) in one call, for a backend
  // that can fuse it: the CUDA backend runs it as one persistent kernel (decode_step.cu). Same math as the op
  // sequence of engine/model.cpp, over the same buffers. Returns false, having done nothing, where the backend has
  // no such path or not for this model (the CPU never has one: it stays the op-by-op oracle); the caller then
  // runs the ops.
  virtual bool decode_step(const DecodeStep& step) {
    (void)step;
    return false;
  }

  // Runs `step`, a fixed sequence of ops over fixed buffers. A backend may record it the first time it sees `key`
  // and replay the recording afterwards (CUDA graphs); the CPU simply calls it.
  virtual void run_recorded(std::string_view key, const std::function<void()>& step) { step(); }

 private:
  unsigned char read_slots_[2][kReadBytes] = {};  // the default read_async's copies
};

// The backends. make_cpu_backend lives in backends/cpu (threads <= 0: one per core); make_cuda_backend in
// backends/cuda, built only where nvcc exists. The CLI maps --device to one of them.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);
std::unique_ptr<Backend> make_cuda_backend();

}  // namespace fs
