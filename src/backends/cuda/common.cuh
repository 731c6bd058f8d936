// What every CUDA op file shares: error checking, the launch helper (Programmatic Dependent Launch), the
// grid-dependency primitives, and the scalar/vector loads that widen bf16/f16 to f32.
//
// PDL in one paragraph. A decode step is ~170-500 small kernels; between two of them the GPU normally drains the
// first grid completely before the second starts (a "launch gap", ~1-3 us each, as long as reading a 2 MB matrix).
// Launched with cudaLaunchAttributeProgrammaticStreamSerialization, kernel N+1 may start while kernel N still runs.
// Every kernel here therefore follows one rule:
//     grid_dep_launch()  →  [load weights (read-only, never written by any kernel)]  →  grid_dep_wait()  →  work
// grid_dep_wait() returns once the previous grid has finished and its writes are visible; nothing that a kernel
// writes or that an earlier kernel writes (activations, the KV cache, workspaces) is touched before it. Every
// block calls it before it exits, so "grid N complete" implies "grid N-1 complete" (transitivity). One exception,
// stated where it is used: the fused decode attention (attention_decode_tc.cu) reads the KV cache rows before its
// token's position early. Those were written before the stream's last host-device copy (every forward chunk
// starts by uploading its ids and positions), and no kernel's early start reaches back past a copy.
// grid_dep_launch() first thing: the next grid is launched as soon as every block of this one has started, so
// while grid N computes, grid N+1 (and, if the SMs have room, N+2, ...) already sit on the SMs with their weight
// loads in flight. This cannot starve anyone: a grid is launched only after all blocks of the grid before it are
// resident, so the oldest grid always runs to completion. Without the launch attribute both are no-ops.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/launch_trace.h"
#include "model/dtype.h"

namespace fs::cuda {

// Throws fs::Error("CUDA error: <call> failed: <error string> (<file>:<line>)").
[[noreturn]] void throw_cuda(cudaError_t e, const char* call, const char* file, int line);
#define FS_CUDA(call)                                                                    \
  do {                                                                                   \
    const cudaError_t fs_err_ = (call);                                                  \
    if (fs_err_ != cudaSuccess) ::fs::cuda::throw_cuda(fs_err_, #call, __FILE__, __LINE__); \
  } while (0)

// Bits of the device error word: kernels cannot throw, so they set a bit and to_host() turns it into fs::Error.
enum ErrorBits : unsigned { kErrTokenId = 1u, kErrPosition = 2u };

// Everything a launcher needs from the backend.
struct Ctx {
  cudaStream_t stream = nullptr;
  bool pdl = true;          // launch with Programmatic Dependent Launch
  bool wgmma = false;       // prefill GEMM tiles of 128 × 128 on wgmma (Hopper) instead of mma.sync
  bool attn_tc = true;      // one-token decode attention on the tensor cores where it applies
  int qkv_cap = 0;          // the one-token q/k/v GEMV at most this many blocks an SM (matmul.cu); 0: no cap
  int sms = 132;            // multiprocessors
  unsigned* err = nullptr;  // device error word (ErrorBits)
  LaunchTrace* trace = nullptr;  // FS_CUDA_TRACE (launch_trace.h)
};

// Launches kernel<<<grid, block, smem, stream>>> through cudaLaunchKernelEx (with the PDL attribute when ctx.pdl),
// then checks both the launch and the last error. Empty grids are skipped by the callers.
template <typename... KArgs, typename... Args>
void launch(const Ctx& c, const char* name, dim3 grid, dim3 block, size_t smem, void (*kernel)(KArgs...),
            Args... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = c.stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = c.pdl ? 1 : 0;
  const cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...);
  if (e != cudaSuccess) throw_cuda(e, name, __FILE__, __LINE__);
  const cudaError_t last = cudaGetLastError();
  if (last != cudaSuccess) throw_cuda(last, name, __FILE__, __LINE__);
}

inline unsigned ceil_div(size_t a, size_t b) { return unsigned((a + b - 1) / b); }
inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// ---- device side ----------------------------------------------------------------------------------------------

__device__ __forceinline__ void grid_dep_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void grid_dep_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ float bf16_bits(uint32_t h) { return __uint_as_float(h << 16); }
__device__ __forceinline__ float bf16_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }
__device__ __forceinline__ float f16_bits(uint16_t h) { return __half2float(__ushort_as_half(h)); }
// f32 → bf16 bits, round to nearest even (as the CPU's f32_to_bf16 and PyTorch do).
__device__ __forceinline__ uint16_t to_bf16_bits(float f) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}

// Element i of a tensor stored as `t`, widened to f32 (norm weights, biases, embedding rows: not the hot loops).
__device__ __forceinline__ float load_f32(const void* p, DType t, size_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::BF16: return bf16_bits(static_cast<const uint16_t*>(p)[i]);
    case DType::F16: return f16_bits(static_cast<const uint16_t*>(p)[i]);
  }
  return 0.f;
}

