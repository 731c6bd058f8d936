// How long one phase of a fused decode kernel takes on its own, against the count of its dependent steps.
//
// Every fused design of sessions 11, 14 and 15 measured phases 2-3x longer than the chain of dependent steps they
// count (docs/cuda-backend.md, section 6), with or without other kernels beside them. This probe takes one such
// phase out of the fifteenth session's attention_o kernel and runs it alone: P·V over L positions, 256 threads,
// everything already in shared memory — thread (position slice sl < 2, head h < 2, dim pair d < 64) sums
// w[h][p] · V[p][2d, 2d+1] over the positions p ≡ sl (mod 2), then the two slices are added and divided by the
// softmax sum, with two block barriers — exactly as that kernel's phase C, which took 1.7 µs at L = 144 there.
//   a  the loop as written there (#pragma unroll 4, runtime trip count: each multiply-add waits on its own loads)
//   b  4 positions an iteration into 4 independent accumulator pairs, their 8 loads issued first
//   c  thread (slice s < 8, 8-dim chunk c < 32): one 16-byte load of V and one broadcast weight a position, 8
//      slices added through shared memory
// Thread 0 times the phase with clock64 between two barriers (SM cycles; the H100 runs at 1,980 MHz while busy), in
// one block alone on the GPU and in 132 blocks (one an SM), median of 20 launches. The result is checked against
// the host's sum.
//
// On the H100 (session 15 log, part 8), at L = 144: a 2,170-2,200 cycles (1.1 us), b 1,940, c 1,554 (0.78 us);
// alone or with 132 blocks the same. Per position a costs 11.8 cycles, b 9.1, c 6.9, and each ~650 cycles at
// L = 16. So the phase is bound by the shared-memory pipe, not by its chain: every warp-wide load is at least one
// cycle of it (a broadcast of one float as much as 128 contiguous bytes), a adds 2 of them per 64 multiply-adds of a
// warp, c 5 per 256. Counting only latencies, as the earlier estimates did, misses that; a phase needs few, wide
// shared-memory loads per multiply-add as much as a short chain.
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o phase_probe bench/phase_probe.cu
//   ./phase_probe
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <vector>

#include "probe_check.h"

