// The CUDA backend: Backend's ops as CUDA kernels on one stream, on the first GPU.
//
//   * Memory: plain cudaMalloc (never managed memory). upload() copies a host weight to the GPU once, in its
//     stored dtype; every call makes a new copy, so a tensor used twice (tied embeddings) is uploaded once and the
//     returned Weight reused.
//   * Ops are queued on one stream; to_host() waits for them and then reports any error a kernel flagged
//     (token id out of range, position past the KV capacity) as fs::Error.
//   * run_recorded(key, step): the first call with a key captures step's launches into a CUDA graph
//     (stream capture, instantiated once); later calls replay it with one cudaGraphLaunch. Buffers, shapes and
//     ids/positions pointers must stay the same; the values behind them may change between replays.
//   * Kernels launch with Programmatic Dependent Launch (see common.cuh) so a kernel's weight loads overlap the
//     end of the kernel before it.
//   * The fused ops of the interface (rmsnorm_matmul, rmsnorm_swiglu, qk_norm_rope_store) run as single kernels
//     at decode sizes (n <= 4); at prefill sizes the matrices that share an input run as one GEMM launch, and
//     mlp keeps the SwiGLU inside the gate/up GEMM.
// This header compiles without nvcc (the tests are plain C++): CUDA types appear only as opaque pointers.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/backend.h"

struct CUstream_st;
struct CUgraphExec_st;
struct CUevent_st;

