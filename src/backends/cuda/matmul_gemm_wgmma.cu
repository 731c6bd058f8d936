// matmul, prefill path on Hopper (sm_90a): the same GEMM as matmul_gemm.cu's 128 × 128 kernel,
// out[m, n] (+)= Σ_k x[m, k] · W[n, k] (+ bias[n]), on wgmma — the warpgroup-wide asynchronous tensor-core
// instruction — instead of mma.sync.           x [M, K] bf16 (act_bf16); W [N, K] bf16; out [M, N] f32
//
// Why a second kernel: on Hopper, mma.sync (a warp's 16 × 8 × 16 product, operands moved through registers by
// ldmatrix) reaches about half of the tensor cores' rate (measured: 215 TFLOP/s on Llama's gate/up at n = 512,
// cuBLAS 448). wgmma.m64n128k16 has the 4 warps of a warpgroup multiply a 64 × 16 slice of x by a 128 × 16 slice
// of W (2 · 64 · 128 · 16 flops) reading both straight from shared memory, asynchronously: the warps issue the
// products of a whole k step, then go on issuing copies while the tensor cores work.
//
//   block: 256 threads = 2 warpgroups; tile 128 tokens × 128 weight rows; K in steps of 64 (128 bytes of bf16)
//
//        K → (64 per step)                          warpgroup g multiplies rows 64g .. 64g+63 of the x tile
//      ┌─────────┐           ┌─────────┐            by all 128 W rows: 4 wgmma (k16 each) per step,
//  128 │ x tile  │  ×ᵀ   128 │ W tile  │            accumulating 64 × 128 f32 = 64 registers per thread
//      └─────────┘           └─────────┘
//
// Shared memory. wgmma reads its operands through a "matrix descriptor" (start address, stride between groups of
// 8 rows, swizzle mode), not through per-thread addresses, so a tile must be stored in one of the layouts it
// knows. We use the 128-byte swizzle: each tile row is 128 bytes (64 bf16), 8 rows form a 1024-byte atom, and
// the 16-byte chunk c of row r is stored at chunk c ^ (r mod 8). The XOR spreads the 8 rows that the tensor core
// reads together over all 32 banks — the job the 16-byte row padding does in the mma.sync kernel, which a
// descriptor cannot express. The k16 slice kk of a step starts 32·kk bytes into the atom; the hardware applies the
// same XOR to the address bits, so the descriptor just moves its start.
//
// Pipeline (STAGES stages of 32 KB, all 256 threads copying with cp.async, 16 bytes each):
//   step kt:  wait for tile kt → fence.proxy.async (cp.async writes through the ordinary "generic proxy"; the
//             tensor cores read through the async proxy, which must see them) → barrier → issue the 4 wgmmas of
//             tile kt → issue the copies of tile kt + STAGES − 2 into the stage that step kt − 2 used → wait until
//             only step kt's products are in flight (so step kt − 1's are done, and its stage is free next step).
//   The tensor cores thus always have the next step queued while the warps wait, copy and synchronise, and
//   STAGES − 2 tiles of copies are in flight. Both orders matter (measured, H200, Llama-3.2-1B pp512): copies
//   issued before the products left the tensor cores idle during ~350 instructions of copy issue (98k → 101k
//   tok/s once moved after them and unrolled to constant offsets), and 4 → 6 stages gave 101k → 111k.
//
// Split-K, the multi-matrix launch (q/k/v, gate/up) and the epilogue are shared with the mma.sync kernel
// (gemm_tiles.cuh); the accumulator layout of wgmma is that of mma.sync's m16n8 tiles, one 16-row slab per warp:
// d[4i + 2h + e] holds (row 16·warp + lane/4 + 8h, column 8i + 2·(lane%4) + e).
//
// The SwiGLU form (TcOuts::act set; the prefill MLP): the W tile is gate rows n0 .. n0+63 above the same up rows,
// so column j < 64 and column 64 + j of the accumulators are gate and up of one output — held by the same thread
// (d[4i + …] and d[4(i + 8) + …]). The epilogue writes bf16(silu(gate) · up) to act, the down GEMM's input.
#include "backends/cuda/gemm_tiles.cuh"

