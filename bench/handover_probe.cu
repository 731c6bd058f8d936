// What a hand-over between two dependent launches costs, by how a launch waits for the one before it:
//   wait     — griddepcontrol.wait (Programmatic Dependent Launch, as the engine does): the hardware releases the
//              blocks once the previous grid has completed and its memory is flushed;
//   counter  — each block of the previous launch, when done, makes its writes visible (__threadfence) and adds 1 to
//              a counter in global memory; thread 0 of each block of the next launch polls it (ld.acquire.gpu)
//              until it reaches the previous launch's block count;
//   flag     — the block that brings the counter to the count sets a flag (st.release.gpu), which the next launch
//              polls instead;
// each with launch_dependents first thing (so PDL runs launches ahead, their weight loads in flight) or right after
// the wait (only the next launch runs ahead).
// A chain of 140 launches in one CUDA graph, as in a decode step. Link k reads the vector link k - 1 wrote (at an
// index that crosses blocks, so every block depends on the others) and writes v + 1; the result is checked (every
// element must equal the number of links run), so a hand-over that let a block read too early shows up as a wrong
// count. Before its wait each block may load R × 2 KB of its own "weights" into registers (each link its own slice
// of a buffer larger than L2, so they come from DRAM), as the decode GEMVs do. Counters and flags sit 256 bytes
// apart and are zeroed by a memset node at the start of the graph. Reported: µs per link, median of 30 replays.
//
// Why it exists: the decode step's launches spend 0.4–1.1 µs between the last block of one launch ending and the
// first block of the next passing its wait (docs/cuda-backend.md, section 5); this asks whether a flag in global
// memory, as the published megakernels use between their stages, would hand over faster. It does not: on the H100
// every flag variant was 0.4–3 µs a link slower than griddepcontrol.wait (session 13 log, part 1).
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o handover_probe bench/handover_probe.cu
//   ./handover_probe
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "probe_check.h"

