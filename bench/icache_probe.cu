// Does instruction fetch slow a kernel's first run through long straight-line code? One warp per SM runs N
// fused multiply-adds of fully unrolled code twice, and clock64() times each pass: pass 0 fetches the code into
// the SM's instruction caches, pass 1 runs from them if it fits. Before the timed launch either a 512 MiB device
// copy (the code is then no longer in L2) or the same kernel (it is). Two shapes of code: one dependent chain (an
// instruction every 4 cycles) and 8 independent chains (about one a cycle), each instruction 16 bytes.
//
// Why it exists: the decode attention executes ~18 KB of distinct code after its wait, once per launch, on SMs that
// ran GEMVs in between, and its phases took several times their instruction count in cycles (docs/cuda-backend.md,
// section 5). Measured on an H100 (bench/results/2026-11-26-session10.log, part 5): no, not on most SMs.
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o icache_probe bench/icache_probe.cu && ./icache_probe
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "probe_check.h"

template <int N, int CHAINS>
__global__ void straight_line(float* out, long long* cycles, float b) {
  float x[CHAINS];
#pragma unroll
  for (int j = 0; j < CHAINS; ++j) x[j] = float(threadIdx.x + blockIdx.x + j);
#pragma unroll 1
  for (int pass = 0; pass < 2; ++pass) {
    // The empty asm statements pin the clock reads to the chains' values (the compiler may not move work across).
#pragma unroll
    for (int j = 0; j < CHAINS; ++j) asm volatile("" ::"f"(x[j]) : "memory");
    const long long t0 = clock64();
#pragma unroll
    for (int i = 0; i < N / CHAINS; ++i)
#pragma unroll
      for (int j = 0; j < CHAINS; ++j) x[j] = fmaf(x[j], b, 0.5f);
#pragma unroll
    for (int j = 0; j < CHAINS; ++j) asm volatile("" ::"f"(x[j]) : "memory");
    const long long t1 = clock64();
    if (threadIdx.x == 0) cycles[2 * blockIdx.x + pass] = t1 - t0;
  }
  float sum = 0.f;
#pragma unroll
  for (int j = 0; j < CHAINS; ++j) sum += x[j];
  out[blockIdx.x * 32 + threadIdx.x] = sum;
}

template <int N, int CHAINS>
void measure(bool after_copy, char* big, size_t half, float* out, long long* cycles, int sms) {
  std::vector<double> pass0, pass1;
  std::vector<long long> host(2 * size_t(sms));
  for (int rep = 0; rep < 5; ++rep) {
    if (after_copy) CHECK(cudaMemcpy(big, big + half, half, cudaMemcpyDeviceToDevice));
    else straight_line<N, CHAINS><<<sms, 32>>>(out, cycles, 1.0001f);
    straight_line<N, CHAINS><<<sms, 32>>>(out, cycles, 1.0001f);
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaMemcpy(host.data(), cycles, host.size() * sizeof(long long), cudaMemcpyDeviceToHost));
    for (int i = 0; i < sms; ++i) pass0.push_back(double(host[2 * i]) / N), pass1.push_back(double(host[2 * i + 1]) / N);
  }
  std::sort(pass0.begin(), pass0.end());
  std::sort(pass1.begin(), pass1.end());
  std::printf("%d chain(s), %3d KB of code, %-16s cycles/instruction: pass 0 median %.2f (p90 %.2f), pass 1 median %.2f\n",
              CHAINS, N * 16 / 1024, after_copy ? "after a copy" : "after itself", pass0[pass0.size() / 2],
              pass0[pass0.size() * 9 / 10], pass1[pass1.size() / 2]);
}

template <int CHAINS>
void measure_sizes(char* big, size_t half, float* out, long long* cycles, int sms) {
  for (bool after_copy : {true, false}) measure<256, CHAINS>(after_copy, big, half, out, cycles, sms);
  for (bool after_copy : {true, false}) measure<1024, CHAINS>(after_copy, big, half, out, cycles, sms);
  for (bool after_copy : {true, false}) measure<4096, CHAINS>(after_copy, big, half, out, cycles, sms);
}

int main() {
  const Card gpu = card();
  const int sms = gpu.sms();
  std::printf("%d SMs, clock %d MHz\n", sms, gpu.clock_khz / 1000);
  const size_t big_bytes = size_t(1) << 30;
  float* out = nullptr;
  long long* cycles = nullptr;
  char* big = nullptr;
  CHECK(cudaMalloc(&out, size_t(sms) * 32 * sizeof(float)));
  CHECK(cudaMalloc(&cycles, size_t(sms) * 2 * sizeof(long long)));
  CHECK(cudaMalloc(&big, big_bytes));
  CHECK(cudaMemset(big, 1, big_bytes));
  measure_sizes<1>(big, big_bytes / 2, out, cycles, sms);
  measure_sizes<8>(big, big_bytes / 2, out, cycles, sms);
  CHECK(cudaFree(big));
  CHECK(cudaFree(cycles));
  CHECK(cudaFree(out));
}
