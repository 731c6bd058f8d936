// What one dependent step costs on the SM: the latency, in cycles, of each primitive a decode kernel chains after
// its inputs are ready — an FMA, a shared-memory load, a shuffle, a warp's sum, a block barrier, a tensor-core mma,
// a global load that hits L2, a global atomic, a load from DRAM (and what issuing a read of the global timer costs:
// that read has no latency to chain, so its row is an issue cost, for the phase stamps). Each is run as one
// dependent chain (the next operation needs the previous result), timed with clock64() by every warp of one block,
// once with 1 warp and once with 16 warps running the same chain side by side (a 512-thread block, as the decode
// kernels use). Reported: cycles per step (median over warps), and ns at the SM clock measured in the same run.
//
// Why it exists: the decode attention's phases and the eleventh session's resident o + MLP phases each took
// thousands of cycles, several times what a hand count of their dependent steps predicted (docs/cuda-backend.md,
// sections 5 and 6); this says what each primitive costs on the card, so that a kernel's critical path can be
// priced before it is written. Results: bench/results/2026-11-26-session11.log, part 10 (none of them is slow).
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o step_latency_probe bench/step_latency_probe.cu
//   ./step_latency_probe
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "probe_check.h"

enum Kind { kFma, kLds, kShfl, kWarpSum, kBar, kMma, kL2, kAtomic, kTimer, kDram, kKinds };
const char* const kNames[kKinds] = {"fma (f32)",         "shared-memory load",  "shuffle",
                                    "warp sum (5 shuffles + adds)", "block barrier", "mma m16n8k16 bf16",
                                    "global load, L2 hit", "global atomic add (returned)", "%globaltimer read (issue)",
                                    "global load, DRAM"};

constexpr int kSmemInts = 4096;

__device__ __forceinline__ unsigned long long globaltimer(uint32_t after) {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t) : "r"(after));
  return t;
}

__device__ __forceinline__ long long clock_after(uint32_t after) {
  long long t;
  asm volatile("mov.u64 %0, %%clock64;" : "=l"(t) : "r"(after) : "memory");
  return t;
}

// One chain of `steps` dependent operations of one kind in every warp; thread 0 of each warp writes its cycles.
// Pointer chases (L2, DRAM) start each warp at its own node of the cycle: node (start + 7919 · warp) of `nodes`,
// `stride` ints apart.
template <int KIND>
__global__ void chain(int steps, const int* next, int start, int nodes, int stride, int* scratch, long long* cycles,
                      unsigned* sink) {
  __shared__ int s[kSmemInts];
  for (int i = threadIdx.x; i < kSmemInts; i += blockDim.x) s[i] = (i * 97 + 31) % kSmemInts;  // a permutation
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  uint32_t v = KIND == kL2 || KIND == kDram ? uint32_t(((start + 7919 * warp) % nodes) * stride)
                                              : KIND == kLds ? uint32_t(threadIdx.x) : uint32_t(warp);
  float f = float(threadIdx.x) * 1e-3f;
  float c[4] = {0.f, 0.f, 0.f, 0.f};
  const uint32_t a[4] = {0x3f803f80u, 0x3f803f80u, 0x3f803f80u, 0x3f803f80u};  // bf16 pairs of 1.0
  // The clock reads are tied to the chain by data (the chain starts from values an empty asm "derives" from t0, and
  // t1's read takes the chain's results as inputs) and fenced by block barriers, which the assembler does not move
  // instructions across: without them it read both clocks before the loop.
  __syncthreads();
  const long long t0 = clock_after(v);
  asm volatile("" : "+r"(v), "+f"(f), "+f"(c[0]) : "l"(t0));
#pragma unroll 8
  for (int i = 0; i < steps; ++i) {
    if constexpr (KIND == kFma) f = fmaf(f, 1.0001f, 0.5f);
    if constexpr (KIND == kLds) v = uint32_t(s[v % kSmemInts]);
    if constexpr (KIND == kShfl) f = __shfl_xor_sync(0xffffffffu, f, 1);
    if constexpr (KIND == kWarpSum) {
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) f += __shfl_xor_sync(0xffffffffu, f, o);
      f *= 0.03125f;
    }
    if constexpr (KIND == kBar) __syncthreads();
    if constexpr (KIND == kMma) {
      // c += a · b with b built from c: each mma needs the previous one's result.
      const uint32_t b0 = __float_as_uint(c[0]) | 0x3f80u, b1 = __float_as_uint(c[1]) | 0x3f80u;
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
          "{%0,%1,%2,%3};\n"
          : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    if constexpr (KIND == kL2 || KIND == kDram) v = uint32_t(__ldcg(next + v));
    if constexpr (KIND == kAtomic)  // one thread a warp, as the kernels' counters are used
      if (lane == 0) v = (atomicAdd(reinterpret_cast<unsigned*>(scratch) + (v & 15u) * 32u, 1u) & 1u) + uint32_t(warp);
    if constexpr (KIND == kTimer) v = uint32_t(globaltimer(v));
  }
  const uint32_t result = v ^ __float_as_uint(f) ^ __float_as_uint(c[0]);
  reinterpret_cast<volatile int*>(s)[threadIdx.x] = int(result);  // the chain ends before this store, before the barrier
  __syncthreads();
  const long long t1 = clock_after(result);
  if (lane == 0) cycles[warp] = t1 - t0;
  if (v == 0xdeadbeefu && f == 1.2345f && c[0] == 1.2345f) *sink = 1;  // keeps the chains alive
}

