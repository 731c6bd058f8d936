// What a load that hits L2 costs while other SMs stream weights from DRAM. A decode step hands over from one launch
// to the next while the next launches' early blocks (PDL) already stream their weights: at every
// griddepcontrol.wait, DRAM has a backlog, and the first thing each block does after its wait is read its inputs,
// which the launch before has just written into L2. If those L2 hits queue behind the backlog, every launch pays it
// after its wait. The per-block timeline says something does: GEMV blocks whose weights were all in registers
// microseconds before their wait still end 0.8-2 us after it (session 16 log, part 2).
//
// The probe: one kernel streams a 2 GiB buffer with 16-byte loads (ld.global.nc.L1::no_allocate, as the GEMVs load
// their weights) from B blocks of T threads, 8 loads in flight a thread, one block an SM (B = 0 … 124, T = 128 …
// 1024: 16-128 KB in flight an SM). On the SMs it leaves free, 8 blocks of one warp each run a dependent chain of
// loads while the stream runs (each chase waits for the stream's first block to start; the last to finish stops
// it): the L2 chase around a cycle of 16 lines (2 KB, walked once first; each line is read again within ~16 loads,
// long before the stream could evict it), with ld.global.cg (not cached in L1), and the DRAM chase around a cycle
// of 256 MiB. Reported per B and T: the stream's bandwidth, the median cycles of one dependent load of each chase
// (over the 8 warps), and whether every chase took all its steps (its last node is the one a walk on the host
// predicts).
//
// Found on the H100 (bench/results/2026-11-27-session16.log, part 3): idle, an L2 hit takes 280 cycles and a DRAM
// load 686. About 3 MB in flight (96 SMs x 32 KB) already stream at 2.86 TB/s with L2 hits at 305 cycles; more in
// flight adds latency and no bandwidth — with 16 MB (124 SMs x 128 KB) an L2 hit takes 1,304 cycles (4.7x) and a
// DRAM load 2,273 (3.3x), at 2.93 TB/s. The decode step's early blocks hold their whole weight share in flight, so
// every round trip after a wait runs at the loaded latency.
//
// Built like the other probes plus -Isrc (it streams with the engine's own ld_stream16, common.cuh):
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Isrc -o loaded_latency_probe bench/loaded_latency_probe.cu
//   ./loaded_latency_probe
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "backends/cuda/common.cuh"
#include "probe_check.h"

constexpr int kChasers = 8;         // blocks of one warp; thread 0 of each chases
constexpr int kStreamThreads = 1024;
constexpr int kStreamSmem = 160 * 1024;  // one stream block an SM, so the chasers get SMs of their own
constexpr int kSteps = 512;         // dependent loads timed per chase
constexpr int kStride = 32;         // ints between chase nodes: one 128-byte line each
constexpr int kL2Nodes = 16, kL2Jump = 5;                          // the L2 cycle: 2 KB
constexpr int kDramNodes = (256 << 20) / 128, kDramJump = 1048583;  // the DRAM cycle: 256 MiB

// Where chaser b starts; run `seed` starts the DRAM chase on lines no earlier run has read.
__host__ __device__ inline long long l2_start(int b) { return b * 977LL % kL2Nodes; }
__host__ __device__ inline long long dram_start(int b, int seed) { return (b * 104729LL + seed * 7777LL) % kDramNodes; }

struct Flags {
  unsigned started, stop;
  unsigned long long t0, t1, bytes;
};

// Streams buf (n vectors) over and over, 8 loads in flight a thread, until the chase sets stop (or 16 passes).
__global__ void __launch_bounds__(kStreamThreads, 1) stream(const uint4* buf, size_t n, Flags* f, unsigned* sink) {
  if (threadIdx.x == 0 && blockIdx.x == 0) {
    f->t0 = globaltimer();
    atomicExch(&f->started, 1u);
  }
  const size_t step = size_t(gridDim.x) * blockDim.x;
  unsigned acc = 0;
  unsigned long long loaded = 0;
  for (int pass = 0; pass < 16; ++pass) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i + 7 * step < n; i += 8 * step) {
      uint4 v[8];
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = fs::cuda::ld_stream16(buf + i + k * step);  // the GEMVs' weight load
#pragma unroll
      for (int k = 0; k < 8; ++k) acc ^= v[k].x ^ v[k].w;
      loaded += 8 * 16;
      if (*reinterpret_cast<volatile unsigned*>(&f->stop)) break;
    }
    if (*reinterpret_cast<volatile unsigned*>(&f->stop)) break;
  }
  atomicAdd(&f->bytes, loaded);
  if (threadIdx.x == 0) atomicMax(&f->t1, globaltimer());
  if (acc == 0x12345678u) *sink = acc;  // keeps the loads
}

// Thread 0 of each block: walks the L2 cycle once untimed (its lines then sit in L2), waits for the stream (if any),
// then times kSteps dependent loads of each chase; the last chaser to finish stops the stream.
__global__ void chase(const int* l2_next, const int* dram_next, int seed, bool wait_stream, Flags* f, unsigned* done,
                      long long* cycles, unsigned* last) {
  if (threadIdx.x != 0) return;
  unsigned v = unsigned(l2_start(blockIdx.x) * kStride);
  for (int i = 0; i < kL2Nodes; ++i) v = unsigned(__ldcg(l2_next + v));
  if (wait_stream)
    while (*reinterpret_cast<volatile unsigned*>(&f->started) == 0) {
    }
  long long t = clock64();
  for (int i = 0; i < kSteps; ++i) v = unsigned(__ldcg(l2_next + v));
  cycles[2 * blockIdx.x] = (clock64() - t + (v == 0xffffffffu)) / kSteps;
  unsigned d = unsigned(dram_start(blockIdx.x, seed) * kStride);
  t = clock64();
  for (int i = 0; i < kSteps; ++i) d = unsigned(__ldcg(dram_next + d));
  cycles[2 * blockIdx.x + 1] = (clock64() - t + (d == 0xffffffffu)) / kSteps;
  last[2 * blockIdx.x] = v, last[2 * blockIdx.x + 1] = d;  // checked on the host: every step was taken
  if (atomicAdd(done, 1u) == kChasers - 1) atomicExch(&f->stop, 1u);
}

