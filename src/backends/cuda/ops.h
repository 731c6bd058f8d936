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
constexpr int kArgmaxKeys = 64;      // the lm head's argmax: warps fold their best into this many words (argmax.cu)

// A norm weight or bias in any dtype, as kernels read it (load_f32); p null: absent.
struct DecodeVec {
  const void* p = nullptr;
  DType t = DType::F32;
};

struct Workspace {
  float* attn_o = nullptr;          // [kDecodeMaxN, kMaxQDim · kMaxSplits] partial (unnormalised) outputs
  float* attn_ml = nullptr;         // [kDecodeMaxN, kMaxHeads · kMaxSplits, 2] running max and sum per head
  unsigned* attn_count = nullptr;   // [kDecodeMaxN, kMaxKvHeads] finished splits (reset by the last block)
  float* amax_val = nullptr;        // [kArgmaxSplitRows, kArgmaxMaxBlocks]
  int* amax_idx = nullptr;          // [kArgmaxSplitRows, kArgmaxMaxBlocks]
  unsigned* amax_count = nullptr;   // [kArgmaxSplitRows]
  unsigned long long* amax_keys = nullptr;  // [kArgmaxKeys] argmax_key words, zero between launches
  unsigned* step_barrier = nullptr; // [1] decode_step's grid-barrier counter
};

// logit_window.cu: part[logit_window_parts(cols)] (max, Σ exp) per block and the candidates (z, id) with
// z ≥ max − window, `count` of them in all (at most cap written); the host reads part and count, then the pairs.
constexpr int kLogitParts = 128;
int logit_window_parts(int cols);
void logit_window(const Ctx& c, const float* x, int cols, float temperature, float window, int cap, float2* part,
                  unsigned* count, float* z, int32_t* ids);
// read_back.cu: `bytes` of src, then the error word at byte err_at, into host_slot (pinned, mapped: the kernel
// writes host memory directly).
void read_back(const Ctx& c, const void* src, int bytes, void* host_slot, int err_at);
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
// One token's lm head (norm fused) that also folds each warp's best (logit, row) into keys [kArgmaxKeys] with an
// atomic max (argmax_key, common.cuh), for argmax_from_keys. False, with nothing launched, where the one-token bf16
// GEMV does not take this shape (other dtypes, rows split over warps); the caller then composes the ops.
bool gemv_argmax(const Ctx& c, const float* x, const Weight& norm, float eps, const MatmulOut& out,
                 unsigned long long* keys);
// The one-token q/k/v GEMV (rmsnorm fused) runs at most Ctx::qkv_cap blocks on an SM where its registers would
// allow more (Qwen3-0.6B's two-rows-per-warp kernel fits 7). Not a launch bound, which would change the kernel's
// registers and code: the launch asks for just enough shared memory that one block more no longer fits
// (smem_for_at_most in matmul.cu). The cap follows the context (CudaBackend::plan_context): 4 while the decode
// attention runs one split per kv head, 6 past that. H100, same binary, two rounds, Qwen3-0.6B tg128 from a context
// of 16 and from 512 ... 16k, caps 4 / 5 / 6 (session 15 log, part 5): 1,625 / 1,612 / 1,588 tok/s at 16;
// at 512 1,324 / 1,313 / 1,328, 1k 1,253 / 1,268 / 1,283, 2k 1,198 / 1,211 / 1,228, 4k 1,108 / 1,127 / 1,130,
// 8k 964 / 971 / 987, 16k 745 / 748 / 756. More padding than the least (40-45 KB a block) gained 0.6% at tg128 but
// lost 2.3% at 16k, as did the least padding with the largest carveout: the padding must not move the SM's
// L1/shared split (session 13 log, part 3); the same cap on o, gate/up or down was slower wherever it padded (part 5).
constexpr int kQkvBlocksShort = 4, kQkvBlocksLong = 6;
// Blocks of the one-token q/k/v GEMV (bf16, rmsnorm fused) that fit on an SM, with the shared memory its launch
// asks for (Ctx::qkv_cap): q_rows + 2 × kv_rows rows of `cols` columns.
int qkv_gemv_blocks_per_sm(const Ctx& c, int cols, int q_rows, int kv_rows);
// matmul_gemm.cu: prefill. Tensor cores for bf16 weights (x rounded to bf16 into act_bf16 [n, w.cols] first),
// an f32 SIMT tiled GEMM for everything else (f32/f16 weights, unaligned shapes).
bool gemm_tc_ok(const Weight& w);
// How a tensor-core GEMM launch runs: the tile shape, and split-K — K divided over `splits` blocks per output
// tile, whose partial tiles are then added in a fixed order (deterministic). splits > 1 needs part_floats floats
// and `tiles` zeroed counters of workspace.
constexpr int kMaxSplitK = 4;
constexpr int kMinSplitSteps = 8;  // k steps (of 64) per split, at least
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
// act [n, gate.rows] = bf16(silu(a · gateᵀ) ⊙ (a · upᵀ)) for bf16 a [n, gate.cols], in one launch with the SwiGLU
// in the epilogue (wgmma only: ctx.wgmma, and plan — made for {gate, up} — with big tiles).
void gemm_swiglu(const Ctx& c, const GemmPlan& plan, const uint16_t* a, int n, const Weight& gate,
                 const Weight& up, uint16_t* act, const GemmSplitWorkspace& ws);
void gemm_simt(const Ctx& c, const float* x, int n, const Weight& w, const Weight* bias, float* out,
               bool accumulate);
// matmul_gemm_wgmma.cu: whether this device runs the wgmma GEMM (sm_90: the sm_90a code in this build).
bool gemm_wgmma_available(const cudaDeviceProp& prop);