namespace fs::cuda {
namespace {

constexpr int BM = 128, BN = 128, BK = 64, THREADS = 256;
// Six stages (193 KB: one block per SM): four tiles of copies in flight cover the DRAM latency that nothing else
// on the SM hides (measured: 4 stages 101k tok/s, 6 stages 111k, 7 the same as 6; 3 stages with 2 blocks per SM
// 99k).
constexpr int STAGES = 6;
constexpr int STAGE_BYTES = (BM + BN) * BK * 2;
constexpr size_t kSmem = size_t(STAGES) * STAGE_BYTES + 1024;  // + slack to align the atoms to 1024 bytes

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// Matrix descriptor of a K-major tile in the 128-byte swizzle: start address / 16 (bits 0–13), leading byte offset
// (bits 16–29; unused by this layout, 1 by convention), stride between 8-row groups = 1024 bytes (bits 32–45),
// swizzle mode 1 = 128 bytes (bits 62–63).
__device__ __forceinline__ uint64_t tile_desc(uint32_t smem) {
  return uint64_t((smem & 0x3FFFF) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) | (uint64_t(1) << 62);
}

// d[64] += A(64 × 16, descriptor a) · B(128 × 16, descriptor b)ᵀ, both K-major bf16, f32 accumulators.
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[64], uint64_t a, uint64_t b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"  // scale-d = true: d += A·B (the caller zeroes d first)
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
      "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(a), "l"(b));
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait(float (&d)[64]) {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
  // The accumulators are written asynchronously: tie them to the wait so no read of d moves above it.
#pragma unroll
  for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void fence_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
#endif

__global__ void __launch_bounds__(THREADS, 1)
    gemm_wgmma_kernel(const uint16_t* A, const __grid_constant__ TcOuts o, const __grid_constant__ TcSplit sk,
                      int M, int K, int accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(16) uint8_t smem_raw[];
  const uint32_t smem = (smem_addr(smem_raw) + 1023) & ~1023u;  // stage s: x tile, then W tile
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int j = o.act ? 0 : gemm_out_index(o);
  const bool glu = o.act != nullptr;
  const int N = o.rows[j];
  const int m0 = blockIdx.x * BM, n0 = glu ? int(blockIdx.y) * (BN / 2) : (int(blockIdx.y) - o.tile0[j]) * BN;
  const int kt0 = int(blockIdx.z) * sk.kt_per_split;
  const int KT = min((K + BK - 1) / BK - kt0, sk.kt_per_split);  // k steps of this block

  grid_dep_launch();
  grid_dep_wait();

  // Tile kt into stage s, 16-byte chunk c of row r at chunk c ^ (r mod 8). Thread t copies chunk t mod 8 of rows
  // t/8, t/8 + 32, ...: every 32nd row has the same r mod 8, so its swizzled offset is fixed and the copies
  // unroll into constant offsets.
  const int r0 = tid >> 3, c = tid & 7;
  const uint32_t at = r0 * 128 + ((c ^ (r0 & 7)) << 4);
  const uint16_t* xsrc = A + size_t(m0 + r0) * K + c * 8;
  // The W tile's upper 64 rows: the next rows of the same matrix, or (SwiGLU) the same rows of up.
  const int hi0 = glu ? n0 : n0 + 64;  // row of its matrix that tile row 64 holds
  const uint16_t* wlo = o.w[j] + size_t(n0 + r0) * K + c * 8;
  const uint16_t* whi = o.w[glu ? 1 : j] + size_t(hi0 + r0) * K + c * 8;
  auto load = [&](int s, int kt) {
    const int k0 = (kt0 + kt) * BK;
    const bool kok = k0 + c * 8 < K;
    const uint32_t xs = smem + s * STAGE_BYTES + at, ws = xs + BM * 128;
#pragma unroll
    for (int it = 0; it < BM / 32; ++it) {
      const bool ok = kok && m0 + r0 + 32 * it < M;
      cp_async16(xs + it * 32 * 128, ok ? xsrc + size_t(32 * it) * K + k0 : A, ok);
    }
#pragma unroll
    for (int it = 0; it < BN / 32; ++it) {
      const int half = it / 2, rr = r0 + 32 * (it % 2);  // tile row 64·half + rr
      const bool ok = kok && (half ? hi0 : n0) + rr < N;
      const uint16_t* src = (half ? whi : wlo) + size_t(32 * (it % 2)) * K + k0;
      cp_async16(ws + it * 32 * 128, ok ? src : A, ok);
    }
  };

  float acc[64];
#pragma unroll
  for (int e = 0; e < 64; ++e) acc[e] = 0.f;

#pragma unroll
  for (int s = 0; s < STAGES - 2; ++s) {
    if (s < KT) load(s, s);
    cp_async_commit();
  }
  const uint32_t x_rows = (warp >> 2) * 64 * 128;  // this warpgroup's 64 rows of the x tile
  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 3>();  // this thread's copies of tile kt have landed
    fence_async_shared();
    __syncthreads();  // everyone's have; and every warpgroup is done with step kt − 2's stage
    const uint32_t xs = smem + (kt % STAGES) * STAGE_BYTES, ws = xs + BM * 128;
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) wgmma_m64n128k16(acc, tile_desc(xs + x_rows + kk * 32), tile_desc(ws + kk * 32));
    wgmma_commit();
    const int next = kt + STAGES - 2;  // its copies are issued while the tensor cores work
    if (next < KT) load(next % STAGES, next);
    cp_async_commit();
    wgmma_wait<1>(acc);
  }
  wgmma_wait<0>(acc);
  cp_async_wait<0>();

