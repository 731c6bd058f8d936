// What Hopper's thread-block clusters would cost as the hand-over between decode stages, against PDL's:
//   1. a chain of S stages inside one launch, for clusters of 2-16 blocks, each stage handing a value to the next
//      block of the cluster: by a cluster barrier (barrier.cluster arrive + wait) and a read of the neighbour's
//      shared memory (distributed shared memory, DSMEM); by st.async into the neighbour's shared memory, which
//      completes a transaction count on its mbarrier (waited on at CTA or at cluster scope); by plain DSMEM stores
//      and one release-arrive on that mbarrier; and as an all-gather (every block sends its 128 floats to every
//      block); a block barrier for scale;
//   2. one dependent DSMEM load (a pointer chase through another block's shared memory), in cycles;
//   3. a chain of 140 dependent launches in one graph with PDL (griddepcontrol.wait), 128 blocks a launch, launched
//      as clusters of 1, 8 and 16 — whether a cluster launch hands over as quickly as a plain one;
//   4. how many clusters of 8 and 16 can be resident at once (cudaOccupancyMaxActiveClusters), for a small block and
//      for one that needs a whole SM;
//   5. how fast one block an SM streams weights into shared memory with bulk copies (cp.async.bulk), against
//      16-byte loads into registers by one or four blocks an SM (one launch per row, timed with events, so each
//      time includes the launch's own few microseconds).
// Every chain's result is checked (each element must equal the number of stages run).
//
// Why it exists: a decode layer of Qwen3-0.6B is five dependent launches, and every hand-over costs ~1 us
// (docs/cuda-backend.md, sections 5-6; bench/handover_probe.cu); the q/k/v rows, the attention and the o columns of
// one kv head could be one cluster's work, handing over inside the cluster. On the H100 (session 14 log, part 1):
// st.async hands a value over in 0.13 us, an all-gather of 8 blocks in 0.31 us, a cluster barrier costs 0.52 us,
// and a cluster launch hands over through PDL as a plain one does (1.0 us); but only 7 clusters of 16 blocks that
// need a whole SM are resident at once. The kernel built on it (part 2) was 1.35x slower: its late weights and its
// phases, not its hand-overs, took the time.
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o cluster_probe bench/cluster_probe.cu
//   ./cluster_probe
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

#include "probe_check.h"

namespace cg = cooperative_groups;

constexpr int kThreads = 128;

// 1. S stages; in stage k every thread writes v into its block's buffer k & 1, the cluster synchronises, and v
// becomes the value the next block of the cluster wrote, plus one (two buffers, so one barrier a stage suffices:
// a block overwrites buffer k & 1 only after the barrier of stage k + 1, by which time its neighbour has read it).
template <bool kRemote>
__global__ void __launch_bounds__(kThreads) cluster_chain(int stages, float* out) {
  __shared__ float buf[2][kThreads];
  cg::cluster_group cluster = cg::this_cluster();
  const unsigned next = (cluster.block_rank() + 1) % cluster.num_blocks();
  float v = 0.f;
  for (int k = 0; k < stages; ++k) {
    buf[k & 1][threadIdx.x] = v;
    if (kRemote) {
      cluster.sync();
      v = cluster.map_shared_rank(&buf[k & 1][0], next)[threadIdx.x] + 1.f;
    } else {
      __syncthreads();
      v = buf[k & 1][(threadIdx.x + 1) % kThreads] + 1.f;
    }
  }
  cluster.sync();  // no block leaves while another may still read its shared memory
  out[blockIdx.x * kThreads + threadIdx.x] = v;
}