// rope.cu
void rope(const Ctx& c, float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq);
// kv_store.cu
void kv_store(const Ctx& c, const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache);
// attention.cu (decode, n <= kDecodeMaxN) and attention_prefill.cu (any n)
void attention_decode(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache, const int32_t* pos,
                      int n, int n_heads, int n_kv_heads, int head_dim, float* out);
bool attention_decode_ok(const KvLayer& cache, int n, int n_heads, int n_kv_heads, int head_dim);
// attention_decode_tc.cu: the decode path on the tensor cores (one query token, bf16 cache, head_dim 64 or 128,
// at most 8 query heads per kv head); attention_decode takes it where allowed (ctx.attn_tc).
bool attention_decode_tc_ok(const float* q, const KvLayer& cache, int n, int n_heads, int n_kv_heads,
                            int head_dim);
// With rope set, the fused qk_norm_rope_attention: q and rope->k arrive before QK-norm and RoPE, and the kernel
// also stores position pos's K and V rows (the work of qk_norm_rope_store.cu, for one token). It reads the rows
// before pos before the kernels queued ahead of it have finished, so they must have been written before the
// stream's last host-device copy (Model: by earlier forward chunks, each of which starts with one).
struct DecodeTcRope {
  const float* k;          // [n_kv_heads · head_dim], before QK-norm and RoPE
  const float* v;
  const float* inv_freq;   // [head_dim / 2]
  DecodeVec q_norm, k_norm;  // [head_dim] each, or absent
  float eps;
};
void attention_decode_tc(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache,
                         const int32_t* pos, int n_heads, int n_kv_heads, int head_dim, float* out,
                         const DecodeTcRope* rope = nullptr);
void attention_prefill(const Ctx& c, const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                       int n_kv_heads, int head_dim, float* out);
// swiglu.cu
void swiglu(const Ctx& c, const float* gate, const float* up, size_t count, float* out);
// argmax.cu
void argmax(const Ctx& c, const Workspace& ws, const float* x, int rows, int cols, int32_t* out);
// out[0] = the row of the largest key gemv_argmax left in keys [kArgmaxKeys], which it clears for the next launch.
void argmax_from_keys(const Ctx& c, unsigned long long* keys, int32_t* out);
// qk_norm_rope_store.cu (fused)
void qk_norm_rope_store(const Ctx& c, float* q, float* k, const float* v, const Weight* q_norm,
                        const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads,
                        int head_dim, const float* inv_freq, const KvLayer& cache);

// decode_step.cu (fused, persistent): the whole single-token forward pass as one kernel of one block per SM.
constexpr int kMaxStages = 8;              // shared-memory ring stages, at most
struct DecodeLayerPtrs {                    // one layer, as the kernel reads it (matrices bf16, cache bf16)
  DecodeVec attn_norm, mlp_norm, q_norm, k_norm, q_bias, k_bias, v_bias, o_bias;
  const uint16_t *q, *k, *v, *o, *gate, *up, *down;
  uint16_t *kc, *vc;
};
// Flash-decoding partials (attention_splits.cuh): part_o [n][n_heads][max_splits][head_dim], part_ml [..][2].
struct SplitWorkspace {
  float* part_o;
  float* part_ml;
  unsigned* counter;  // [n][n_kv_heads]
  int max_splits;
};
struct DecodeStepParams {
  const DecodeLayerPtrs* layers;            // [n_layers], device memory
  const uint16_t* embed;
  const uint16_t* lm_head;
  DecodeVec final_norm;
  const int32_t* id;                        // [1] token id, device memory
  const int32_t* pos;                       // [1] its position
  const float* inv_freq;                    // [head_dim / 2]
  float *x, *q, *k, *v, *att, *h, *logits;  // the forward pass's buffers
  SplitWorkspace splits;
  unsigned* err;
  unsigned* barrier;                        // grid-barrier counter (never reset)
  unsigned barrier_base;                    // its value when this launch starts
  int n_layers, hidden, q_dim, kv_dim, inter, vocab, n_heads, n_kv_heads, head_dim, capacity;
  float eps, scale;
  int stages, stage_bytes, act_floats;
  int vec_bytes;                            // one of the two norm-weight buffers in shared memory
  unsigned long long* trace;                // null, or [2][kTraceStride] time stamps (FS_STEP_TRACE)
};
constexpr int kTraceStride = 4096;  // stamps per traced block: 14 per layer + 3
constexpr int kDecodeMaxOwnRows = 64;  // rows of x one block owns, at most: hidden <= 64 · multiprocessors
// Bytes of the layer table in shared memory (rounded up to 16: the norm-weight buffers follow it).
__host__ __device__ inline size_t decode_step_table_bytes(int n_layers) {
  return (size_t(n_layers) * sizeof(DecodeLayerPtrs) + 15) & ~size_t(15);
}
// Grid barriers one launch passes (the host adds barriers × blocks to barrier_base after each launch).
unsigned decode_step_barriers(int n_layers);
const void* decode_step_kernel_ptr();  // for cudaFuncSetAttribute / occupancy queries
constexpr int kDecodeStepThreads = 256;
constexpr int kDecodeStageBytes = 64 * 1024;  // measured: 16 KB stages gave 0.57–0.76×, 32 KB 0.83–0.96× the tok/s
// Shared-memory floats the kernel needs beside the ring: the activation vector, which doubles as attention scratch.
size_t decode_step_act_floats(int hidden, int q_dim, int inter, int group, int head_dim);
void decode_step(const Ctx& c, const DecodeStepParams& p, size_t smem);

// Once per process: raise the dynamic shared-memory limit of the kernels that need more than 48 KB.
void init_gemm_attributes();
void init_gemm_wgmma_attributes();
void init_attention_attributes();

}  // namespace fs::cuda