  if (!split_k_reduce<64, THREADS>(acc, sk)) return;
  const int row = m0 + (warp >> 2) * 64 + (warp & 3) * 16 + (lane >> 2);
  if (glu) {
    // Column 8i + … of the tile is gate row n0 + 8i + …, and column 64 + 8i + … the same up row: both in this
    // thread's acc[4i + …] and acc[4(i + 8) + …].
#pragma unroll
    for (int i = 0; i < BN / 16; ++i)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = row + 8 * h, col = n0 + 8 * i + 2 * (lane & 3);
        if (r >= M) continue;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float g = acc[4 * i + 2 * h + e], u = acc[4 * (i + 8) + 2 * h + e];
          if (col + e < N) o.act[size_t(r) * N + col + e] = to_bf16_bits(g / (1.f + expf(-g)) * u);
        }
      }
    return;
  }
#pragma unroll
  for (int i = 0; i < BN / 8; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h)
      store_pair(o, j, M, row + 8 * h, n0 + 8 * i + 2 * (lane & 3), acc[4 * i + 2 * h], acc[4 * i + 2 * h + 1],
                 accumulate);
#else
  __trap();  // launched only where the sm_90a code exists (gemm_wgmma_available)
#endif
}

}  // namespace

bool gemm_wgmma_available(const cudaDeviceProp& prop) { return prop.major == 9 && prop.minor == 0; }

void init_gemm_wgmma_attributes() {
  FS_CUDA(cudaFuncSetAttribute(gemm_wgmma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmem)));
}

void gemm_wgmma_swiglu(const Ctx& c, const uint16_t* a, const Weight& gate, const Weight& up, int M,
                       uint16_t* act, const TcSplit& sk) {
  TcOuts o{};
  o.w[0] = static_cast<const uint16_t*>(gate.data);
  o.w[1] = static_cast<const uint16_t*>(up.data);
  o.rows[0] = o.rows[1] = int(gate.rows);
  o.count = 2;
  o.act = act;
  launch(c, "matmul (gemm, wgmma, swiglu)", dim3(ceil_div(M, BM), ceil_div(gate.rows, BN / 2), sk.splits),
         dim3(THREADS), kSmem, gemm_wgmma_kernel, a, o, sk, M, int(gate.cols), 0);
}

void gemm_wgmma(const Ctx& c, const uint16_t* a, const MatmulOut* outs, int count, int M, bool accumulate,
                const TcSplit& sk) {
  const TcOuts o = tc_outs(outs, count, BN);
  launch(c, "matmul (gemm, wgmma)", dim3(ceil_div(M, BM), o.tile0[count], sk.splits), dim3(THREADS), kSmem,
         gemm_wgmma_kernel, a, o, sk, M, int(outs[0].w->cols), accumulate ? 1 : 0);
}

}  // namespace fs::cuda