// 1b. The same chain with the hand-over pushed by the producer instead of a barrier of the whole cluster: each
// block writes its v into the next block's slot with st.async, whose bytes complete a transaction count on the
// next block's mbarrier (kAsync), or with plain DSMEM stores followed by one release-arrive on that mbarrier
// (kArrive); the consumer waits on its own mbarrier only, with acquire at CTA scope (the default) or, kAsyncCluster,
// at cluster scope (as kArrive must). kSlots slots in a ring: a block writes slot i again
// kSlots stages later, by which time the chain has carried every block past it (kSlots > cluster size).
constexpr int kSlots = 32;
enum Push { kAsync, kAsyncCluster, kArrive };

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ uint32_t map_to(uint32_t local, unsigned rank) {
  uint32_t r;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(r) : "r"(local), "r"(rank));
  return r;
}
template <Push kPush>
__device__ __forceinline__ bool try_wait(uint32_t bar, uint32_t parity) {
  uint32_t ok;
  if (kPush == kAsync)  // acquire.cta, the default
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
  else
    asm volatile(
        "{ .reg .pred p; mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
        : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
  return ok != 0;
}

template <Push kPush>
__global__ void __launch_bounds__(kThreads) push_chain(int stages, float* out) {
  __shared__ float slot[kSlots][kThreads];
  __shared__ alignas(8) unsigned long long bar[kSlots];
  cg::cluster_group cluster = cg::this_cluster();
  const unsigned next = (cluster.block_rank() + 1) % cluster.num_blocks();
  if (threadIdx.x < kSlots)
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(&bar[threadIdx.x])) : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  cluster.sync();
  const uint32_t my_slot = smem_addr(&slot[0][threadIdx.x]), my_bar = smem_addr(&bar[0]);
  const uint32_t their_slot = map_to(my_slot, next), their_bar = map_to(my_bar, next);
  float v = 0.f;
  for (int k = 0; k < stages; ++k) {
    const int i = k % kSlots;
    const uint32_t parity = uint32_t(k / kSlots) & 1u;
    if (kPush != kArrive) {
      asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [%0], %1, [%2];" ::"r"(
                       their_slot + uint32_t(i * kThreads * 4)),
                   "r"(__float_as_uint(v)), "r"(their_bar + uint32_t(i * 8))
                   : "memory");
      if (threadIdx.x == 0)
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(my_bar + uint32_t(i * 8)),
                     "r"(kThreads * 4)
                     : "memory");
    } else {
      asm volatile("st.shared::cluster.f32 [%0], %1;" ::"r"(their_slot + uint32_t(i * kThreads * 4)), "f"(v)
                   : "memory");
      __syncthreads();
      if (threadIdx.x == 0)
        asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];" ::"r"(their_bar + uint32_t(i * 8))
                     : "memory");
    }
    while (!try_wait<kPush>(my_bar + uint32_t(i * 8), parity)) {
    }
    v = slot[i][threadIdx.x] + 1.f;
  }
  cluster.sync();
  out[blockIdx.x * kThreads + threadIdx.x] = v;
}

// 1c. An all-gather, as a fused q/k/v → attention hand-over would need: in each stage every block sends its
// 128-float vector to every block of the cluster (st.async into slot [i][sender]), and each block's mbarrier waits
// for all C vectors. v becomes the next block's value plus one, as above. kVec: the vector goes as 16-byte pieces
// from the first 32 threads (C × 32 stores a block instead of C × 128). Dynamic shared memory:
// kGatherSlots × C × 128 floats.
constexpr int kGatherSlots = 18;  // > 16, the largest cluster

template <bool kVec>
__global__ void __launch_bounds__(kThreads) gather_chain(int stages, float* out) {
  extern __shared__ float gathered[];  // [kGatherSlots][C][kThreads]
  __shared__ alignas(8) unsigned long long bar[kGatherSlots];
  cg::cluster_group cluster = cg::this_cluster();
  const unsigned C = cluster.num_blocks(), me = cluster.block_rank(), next = (me + 1) % C;
  if (threadIdx.x < kGatherSlots)
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(&bar[threadIdx.x])) : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  cluster.sync();
  __shared__ alignas(16) float mine_v[kThreads];  // kVec: this block's vector, sent by 32 threads
  const uint32_t my_bar = smem_addr(&bar[0]);
  const uint32_t mine = smem_addr(&gathered[me * kThreads + (kVec ? 4 * threadIdx.x : threadIdx.x)]);
  float v = 0.f;
  for (int k = 0; k < stages; ++k) {
    const int i = k % kGatherSlots;
    const uint32_t parity = uint32_t(k / kGatherSlots) & 1u, at = uint32_t(i * C * kThreads * 4);
    if (kVec) {
      mine_v[threadIdx.x] = v;
      __syncthreads();
      if (threadIdx.x < 32) {
        const float4 q = reinterpret_cast<const float4*>(mine_v)[threadIdx.x];
        for (unsigned r = 0; r < C; ++r)
          asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.b32 [%0], {%1, %2, %3, %4}, [%5];" ::
                           "r"(map_to(mine + at, r)),
                       "r"(__float_as_uint(q.x)), "r"(__float_as_uint(q.y)), "r"(__float_as_uint(q.z)),
                       "r"(__float_as_uint(q.w)), "r"(map_to(my_bar + uint32_t(i * 8), r))
                       : "memory");
      }
    } else {
      for (unsigned r = 0; r < C; ++r)
        asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [%0], %1, [%2];" ::"r"(
                         map_to(mine + at, r)),
                     "r"(__float_as_uint(v)), "r"(map_to(my_bar + uint32_t(i * 8), r))
                     : "memory");
    }
    if (threadIdx.x == 0)
      asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(my_bar + uint32_t(i * 8)),
                   "r"(C * kThreads * 4)
                   : "memory");
    while (!try_wait<kAsync>(my_bar + uint32_t(i * 8), parity)) {
    }
    v = gathered[(i * C + next) * kThreads + threadIdx.x] + 1.f;
  }
  cluster.sync();
  out[blockIdx.x * kThreads + threadIdx.x] = v;
}

