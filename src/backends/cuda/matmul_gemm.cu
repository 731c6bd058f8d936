// matmul, prefill path (GEMM): out[m, n] (+)= Σ_k x[m, k] · W[n, k] (+ bias[n]) for many tokens m.
//                                                       x [M, K] f32; W [N, K] (rows = out features); out [M, N] f32
//
// Prefill is compute-bound (2·M·N·K flops on N·K weights: at M = 512, ~500 flops per weight byte), so it belongs
// on the tensor cores. bf16 weights take this path:
//
//   1. x is rounded to bf16 once (a tiny elementwise kernel into a scratch buffer, or the layer norm that produces
//      it, rmsnorm_bf16): the tensor cores multiply bf16 × bf16 and accumulate in f32. This is the only rounding:
//      with K terms of random sign the relative error of a dot product is about that of one bf16 rounding of x,
//      2^-9/√3 ≈ 1.1e-3 (measured ~1e-3 relative L2); the tests hold it to 4e-3.
//   2. mma.sync.m16n8k16 (bf16 in, f32 accumulate), fed by ldmatrix from shared memory, which cp.async fills in a
//      3-stage pipeline (the loads of tile k+2 fly while tile k is multiplied).
//
//      block tile BM×BN (tokens × weight rows), K in steps of BK = 64:
//
//               K →                         W tile: BN rows × 64  (row-major [N][K] = the "col" operand of mma)
//         ┌──────────┐                      ┌──────────┐
//      BM │ x tile   │  ×ᵀ               BN │ W tile   │      each warp: WM×WN of the block tile,
//         └──────────┘                      └──────────┘      = (WM/16)×(WN/8) mma tiles of 16×8, k16 per mma
//
//      Shared-memory rows are padded to 72 bf16 (144 bytes = 9 × 16), so the 8 row addresses of an ldmatrix fall in
//      8 different bank groups. blockIdx.x walks the token tiles, so the blocks that run together share one weight
//      tile: weights come from DRAM once. Up to three matrices that share x (q/k/v, gate/up) run as one launch,
//      their row tiles numbered one after another along blockIdx.y: a 1024-row k projection alone is 8 × 4 tiles at
//      n = 512, too few to fill the GPU. blockIdx.z splits K where there are few output tiles (plan_gemm_tc):
//      the partial tiles are added by the last block of each tile, in split order, so results are deterministic.
//      Shapes: 128×128 (8 warps of 64×32), split or not; 64×64 (4 warps of 32×32) for short K and few tiles.
//      On Hopper the 128×128 tiles run on wgmma instead (matmul_gemm_wgmma.cu, same tiles, same split-K); this
//      kernel stays for the 64×64 tiles, for other GPUs (the PTX), and as the measured baseline
//      (FS_CUDA_DISABLE=wgmma).
//
// Everything else (f32 and f16 weights, K not a multiple of 8) takes a plain f32 SIMT tiled GEMM: exact to f32
// rounding, slower, and rare (tiny test models; f16 weights would overflow if x were rounded to f16).
#include "backends/cuda/gemm_tiles.cuh"

