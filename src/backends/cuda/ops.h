// The host-side launchers of the CUDA ops, one group per .cu file. CudaBackend (cuda_backend.cu) validates the
// arguments that the interface allows to be wrong, then calls these; each launcher picks a kernel and grid.
#pragma once
#include <cstdint>

#include "backends/cuda/common.cuh"
#include "engine/backend.h"

namespace fs::cuda {

// Limits of the preallocated workspaces (allocated once, so a captured graph never sees an allocation).
constexpr int kDecodeMaxN = 4;       // attention: n <= this uses flash-decoding, larger n the tiled prefill kernel
constexpr int kMaxSplits = 64;       // flash-decoding: most KV splits per (token, kv head)
constexpr int kMaxQDim = 16384;      // n_heads · head_dim the decode workspace holds
constexpr int kMaxHeads = 256;
constexpr int kMaxKvHeads = 256;
constexpr int kMaxHeadDim = 256;
constexpr int kGemvMaxN = 4;         // matmul: n <= this streams the weights once per launch (GEMV)
constexpr int kArgmaxSplitRows = 32; // argmax: rows below this split each row over several blocks
constexpr int kArgmaxMaxBlocks = 64;

struct Workspace {
  float* attn_o = nullptr;          // [kDecodeMaxN, kMaxQDim · kMaxSplits] partial (unnormalised) outputs
  float* attn_ml = nullptr;         // [kDecodeMaxN, kMaxHeads · kMaxSplits, 2] running max and sum per head
  unsigned* attn_count = nullptr;   // [kDecodeMaxN, kMaxKvHeads] finished splits (reset by the last block)
  float* amax_val = nullptr;        // [kArgmaxSplitRows, kArgmaxMaxBlocks]
  int* amax_idx = nullptr;          // [kArgmaxSplitRows, kArgmaxMaxBlocks]
  unsigned* amax_count = nullptr;   // [kArgmaxSplitRows]
};

// embed.cu
void embed(const Ctx& c, const Weight& table, const int32_t* ids, int n, float* out);
// rmsnorm.cu
void rmsnorm(const Ctx& c, const float* x, const Weight& w, float eps, int rows, int dim, float* out);
void rmsnorm_bf16(const Ctx& c, const float* x, const Weight& w, float eps, int rows, int dim, uint16_t* out);

// matmul.cu: the GEMV family (n <= kGemvMaxN). One launch may cover up to 3 matrices that read the same x
// (q/k/v), optionally normalise x on the fly (rmsnorm fused in), or pair gate/up rows into silu(g)·u.
struct MatmulOut {
  const Weight* w = nullptr;
  const Weight* bias = nullptr;  // may be null
  float* out = nullptr;          // [n, w->rows]
};
// True when w and x allow the vectorised GEMV (16-byte aligned rows).
bool gemv_ok(const float* x, const Weight& w);
void gemv(const Ctx& c, const float* x, int n, const Weight* norm, float eps, const MatmulOut* outs, int count,
          bool swiglu, bool accumulate);
// matmul_gemm.cu: prefill. Tensor cores for bf16 weights (x rounded to bf16 into act_bf16 [n, w.cols] first),
// an f32 SIMT tiled GEMM for everything else (f32/f16 weights, unaligned shapes).
bool gemm_tc_ok(const Weight& w);
// How a tensor-core GEMM launch runs: the tile shape, and split-K — K divided over `splits` blocks per output
// tile, whose partial tiles are then added in a fixed order (deterministic). splits > 1 needs part_floats floats
// and `tiles` zeroed counters of workspace.
constexpr int kMaxSplitK = 4;
constexpr int kMinSplitSteps = 8;  // k steps of 32 per split, at least
struct GemmPlan {
  bool big_tiles = false;  // 128 × 128 (else 64 × 64)
  int splits = 1;
  size_t part_floats = 0;
  size_t tiles = 0;
};
struct GemmSplitWorkspace {
  float* part = nullptr;
  unsigned* counters = nullptr;
};
GemmPlan plan_gemm_tc(const Ctx& c, int n, const MatmulOut* outs, int count, int max_splits);
// out[j] (+)= x · w[j]ᵀ (+ bias[j]) for count = 1..3 matrices with the same cols. x is rounded to bf16 into
// act_bf16 first; with x null, act_bf16 already holds it (rmsnorm_bf16).
void gemm_tc(const Ctx& c, const GemmPlan& plan, const float* x, int n, const MatmulOut* outs, int count,
             bool accumulate, uint16_t* act_bf16, const GemmSplitWorkspace& ws);
void gemm_simt(const Ctx& c, const float* x, int n, const Weight& w, const Weight* bias, float* out,
               bool accumulate);

// rope.cu
void rope(const Ctx& c, float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq);
// kv_store.cu
void kv_store(const Ctx& c, const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache);
// attention.cu (decode, n <= kDecodeMaxN) and attention_prefill.cu (any n)
void attention_decode(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache, const int32_t* pos,
                      int n, int n_heads, int n_kv_heads, int head_dim, float* out);
bool attention_decode_ok(const KvLayer& cache, int n, int n_heads, int n_kv_heads, int head_dim);
void attention_prefill(const Ctx& c, const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                       int n_kv_heads, int head_dim, float* out);
// swiglu.cu
void swiglu(const Ctx& c, const float* gate, const float* up, size_t count, float* out);
// argmax.cu
void argmax(const Ctx& c, const Workspace& ws, const float* x, int rows, int cols, int32_t* out);
// qk_norm_rope_store.cu (fused)
void qk_norm_rope_store(const Ctx& c, float* q, float* k, const float* v, const Weight* q_norm,
                        const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads,
                        int head_dim, const float* inv_freq, const KvLayer& cache);


// Once per process: raise the dynamic shared-memory limit of the kernels that need more than 48 KB.
void init_gemm_attributes();
void init_attention_attributes();

}  // namespace fs::cuda