// 2. One thread of block 0 chases a cycle through block 1's shared memory (rank 1 of a cluster of 2).
__global__ void dsmem_chase(int steps, long long* cycles, int* sink) {
  __shared__ int next[1024];
  for (int i = threadIdx.x; i < 1024; i += blockDim.x) next[i] = (i * 97 + 31) % 1024;
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();
  if (cluster.block_rank() == 0 && threadIdx.x == 0) {
    const int* remote = cluster.map_shared_rank(next, 1);
    int v = 0;
    const long long t0 = clock64();
    for (int i = 0; i < steps; ++i) v = remote[v];
    const long long t1 = clock64();
    cycles[0] = t1 - t0;
    sink[0] = v;
  }
  cluster.sync();
}

// 3. One link of the launch chain: as handover_probe's "wait" mode with no weights.
__global__ void __launch_bounds__(kThreads) pdl_link(const float* in, float* out, int n) {
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  asm volatile("griddepcontrol.wait;" ::: "memory");
  const int i = blockIdx.x * kThreads + threadIdx.x;
  out[i] = in[int((size_t(i) * 7919 + 13) % size_t(n))] + 1.f;
}

// 5. How fast one bulk copy engine per SM streams weights into shared memory: 128 blocks, one an SM, each copies
// per_block bytes in pieces of `chunk` bytes (cp.async.bulk, completing on one mbarrier) from its own slice of a
// buffer larger than L2, and waits; against the same bytes loaded by every thread with 16-byte loads into
// registers (as the GEMVs prefetch). The launch's time, its own overhead included, gives GB/s.
__global__ void bulk_stream(const char* src, size_t per_block, int chunk, float* sink) {
  extern __shared__ __align__(128) unsigned char buf[];
  __shared__ alignas(8) unsigned long long bar;
  const uint32_t b = smem_addr(&bar);
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(b) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(b), "r"(uint32_t(per_block)) : "memory");
  }
  __syncthreads();
  const char* from = src + blockIdx.x * per_block;
  for (size_t at = size_t(threadIdx.x) * chunk; at < per_block; at += size_t(blockDim.x) * chunk)
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                     smem_addr(buf + at)),
                 "l"(from + at), "r"(uint32_t(chunk)), "r"(b)
                 : "memory");
  while (!try_wait<kAsync>(b, 0)) {
  }
  if (threadIdx.x == 0 && buf[per_block - 1] == 123) sink[0] = 1.f;
}
__global__ void load_stream(const uint4* src, size_t per_block, float* sink) {
  const uint4* from = src + blockIdx.x * (per_block / 16);
  unsigned acc = 0;
  for (size_t i = threadIdx.x; i < per_block / 16; i += blockDim.x) {
    const uint4 v = from[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x12345u) sink[0] = 1.f;
}

// 4. A block that needs a whole SM (200 KB of shared memory), for the occupancy query only.
__global__ void __launch_bounds__(256, 1) whole_sm(float* out) { out[threadIdx.x] = 0.f; }

cudaLaunchAttribute cluster_attr(int size) {
  cudaLaunchAttribute a = {};
  a.id = cudaLaunchAttributeClusterDimension;
  a.val.clusterDim.x = unsigned(size);
  a.val.clusterDim.y = 1;
  a.val.clusterDim.z = 1;
  return a;
}

// µs per stage of cluster_chain: (time of S stages − time of 0 stages) / S, medians of 20 launches each.
template <typename Kernel>
double stage_us(Kernel kernel, int blocks, int size, int stages, float* out, bool* ok, size_t smem = 0) {
  auto time_one = [&](int s) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(unsigned(blocks));
    cfg.blockDim = dim3(kThreads);
    cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute a = cluster_attr(size);
    cfg.attrs = &a;
    cfg.numAttrs = 1;
    return median_us(nullptr, 20, [&](int) { CHECK(cudaLaunchKernelEx(&cfg, kernel, s, out)); });
  };
  const double t0 = time_one(0), t1 = time_one(stages);
  *ok = all_equal(out, blocks * kThreads, float(stages));
  return (t1 - t0) / stages;
}