// The SM clock: clock64() cycles against the global timer over a long FMA chain.
__global__ void clock_rate(long long* out) {
  float f = float(threadIdx.x);
  const unsigned long long g0 = globaltimer(0);
  const long long c0 = clock64();
#pragma unroll 1
  for (int i = 0; i < 2000000; ++i) f = fmaf(f, 1.0000001f, 1e-7f);
  const long long c1 = clock64();
  const unsigned long long g1 = globaltimer(__float_as_uint(f));
  out[0] = c1 - c0;
  out[1] = (long long)(g1 - g0);
  if (f == 1.2345f) out[2] = 1;
}

struct Chase {
  const int* next;
  int nodes, stride;
};
template <int KIND>
double measure(int warps, int steps, const Chase& ch, int* scratch, long long* d_cycles, unsigned* sink) {
  // Warm-up (code; for the L2 chase, the array), then the timed run. The DRAM chase times a different stretch of
  // its cycle than the warm-up touched, so its nodes are not in L2.
  chain<KIND><<<1, warps * 32>>>(steps, ch.next, 0, ch.nodes, ch.stride, scratch, d_cycles, sink);
  const int start = KIND == kDram ? ch.nodes / 2 : 0;
  chain<KIND><<<1, warps * 32>>>(steps, ch.next, start, ch.nodes, ch.stride, scratch, d_cycles, sink);
  CHECK(cudaGetLastError());
  std::vector<long long> h(static_cast<size_t>(warps));
  CHECK(cudaMemcpy(h.data(), d_cycles, sizeof(long long) * size_t(warps), cudaMemcpyDeviceToHost));
  std::sort(h.begin(), h.end());
  return double(h[h.size() / 2]) / steps;
}

// One instance per kind, in the order of Kind.
using Measure = double (*)(int, int, const Chase&, int*, long long*, unsigned*);
const Measure kMeasure[kKinds] = {measure<kFma>, measure<kLds>,    measure<kShfl>,   measure<kWarpSum>,
                                  measure<kBar>, measure<kMma>,    measure<kL2>,     measure<kAtomic>,
                                  measure<kTimer>, measure<kDram>};

int main() {
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  long long* d_cycles = nullptr;
  unsigned* sink = nullptr;
  int* scratch = nullptr;
  CHECK(cudaMalloc(&d_cycles, sizeof(long long) * 64));
  CHECK(cudaMalloc(&sink, sizeof(unsigned)));
  CHECK(cudaMalloc(&scratch, 64 * 1024));
  CHECK(cudaMemset(scratch, 0, 64 * 1024));
  // Pointer-chasing arrays: a random cycle over 1 MiB (stays in L2) and over 1 GiB (from DRAM: 2 KB apart, so each
  // step is a new DRAM page; TLB misses included, as a cold row of a large tensor would have).
  auto make_cycle = [](size_t n, size_t stride, uint32_t seed) {
    std::vector<int> next(n, 0), order(n / stride);
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i * stride);
    uint64_t s = seed;
    for (size_t i = order.size() - 1; i > 0; --i) {  // Fisher-Yates
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      std::swap(order[i], order[size_t(s >> 33) % (i + 1)]);
    }
    for (size_t i = 0; i < order.size(); ++i) next[size_t(order[i])] = order[(i + 1) % order.size()];
    return next;
  };
  const std::vector<int> small = make_cycle(size_t(1) << 18, 32, 1), big = make_cycle(size_t(1) << 28, 512, 2);
  int *d_small = nullptr, *d_big = nullptr;
  CHECK(cudaMalloc(&d_small, small.size() * sizeof(int)));
  CHECK(cudaMalloc(&d_big, big.size() * sizeof(int)));
  CHECK(cudaMemcpy(d_small, small.data(), small.size() * sizeof(int), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_big, big.data(), big.size() * sizeof(int), cudaMemcpyHostToDevice));

  long long* d_rate = nullptr;
  CHECK(cudaMalloc(&d_rate, 3 * sizeof(long long)));
  clock_rate<<<1, 32>>>(d_rate);
  long long rate[3] = {};
  CHECK(cudaMemcpy(rate, d_rate, sizeof(rate), cudaMemcpyDeviceToHost));
  const double ghz = double(rate[0]) / double(rate[1]);

  std::printf("%s, SM clock measured %.3f GHz (clock64 against %%globaltimer)\n", prop.name, ghz);
  std::printf("%-32s | %16s | %16s\n", "dependent step", "1 warp: cyc (ns)", "16 warps: cyc (ns)");
  for (int k = 0; k < kKinds; ++k) {
    const int steps = k == kDram ? 256 : k == kL2 || k == kAtomic || k == kTimer ? 1024 : 4096;
    const Chase next = k == kDram ? Chase{d_big, int(big.size() / 512), 512} : Chase{d_small, int(small.size() / 32), 32};
    double r[2];
    for (int w = 0; w < 2; ++w) r[w] = kMeasure[k](w == 0 ? 1 : 16, steps, next, scratch, d_cycles, sink);
    std::printf("%-32s | %7.1f (%6.1f) | %7.1f (%6.1f)\n", kNames[k], r[0], r[0] / ghz, r[1], r[1] / ghz);
  }
  CHECK(cudaDeviceSynchronize());
  return 0;
}
