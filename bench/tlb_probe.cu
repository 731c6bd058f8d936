// What a load costs when its 2 MB page was not translated recently: the GPU's address translation, measured.
//
// Why it exists: with every layer of Qwen3-0.6B reading layer 0's weights, the decode step ran 3.5% faster although
// `ncu` still counted every weight byte read from DRAM (session 17 log, part 3); with two layers' weights shared
// (63 MB) the gain was gone. One reading is the SMs' translation caches: a 31.5 MB layer spans ~16 pages of 2 MB,
// the whole model ~600. If a GEMV block's first load of a page it has not translated must wait for a translation,
// every block that starts late (after the launch before has left its SM) waits that much longer for its weights.
//
// The probe: a dependent chain of loads, one per page, each to its own 128-byte line (so the lines all sit in L2
// after one walk and the load's cost beyond an L2 hit is the translation), loaded with ld.global.cg (L2, not L1).
//   1. Reach: one warp walks a cycle through P consecutive pages until its caches are warm, then times one load
//      (median of 5 timed walks of max(P, 256) loads). The cost steps up where P outgrows a translation cache.
//   2. Another SM's translation: on an SM far away (the blocks of a 132-block launch pick SMs by %smid), one warp
//      first walks 1,024 pages elsewhere in the buffer (meant to push the P pages out of its translation caches);
//      then a warp on SM 0 walks the P pages; then the first warp times its first walk through the P pages, and a
//      second one. The first walk is what a GEMV block would pay on an SM where the page is new.
// Every walk's last node is checked against the cycle's arithmetic on the host.
//
// Found on the H100 and the H200 (bench/results/2026-11-27-session18.log, parts 1 and 3): no step at any P from 1 to
// 8,192 pages (16 GiB): every load costs an L2 hit, 276-296 cycles. The first walk of part 2 pays 40-130 cycles
// more a load the first time only — the second repetition, after the same walk elsewhere, does not — so that is
// not a translation cache's miss either. The model's 1.2 GB of weights are always translated: the 3.5% that
// session 17 found with every layer reading the same weights is not address translation.
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o tlb_probe bench/tlb_probe.cu && ./tlb_probe
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "probe_check.h"

constexpr size_t kPage = size_t(2) << 20;
constexpr int kPages = 8192;                 // a 16 GiB buffer
constexpr int kFlushPages = 1024, kFlushAt = 6144;  // the far SM's walk elsewhere: pages [6144, 7168)
constexpr size_t kWords = kPage / 8;         // 64-bit words a page

// Node k of a cycle over pages [first, first + n): page first + k, line k mod 64 of it. next = node (k + jump) mod n.
__host__ __device__ inline size_t node_word(int first, int k) { return (size_t(first) + k) * kWords + (k % 64) * 16; }

__global__ void make_cycle(unsigned long long* buf, int first, int n, int jump) {
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += gridDim.x * blockDim.x)
    buf[node_word(first, k)] = node_word(first, int((long long)(k + jump) % n));
}

__device__ __forceinline__ size_t walk(const unsigned long long* buf, size_t w, int steps) {
  for (int i = 0; i < steps; ++i) w = __ldcg(buf + w);
  return w;
}

// Part 1: thread 0 walks `warm` steps, then times `runs` walks of `steps` loads each (cycles a load).
__global__ void reach(const unsigned long long* buf, size_t start, int warm, int steps, int runs, long long* cycles,
                      unsigned long long* last) {
  if (threadIdx.x != 0) return;
  size_t w = walk(buf, start, warm);
  for (int r = 0; r < runs; ++r) {
    const long long t = clock64();
    w = walk(buf, w, steps);
    cycles[r] = (clock64() - t + (w == ~size_t(0))) / steps;
  }
  *last = w;
}

__device__ __forceinline__ unsigned smid() {
  unsigned s;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(s));
  return s;
}

