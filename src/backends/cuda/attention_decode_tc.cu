// attention, decode path on the tensor cores: the same function and the same splits as attention.cu,
//     out[h] = Σ_{p <= pos} softmax_p(q[h] · K[p, kvh] / √D) · V[p, kvh]
// for one query token, a bf16 cache and head_dim D = 64 or 128, with the G <= 8 query heads of a kv head as the
// rows of an mma.sync m16n8k16 product (rows G..15 are zero).      q, out [n_heads · D] f32; K, V [capacity, kv_dim]
//
// Why: the SIMT kernel spends D multiply-adds per position per query head on the CUDA cores, plus the shuffles of
// its dot products; with 4 heads per kv head (Llama 3) it stays near a third of the copy bandwidth at 16k because
// it runs out of instructions and registers, not bytes. An m16n8k16 mma does 16 × 8 × 16 of them in one
// instruction, even with 14 of its 16 rows empty.
//
// No shared memory for K and V: every lane loads 16-byte pieces of cache rows straight into the registers that
// the mma reads. That needs two reorderings, both free because a sum does not care about order:
//   * S = Q·Kᵀ sums over the D dims. mma's B fragment wants lane (g, t) — g = lane/4, t = lane%4 — to hold dims
//     {2t, 2t+1} and {2t+8, 2t+9} of key g in each 16-dim step. Instead lane (g, t) loads dims 32c + 8t .. +7 of
//     key g (one 16-byte load) and uses its 4 words as the B registers of steps 2c and 2c+1; q's A fragment is
//     loaded with the same permutation, so the products pair up the same dims.
//   * O = P·V sums over positions, with B[k = position][n = dim]: lane (g, t) must hold two positions of one
//     dim per register. It loads positions 2t, 2t+1, 2t+8, 2t+9 of a 16-position step, dims 64h + 8g .. +7
//     (16 bytes each), and pairs the halves of two rows with a byte permute: its column g of output tile (h, j)
//     is dim 64h + 8g + j. The accumulators' columns 2t, 2t+1 of tile (h, j) are then dims 64h + 16t + j and
//     64h + 16t + 8 + j, which is where they are written out.
//   P goes from the S accumulators to A fragments in registers (the C layout of two n8 tiles is the A layout of one
//   k16 step), as in attention_prefill.cu. Softmax is f32 (exp2 with the scale folded in); q and P are rounded to
//   bf16 (2⁻⁹ each), so this kernel is held to the prefill tensor-core tolerance, not to f32 rounding.
//
// Each warp walks 16-position steps of its block's split (steps w, w + 4, … like attention.cu), with the next
// step's 16-byte loads in flight while this one is computed; the 4 warps' states merge in shared memory and the
// splits combine through attention_splits.cuh, exactly as the SIMT kernel's.
#include "backends/cuda/attention_splits.cuh"

namespace fs::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kGroup = 8;  // query heads per kv head, at most (rows g of the mma; g + 8 stay empty)
constexpr int kStep = 16;  // positions per warp step: one k16 step of P·V

struct TcParams {
  const float* q;
  const uint16_t* k;
  const uint16_t* v;
  const int32_t* pos;
  float* out;
  SplitWorkspace splits;
  unsigned* err;
  int n_heads, n_kv_heads, kv_dim, capacity;
  float scale;
};

// One warp step's cache data in registers: K for 2 n8 tiles of keys × D/32 16-byte pieces, V for 4 positions ×
// D/64 pieces.
template <int D>
struct StepRegs {
  uint4 k[2][D / 32];
  uint4 v[D / 64][4];
};

// Word i of a 16-byte piece (i a compile-time constant after unrolling: the registers stay registers).
__device__ __forceinline__ uint32_t word(const uint4& u, int i) { return i == 0 ? u.x : i == 1 ? u.y : i == 2 ? u.z : u.w; }

