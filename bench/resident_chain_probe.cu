// How short can a layer's chain of dependent phases be inside one persistent kernel, and does it stay that short
// while the weights stream in from DRAM beside it? Qwen3-0.6B's shapes: hidden 1024, q 2048, k and v 1024 each, MLP
// 3072, 8 kv heads of 128 dims with 2 query heads each, 28 layers (31.5 MB of weights a layer; no lm head).
//
// The nineteenth session measured the op-by-op decode step with every weight byte served from L2 instead of DRAM
// (docs/cuda-backend.md, section 6): 516-518 us a token on the H100, above the 514 us that 80% of the copy bandwidth
// allows with the weights in DRAM; the five launches of a layer are a chain of dependent steps that costs more than
// the layer's bytes whatever their source. The opt-in persistent kernel (decode_step.cu) with its weight copies
// switched off took 0.95 ms a token: its phases are slower still. This probe builds the chain of a persistent design
// lean, to see what it costs, and then streams the real bytes under it:
//
//   one block an SM, all resident (a cooperative launch): 16 consumer warps and one producer warp. Every block owns
//   a fixed slice of the rows of each matrix, as decode_step.cu does. A layer is five phases; each waits on a counter
//   in global memory that the phase before it counts up (a block adds 1 once its outputs are stored and fenced;
//   thread 0 polls with ld.acquire.gpu, then the consumers' barrier):
//     QKV    act = rmsnorm(x);  q, k, v rows = W · act                       (132 producers)
//     ATTN   blocks 0-7, one a kv head: q, the new k and v rows from L2, softmax(q·Kᵀ/√D)·V over the 128 cached
//            positions and the new one, K and V in shared memory (loaded before the first layer, as a real kernel
//            would load them before its wait); no QK-norm or RoPE     (8 producers)
//     O      x[r] += W_o[r] · att                                            (132)
//     GATEUP act = rmsnorm(x);  h[r] = silu(W_g[r] · act) · (W_u[r] · act)  (132)
//     DOWN   x[r] += W_d[r] · h                                              (132)
//   Warps own whole rows; pairs of rows (q/k/v, gate/up) share the activation loads.
//
// Where the weights come from, two ways:
//   static   one 96 KB shared-memory buffer per block that every phase reads as its rows (gate/up's 24 row pairs
//            are 96 KB): the dot products read as many bytes from shared memory as a real layer, nothing streams;
//   stream   every layer's own weights (881 MB in all) stream from DRAM through a ring of 8 stages of 16 KB: the
//            producer warp walks the block's slices layer after layer (a chunk is whole rows of one matrix, up to
//            16 KB; gate and up rows of the same index share a stage) and copies each with cp.async.bulk, keeping at
//            most F chunks in flight, and reuses a stage once all 16 consumer warps have left it.
// The attention phase can also be a bare hand-over (its blocks copy q into att). The result is checked against the
// same arithmetic on the host (relative L2 of x after 28 layers). Reported: us per layer (the launch's time / 28,
// median of 20 launches), and, from %globaltimer stamps of block 0 (an attention block) and block 8 (not one), the
// median over the layers of each phase's parts: waiting, loading its input, computing, signalling.
//
// On the H100 (session 19 log, parts 8-11; copy 2.98 TB/s, so a layer's bytes take 10.5 us and the step's 80%
// leaves a layer ~14.1 us beside an lm head at full rate): static 14.6-14.8 us a layer, 12.2-12.4 with the bare
// hand-over — a hand-over costs ~1.0 us (signal 0.38, wait 0.64), an input read 0.3-0.45, the dot products 0.8-1.8
// a phase, the attention 2.6; streamed, 17.6-17.9 us at F = 1 (where one 16 KB chunk a DRAM round trip an SM,
// 1.8 TB/s, sets the pace), 17.9-18.1 at 2, 20.3-20.7 at 4 and 8: the stream lengthens the waits, the input reads and
// the signals (the loaded latency of bench/loaded_latency_probe.cu). About the op-by-op layer's 18.3 us.
//
// Built like the other probes plus -Isrc (the ring's mbarriers and bulk copies are the engine's, common.cuh):
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Isrc -o resident_chain_probe bench/resident_chain_probe.cu
//   ./resident_chain_probe
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backends/cuda/common.cuh"
#include "probe_check.h"