namespace fs::cuda {
namespace {

constexpr int BK = 64;
constexpr int LDS = BK + 8;  // padded shared-memory row (elements)
constexpr int STAGES = 3;

__global__ void to_bf16_kernel(const float* x, size_t count, uint16_t* out) {
  grid_dep_launch();
  grid_dep_wait();
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
    out[i] = to_bf16_bits(x[i]);
}

template <int BM, int BN, int WM, int WN>
constexpr int tc_threads() {
  return (BM / WM) * (BN / WN) * 32;
}
template <int BM, int BN>
constexpr size_t tc_smem() {
  return size_t(STAGES) * (BM + BN) * LDS * sizeof(uint16_t);
}

template <int BM, int BN, int WM, int WN>
__global__ void __launch_bounds__(tc_threads<BM, BN, WM, WN>())
    gemm_tc_kernel(const uint16_t* A, const __grid_constant__ TcOuts o, const __grid_constant__ TcSplit sk, int M,
                   int K, int accumulate) {
  constexpr int WARPS_N = BN / WN;
  constexpr int THREADS = tc_threads<BM, BN, WM, WN>();
  constexpr int MI = WM / 16, NI = WN / 8;
  constexpr int CHUNKS = BK / 8;  // 16-byte chunks per tile row
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t* As = smem;                      // [STAGES][BM][LDS]
  uint16_t* Bs = smem + STAGES * BM * LDS;  // [STAGES][BN][LDS]
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / WARPS_N, wn = warp % WARPS_N;
  const int j = gemm_out_index(o);
  const uint16_t* B = o.w[j];
  const int N = o.rows[j];
  const int m0 = blockIdx.x * BM, n0 = (int(blockIdx.y) - o.tile0[j]) * BN;
  const int kt0 = int(blockIdx.z) * sk.kt_per_split;
  const int KT = min((K + BK - 1) / BK - kt0, sk.kt_per_split);  // k steps of this block

  grid_dep_launch();
  grid_dep_wait();

  auto load = [&](int stage, int kt) {
    const int k0 = (kt0 + kt) * BK;
#pragma unroll
    for (int i = tid; i < BM * CHUNKS; i += THREADS) {
      const int r = i / CHUNKS, cc = (i % CHUNKS) * 8;
      const bool ok = m0 + r < M && k0 + cc < K;
      const uint16_t* src = ok ? A + size_t(m0 + r) * K + k0 + cc : A;
      cp_async16(smem_addr(As + (stage * BM + r) * LDS + cc), src, ok);
    }
#pragma unroll
    for (int i = tid; i < BN * CHUNKS; i += THREADS) {
      const int r = i / CHUNKS, cc = (i % CHUNKS) * 8;
      const bool ok = n0 + r < N && k0 + cc < K;
      const uint16_t* src = ok ? B + size_t(n0 + r) * K + k0 + cc : B;
      cp_async16(smem_addr(Bs + (stage * BN + r) * LDS + cc), src, ok);
    }
  };

  float acc[MI * NI * 4];  // tile (mi, ni) of 16 × 8 at acc[(mi · NI + ni) · 4 ..]
#pragma unroll
  for (int e = 0; e < MI * NI * 4; ++e) acc[e] = 0.f;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT) load(s, s);
    cp_async_commit();
  }
  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();  // tile kt is in shared memory; everyone is done with the stage about to be refilled
    const int next = kt + STAGES - 1;
    if (next < KT) load(next % STAGES, next);
    cp_async_commit();
    const uint16_t* as = As + (kt % STAGES) * BM * LDS;
    const uint16_t* bs = Bs + (kt % STAGES) * BN * LDS;
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      unsigned a[MI][4], b[NI][2];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        const int r = wm * WM + mi * 16 + (lane & 15);
        ldsm_x4(a[mi], smem_addr(as + r * LDS + kk + (lane >> 4) * 8));
      }
#pragma unroll
      for (int np = 0; np < NI / 2; ++np) {
        const int r = wn * WN + np * 16 + (lane >> 4) * 8 + (lane & 7);
        ldsm_x4(b[2 * np], smem_addr(bs + r * LDS + kk + ((lane >> 3) & 1) * 8));  // b[2np], b[2np+1]
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni) mma_bf16(&acc[(mi * NI + ni) * 4], a[mi], b[ni][0], b[ni][1]);
    }
  }
  cp_async_wait<0>();

  if (!split_k_reduce<MI * NI * 4, THREADS>(acc, sk)) return;

  // Accumulator layout of m16n8: c0,c1 at (row lane/4, cols 2·(lane%4) + {0,1}); c2,c3 eight rows below.
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float* v = &acc[(mi * NI + ni) * 4 + h * 2];
        store_pair(o, j, M, m0 + wm * WM + mi * 16 + (lane >> 2) + h * 8, n0 + wn * WN + ni * 8 + (lane & 3) * 2,
                   v[0], v[1], accumulate);
      }
}