namespace {

constexpr int kThreads = 256, kMaxL = 256, kD = 128, kG = 2, kU = kG * kD / 2;  // kU dim pairs: 128

__device__ __forceinline__ float lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

// w [kG][kMaxL] f32, v [kMaxL][kD] bf16 (as uint32 pairs), l [kG]: the softmax weights, V rows and sums.
template <int kVariant>
__global__ void __launch_bounds__(kThreads) pv_phase(int L, const float* w_in, const uint32_t* v_in, const float* l_in,
                                                     float* out, long long* cycles) {
  extern __shared__ float smem[];
  float* w_s = smem;                                           // [kG][kMaxL]
  uint32_t* v_s = reinterpret_cast<uint32_t*>(w_s + kG * kMaxL);  // [kMaxL][kD / 2]
  float* red = reinterpret_cast<float*>(v_s + kMaxL * kD / 2);  // [8][kG · kD] (a, b: [kThreads][2])
  float* att = red + 8 * kG * kD;                              // [kG · kD]
  float* l_s = att + kG * kD;                                  // [kG]
  const int tid = threadIdx.x;
  for (int i = tid; i < kG * kMaxL; i += kThreads) w_s[i] = w_in[i];
  for (int i = tid; i < kMaxL * kD / 2; i += kThreads) v_s[i] = v_in[i];
  if (tid < kG) l_s[tid] = l_in[tid];
  __syncthreads();
  const long long t0 = clock64();

  const int u = tid % kU, sl = tid / kU, h = u / (kD / 2), dp = u % (kD / 2);
  const float* wh = w_s + h * kMaxL;
  const uint32_t* vp = v_s + dp;
  float a0 = 0.f, a1 = 0.f;
  if constexpr (kVariant == 2) {
    // c: thread (slice s < 8, chunk c < 32) sums 8 dims (one 16-byte load of V a position) over positions ≡ s (mod 8)
    const int c = tid % 32, s = tid / 32, hc = c / 16;
    const float* w8 = w_s + hc * kMaxL;
    float acc[8] = {};
    for (int q = s; q < L; q += 8) {
      const float wq = w8[q];
      const uint4 v4 = reinterpret_cast<const uint4*>(v_s + q * (kD / 2))[c % 16];
      const uint32_t vw[4] = {v4.x, v4.y, v4.z, v4.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        acc[2 * k] = fmaf(wq, lo(vw[k]), acc[2 * k]);
        acc[2 * k + 1] = fmaf(wq, hi(vw[k]), acc[2 * k + 1]);
      }
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) red[s * kG * kD + 8 * c + k] = acc[k];
    __syncthreads();
    float o = 0.f;
#pragma unroll
    for (int k = 0; k < 8; ++k) o += red[k * kG * kD + tid];
    att[tid] = o / l_s[tid / kD];
    __syncthreads();
  } else if constexpr (kVariant == 0) {
#pragma unroll 4
    for (int q = sl; q < L; q += 2) {
      const float w = wh[q];
      const uint32_t v2 = vp[q * (kD / 2)];
      a0 = fmaf(w, lo(v2), a0);
      a1 = fmaf(w, hi(v2), a1);
    }
  } else {
    float b[4][2] = {};
    int q = sl;
    for (; q + 6 < L; q += 8) {
      float w[4];
      uint32_t v[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) w[k] = wh[q + 2 * k], v[k] = vp[(q + 2 * k) * (kD / 2)];
#pragma unroll
      for (int k = 0; k < 4; ++k) b[k][0] = fmaf(w[k], lo(v[k]), b[k][0]), b[k][1] = fmaf(w[k], hi(v[k]), b[k][1]);
    }
    for (; q < L; q += 2) {
      const float w = wh[q];
      const uint32_t v2 = vp[q * (kD / 2)];
      b[0][0] = fmaf(w, lo(v2), b[0][0]);
      b[0][1] = fmaf(w, hi(v2), b[0][1]);
    }
    a0 = (b[0][0] + b[1][0]) + (b[2][0] + b[3][0]);
    a1 = (b[0][1] + b[1][1]) + (b[2][1] + b[3][1]);
  }
  if constexpr (kVariant != 2) {
    red[2 * tid] = a0, red[2 * tid + 1] = a1;
    __syncthreads();
    if (tid < kU) {
      a0 += red[2 * (kU + u)], a1 += red[2 * (kU + u) + 1];
      att[h * kD + 2 * dp] = a0 / l_s[h];
      att[h * kD + 2 * dp + 1] = a1 / l_s[h];
    }
    __syncthreads();
  }

  const long long t1 = clock64();
  if (tid == 0) cycles[blockIdx.x] = t1 - t0;
  for (int i = tid; i < kG * kD; i += kThreads) out[size_t(blockIdx.x) * kG * kD + i] = att[i];
}

float bf16_to_f32(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

int main() {
  std::vector<float> w(size_t(kG) * kMaxL), l(kG, 0.f);
  std::vector<uint32_t> v(size_t(kMaxL) * kD / 2);
  uint32_t seed = 1;
  auto rnd = [&] { return (seed = seed * 1664525u + 1013904223u) >> 8; };
  for (auto& x : w) x = float(rnd() % 1000) / 1000.f;
  for (auto& x : v) x = ((0x3f00u + rnd() % 0x100u) << 16) | (0x3f00u + rnd() % 0x100u);  // bf16 in [0.5, 1)
  const int blocks_max = 132;
  float *dw, *dl, *dout;
  uint32_t* dv;
  long long* dc;
  CHECK(cudaMalloc(&dw, w.size() * 4));
  CHECK(cudaMalloc(&dl, kG * 4));
  CHECK(cudaMalloc(&dv, v.size() * 4));
  CHECK(cudaMalloc(&dout, size_t(blocks_max) * kG * kD * 4));
  CHECK(cudaMalloc(&dc, blocks_max * sizeof(long long)));
  CHECK(cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dv, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
  const size_t smem = (size_t(kG) * kMaxL + size_t(kMaxL) * kD / 2 + 8 * kG * kD + kG * kD + kG) * 4;
  CHECK(cudaFuncSetAttribute(pv_phase<0>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  CHECK(cudaFuncSetAttribute(pv_phase<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  CHECK(cudaFuncSetAttribute(pv_phase<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  std::printf("P.V phase alone (256 threads, data in shared memory), SM cycles of thread 0 between two barriers,\n"
              "median of 20 launches (median block); us at 1.98 GHz\n");
  std::printf("    L | variant a, 1 block  | a, 132 blocks       | variant b, 1 block  | b, 132 blocks       |"
              " variant c, 1 block  | c, 132 blocks       | check\n");
  for (int L : {16, 80, 144, 256}) {
    for (int h = 0; h < kG; ++h) {
      l[size_t(h)] = 0.f;
      for (int p = 0; p < L; ++p) l[size_t(h)] += w[size_t(h) * kMaxL + size_t(p)];
    }
    CHECK(cudaMemcpy(dl, l.data(), kG * 4, cudaMemcpyHostToDevice));
    std::printf("  %3d |", L);
    bool ok = true;
    for (int variant = 0; variant < 3; ++variant)
      for (int blocks : {1, blocks_max}) {
        std::vector<long long> med;
        for (int r = 0; r < 20; ++r) {
          if (variant == 0) pv_phase<0><<<blocks, kThreads, smem>>>(L, dw, dv, dl, dout, dc);
          else if (variant == 1) pv_phase<1><<<blocks, kThreads, smem>>>(L, dw, dv, dl, dout, dc);
          else pv_phase<2><<<blocks, kThreads, smem>>>(L, dw, dv, dl, dout, dc);
          CHECK(cudaGetLastError());
          std::vector<long long> c(static_cast<size_t>(blocks));
          CHECK(cudaMemcpy(c.data(), dc, size_t(blocks) * sizeof(long long), cudaMemcpyDeviceToHost));
          std::sort(c.begin(), c.end());
          med.push_back(c[c.size() / 2]);
        }
        std::sort(med.begin(), med.end());
        const long long cyc = med[med.size() / 2];
        std::printf(" %5lld cyc %5.2f us |", cyc, double(cyc) / 1980.0);
        std::vector<float> got(size_t(kG) * kD);
        CHECK(cudaMemcpy(got.data(), dout, got.size() * 4, cudaMemcpyDeviceToHost));
        for (int h = 0; h < kG; ++h)
          for (int d = 0; d < kD; ++d) {
            double want = 0;
            for (int p = 0; p < L; ++p) {
              const uint32_t pair = v[size_t(p) * kD / 2 + size_t(d / 2)];
              want += double(w[size_t(h) * kMaxL + size_t(p)]) *
                      bf16_to_f32(uint16_t(d % 2 ? pair >> 16 : pair & 0xffffu));
            }
            want /= l[size_t(h)];
            if (std::fabs(got[size_t(h) * kD + size_t(d)] - want) > 1e-4 * std::fabs(want)) ok = false;
          }
      }
    std::printf(" %s\n", ok ? "ok" : "WRONG");
  }
  return 0;
}