// µs per link of a 140-launch PDL chain of `blocks` blocks in clusters of `size` (1: no cluster attribute).
double link_us(int blocks, int size, float* a, float* b, bool* ok) {
  const int links = 140, n = blocks * kThreads, replays = 30;
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK(cudaMemsetAsync(a, 0, size_t(n) * sizeof(float), s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int k = 0; k < links; ++k) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(unsigned(blocks));
    cfg.blockDim = dim3(kThreads);
    cfg.stream = s;
    cudaLaunchAttribute attr[2];
    int na = 0;
    if (size > 1) attr[na++] = cluster_attr(size);
    if (k > 0) {
      attr[na].id = cudaLaunchAttributeProgrammaticStreamSerialization;
      attr[na++].val.programmaticStreamSerializationAllowed = 1;
    }
    cfg.attrs = attr;
    cfg.numAttrs = unsigned(na);
    CHECK(cudaLaunchKernelEx(&cfg, pdl_link, (const float*)(k % 2 == 0 ? a : b), k % 2 == 0 ? b : a, n));
  }
  const double us = median_replay_us(s, replays);
  *ok = all_equal(a, n, float(links) * float(replays + 3));
  CHECK(cudaStreamDestroy(s));
  return us / links;
}

int max_clusters(const void* kernel, int threads, int size, size_t smem) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(unsigned(size * 16));
  cfg.blockDim = dim3(unsigned(threads));
  cfg.dynamicSmemBytes = smem;
  cudaLaunchAttribute a = cluster_attr(size);
  cfg.attrs = &a;
  cfg.numAttrs = 1;
  int n = 0;
  CHECK(cudaOccupancyMaxActiveClusters(&n, kernel, &cfg));
  return n;
}

