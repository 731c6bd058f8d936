// What the standalone CUDA probes in bench/ (each built alone with nvcc, outside CMake) share: CHECK(call), which
// prints a failed CUDA call and where it was and ends the probe; Card, what the probe runs on; globaltimer, the
// device's clock for stamps; median_us, their timer, and median_replay_us, the same for a captured graph; and
// all_equal, their check of a result.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(call)                                                                                         \
  do {                                                                                                      \
    const cudaError_t e_ = (call);                                                                          \
    if (e_ != cudaSuccess) {                                                                                \
      std::fprintf(stderr, "%s failed: %s (%s:%d)\n", #call, cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(1);                                                                                         \
    }                                                                                                       \
  } while (0)

// The card device 0 is: its properties (name, multiProcessorCount, ...) and its SM clock, which CUDA 13's
// cudaDeviceProp no longer carries (to turn clock64() cycles into ns).
struct Card {
  cudaDeviceProp prop{};
  int clock_khz = 0;
  int sms() const { return prop.multiProcessorCount; }
  double ns_per_cycle() const { return 1e6 / clock_khz; }
};

inline Card card() {
  Card c;
  CHECK(cudaGetDeviceProperties(&c.prop, 0));
  CHECK(cudaDeviceGetAttribute(&c.clock_khz, cudaDevAttrClockRate, 0));
  return c;
}

// The GPU's nanosecond clock, the same on every SM (for stamps compared across blocks).
__device__ __forceinline__ unsigned long long globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// The median, in µs, of `runs` timings of what enqueue(i) puts on stream s (i = 0, 1, ...: a probe may rotate its
// buffers by it), each between two events, after 3 runs not timed (code, caches, clocks).
template <typename Enqueue>
double median_us(cudaStream_t s, int runs, Enqueue&& enqueue) {
  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int r = 0; r < runs + 3; ++r) {
    CHECK(cudaEventRecord(e0, s));
    enqueue(r);
    CHECK(cudaEventRecord(e1, s));
    CHECK(cudaEventSynchronize(e1));
    float t = 0.f;
    CHECK(cudaEventElapsedTime(&t, e0, e1));
    if (r >= 3) ms.push_back(t);
  }
  CHECK(cudaEventDestroy(e0));
  CHECK(cudaEventDestroy(e1));
  std::sort(ms.begin(), ms.end());
  return double(ms[ms.size() / 2]) * 1000.0;
}

// Ends the stream capture running on s, instantiates the captured graph and returns the median, in µs, of `runs`
// replays of it (median_us); the graph is destroyed afterwards.
inline double median_replay_us(cudaStream_t s, int runs) {
  cudaGraph_t g;
  CHECK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t ge;
  CHECK(cudaGraphInstantiate(&ge, g, 0));
  const double us = median_us(s, runs, [&](int) { CHECK(cudaGraphLaunch(ge, s)); });
  CHECK(cudaGraphExecDestroy(ge));
  CHECK(cudaGraphDestroy(g));
  return us;
}

// Whether each of the n floats at device address d equals `want` (the probes' chains count their steps exactly).
inline bool all_equal(const float* d, int n, float want) {
  std::vector<float> h(size_t(n), 0.f);
  CHECK(cudaMemcpy(h.data(), d, size_t(n) * sizeof(float), cudaMemcpyDeviceToHost));
  return std::all_of(h.begin(), h.end(), [&](float v) { return v == want; });
}