namespace fs {
namespace cuda {
struct Ctx;
struct Workspace;
struct MatmulOut;
struct GemmPlan;
struct StepState;
struct LaunchTrace;
}  // namespace cuda

struct CudaOptions {
  // KV cache element type: BF16 (default: half the bytes of F32 at long context; see docs/cuda-backend.md)
  // or F32 (bit-for-bit what the CPU oracle stores).
  DType kv_dtype = DType::BF16;
  // Programmatic Dependent Launch between consecutive kernels (off only to measure what it buys).
  bool pdl = true;
  // The prefill GEMM on wgmma where the device is sm_90 (matmul_gemm_wgmma.cu); off: mma.sync everywhere.
  bool wgmma = true;
  // One-token decode attention on the tensor cores (attention_decode_tc.cu) where it applies; off: the SIMT kernel.
  bool attn_tc = true;
  // With attn_tc: QK-norm, RoPE and the cache store inside that kernel (qk_norm_rope_attention); off: a kernel of
  // their own before it.
  bool rope_attn = true;
  // The one-token q/k/v GEMV at most 4 blocks an SM at contexts of one attention split, 6 beyond (plan_context), by
  // the shared memory its launch asks for (ops.h, matmul.cu); off: as many as its registers allow.
  bool qkv_cap = true;
  // The greedy step's argmax folded into its lm head (rmsnorm_matmul_argmax: atomics on 64 keys, one warp reads
  // them); off: the lm head, then argmax.cu's pass over the logits.
  bool argmax_keys = true;
  // decode_step as one persistent kernel (decode_step.cu). Off by default: measured slower than the op-by-op
  // decode (a recorded CUDA graph with PDL) on both target models; see docs/cuda-backend.md, section 7.
  bool persistent = false;
};

// CudaOptions from the environment, for experiments without rebuilding: FS_CUDA_DISABLE turns default features
// off (pdl, wgmma, attn-tc, rope-attn, qkv-cap, argmax-keys), FS_CUDA_ENABLE=persistent turns an opt-in one on
// (comma-separated lists). An unknown name is an error. (FS_CUDA_TRACE=<file>, read by the backend itself, writes
// the per-block timeline of the greedy decode step when the backend is destroyed: launch_trace.h.)
CudaOptions cuda_options_from_env();

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaOptions& opts = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return name_; }
  void* alloc(size_t bytes) override;
  void release(void* p) override;
  void to_device(void* dst, const void* host_src, size_t bytes) override;
  void to_host(void* host_dst, const void* src, size_t bytes) override;
  // A small kernel writes the bytes and the device error word into mapped pinned memory; an event marks it done.
  void read_async(int slot, const void* src, size_t bytes) override;
  void wait_read(int slot, void* host_dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  Weight upload(const Weight& host) override;
  DType kv_dtype() const override { return opts_.kv_dtype; }

  void embed(const Weight& table, const int32_t* ids, int n, float* out) override;
  void rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) override;
  void matmul(const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) override;
  void rope(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) override;
  void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) override;
  void attention(const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads, int n_kv_heads,
                 int head_dim, float* out) override;
  void swiglu(const float* gate, const float* up, size_t count, float* out) override;
  void argmax(const float* x, int rows, int cols, int32_t* out) override;
  // Two launches (logit_window.cu), then the block sums and count in one copy and the window in a second.
  bool logit_window(const float* x, int cols, float temperature, float window, int cap, LogitWindow& out) override;
  void run_recorded(std::string_view key, const std::function<void()>& step) override;
  // One persistent kernel for the whole step where the model allows (bf16 weights and KV cache, head_dim 16–128,
  // GQA groups up to 8, a row of any matrix within one 64 KB ring stage); false otherwise.
  bool decode_step(const DecodeStep& step) override;

  // ---- fused ops (see backend.h) ----
  // One GEMV launch for n <= 4 (rmsnorm applied on the fly, up to 3 matrices); else rmsnorm + matmuls.
  void rmsnorm_matmul(const float* x, const Weight& norm, float eps, int n, float* normed, int count,
                      const Weight* const w[], const Weight* const bias[], float* const out[]) override;
  // One lm-head launch that folds the argmax into atomics, and one warp that reads the result (bf16, one token).
  void rmsnorm_matmul_argmax(const float* x, const Weight& norm, float eps, float* normed, const Weight& w,
                             float* logits, int32_t* out) override;
  // One GEMV launch for n = 1 and bf16 weights (gate and up rows paired per warp); else the composed ops.
  void rmsnorm_swiglu(const float* x, const Weight& norm, float eps, int n, const Weight& w_gate,
                      const Weight& w_up, float* normed, float* gate, float* up, float* out) override;
  // Prefill on wgmma (n > 4, bf16 weights): the norm written as bf16, gate/up as one GEMM launch with the SwiGLU in
  // its epilogue writing bf16 act, then the down GEMM on act — no f32 gate, up or act in memory. Else the default.
  void mlp(float* x, const Weight& norm, float eps, int n, const Weight& w_gate, const Weight& w_up,
           const Weight& w_down, float* normed, float* gate, float* up, float* act) override;
  // One token with the tensor-core decode attention: one kernel (attention_decode_tc.cu) that also does QK-norm,
  // RoPE and the cache store. Else qk_norm_rope_store + attention. The cache rows before pos must not come from
  // ops queued since the last to_device/to_host (the kernel reads them early; engine/model.cpp's forward chunks
  // each start with to_device, which makes that hold).
  void qk_norm_rope_attention(float* q, float* k, const float* v, const Weight* q_norm, const Weight* k_norm,
                              float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads, int head_dim,
                              const float* inv_freq, const KvLayer& cache, float* out) override;
  // One launch, a warp per head, any n.
  void qk_norm_rope_store(float* q, float* k, const float* v, const Weight* q_norm, const Weight* k_norm,
                          float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads, int head_dim,
                          const float* inv_freq, const KvLayer& cache) override;
  // Sets the q/k/v GEMV's cap for contexts up to max_len (CudaOptions::qkv_cap): class 0 up to kSplitMinChunk
  // (attention_splits.cuh), 1 beyond; with the cap off, always class 0.
  int plan_context(int max_len) override;

  // ---- for benchmarks and tests ----
  CUstream_st* stream() const { return stream_; }
  int multiprocessors() const { return sms_; }
  void set_pdl(bool on) { opts_.pdl = on; }
  bool wgmma() const { return wgmma_; }  // the prefill GEMM runs on wgmma
  bool attn_tc() const { return opts_.attn_tc; }  // one-token decode attention may run on the tensor cores
  long fused_steps() const { return fused_steps_; }  // decode steps run by the persistent kernel so far
  size_t recordings() const { return graphs_.size(); }  // CUDA graphs recorded by run_recorded so far
  // Blocks per SM of the one-token q/k/v GEMV for bf16 matrices of q_rows + 2 × kv_rows rows and `cols` columns.
  int qkv_gemv_blocks_per_sm(int cols, int q_rows, int kv_rows) const;
  void synchronize();

 private:
  cuda::Ctx ctx() const;
  void check_errors();                    // reads the device error word (after a sync) and throws
  void ensure_act_scratch(size_t elems);  // bf16 copy of GEMM activations; grows outside graph capture only
  bool capturing() const;
  bool rmsnorm_gemm(const float* x, const Weight& norm, float eps, int n, int count, const Weight* const w[],
                    const Weight* const bias[], float* const out[]);
  // x null: the bf16 input is already in `a` (null: act_scratch_).
  void gemm_tc(const float* x, int n, const cuda::MatmulOut* outs, int count, bool accumulate,
               uint16_t* a = nullptr);
  bool ensure_split_workspace(size_t part_floats, size_t tiles);  // false: would grow inside a recording
  cuda::GemmPlan plan_gemm(int n, const cuda::MatmulOut* outs, int count);
  // Checks the model and builds the persistent kernel's layer table (key: step_key in cuda_backend.cu).
  void prepare_step(const DecodeStep& s, std::vector<uintptr_t> key);
  void print_step_trace(const unsigned long long* dev, int n_layers);

  CudaOptions opts_;
  std::string name_;
  int device_ = 0;
  int sms_ = 0;
  bool wgmma_ = false;  // opts_.wgmma on a device that has it
  CUstream_st* stream_ = nullptr;
  unsigned* dev_err_ = nullptr;   // device error word
  unsigned* host_err_ = nullptr;  // pinned copy of it
  unsigned char* read_pinned_ = nullptr;  // 2 slots of kReadBytes data + the error word (read_async)
  unsigned char* read_mapped_ = nullptr;  // the same slots as the GPU addresses them
  CUevent_st* read_done_[2] = {};
  void* workspace_ = nullptr;     // one allocation, carved into the decode-attention / argmax workspaces
  std::unique_ptr<cuda::Workspace> ws_;
  std::vector<void*> act_scratch_;  // every bf16 activation buffer ever made (graphs may point at old ones)
  size_t act_scratch_elems_ = 0;
  std::vector<void*> scratch_;  // split-K workspaces, current and outgrown
  // logit_window's buffers: [count, pad, part[kLogitParts] as float2] then z [window_cap_] and ids [window_cap_].
  void* window_buf_ = nullptr;
  int window_cap_ = 0;
  float* split_part_ = nullptr;
  size_t split_part_floats_ = 0;
  unsigned* split_counters_ = nullptr;
  size_t split_counters_n_ = 0;
  std::vector<void*> uploads_;
  std::unordered_map<std::string, CUgraphExec_st*> graphs_;
  std::unique_ptr<cuda::StepState> step_;
  unsigned step_barrier_base_ = 0;  // the grid-barrier counter's value after the launches so far
  long fused_steps_ = 0;
  int qkv_cap_ = 4;  // blocks an SM of the one-token q/k/v GEMV for the planned context (plan_context)
  std::unique_ptr<cuda::LaunchTrace> trace_;  // FS_CUDA_TRACE=<file>: the greedy decode step's block timeline
};

// make_cuda_backend() (declared in engine/backend.h) is make_cuda_backend(CudaOptions{}).
std::unique_ptr<Backend> make_cuda_backend(const CudaOptions& opts);

}  // namespace fs