// next[i · kStride] = ((i + jump) mod nodes) · kStride: one cycle through every node (jump odd, nodes a power of 2).
__global__ void make_cycle(int* next, int nodes, int jump) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < nodes; i += gridDim.x * blockDim.x)
    next[size_t(i) * kStride] = int(((long long)(i) + jump) % nodes) * kStride;
}

int main() {
  const Card gpu = card();
  const int sms = gpu.sms();
  std::printf("%s, %d SMs\n", gpu.prop.name, sms);

  const size_t n = (size_t(2) << 30) / 16;
  uint4* buf = nullptr;
  CHECK(cudaMalloc(&buf, n * 16));
  CHECK(cudaMemset(buf, 1, n * 16));
  int *l2_next = nullptr, *dram_next = nullptr;
  CHECK(cudaMalloc(&l2_next, size_t(kL2Nodes) * 128));
  CHECK(cudaMalloc(&dram_next, size_t(kDramNodes) * 128));
  make_cycle<<<1, 32>>>(l2_next, kL2Nodes, kL2Jump);
  make_cycle<<<1024, 256>>>(dram_next, kDramNodes, kDramJump);
  Flags* f = nullptr;
  unsigned *done = nullptr, *sink = nullptr, *last = nullptr;
  long long* cycles = nullptr;
  CHECK(cudaMalloc(&f, sizeof(Flags)));
  CHECK(cudaMalloc(&done, 4));
  CHECK(cudaMalloc(&sink, 4));
  CHECK(cudaMalloc(&last, 2 * kChasers * sizeof(unsigned)));
  CHECK(cudaMalloc(&cycles, 2 * kChasers * sizeof(long long)));
  CHECK(cudaFuncSetAttribute(stream, cudaFuncAttributeMaxDynamicSharedMemorySize, kStreamSmem));
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  CHECK(cudaDeviceSynchronize());

  std::printf("stream blocks x threads (KB in flight an SM) | stream GB/s | L2-hit load, cycles (ns) | DRAM load, "
              "cycles (ns)   medians of %d chasers\n", kChasers);
  int seed = 0;
  for (int threads : {1024, 256, 128}) {
    for (int blocks : {0, 16, 32, 64, 96, sms - kChasers}) {
      if (blocks == 0 && threads != 1024) continue;  // the idle rows once
      for (int rep = 0; rep < 2; ++rep) {
        ++seed;
        CHECK(cudaMemset(f, 0, sizeof(Flags)));
        CHECK(cudaMemset(done, 0, 4));
        CHECK(cudaDeviceSynchronize());
        if (blocks > 0) stream<<<blocks, threads, kStreamSmem, s1>>>(buf, n, f, sink);
        chase<<<kChasers, 32, 0, s2>>>(l2_next, dram_next, seed, blocks > 0, f, done, cycles, last);
        CHECK(cudaGetLastError());
        CHECK(cudaDeviceSynchronize());
        Flags h{};
        CHECK(cudaMemcpy(&h, f, sizeof h, cudaMemcpyDeviceToHost));
        std::vector<long long> c(2 * kChasers);
        CHECK(cudaMemcpy(c.data(), cycles, c.size() * sizeof(long long), cudaMemcpyDeviceToHost));
        std::vector<unsigned> got(2 * kChasers);
        CHECK(cudaMemcpy(got.data(), last, got.size() * sizeof(unsigned), cudaMemcpyDeviceToHost));
        bool ok = true;
        for (int b = 0; b < kChasers; ++b)  // node i + jump · steps, mod nodes, times the stride
          ok = ok && got[2 * b] == unsigned((l2_start(b) + kL2Jump * (kL2Nodes + kSteps)) % kL2Nodes * kStride) &&
               got[2 * b + 1] == unsigned((dram_start(b, seed) + 1LL * kDramJump * kSteps) % kDramNodes * kStride);
        std::vector<long long> l2, dram;
        for (int b = 0; b < kChasers; ++b) l2.push_back(c[2 * b]), dram.push_back(c[2 * b + 1]);
        std::sort(l2.begin(), l2.end());
        std::sort(dram.begin(), dram.end());
        const double gbs = blocks > 0 && h.t1 > h.t0 ? double(h.bytes) / double(h.t1 - h.t0) : 0.0;
        const double ns_per_cycle = gpu.ns_per_cycle();
        std::printf("%4d x %4d (%3d KB) | %11.0f | %8lld (%6.0f)        | %8lld (%6.0f)  %s\n", blocks, threads,
                    threads * 8 * 16 / 1024, gbs, l2[kChasers / 2],
                    l2[kChasers / 2] * ns_per_cycle, dram[kChasers / 2], dram[kChasers / 2] * ns_per_cycle,
                    ok ? "ok" : "WRONG");
      }
    }
  }
  return 0;
}