// Spins until *f is set; false after ~1 s without it (no block on the SM that should set it).
__device__ __forceinline__ bool wait_flag(const unsigned* f) {
  const long long t = clock64();
  while (*reinterpret_cast<const volatile unsigned*>(f) == 0)
    if (clock64() - t > 2'000'000'000LL) return false;
  return true;
}

// Part 2: a block on SM `far` walks elsewhere first, a block on SM 0 then walks the P pages, then the far block
// times its first and second walks through them. One block an SM: each launch asks for an SM's whole shared memory.
__global__ void far_sm(const unsigned long long* buf, int n, int far, unsigned* flags, long long* cycles,
                       unsigned long long* last) {
  if (threadIdx.x != 0) return;
  const unsigned sm = smid();
  if (sm == 0) {
    if (!wait_flag(&flags[0])) return;
    last[0] = walk(buf, node_word(0, 0), 2 * n);
    __threadfence();
    atomicExch(&flags[1], 1u);
  } else if (sm == unsigned(far)) {
    size_t f = walk(buf, node_word(kFlushAt, 0), 2 * kFlushPages);
    __threadfence();
    atomicExch(&flags[0], 1u);
    if (!wait_flag(&flags[1])) return;
    size_t w = node_word(0, 0) + (f == ~size_t(0));
    for (int r = 0; r < 2; ++r) {
      const long long t = clock64();
      w = walk(buf, w, n);
      cycles[r] = (clock64() - t) / n;
    }
    last[1] = w;
  }
}

int main() {
  const Card gpu = card();
  const int sms = gpu.sms();
  std::printf("%s, %d SMs, pages of 2 MB in a %d MB buffer\n", gpu.prop.name, sms, kPages * 2);

  unsigned long long* buf = nullptr;
  CHECK(cudaMalloc(&buf, size_t(kPages) * kPage));
  CHECK(cudaMemset(buf, 0, size_t(kPages) * kPage));
  long long* cycles = nullptr;
  unsigned long long* last = nullptr;
  unsigned* flags = nullptr;
  CHECK(cudaMalloc(&cycles, 16 * sizeof(long long)));
  CHECK(cudaMalloc(&last, 2 * sizeof(unsigned long long)));
  CHECK(cudaMalloc(&flags, 2 * sizeof(unsigned)));
  const double ns = gpu.ns_per_cycle();

  // The jump: odd and near n/3, so consecutive loads land on pages far apart (no page next to the last one).
  auto jump_for = [](int n) { return n < 3 ? 1 : (n / 3) | 1; };
  auto expected = [&](int first, int n, long long steps) {
    long long k = (jump_for(n) * (steps % n)) % n;  // node 0 + jump · steps
    return node_word(first, int(k));
  };

  std::printf("\n1. one SM walks P pages again and again: cycles (ns) a load, median of 5 walks\n");
  std::printf("%6s %8s %14s\n", "P", "MB", "cycles (ns)");
  const int reach_pages[] = {1, 2, 4, 8, 12, 16, 20, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096, 8192};
  for (int n : reach_pages) {
    make_cycle<<<64, 256>>>(buf, 0, n, jump_for(n));
    const int steps = std::max(n, 256), warm = 2 * std::max(n, 256);
    reach<<<1, 32>>>(buf, node_word(0, 0), warm, steps, 5, cycles, last);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    std::vector<long long> c(5);
    unsigned long long got = 0;
    CHECK(cudaMemcpy(c.data(), cycles, 5 * sizeof(long long), cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(&got, last, sizeof got, cudaMemcpyDeviceToHost));
    std::sort(c.begin(), c.end());
    const bool ok = got == expected(0, n, warm + 5LL * steps);
    std::printf("%6d %8d %8lld (%4.0f)  %s\n", n, 2 * n, c[2], c[2] * ns, ok ? "ok" : "WRONG");
  }

  std::printf("\n2. SM %d walks P pages that SM 0 walked just before (after its own walk through %d other pages)\n",
              sms / 2, kFlushPages);
  std::printf("%6s %8s %22s %22s\n", "P", "MB", "first walk, cycles (ns)", "second walk");
  int smem = 0;
  CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  CHECK(cudaFuncSetAttribute(far_sm, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  make_cycle<<<64, 256>>>(buf, kFlushAt, kFlushPages, jump_for(kFlushPages));
  for (int n : {4, 8, 16, 32, 64, 128, 256, 512}) {
    make_cycle<<<64, 256>>>(buf, 0, n, jump_for(n));
    for (int rep = 0; rep < 2; ++rep) {
      CHECK(cudaMemset(flags, 0, 2 * sizeof(unsigned)));
      CHECK(cudaMemset(last, 0, 2 * sizeof(unsigned long long)));
      far_sm<<<sms, 32, smem>>>(buf, n, sms / 2, flags, cycles, last);
      CHECK(cudaGetLastError());
      CHECK(cudaDeviceSynchronize());
      long long c[2];
      unsigned long long got[2];
      CHECK(cudaMemcpy(c, cycles, sizeof c, cudaMemcpyDeviceToHost));
      CHECK(cudaMemcpy(got, last, sizeof got, cudaMemcpyDeviceToHost));
      const bool ok = got[0] == expected(0, n, 2LL * n) && got[1] == expected(0, n, 2LL * n);
      std::printf("%6d %8d %12lld (%5.0f) %12lld (%5.0f)  %s\n", n, 2 * n, c[0], c[0] * ns, c[1], c[1] * ns,
                  ok ? "ok" : "WRONG");
    }
  }
  return 0;
}