// The f32 fallback: 64×64 output tile per 256-thread block, 4×4 outputs per thread, K in steps of 16.
template <typename WT>
__global__ void __launch_bounds__(256) gemm_simt_kernel(const float* X, const WT* W, const void* bias,
                                                         DType bias_dtype, float* C, int M, int N, int K,
                                                         int accumulate) {
  constexpr int TM = 64, TN = 64, TK = 16;
  __shared__ float xs[TK][TM + 4];
  __shared__ float ws[TK][TN + 4];
  grid_dep_launch();
  grid_dep_wait();
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.x * TM, n0 = blockIdx.y * TN;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += TK) {
    for (int i = tid; i < TM * TK; i += 256) {
      const int r = i / TK, k = i % TK;
      xs[k][r] = (m0 + r < M && k0 + k < K) ? X[size_t(m0 + r) * K + k0 + k] : 0.f;
      ws[k][r] = (n0 + r < N && k0 + k < K) ? widen(W[size_t(n0 + r) * K + k0 + k]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < TK; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = xs[k][ty * 4 + i], b[i] = ws[k][tx + 16 * i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) acc[i][jj] = fmaf(a[i], b[jj], acc[i][jj]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = m0 + ty * 4 + i;
    if (row >= M) continue;
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      const int col = n0 + tx + 16 * jj;
      if (col >= N) continue;
      float v = acc[i][jj];
      if (bias) v += load_f32(bias, bias_dtype, col);
      float* o = C + size_t(row) * N + col;
      *o = accumulate ? *o + v : v;
    }
  }
}

template <int BM, int BN, int WM, int WN>
void launch_tc(const Ctx& c, const uint16_t* a, const MatmulOut* outs, int count, int M, bool accumulate,
               const TcSplit& sk) {
  const TcOuts o = tc_outs(outs, count, BN);
  launch(c, "matmul (gemm, tensor cores)", dim3(ceil_div(M, BM), o.tile0[count], sk.splits),
         dim3(tc_threads<BM, BN, WM, WN>()), tc_smem<BM, BN>(), gemm_tc_kernel<BM, BN, WM, WN>, a, o, sk, M,
         int(outs[0].w->cols), accumulate ? 1 : 0);
}

}  // namespace