// A 16-byte load that does not allocate in L1: weights are read exactly once per token, so keeping them out of
// L1 leaves it to the activations every warp re-reads. .nc: read-only for the kernel's lifetime.
__device__ __forceinline__ uint4 ld_stream16(const void* p) {
  uint4 r;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
               : "l"(p));
  return r;
}

// Unpacks 16 bytes of weights into f32: 8 bf16, 8 f16 or 4 f32.
template <typename WT>
struct Unpack;
template <>
struct Unpack<__nv_bfloat16> {
  static constexpr int kElems = 8;
  __device__ __forceinline__ static void run(const uint4& v, float* f) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      f[2 * i] = bf16_lo(w[i]);
      f[2 * i + 1] = bf16_hi(w[i]);
    }
  }
};
template <>
struct Unpack<__half> {
  static constexpr int kElems = 8;
  __device__ __forceinline__ static void run(const uint4& v, float* f) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 p = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
      f[2 * i] = p.x;
      f[2 * i + 1] = p.y;
    }
  }
};
template <>
struct Unpack<float> {
  static constexpr int kElems = 4;
  __device__ __forceinline__ static void run(const uint4& v, float* f) {
    f[0] = __uint_as_float(v.x);
    f[1] = __uint_as_float(v.y);
    f[2] = __uint_as_float(v.z);
    f[3] = __uint_as_float(v.w);
  }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// One element of a weight or cache, widened to f32 (the SIMT fallbacks). uint16_t is a bf16 cache element.
__device__ __forceinline__ float widen(float v) { return v; }
__device__ __forceinline__ float widen(uint16_t v) { return bf16_bits(v); }
__device__ __forceinline__ float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float widen(__half v) { return __half2float(v); }

// cp.async: 16 bytes global → shared without passing through registers (Ampere and newer). With valid false
// nothing is read and the 16 bytes are zero-filled. Groups: commit after issuing a tile's copies; wait<N> returns
// once at most N committed groups are still in flight.
__device__ __forceinline__ uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// A ring of shared-memory stages filled by the bulk-copy engine (Hopper; decode_step.cu): mbarrier init (the number
// of arrivals a phase needs), an arrival that also expects `bytes` of copies, a plain arrival, a wait for the phase
// of the given parity to complete, and a bulk copy global → shared that completes its bytes on an mbarrier.
__device__ __forceinline__ void mbar_init(uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(count));
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, unsigned parity) {
  asm volatile(
      "{\n .reg .pred done;\n"
      "WAIT_%=:\n mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n @!done bra WAIT_%=;\n}" ::"r"(
          smem_addr(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void bulk_load(void* dst, const void* src, unsigned bytes, uint64_t* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   smem_addr(dst)),
               "l"(src), "r"(bytes), "r"(smem_addr(bar))
               : "memory");
}

// "The last block to arrive" (split-K GEMM, split attention, split argmax): every thread of a block calls this
// after storing its partial results. It returns true, in every thread, in the block that is the `expected`-th to
// arrive on *counter — which that block resets to zero for the next launch (ordered after this grid) — and that
// block then sees every other block's partials (read them with __ldcg: L1 is not coherent across SMs).
__device__ __forceinline__ bool last_block_to_arrive(unsigned* counter, unsigned expected) {
  __shared__ bool last;
  __threadfence();  // this thread's partials are visible device-wide before its block is counted
  __syncthreads();
  if (threadIdx.x == 0) {
    last = atomicAdd(counter, 1u) == expected - 1u;
    if (last) *counter = 0;
  }
  __syncthreads();
  if (last) __threadfence();
  return last;
}

// A logit and its row as one 64-bit word whose unsigned order is argmax's: the larger value first, then the lower
// row (the first one on ties); ±0 compare equal and NaN below everything, as in argmax.cu. The float's bits are
// made order-preserving as an unsigned (negatives flipped, the sign bit set on the rest), the row stored inverted.
// Zero is below every key: the empty value an atomic max starts from.
__device__ __forceinline__ unsigned long long argmax_key(float v, int row) {
  const unsigned b = v == 0.f ? 0u : __float_as_uint(v);
  const unsigned k = v != v ? 0u : (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  return (static_cast<unsigned long long>(k) << 32) | (0xffffffffu - unsigned(row));
}
__device__ __forceinline__ int argmax_key_row(unsigned long long key) {
  return key == 0 ? 0 : int(0xffffffffu - unsigned(key & 0xffffffffu));
}

// Tensor-core primitives (the prefill GEMM and attention). ldmatrix.x4: four 8 × 8 b16 matrices from shared memory,
// lane l giving the row address of matrix l / 8, into r[0..3]; .trans transposes each. mma m16n8k16: c += a · b,
// bf16 in, f32 accumulate, in the PTX fragment layouts (a: 4 registers, b: 2, c: 4 floats).
__device__ __forceinline__ void ldsm_x4(uint32_t* r, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t* r, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
// Two f32 → one register of two bf16 (round to nearest even), the lower index in the low half as mma expects.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  return uint32_t(to_bf16_bits(lo)) | (uint32_t(to_bf16_bits(hi)) << 16);
}
__device__ __forceinline__ void mma_bf16(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

}  // namespace fs::cuda