constexpr int kThreads = 128;
constexpr int kStride = 64;  // counters 256 bytes apart: each in its own L2 line

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void store_release(unsigned* p, unsigned v) {
  asm volatile("st.release.gpu.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

// The modes compared: how a launch waits for the one before it, and when it lets the next one launch.
enum Mode {
  kWait,          // griddepcontrol.wait; launch_dependents first thing (as the engine does)
  kWaitLate,      // griddepcontrol.wait; launch_dependents after it (only the next launch runs ahead)
  kCount,         // every block of the previous launch adds 1 to one counter; poll it until it reaches the count
  kCountLate,     // the same, launch_dependents after the poll
  kLastFlag,      // the block that brings the counter to the count sets a flag; poll the flag
  kLastFlagLate,  // the same, launch_dependents after the poll
  kModes
};
const char* const kModeNames[kModes] = {"wait", "wait, late trigger", "counter", "counter, late trigger",
                                        "last block's flag", "flag, late trigger"};
__host__ __device__ constexpr bool late(int m) { return m == kWaitLate || m == kCountLate || m == kLastFlagLate; }
__host__ __device__ constexpr bool flagged(int m) { return m == kLastFlag || m == kLastFlagLate; }

// sync + 0: the previous launch's counter; sync + kStride: its flag. R: 16-byte weight loads per thread before
// the wait (R * 2 KB per block).
template <int M, int R>
__global__ void __launch_bounds__(kThreads) link(const uint4* w, const float* in, float* out, int n,
                                                 const unsigned* sync_before, unsigned before_blocks,
                                                 unsigned* sync_here) {
  if (!late(M)) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  uint4 r[R > 0 ? R : 1];
#pragma unroll
  for (int i = 0; i < R; ++i) r[i] = w[(size_t(blockIdx.x) * R + i) * kThreads + threadIdx.x];
  if (M == kWait || M == kWaitLate) {
    asm volatile("griddepcontrol.wait;" ::: "memory");
  } else {
    if (threadIdx.x == 0 && before_blocks > 0) {
      if (flagged(M))
        while (load_acquire(sync_before + kStride) == 0) {
        }
      else
        while (load_acquire(sync_before) < before_blocks) {
        }
    }
    __syncthreads();
  }
  if (late(M)) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  unsigned bits = 0;
#pragma unroll
  for (int i = 0; i < R; ++i) bits ^= r[i].x ^ r[i].y ^ r[i].z ^ r[i].w;
  const int i = blockIdx.x * kThreads + threadIdx.x;
  const int from = int((size_t(i) * 7919 + 13) % size_t(n));  // another block's element
  out[i] = in[from] + 1.f + (bits == 0x9e3779b9u ? 1e-30f : 0.f);  // keeps the weight loads alive
  if (M != kWait && M != kWaitLate) {
    __syncthreads();
    if (threadIdx.x == 0) {
      __threadfence();
      const unsigned before = atomicAdd(sync_here, 1u);
      if (flagged(M) && before + 1 == gridDim.x) {
        __threadfence();
        store_release(sync_here + kStride, 1u);
      }
    }
  }
}

template <int M, int R>
float run(int blocks, int links, const uint4* w, size_t w_per_link, float* a, float* b, unsigned* done, int replays,
          bool* ok) {
  const int n = blocks * kThreads;
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK(cudaMemsetAsync(a, 0, n * sizeof(float), s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  CHECK(cudaMemsetAsync(done, 0, (links + 1) * 2 * kStride * sizeof(unsigned), s));
  for (int k = 0; k < links; ++k) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(blocks);
    cfg.blockDim = dim3(kThreads);
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = k > 0 ? 1 : 0;
    const float* in = (k % 2 == 0) ? a : b;
    float* out = (k % 2 == 0) ? b : a;
    CHECK(cudaLaunchKernelEx(&cfg, link<M, R>, w + size_t(k) * w_per_link, in, out, n,
                             (const unsigned*)(done + k * 2 * kStride), unsigned(k > 0 ? blocks : 0),
                             done + (k + 1) * 2 * kStride));
  }
  // Each replay adds `links` to every element (links is even, so the result lands in a again).
  const double us = median_replay_us(s, replays);
  *ok = all_equal(a, n, float(links) * float(replays + 3));
  CHECK(cudaStreamDestroy(s));
  return float(us / links);
}

template <int R, int M>
void time_mode(int blocks, int links, const uint4* w, float* a, float* b, unsigned* done, float* t, bool* ok) {
  const size_t per_link = size_t(blocks) * R * kThreads;
  t[M] = run<M, R>(blocks, links, w, per_link, a, b, done, 30, &ok[M]);
  if constexpr (M + 1 < kModes) time_mode<R, M + 1>(blocks, links, w, a, b, done, t, ok);
}

template <int R>
void row(int blocks, int links, const uint4* w, float* a, float* b, unsigned* done) {
  float t[2][kModes];
  bool ok[2][kModes];
  for (int round = 0; round < 2; ++round) time_mode<R, 0>(blocks, links, w, a, b, done, t[round], ok[round]);
  std::printf("%6d blocks %5.1f MB |", blocks, double(blocks) * R * kThreads * 16 / 1e6);
  for (int m = 0; m < kModes; ++m)
    std::printf(" %6.3f %6.3f%s |", t[0][m], t[1][m], ok[0][m] && ok[1][m] ? "" : " WRONG");
  std::printf("\n");
}

int main() {
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, 0));
  std::printf("%s, %d SMs: us per link (median of 30 replays of a %d-link graph; each mode twice)\n", p.name,
              p.multiProcessorCount, 140);
  std::printf("%24s |", "");
  for (const char* name : kModeNames) std::printf(" %-13.13s |", name);
  std::printf("\n");
  const int links = 140;
  const int max_blocks = 1024;
  const size_t w_elems = size_t(links) * max_blocks * 8 * kThreads;  // 16 KB a block at R = 8: 2.3 GB
  uint4* w;
  float *a, *b;
  unsigned* done;
  CHECK(cudaMalloc(&w, w_elems * sizeof(uint4)));
  CHECK(cudaMemset(w, 0x3c, w_elems * sizeof(uint4)));
  CHECK(cudaMalloc(&a, max_blocks * kThreads * sizeof(float)));
  CHECK(cudaMalloc(&b, max_blocks * kThreads * sizeof(float)));
  CHECK(cudaMalloc(&done, (links + 1) * 2 * kStride * sizeof(unsigned)));
  for (int blocks : {132, 512, 1024}) row<0>(blocks, links, w, a, b, done);
  for (int blocks : {132, 512, 1024}) row<4>(blocks, links, w, a, b, done);
  for (int blocks : {132, 512, 1024}) row<8>(blocks, links, w, a, b, done);
  return 0;
}