namespace {

using fs::cuda::bulk_load;
using fs::cuda::mbar_arrive;
using fs::cuda::mbar_expect_tx;
using fs::cuda::mbar_init;
using fs::cuda::mbar_wait;
using fs::cuda::warp_max;
using fs::cuda::warp_sum;

constexpr int kCWarps = 16, kConsumers = 32 * kCWarps, kThreads = kConsumers + 32;  // the last warp streams
constexpr int kH = 1024, kQ = 2048, kKv = 1024, kI = 3072, kQkv = kQ + 2 * kKv;
constexpr int kKvHeads = 8, kD = 128, kG = 2, kP = 128;  // the new token's position; rows 0..kP-1 are cached
constexpr int kLayers = 28;
constexpr float kEps = 1e-6f;
constexpr int kStageBytes = 16 * 1024, kStages = 8;
constexpr int kStaticElems = 48 * 1024;  // static mode: 96 KB of the ring's memory hold the one buffer
// Rows a chunk holds, by phase (gate/up: row pairs): each chunk fills at most one stage.
constexpr int kRpcQkv = kStageBytes / (2 * kH), kRpcO = kStageBytes / (2 * kQ), kRpcGu = kStageBytes / (4 * kH),
              kRpcDown = kStageBytes / (2 * kI);
// One layer's weights in global memory, row-major: [q; k; v] (kQkv × kH), o (kH × kQ), gate, up (kI × kH), down.
constexpr size_t kOffO = size_t(kQkv) * kH, kOffG = kOffO + size_t(kH) * kQ, kOffU = kOffG + size_t(kI) * kH,
                 kOffD = kOffU + size_t(kI) * kH, kLayerElems = kOffD + size_t(kH) * kI;
constexpr int kKvStride = kD + 8;  // a cached row in shared memory: 272 bytes, so 8 consecutive rows hit 8 bank groups
constexpr int kCtrStride = 32;     // counters 128 bytes apart
enum Phase { kPQkv, kPAtt, kPO, kPGu, kPDown, kPhases };
enum Mark { kWaited, kLoaded, kComputed, kSignalled, kMarks };  // where blocks 0 and 8 stamp each phase

struct Params {
  float *x, *qkv, *att, *h;
  const uint16_t* weights;     // stream mode: [kLayers][kLayerElems] bf16
  unsigned* ctr;               // [kPhases * kCtrStride], zero at launch
  unsigned long long* stamps;  // [2][kLayers][kPhases][kMarks]
  int attention;               // 1: the attention phase; 0: its blocks copy q into att
  int stream;                  // 1: weights from DRAM through the ring; 0: the static buffer
  int in_flight;               // stream mode: chunks the producer keeps in flight at most
};

// Deterministic values, the same on host and device: a weight in [-0.05, 0.05) with an exact bf16 value.
__host__ __device__ inline uint32_t mix(uint32_t i) {
  i ^= i >> 16, i *= 0x7feb352dU, i ^= i >> 15, i *= 0x846ca68bU, i ^= i >> 16;
  return i;
}
__host__ __device__ inline uint16_t wbits(uint32_t i) {
  const float f = (float(mix(i) & 1023u) - 511.5f) / 10240.f;
  uint32_t u;
  memcpy(&u, &f, 4);
  return uint16_t(u >> 16);
}
__host__ __device__ inline float bf(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
__host__ __device__ inline float norm_w(int c) { return 1.f + bf(wbits(uint32_t(c) + 7777u)); }
__host__ __device__ inline uint16_t kv_bits(int head, int v, int p, int d) {  // cached row p of K (v = 0) or V
  return wbits(uint32_t(((head * 2 + v) * kP + p) * kD + d) + 99991u);
}
__host__ inline uint16_t to_bf16(float f) {  // round to nearest even, as __float2bfloat16_rn
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
__host__ __device__ constexpr int lo(int rows, int b, int blocks) { return int(int64_t(rows) * b / blocks); }
__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, %0;" ::"n"(kConsumers) : "memory"); }

// ---- the hand-over between phases ----
// A producer block adds 1 once its stores are done and fenced; a consumer waits for the count.
template <typename Stamp>
__device__ __forceinline__ void signal(unsigned* c, Stamp&& stamp) {
  consumers_sync();
  stamp(kComputed);
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(c, 1u);
  }
  stamp(kSignalled);
}
__device__ __forceinline__ void wait_for(const unsigned* c, unsigned target) {
  if (threadIdx.x == 0) {
    unsigned v;
    do asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(c) : "memory");
    while (v < target);
  }
  consumers_sync();
}

// ---- dot products ----
// Eight weights (one 16-byte word of bf16) times eight activations.
__device__ __forceinline__ float dot8(const uint4& w, const float4& a, const float4& b) {
  float s = bf(uint16_t(w.x)) * a.x;
  s = fmaf(bf(uint16_t(w.x >> 16)), a.y, s);
  s = fmaf(bf(uint16_t(w.y)), a.z, s);
  s = fmaf(bf(uint16_t(w.y >> 16)), a.w, s);
  s = fmaf(bf(uint16_t(w.z)), b.x, s);
  s = fmaf(bf(uint16_t(w.z >> 16)), b.y, s);
  s = fmaf(bf(uint16_t(w.w)), b.z, s);
  return fmaf(bf(uint16_t(w.w >> 16)), b.w, s);
}
// Two rows of COLS weights in shared memory against act, all of a lane's loads issued before its sums.
template <int COLS>
__device__ __forceinline__ void dot2(const uint16_t* r0, const uint16_t* r1, const float* act, float& s0, float& s1) {
  constexpr int kV = COLS / 8 / 32;  // 16-byte words per lane
  const int lane = threadIdx.x & 31;
  const uint4* w0 = reinterpret_cast<const uint4*>(r0);
  const uint4* w1 = reinterpret_cast<const uint4*>(r1);
  const float4* a = reinterpret_cast<const float4*>(act);
  uint4 v0[kV], v1[kV];
#pragma unroll
  for (int k = 0; k < kV; ++k) v0[k] = w0[lane + 32 * k], v1[k] = w1[lane + 32 * k];
  float t0 = 0.f, t1 = 0.f;
#pragma unroll
  for (int k = 0; k < kV; ++k) {
    const float4 a0 = a[2 * (lane + 32 * k)], a1 = a[2 * (lane + 32 * k) + 1];
    t0 += dot8(v0[k], a0, a1);
    t1 += dot8(v1[k], a0, a1);
  }
  s0 = warp_sum(t0);
  s1 = warp_sum(t1);
}

// ---- a phase's input, from L2 (other blocks wrote it) ----
// act = x · w / rms(x).
__device__ void load_normed(const float* x, float* act, float* red) {
  const float2 v = __ldcg(reinterpret_cast<const float2*>(x) + threadIdx.x);  // kH = 2 · kConsumers
  float ss = warp_sum(v.x * v.x + v.y * v.y);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = ss;
  consumers_sync();
  ss = 0.f;
#pragma unroll
  for (int w = 0; w < kCWarps; ++w) ss += red[w];
  const float inv = 1.f / sqrtf(ss / float(kH) + kEps);
  const int c = 2 * threadIdx.x;
  act[c] = v.x * inv * norm_w(c), act[c + 1] = v.y * inv * norm_w(c + 1);
  consumers_sync();
}
// act = src (n floats, a multiple of 4).
__device__ void load_plain(const float* src, int n, float* act) {
  for (int i = threadIdx.x; i < n / 4; i += kConsumers)
    reinterpret_cast<float4*>(act)[i] = __ldcg(reinterpret_cast<const float4*>(src) + i);
  consumers_sync();
}

struct Smem {
  alignas(128) uint8_t ring[kStages][kStageBytes];  // stream: the stages; static: the one weight buffer
  alignas(16) float act[kI];                        // the phase's input vector
  alignas(16) uint16_t k[kP + 1][kKvStride];        // attention blocks: the cached K rows and the new one
  alignas(16) uint16_t v[kP + 1][kKvStride];        //   and V
  alignas(16) float q[kG * kD];                     //   the two query heads
  float sc[kG][kP + 1];                             //   scores, then softmax weights
  float part[4][kG * kD];                           //   P·V partials of four position slices
  float x_own[8];                                   // the rows of x this block owns (o and down write them)
  float red[kCWarps];
  uint64_t full[kStages], empty[kStages];
};

// ---- the attention phase (blocks 0-7) ----
__device__ void attention(const Params& p, Smem& s, int head) {
  const int t = threadIdx.x;
  // q (two heads), the new K and V rows: 512 values, one a thread; K and V rounded to bf16 as the cache stores them.
  const int nq = kG * kD;
  if (t < nq)
    s.q[t] = __ldcg(p.qkv + head * nq + t);
  else if (t < nq + kD)
    s.k[kP][t - nq] = fs::cuda::to_bf16_bits(__ldcg(p.qkv + kQ + head * kD + t - nq));
  else
    s.v[kP][t - nq - kD] = fs::cuda::to_bf16_bits(__ldcg(p.qkv + kQ + kKv + head * kD + t - nq - kD));
  consumers_sync();
  // Scores: thread (position pp, head g), its K row's 16 words against q.
  const float scale = 1.f / sqrtf(float(kD));
  if (t < kG * (kP + 1)) {
    const int pp = t >> 1, g = t & 1;
    const uint4* kr = reinterpret_cast<const uint4*>(s.k[pp]);
    const float4* q4 = reinterpret_cast<const float4*>(s.q + g * kD);
    float acc = 0.f;
#pragma unroll
    for (int c = 0; c < kD / 8; ++c) acc += dot8(kr[c], q4[2 * c], q4[2 * c + 1]);
    s.sc[g][pp] = acc * scale;
  }
  consumers_sync();
  // Softmax: warp g over head g's 129 scores.
  const int warp = t >> 5, lane = t & 31;
  if (warp < kG) {
    float m = -INFINITY;
    for (int pp = lane; pp <= kP; pp += 32) m = fmaxf(m, s.sc[warp][pp]);
    m = warp_max(m);
    float sum = 0.f;
    for (int pp = lane; pp <= kP; pp += 32) sum += (s.sc[warp][pp] = expf(s.sc[warp][pp] - m));
    const float inv = 1.f / warp_sum(sum);
    for (int pp = lane; pp <= kP; pp += 32) s.sc[warp][pp] *= inv;
  }
  consumers_sync();
  // P·V: thread (head g, position slice sl < 4, dim pair dp): positions sl, sl + 4, ...; the slices add up below.
  {
    const int g = t >> 8, sl = (t >> 6) & 3, dp = t & 63;
    float a0 = 0.f, a1 = 0.f;
#pragma unroll 4
    for (int pp = sl; pp <= kP; pp += 4) {
      const uint32_t vv = reinterpret_cast<const uint32_t*>(s.v[pp])[dp];
      const float w = s.sc[g][pp];
      a0 = fmaf(w, bf(uint16_t(vv)), a0), a1 = fmaf(w, bf(uint16_t(vv >> 16)), a1);
    }
    s.part[sl][g * kD + 2 * dp] = a0, s.part[sl][g * kD + 2 * dp + 1] = a1;
  }
  consumers_sync();
  if (t < nq) __stcg(p.att + head * nq + t, s.part[0][t] + s.part[1][t] + s.part[2][t] + s.part[3][t]);
}

// ---- the block's slices and chunks ----
// The block's rows of each matrix, the chunks they are cut into, and where each phase's chunks start in the list
// (the same every layer).
struct Slices {
  int qkv0, qkv_n, own0, own_n, gu0, gu_n;  // own: the rows of x (o, down)
  int first[kPhases];                       // a layer's first chunk of each phase (kPAtt: none)
  int per_layer;                            // chunks a layer
  __device__ Slices(int b, int B) {
    qkv0 = lo(kQkv, b, B), qkv_n = lo(kQkv, b + 1, B) - qkv0;
    own0 = lo(kH, b, B), own_n = lo(kH, b + 1, B) - own0;
    gu0 = lo(kI, b, B), gu_n = lo(kI, b + 1, B) - gu0;
    first[kPQkv] = 0;
    first[kPAtt] = first[kPO] = ceil_div(qkv_n, kRpcQkv);
    first[kPGu] = first[kPO] + ceil_div(own_n, kRpcO);
    first[kPDown] = first[kPGu] + ceil_div(gu_n, kRpcGu);
    per_layer = first[kPDown] + ceil_div(own_n, kRpcDown);
  }
  __device__ int rows(int ph) const { return ph == kPQkv ? qkv_n : ph == kPGu ? gu_n : own_n; }
  __device__ int rpc(int ph) const {
    return ph == kPQkv ? kRpcQkv : ph == kPO ? kRpcO : ph == kPGu ? kRpcGu : kRpcDown;
  }
  __device__ int cols(int ph) const { return ph == kPO ? kQ : ph == kPDown ? kI : kH; }
};

// Producer warp, lane 0: every chunk of every layer, in the order the phases read them.
__device__ void produce(const Params& p, Smem& s, const Slices& sl) {
  int k = 0;  // chunk number
  for (int l = 0; l < kLayers; ++l) {
    const uint16_t* W = p.weights + size_t(l) * kLayerElems;
    for (int ph : {kPQkv, kPO, kPGu, kPDown}) {
      const int n = sl.rows(ph), rpc = sl.rpc(ph), cols = sl.cols(ph);
      for (int r = 0; r < n; r += rpc, ++k) {
        const int slot = k % kStages, rows = min(rpc, n - r);
        if (k >= kStages) mbar_wait(&s.empty[slot], unsigned(k / kStages - 1) & 1u);
        if (k >= p.in_flight) {  // at most in_flight chunks on their way
          const int old = k - p.in_flight;
          mbar_wait(&s.full[old % kStages], unsigned(old / kStages) & 1u);
        }
        const unsigned bytes = unsigned(rows * cols * 2);
        uint8_t* dst = s.ring[slot];
        if (ph == kPGu) {
          mbar_expect_tx(&s.full[slot], 2 * bytes);
          bulk_load(dst, W + kOffG + size_t(sl.gu0 + r) * kH, bytes, &s.full[slot]);
          bulk_load(dst + bytes, W + kOffU + size_t(sl.gu0 + r) * kH, bytes, &s.full[slot]);
        } else {
          const size_t row0 = ph == kPQkv ? size_t(sl.qkv0 + r) * kH
                              : ph == kPO ? kOffO + size_t(sl.own0 + r) * kQ
                                          : kOffD + size_t(sl.own0 + r) * kI;
          mbar_expect_tx(&s.full[slot], bytes);
          bulk_load(dst, W + row0, bytes, &s.full[slot]);
        }
      }
    }
  }
}

__global__ void __launch_bounds__(kThreads, 1) chain_kernel(const Params p) {
  extern __shared__ __align__(128) uint8_t raw[];
  Smem& s = *reinterpret_cast<Smem*>(raw);
  const int b = blockIdx.x, B = gridDim.x, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const Slices sl(b, B);
  uint16_t* stat = reinterpret_cast<uint16_t*>(&s.ring[0][0]);  // static mode's buffer
  if (!p.stream)
    for (int i = threadIdx.x; i < kStaticElems; i += kThreads) stat[i] = wbits(uint32_t(i));
  const bool attends = b < kKvHeads;
  if (attends)
    for (int i = threadIdx.x; i < kP * kD; i += kThreads) {
      s.k[i / kD][i % kD] = kv_bits(b, 0, i / kD, i % kD);
      s.v[i / kD][i % kD] = kv_bits(b, 1, i / kD, i % kD);
    }
  if (threadIdx.x < sl.own_n) s.x_own[threadIdx.x] = p.x[sl.own0 + threadIdx.x];
  if (threadIdx.x == 0) {
    for (int i = 0; i < kStages; ++i) mbar_init(&s.full[i], 1), mbar_init(&s.empty[i], kCWarps);
    asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;" ::: "memory");
  }
  __syncthreads();
  if (warp == kCWarps) {  // the producer
    if (p.stream && lane == 0) produce(p, s, sl);
    return;
  }

  // Where row i (gate/up: pair i, half 0 gate, 1 up) of phase ph of layer l sits, once it has arrived.
  auto row = [&](int l, int ph, int i, int half) -> const uint16_t* {
    const int cols = sl.cols(ph), pair = ph == kPGu ? 2 : 1;
    if (!p.stream) return stat + size_t(i * pair + half) * cols;
    const int rpc = sl.rpc(ph), c = i / rpc, k = l * sl.per_layer + sl.first[ph] + c;
    mbar_wait(&s.full[k % kStages], unsigned(k / kStages) & 1u);
    const int in_chunk = min(rpc, sl.rows(ph) - c * rpc);  // gate/up: the up rows follow the chunk's gate rows
    return reinterpret_cast<const uint16_t*>(s.ring[k % kStages]) + size_t(i % rpc + half * in_chunk) * cols;
  };
  // Every consumer warp is done with the phase's chunks: their stages may be refilled.
  auto release = [&](int l, int ph) {
    if (!p.stream || lane != 0) return;
    const int n = ceil_div(sl.rows(ph), sl.rpc(ph));
    for (int c = 0; c < n; ++c) mbar_arrive(&s.empty[(l * sl.per_layer + sl.first[ph] + c) % kStages]);
  };

  unsigned* ctr = p.ctr;
  for (int l = 0; l < kLayers; ++l) {
    const unsigned n = unsigned(l + 1);
    int phase = kPQkv;
    auto stamp = [&](int mark) {
      if (threadIdx.x == 0 && (b == 0 || b == kKvHeads))
        p.stamps[((size_t(b == 0 ? 0 : 1) * kLayers + l) * kPhases + phase) * kMarks + mark] = globaltimer();
    };
    // QKV: rows i and i + 16 of this block's slice of [q; k; v] in warp i.
    if (l > 0) wait_for(ctr + kPDown * kCtrStride, unsigned(l) * unsigned(B));
    stamp(kWaited);
    load_normed(p.x, s.act, s.red);
    stamp(kLoaded);
    for (int i = warp; i < sl.qkv_n; i += 2 * kCWarps) {
      const int j = i + kCWarps < sl.qkv_n ? i + kCWarps : i;
      float si, sj;
      dot2<kH>(row(l, kPQkv, i, 0), row(l, kPQkv, j, 0), s.act, si, sj);
      if (lane == 0) __stcg(p.qkv + sl.qkv0 + i, si);
      if (lane == 0 && j != i) __stcg(p.qkv + sl.qkv0 + j, sj);
    }
    signal(ctr + kPQkv * kCtrStride, stamp);
    release(l, kPQkv);
    // ATTN: blocks 0-7.
    phase = kPAtt;
    if (attends) {
      wait_for(ctr + kPQkv * kCtrStride, n * unsigned(B));
      stamp(kWaited);
      stamp(kLoaded);
      if (p.attention)
        attention(p, s, b);
      else if (threadIdx.x < kG * kD)
        __stcg(p.att + b * kG * kD + threadIdx.x, __ldcg(p.qkv + b * kG * kD + threadIdx.x));
      signal(ctr + kPAtt * kCtrStride, stamp);
    }
    // O and DOWN: x[r] += W[r] · src for the rows of x this block owns (one a warp), src written by the phase before.
    auto residual = [&](auto cols, int ph, const float* src, const unsigned* after, unsigned target) {
      constexpr int kCols = decltype(cols)::value;
      phase = ph;
      wait_for(after, target);
      stamp(kWaited);
      load_plain(src, kCols, s.act);
      stamp(kLoaded);
      if (warp < sl.own_n) {
        const uint16_t* r = row(l, ph, warp, 0);
        float si, unused;
        dot2<kCols>(r, r, s.act, si, unused);
        if (lane == 0) __stcg(p.x + sl.own0 + warp, s.x_own[warp] += si);
      }
      signal(ctr + ph * kCtrStride, stamp);
      release(l, ph);
    };
    residual(std::integral_constant<int, kQ>{}, kPO, p.att, ctr + kPAtt * kCtrStride, n * kKvHeads);
    // GATEUP: pair i (gate row i, up row i) in warp i.
    phase = kPGu;
    wait_for(ctr + kPO * kCtrStride, n * unsigned(B));
    stamp(kWaited);
    load_normed(p.x, s.act, s.red);
    stamp(kLoaded);
    for (int i = warp; i < sl.gu_n; i += kCWarps) {
      float g, u;
      dot2<kH>(row(l, kPGu, i, 0), row(l, kPGu, i, 1), s.act, g, u);
      if (lane == 0) __stcg(p.h + sl.gu0 + i, g / (1.f + expf(-g)) * u);
    }
    signal(ctr + kPGu * kCtrStride, stamp);
    release(l, kPGu);
    residual(std::integral_constant<int, kI>{}, kPDown, p.h, ctr + kPGu * kCtrStride, n * unsigned(B));
  }
}

__global__ void fill_weights(uint16_t* w, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    w[i] = wbits(uint32_t(i));
}

// ---- the host's copy of the same arithmetic ----
int owner(int rows, int r, int blocks) {
  int b = 0;
  while (lo(rows, b + 1, blocks) <= r) ++b;
  return b;
}
std::vector<float> host_layers(std::vector<float> x, int blocks, bool attention, bool stream) {
  std::vector<float> act(kI), qkv(kQkv), att(kQ), h(kI);
  auto normed = [&] {
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const float inv = 1.f / std::sqrt(float(ss / kH) + kEps);
    for (int c = 0; c < kH; ++c) act[c] = x[c] * inv * norm_w(c);
  };
  // Row r of a matrix (at `off` in a layer's weights, `rows` × `cols`) against a: in stream mode the layer's own
  // weights; in static mode buffer row (r - lo) · pair + half of the block that owns r.
  auto dot = [&](int l, size_t off, int rows, int cols, int r, const std::vector<float>& a, int pair, int half) {
    const uint32_t w0 = stream ? uint32_t(size_t(l) * kLayerElems + off + size_t(r) * cols)
                               : uint32_t(((r - lo(rows, owner(rows, r, blocks), blocks)) * pair + half) * cols);
    double s = 0;
    for (int c = 0; c < cols; ++c) s += double(bf(wbits(w0 + uint32_t(c)))) * a[c];
    return float(s);
  };
  for (int l = 0; l < kLayers; ++l) {
    normed();
    for (int r = 0; r < kQkv; ++r) qkv[r] = dot(l, 0, kQkv, kH, r, act, 1, 0);
    for (int hd = 0; hd < kKvHeads; ++hd)
      for (int g = 0; g < kG; ++g) {
        const float* q = &qkv[(hd * kG + g) * kD];
        float* out = &att[(hd * kG + g) * kD];
        if (!attention) {
          std::copy(q, q + kD, out);
          continue;
        }
        auto kv = [&](int v, int pp, int d) {
          return pp < kP ? bf(kv_bits(hd, v, pp, d)) : bf(to_bf16(qkv[kQ + v * kKv + hd * kD + d]));
        };
        std::vector<double> w(kP + 1);
        double m = -1e300, sum = 0;
        for (int pp = 0; pp <= kP; ++pp) {
          double s = 0;
          for (int d = 0; d < kD; ++d) s += double(q[d]) * kv(0, pp, d);
          w[pp] = s / std::sqrt(double(kD));
          m = std::max(m, w[pp]);
        }
        for (double& v : w) sum += (v = std::exp(v - m));
        for (int d = 0; d < kD; ++d) {
          double o = 0;
          for (int pp = 0; pp <= kP; ++pp) o += w[pp] / sum * kv(1, pp, d);
          out[d] = float(o);
        }
      }
    for (int r = 0; r < kH; ++r) x[r] += dot(l, kOffO, kH, kQ, r, att, 1, 0);
    normed();
    for (int r = 0; r < kI; ++r) {
      const float g = dot(l, kOffG, kI, kH, r, act, 2, 0), u = dot(l, kOffU, kI, kH, r, act, 2, 1);
      h[r] = g / (1.f + std::exp(-g)) * u;
    }
    for (int r = 0; r < kH; ++r) x[r] += dot(l, kOffD, kH, kI, r, h, 1, 0);
  }
  return x;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  const Card c = card();
  const int B = c.sms();
  std::printf("%s, %d SMs: %d blocks of %d threads, %zu bytes of shared memory a block\n", c.prop.name, B, B, kThreads,
              sizeof(Smem));
  auto most = [&](int rows) { return ceil_div(rows, B); };  // the largest row slice of a block
  if (most(kQkv) > 2 * kCWarps || most(kI) > 2 * kCWarps || most(kH) > kCWarps || most(kH) > 8 ||
      most(kI) * 4 * kH > 2 * kStaticElems || most(kH) * 2 * kI > 2 * kStaticElems) {
    std::printf("this card's row slices do not fit the probe's buffers\n");
    return 1;
  }
  CHECK(cudaFuncSetAttribute(chain_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(sizeof(Smem))));
  float *x, *qkv, *att, *h;
  uint16_t* weights;
  unsigned* ctr;
  unsigned long long* stamps;
  const size_t n_weights = size_t(kLayers) * kLayerElems;
  CHECK(cudaMalloc(&x, kH * 4));
  CHECK(cudaMalloc(&qkv, kQkv * 4));
  CHECK(cudaMalloc(&att, kQ * 4));
  CHECK(cudaMalloc(&h, kI * 4));
  CHECK(cudaMalloc(&weights, n_weights * 2));
  CHECK(cudaMalloc(&ctr, kPhases * kCtrStride * 4));
  CHECK(cudaMalloc(&stamps, 2 * kLayers * kPhases * kMarks * 8));
  fill_weights<<<4 * B, 256>>>(weights, n_weights);
  CHECK(cudaGetLastError());
  std::vector<float> x0(kH);
  for (int i = 0; i < kH; ++i) x0[i] = bf(wbits(uint32_t(i) + 31337u)) * 20.f;  // an embedding row, |x| < 1
  cudaStream_t st;
  CHECK(cudaStreamCreate(&st));
  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  // The copy bandwidth on this card (cudaMemcpy device to device, read + write), as fs bench measures it.
  const double copy_gbs = [&] {
    void *a, *d;
    const size_t bytes = size_t(1) << 30;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&d, bytes));
    const double us =
        median_us(st, 10, [&](int) { CHECK(cudaMemcpyAsync(d, a, bytes, cudaMemcpyDeviceToDevice, st)); });
    CHECK(cudaFree(a));
    CHECK(cudaFree(d));
    return 2.0 * bytes / us / 1e3;
  }();
  // What 80% of the copy bandwidth leaves a layer: alone, and in a step whose lm head (Qwen3-0.6B's tied 151,936 ×
  // 1024 bf16) streams at the full copy rate, as the engine's does.
  const double layer_bytes = double(kLayerElems) * 2, bytes_us = layer_bytes / copy_gbs / 1e3;
  const double lm_us = 151936.0 * kH * 2 / copy_gbs / 1e3;
  std::printf(
      "copy bandwidth %.0f GB/s: a layer's %.1f MB take %.2f us at it; 80%% of it leaves a layer %.2f us alone,\n"
      "%.2f us beside an lm head at the full rate\n",
      copy_gbs, layer_bytes / 1e6, bytes_us, bytes_us / 0.8, ((kLayers * bytes_us + lm_us) / 0.8 - lm_us) / kLayers);

  struct Mode {
    int attention, stream, in_flight;
    const char* name;
  };
  const Mode modes[] = {{1, 0, 0, "static weights, attention"},
                        {0, 0, 0, "static weights, hand-over instead of attention"},
                        {1, 1, 1, "streamed weights (1 chunk in flight), attention"},
                        {1, 1, 2, "streamed weights (2 chunks in flight), attention"},
                        {1, 1, 4, "streamed weights (4 chunks in flight), attention"},
                        {1, 1, kStages, "streamed weights (8 chunks in flight), attention"},
                        {0, 1, 2, "streamed weights (2 chunks in flight), hand-over instead of attention"}};
  for (const Mode& m : modes) {
    Params p{x, qkv, att, h, weights, ctr, stamps, m.attention, m.stream, m.in_flight};
    void* args[] = {&p};
    std::vector<double> us;
    for (int run = 0; run < 23; ++run) {
      CHECK(cudaMemcpyAsync(x, x0.data(), kH * 4, cudaMemcpyHostToDevice, st));
      CHECK(cudaMemsetAsync(ctr, 0, kPhases * kCtrStride * 4, st));
      CHECK(cudaEventRecord(e0, st));
      CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(chain_kernel), dim3(B), dim3(kThreads), args,
                                        sizeof(Smem), st));
      CHECK(cudaEventRecord(e1, st));
      CHECK(cudaEventSynchronize(e1));
      float ms = 0.f;
      CHECK(cudaEventElapsedTime(&ms, e0, e1));
      if (run >= 3) us.push_back(ms * 1000.0 / kLayers);
    }
    std::vector<float> got(kH);
    CHECK(cudaMemcpy(got.data(), x, kH * 4, cudaMemcpyDeviceToHost));
    const std::vector<float> want = host_layers(x0, B, m.attention == 1, m.stream == 1);
    double num = 0, den = 0;
    for (int i = 0; i < kH; ++i) num += double(got[i] - want[i]) * (got[i] - want[i]), den += double(want[i]) * want[i];
    const double rel = std::sqrt(num / den), layer_us = median(us);
    std::printf("\n%s: %.2f us a layer", m.name, layer_us);
    if (m.stream)
      std::printf(" (%.0f GB/s, %.1f%% of copy)", layer_bytes / layer_us / 1e3,
                  100.0 * layer_bytes / layer_us / 1e3 / copy_gbs);
    std::printf("; x against the host: relative L2 %.1e %s\n", rel, rel < 1e-4 ? "(ok)" : "(MISMATCH)");
    // The stamps of the last run, medians over layers 1-26 of each part of each phase.
    std::vector<unsigned long long> t(2 * kLayers * kPhases * kMarks);
    CHECK(cudaMemcpy(t.data(), stamps, t.size() * 8, cudaMemcpyDeviceToHost));
    const char* names[kPhases] = {"qkv", "attention", "o", "gate/up", "down"};
    for (int w = 0; w < 2; ++w) {
      std::printf("  block %d, us wait/input/compute/signal:", w == 0 ? 0 : kKvHeads);
      auto at = [&](int l, int ph, int mk) { return t[((size_t(w) * kLayers + l) * kPhases + ph) * kMarks + mk]; };
      for (int ph = 0; ph < kPhases; ++ph) {
        if (w == 1 && ph == kPAtt) continue;  // block 8 has no attention
        std::vector<double> d[kMarks];
        for (int l = 1; l < kLayers - 1; ++l) {
          const int prev = ph == kPQkv ? kPDown : (w == 1 && ph == kPO) ? kPQkv : ph - 1;
          unsigned long long before = at(ph == kPQkv ? l - 1 : l, prev, kSignalled);
          for (int mk = 0; mk < kMarks; ++mk) {
            d[mk].push_back(double(at(l, ph, mk) - before) / 1000.0);
            before = at(l, ph, mk);
          }
        }
        std::printf("  %s %.2f/%.2f/%.2f/%.2f", names[ph], median(d[0]), median(d[1]), median(d[2]), median(d[3]));
      }
      std::printf("\n");
    }
  }
  return 0;
}