template <int D>
__global__ void __launch_bounds__(kWarps * 32, 2) attn_decode_tc_kernel(const __grid_constant__ TcParams p) {
  constexpr int KC = D / 32;  // 16-byte K pieces per key per lane
  constexpr int VH = D / 64;  // 16-byte V pieces per position per lane
  constexpr int DT = D / 8;   // n8 output tiles
  __shared__ float sm_m[kWarps][kGroup], sm_l[kWarps][kGroup];
  __shared__ float sm_o[kWarps][kGroup][D];
  grid_dep_launch();
  grid_dep_wait();

  const int s = blockIdx.x, kvh = blockIdx.y;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int G = p.n_heads / p.n_kv_heads;
  const int P = p.pos[0];
  if (P < 0 || P >= p.capacity) {
    if (s == 0 && kvh == 0 && threadIdx.x == 0) atomicOr(p.err, kErrPosition);
    return;
  }
  const int L = P + 1, chunk = split_chunk(L, p.splits.max_splits), S = (L + chunk - 1) / chunk;
  if (s >= S) return;
  const int p0 = s * chunk, p1 = min(L, p0 + chunk);

  const uint16_t* K = p.k + size_t(kvh) * D;
  const uint16_t* V = p.v + size_t(kvh) * D;
  // Positions at or past p1 load as zeros (the cache there may hold anything, NaN included: 0 · NaN would poison
  // the products).
  auto load = [&](StepRegs<D>& r, int pb) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int key = pb + 8 * j + g;
#pragma unroll
      for (int c = 0; c < KC; ++c)
        r.k[j][c] = key < p1 ? *reinterpret_cast<const uint4*>(K + size_t(key) * p.kv_dim + 32 * c + 8 * t)
                             : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = pb + 2 * t + (e & 1) + 8 * (e >> 1);
#pragma unroll
      for (int h = 0; h < VH; ++h)
        r.v[h][e] = key < p1 ? *reinterpret_cast<const uint4*>(V + size_t(key) * p.kv_dim + 64 * h + 8 * g)
                             : make_uint4(0, 0, 0, 0);
    }
  };
  StepRegs<D> ra, rb;
  int pb = p0 + warp * kStep;
  if (pb < p1) load(ra, pb);  // the first loads overlap the q loads below

  // q as A fragments (row g = query head kvh·G + g; rows g + 8 empty), dims permuted as K's pieces.
  uint32_t qa[D / 16][4];
  {
    const float* q = p.q + size_t(kvh * G + g) * D;
#pragma unroll
    for (int c = 0; c < KC; ++c)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float4 a = g < G ? *reinterpret_cast<const float4*>(q + 32 * c + 8 * t + 4 * half)
                               : make_float4(0.f, 0.f, 0.f, 0.f);
        qa[2 * c + half][0] = pack_bf16(a.x, a.y);
        qa[2 * c + half][1] = 0u;
        qa[2 * c + half][2] = pack_bf16(a.z, a.w);
        qa[2 * c + half][3] = 0u;
      }
  }

  const float sl2 = p.scale * 1.4426950408889634f;  // e^(x · scale) = 2^(x · sl2)
  float o[DT][4];
#pragma unroll
  for (int j = 0; j < DT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m = -INFINITY, l = 0.f;  // running max (raw score) and this lane's share of the sum, row g

  auto consume = [&](const StepRegs<D>& r, int base) {
    float sc[2][4];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll
      for (int c = 0; c < KC; ++c) {
        mma_bf16(sc[j], qa[2 * c], r.k[j][c].x, r.k[j][c].y);
        mma_bf16(sc[j], qa[2 * c + 1], r.k[j][c].z, r.k[j][c].w);
      }
    }
    // Row g's scores: positions base + 8j + 2t + e in sc[j][e]. The quad's 16 include `base`, always valid.
    float mt = -INFINITY;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if (base + 8 * j + 2 * t + e >= p1) sc[j][e] = -INFINITY;
        mt = fmaxf(mt, sc[j][e]);
      }
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 2));
    const float mn = fmaxf(m, mt), ref = mn * sl2;
    const float corr = exp2f(m * sl2 - ref);  // 0 on the first step (m = -inf)
    m = mn;
    float w[2][2], ls = 0.f;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) ls += (w[j][e] = exp2f(fmaf(sc[j][e], sl2, -ref)));
    l = l * corr + ls;
    const uint32_t pa[4] = {pack_bf16(w[0][0], w[0][1]), 0u, pack_bf16(w[1][0], w[1][1]), 0u};