// The tiles need more than the default 48 KB of shared memory; and the largest shared-memory carveout lets more
// blocks share an SM (measured on an H200: Llama-3.2-1B pp512 +7%; decode kernels keep the driver's default,
// which a uniform maximum carveout slowed by 10%).
void init_gemm_attributes() {
  FS_CUDA(cudaFuncSetAttribute(gemm_tc_kernel<128, 128, 64, 32>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(tc_smem<128, 128>())));
  FS_CUDA(cudaFuncSetAttribute(gemm_tc_kernel<64, 64, 32, 32>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(tc_smem<64, 64>())));
  for (const void* k : {reinterpret_cast<const void*>(gemm_tc_kernel<128, 128, 64, 32>),
                        reinterpret_cast<const void*>(gemm_tc_kernel<64, 64, 32, 32>)})
    FS_CUDA(cudaFuncSetAttribute(k, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
}

bool gemm_tc_ok(const Weight& w) { return w.dtype == DType::BF16 && w.cols % 8 == 0 && aligned16(w.data); }

// Tile shape and split-K for n tokens. 128 × 128 tiles when they give every SM a block; otherwise, when K is long
// enough (o and down projections: few output tiles, long K), the same tiles with K split over up to 4 blocks,
// aiming at two blocks per SM; otherwise 64 × 64 tiles. The wgmma kernel fits one block per SM, so there this is
// two waves — measured better than one (H200 pp512, Llama-3.2-1B: 104k tok/s with one, 111k with two).
GemmPlan plan_gemm_tc(const Ctx& c, int n, const MatmulOut* outs, int count, int max_splits) {
  size_t tiles = 0;
  for (int j = 0; j < count; ++j) tiles += size_t(ceil_div(n, 128)) * ceil_div(outs[j].w->rows, 128);
  const int ksteps = int(ceil_div(outs[0].w->cols, BK));
  GemmPlan plan;
  plan.big_tiles = tiles >= size_t(c.sms);
  if (!plan.big_tiles) {
    const int fit = int(2 * size_t(c.sms) / tiles);  // blocks per tile for two blocks per SM; ≥ 2 here
    plan.splits = std::max(1, std::min({max_splits, kMaxSplitK, fit, ksteps / kMinSplitSteps}));
    if (plan.splits > 1) plan.big_tiles = true;
  }
  if (plan.splits > 1) {
    plan.tiles = tiles;
    plan.part_floats = tiles * size_t(plan.splits) * 128 * 128;
  }
  return plan;
}

void gemm_tc(const Ctx& c, const GemmPlan& plan, const float* x, int n, const MatmulOut* outs, int count,
             bool accumulate, uint16_t* act_bf16, const GemmSplitWorkspace& ws) {
  const size_t elems = size_t(n) * size_t(outs[0].w->cols);
  if (x)
    launch(c, "matmul (x to bf16)", dim3(std::min<unsigned>(ceil_div(elems, 256), unsigned(c.sms) * 16)),
           dim3(256), 0, to_bf16_kernel, x, elems, act_bf16);
  const int ksteps = int(ceil_div(outs[0].w->cols, BK));
  const TcSplit sk{ws.part, ws.counters, plan.splits, int(ceil_div(ksteps, plan.splits))};
  if (plan.big_tiles && c.wgmma)
    gemm_wgmma(c, act_bf16, outs, count, n, accumulate, sk);
  else if (plan.big_tiles)
    launch_tc<128, 128, 64, 32>(c, act_bf16, outs, count, n, accumulate, sk);
  else
    launch_tc<64, 64, 32, 32>(c, act_bf16, outs, count, n, accumulate, sk);
}

void gemm_swiglu(const Ctx& c, const GemmPlan& plan, const uint16_t* a, int n, const Weight& gate,
                 const Weight& up, uint16_t* act, const GemmSplitWorkspace& ws) {
  const int ksteps = int(ceil_div(gate.cols, BK));
  gemm_wgmma_swiglu(c, a, gate, up, n, act, {ws.part, ws.counters, plan.splits, int(ceil_div(ksteps, plan.splits))});
}

void gemm_simt(const Ctx& c, const float* x, int n, const Weight& w, const Weight* bias, float* out,
               bool accumulate) {
  const dim3 grid(ceil_div(n, 64), ceil_div(w.rows, 64));
  const void* b = bias ? bias->data : nullptr;
  const DType bt = bias ? bias->dtype : DType::F32;
  const int N = int(w.rows), K = int(w.cols), acc = accumulate ? 1 : 0;
  switch (w.dtype) {
    case DType::F32:
      launch(c, "matmul (gemm, f32)", grid, dim3(256), 0, gemm_simt_kernel<float>, x,
             static_cast<const float*>(w.data), b, bt, out, n, N, K, acc);
      break;
    case DType::BF16:
      launch(c, "matmul (gemm, f32)", grid, dim3(256), 0, gemm_simt_kernel<__nv_bfloat16>, x,
             static_cast<const __nv_bfloat16*>(w.data), b, bt, out, n, N, K, acc);
      break;
    case DType::F16:
      launch(c, "matmul (gemm, f32)", grid, dim3(256), 0, gemm_simt_kernel<__half>, x,
             static_cast<const __half*>(w.data), b, bt, out, n, N, K, acc);
      break;
  }
}

}  // namespace fs::cuda