int main() {
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, 0));
  for (const void* k : {(const void*)cluster_chain<true>, (const void*)cluster_chain<false>,
                        (const void*)push_chain<kAsync>, (const void*)push_chain<kAsyncCluster>,
                        (const void*)push_chain<kArrive>,
                        (const void*)gather_chain<false>, (const void*)gather_chain<true>, (const void*)pdl_link,
                        (const void*)whole_sm, (const void*)dsmem_chase})
    CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  CHECK(cudaFuncSetAttribute((const void*)whole_sm, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
  for (const void* k : {(const void*)gather_chain<false>, (const void*)gather_chain<true>})
    CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, kGatherSlots * 16 * kThreads * 4));
  std::printf("%s, %d SMs\n", p.name, p.multiProcessorCount);

  std::printf("\n4. clusters resident at once: 128-thread block, no smem | 256-thread block, 200 KB smem (one an SM)\n");
  for (int size : {8, 16})
    std::printf("   size %2d: %3d | %3d\n", size, max_clusters((const void*)pdl_link, kThreads, size, 0),
                max_clusters((const void*)whole_sm, 256, size, 200 * 1024));

  float *a, *b;
  CHECK(cudaMalloc(&a, 1024 * kThreads * sizeof(float)));
  CHECK(cudaMalloc(&b, 1024 * kThreads * sizeof(float)));

  long long* cycles;
  int* sink;
  CHECK(cudaMalloc(&cycles, sizeof(long long)));
  CHECK(cudaMalloc(&sink, sizeof(int)));
  {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(2);
    cfg.blockDim = dim3(32);
    cudaLaunchAttribute at = cluster_attr(2);
    cfg.attrs = &at;
    cfg.numAttrs = 1;
    for (int rep = 0; rep < 2; ++rep) CHECK(cudaLaunchKernelEx(&cfg, dsmem_chase, 4096, cycles, sink));
    long long c = 0;
    CHECK(cudaMemcpy(&c, cycles, sizeof(c), cudaMemcpyDeviceToHost));
    std::printf("\n2. dependent DSMEM load (another block's shared memory): %.1f cycles\n", double(c) / 4096);
  }

  std::printf("\n1. us per stage inside one launch (128 blocks; median of 20 launches, 2,000 stages minus 0)\n");
  for (int round = 0; round < 2; ++round) {
    bool ok = false;
    std::printf("   block barrier only:                 %.3f", stage_us(cluster_chain<false>, 128, 1, 2000, a, &ok));
    std::printf("%s\n", ok ? "" : " WRONG");
    for (int size : {2, 4, 8, 16}) {
      double t = stage_us(cluster_chain<true>, 128, size, 2000, a, &ok);
      std::printf("   cluster of %2d, barrier + DSMEM:      %.3f%s\n", size, t, ok ? "" : " WRONG");
      t = stage_us(push_chain<kAsync>, 128, size, 2000, a, &ok);
      std::printf("   cluster of %2d, st.async + mbarrier:  %.3f%s\n", size, t, ok ? "" : " WRONG");
      t = stage_us(push_chain<kAsyncCluster>, 128, size, 2000, a, &ok);
      std::printf("   cluster of %2d, the same, acquire.cluster: %.3f%s\n", size, t, ok ? "" : " WRONG");
      t = stage_us(push_chain<kArrive>, 128, size, 2000, a, &ok);
      std::printf("   cluster of %2d, stores + remote arrive: %.3f%s\n", size, t, ok ? "" : " WRONG");
      t = stage_us(gather_chain<false>, 128, size, 2000, a, &ok, size_t(kGatherSlots) * size * kThreads * 4);
      std::printf("   cluster of %2d, all-gather (st.async): %.3f%s\n", size, t, ok ? "" : " WRONG");
      t = stage_us(gather_chain<true>, 128, size, 2000, a, &ok, size_t(kGatherSlots) * size * kThreads * 4);
      std::printf("   cluster of %2d, all-gather, 16 B stores: %.3f%s\n", size, t, ok ? "" : " WRONG");
    }
  }

  {
    std::printf("\n5. streaming weights into 128 blocks, one an SM: one launch each, timed with events (launch overhead\n"
                "   included; median of 20 launches, a 2 GB buffer rotated)\n");
    const size_t total = size_t(2) << 30;
    char* big;
    float* sink;
    CHECK(cudaMalloc(&big, total));
    CHECK(cudaMemset(big, 1, total));
    CHECK(cudaMalloc(&sink, 4));
    CHECK(cudaFuncSetAttribute((const void*)bulk_stream, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
    // Each launch reads the next `per_launch` bytes of the buffer (from DRAM: it is far larger than L2).
    auto time = [&](auto launch_one, size_t per_launch) {
      return median_us(nullptr, 20, [&](int r) { launch_one(big + (size_t(r) * per_launch) % (total - per_launch)); });
    };
    for (size_t kb : {32, 64, 96, 192})
      for (int chunk : {512, 2048, 8192, 32768}) {
        const size_t per = kb * 1024;
        if (size_t(chunk) > per) continue;
        const double us = time([&](char* from) { bulk_stream<<<128, 128, per>>>(from, per, chunk, sink); }, 128 * per);
        std::printf("   bulk copies: %3zu KB a block in %5d-byte pieces: %6.2f us, %6.0f GB/s\n", kb, chunk, us,
                    double(128 * per) / us / 1e3);
      }
    for (size_t kb : {32, 64, 96}) {
      const size_t per = kb * 1024;
      for (int bpsm : {1, 4}) {
        const double us = time(
            [&](char* from) {
              load_stream<<<128 * bpsm, 256>>>(reinterpret_cast<const uint4*>(from), per / bpsm, sink);
            },
            128 * per);
        std::printf("   16-byte loads: %3zu KB an SM, %d block(s) of 256 threads an SM: %6.2f us, %6.0f GB/s\n", kb,
                    bpsm, us, double(128 * per) / us / 1e3);
      }
    }
    CHECK(cudaGetLastError());
  }

  std::printf("\n3. us per link, 140 dependent PDL launches of 128 blocks in one graph (median of 30 replays)\n");
  for (int round = 0; round < 2; ++round)
    for (int size : {1, 8, 16}) {
      bool ok = false;
      const double t = link_us(128, size, a, b, &ok);
      std::printf("   clusters of %2d: %.3f%s\n", size, t, ok ? "" : " WRONG");
    }
  return 0;
}