#pragma unroll
    for (int h = 0; h < VH; ++h)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        // dim 64h + 8g + j of positions (2t, 2t+1) and (2t+8, 2t+9): halves j%2 of words j/2 of two rows
        const uint32_t sel = j & 1 ? 0x7632u : 0x5410u;
        const uint32_t b0 = __byte_perm(word(r.v[h][0], j / 2), word(r.v[h][1], j / 2), sel);
        const uint32_t b1 = __byte_perm(word(r.v[h][2], j / 2), word(r.v[h][3], j / 2), sel);
        float* acc = o[8 * h + j];
        acc[0] *= corr, acc[1] *= corr;
        mma_bf16(acc, pa, b0, b1);
      }
  };

  constexpr int kStride = kWarps * kStep;
  for (; pb < p1; pb += 2 * kStride) {
    if (pb + kStride < p1) load(rb, pb + kStride);
    consume(ra, pb);
    if (pb + kStride >= p1) break;
    if (pb + 2 * kStride < p1) load(ra, pb + 2 * kStride);
    consume(rb, pb + kStride);
  }

  // This warp's state into shared memory (m in units of the scaled score, as store_split_result expects).
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  if (g < G) {
    if (t == 0) sm_m[warp][g] = m * p.scale, sm_l[warp][g] = l;
#pragma unroll
    for (int h = 0; h < VH; ++h)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        sm_o[warp][g][64 * h + 16 * t + j] = o[8 * h + j][0];
        sm_o[warp][g][64 * h + 16 * t + 8 + j] = o[8 * h + j][1];
      }
  }
  __syncthreads();
  store_split_result<kWarps>(p.splits, &sm_m[0][0], &sm_l[0][0], &sm_o[0][0][0], kGroup, D, G, D, p.n_heads, 0,
                             kvh * G, s, S == 1, p.out);
  if (S == 1) return;
  combine_splits_if_last(p.splits, p.n_heads, p.n_kv_heads, 0, kvh, G, D, S, p.out);
}

template <int D>
void launch_tc(const Ctx& c, const TcParams& p0) {
  TcParams p = p0;
  // At most one wave of blocks, as attention.cu.
  const int wave = resident_blocks(reinterpret_cast<const void*>(attn_decode_tc_kernel<D>), kWarps * 32, c.sms) /
                   p.n_kv_heads;
  p.splits.max_splits = std::max(1, std::min(p.splits.max_splits, wave));
  launch(c, "attention (decode, tensor cores)", dim3(p.splits.max_splits, p.n_kv_heads), dim3(kWarps * 32), 0,
         attn_decode_tc_kernel<D>, p);
}

}  // namespace

bool attention_decode_tc_ok(const float* q, const KvLayer& cache, int n, int n_heads, int n_kv_heads,
                            int head_dim) {
  return n == 1 && aligned16(q) && cache.dtype == DType::BF16 && (head_dim == 64 || head_dim == 128) &&
         n_heads / n_kv_heads <= kGroup && cache.kv_dim % 8 == 0 && aligned16(cache.k) && aligned16(cache.v);
}

void attention_decode_tc(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache,
                         const int32_t* pos, int n_heads, int n_kv_heads, int head_dim, float* out) {
  TcParams p;
  p.q = q;
  p.k = static_cast<const uint16_t*>(cache.k);
  p.v = static_cast<const uint16_t*>(cache.v);
  p.pos = pos;
  p.out = out;
  p.splits = split_workspace(ws, cache.capacity);
  p.err = c.err;
  p.n_heads = n_heads;
  p.n_kv_heads = n_kv_heads;
  p.kv_dim = cache.kv_dim;
  p.capacity = cache.capacity;
  p.scale = 1.f / sqrtf(float(head_dim));
  if (head_dim == 64) launch_tc<64>(c, p);
  else launch_tc<128>(c, p);
}

}  // namespace fs::cuda
