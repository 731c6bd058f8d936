// cuda_ops_bench: the numbers behind docs/cuda-backend.md, on random data of real model shapes.
//
//   copy     cudaMemcpy device→device of 1 GiB: the bandwidth ceiling (bytes read + written), median of 20
//   gemv     every Qwen3-0.6B / Llama-3.2-1B matrix at n = 1: GB/s of weights, (a) back-to-back in a CUDA graph
//            (as in a decode step), (b) one launch timed alone (launch latency included)
//   gemm     the same matrices at n = 512 (prefill): TFLOP/s through the tensor-core path
//   attn     decode attention at 128 / 4096 / 16384 context, f32 and bf16 KV; prefill attention at 512 tokens
//   decode   one whole decode step (all layers, lm head, argmax) as a recorded graph: µs/token and the fraction of
//            copy bandwidth achieved, bytes = weights + KV read per token; interface ops only vs fused ops,
//            PDL on vs off, bf16 vs f32 KV
//
// Weights are random bf16 (|w| ~ 0.02), generated on the GPU. Inputs that fit in L2 (50 MB) are rotated over
// copies so each timed launch reads from DRAM, as in a real decode step. Output: readable tables on stdout.
// Usage: fs_cuda_bench [--quick] [--gemv]   (--quick: 5 repeats instead of 20; --gemv: copy bandwidth and GEMVs only)
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "backends/cuda/common.cuh"
#include "backends/cuda/cuda_backend.h"

namespace fs {
namespace {

int g_reps = 20;

__device__ __forceinline__ uint32_t hash(uint64_t i, uint32_t seed) {
  uint64_t x = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 29;
  return uint32_t(x);
}
// Uniform in [-scale·√3, scale·√3]: standard deviation `scale`.
__global__ void fill_kernel(void* p, size_t n, int bf16, uint32_t seed, float scale) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float u = (hash(i, seed) >> 8) * (1.f / 16777216.f) * 2.f - 1.f;
    const float v = u * scale * 1.7320508f;
    if (bf16) static_cast<uint16_t*>(p)[i] = __bfloat16_as_ushort(__float2bfloat16_rn(v));
    else static_cast<float*>(p)[i] = v;
  }
}

class Bench {
 public:
  explicit Bench(CudaBackend& be) : be_(be), s_(be.stream()) {
    FS_CUDA(cudaEventCreate(&a_));
    FS_CUDA(cudaEventCreate(&b_));
  }
  ~Bench() {
    for (void* p : ptrs_) cudaFree(p);
    cudaEventDestroy(a_);
    cudaEventDestroy(b_);
  }
  void* alloc(size_t bytes) {
    void* p = nullptr;
    FS_CUDA(cudaMalloc(&p, bytes));
    ptrs_.push_back(p);
    return p;
  }
  void free_all() {
    FS_CUDA(cudaStreamSynchronize(s_));
    for (void* p : ptrs_) FS_CUDA(cudaFree(p));
    ptrs_.clear();
  }
  void fill(void* p, size_t n, bool bf16, float scale) {
    fill_kernel<<<1024, 256, 0, s_>>>(p, n, bf16 ? 1 : 0, seed_++, scale);
    FS_CUDA(cudaGetLastError());
  }
  Weight weight(int64_t rows, int64_t cols, float scale = 0.02f) {
    Weight w{alloc(size_t(rows * cols) * 2), DType::BF16, rows, cols};
    fill(const_cast<void*>(w.data), size_t(rows * cols), true, scale);
    return w;
  }
  float* floats(size_t n, float scale = 1.f) {
    float* p = static_cast<float*>(alloc(n * 4));
    fill(p, n, false, scale);
    return p;
  }
  // Median milliseconds of fn() over g_reps runs after `warm` untimed runs, each run timed with events on
  // `stream` (the stream fn's work goes to; by default the main backend's).
  double time_ms(const std::function<void()>& fn, cudaStream_t stream = nullptr, int warm = 3) {
    cudaStream_t st = stream ? stream : s_;
    for (int i = 0; i < warm; ++i) fn();
    std::vector<double> t;
    for (int i = 0; i < g_reps; ++i) {
      FS_CUDA(cudaEventRecord(a_, st));
      fn();
      FS_CUDA(cudaEventRecord(b_, st));
      FS_CUDA(cudaEventSynchronize(b_));
      float ms = 0;
      FS_CUDA(cudaEventElapsedTime(&ms, a_, b_));
      t.push_back(ms);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
  CudaBackend& be() { return be_; }
  cudaStream_t stream() { return s_; }

 private:
  CudaBackend& be_;
  cudaStream_t s_;
  cudaEvent_t a_, b_;
  std::vector<void*> ptrs_;
  uint32_t seed_ = 1;
};

__global__ void empty_kernel(int) {
  fs::cuda::grid_dep_launch();
  fs::cuda::grid_dep_wait();
}

// The cost of one dependent kernel boundary: a graph of 200 empty kernels, each waiting for the one before.
void bench_floor(Bench& b) {
  std::printf("\n## Dependent-launch floor: graph of 200 empty kernels (1 block / 132 blocks), us per kernel\n");
  for (bool pdl : {false, true})
    for (int blocks : {1, 132}) {
      cuda::Ctx c;
      c.stream = b.stream();
      c.pdl = pdl;
      const std::string key = "floor " + std::to_string(pdl) + " " + std::to_string(blocks);
      const double ms = b.time_ms([&] {
        b.be().run_recorded(key, [&] {
          for (int i = 0; i < 200; ++i) cuda::launch(c, "empty", dim3(blocks), dim3(128), 0, empty_kernel, i);
        });
      });
      std::printf("PDL %-3s  %3d blocks: %.2f us per kernel\n", pdl ? "on" : "off", blocks, ms * 1e3 / 200);
    }
}

double copy_bandwidth(Bench& b) {
  const size_t bytes = size_t(1) << 30;
  void* src = b.alloc(bytes);
  void* dst = b.alloc(bytes);
  b.fill(src, bytes / 4, false, 1.f);
  const double ms = b.time_ms([&] { FS_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, b.stream())); });
  b.free_all();
  return 2.0 * double(bytes) / (ms * 1e-3) / 1e9;
}

struct ModelShape {
  const char* name;
  int layers, hidden, heads, kv_heads, head_dim, inter, vocab;
  bool qk_norm;
};
const ModelShape kQwen3{"Qwen3-0.6B", 28, 1024, 16, 8, 128, 3072, 151936, true};
const ModelShape kLlama32{"Llama-3.2-1B", 16, 2048, 32, 8, 64, 8192, 128256, false};

struct Mat {
  const char* name;
  int rows, cols;
};
std::vector<Mat> matrices(const ModelShape& m) {
  const int q = m.heads * m.head_dim, kv = m.kv_heads * m.head_dim;
  return {{"q", q, m.hidden},          {"k/v", kv, m.hidden},        {"o", m.hidden, q},
          {"gate/up", m.inter, m.hidden}, {"down", m.hidden, m.inter}, {"lm_head", m.vocab, m.hidden}};
}

void bench_gemv(Bench& b, double copy_gbs) {
  std::printf("\n## GEMV, n = 1 (bf16 weights, f32 x): GB/s of weights streamed; copy bandwidth %.0f GB/s\n", copy_gbs);
  std::printf("%-14s %-8s %8s %8s | %9s %7s %6s | %9s %7s %6s\n", "model", "matrix", "rows", "cols", "graph us",
              "GB/s", "%copy", "single us", "GB/s", "%copy");
  for (const ModelShape* m : {&kQwen3, &kLlama32})
    for (const Mat& mat : matrices(*m)) {
      const size_t bytes = size_t(mat.rows) * mat.cols * 2;
      const int copies = int(std::max<size_t>(1, std::min<size_t>(64, (size_t(512) << 20) / bytes)));
      std::vector<Weight> ws;
      for (int c = 0; c < copies; ++c) ws.push_back(b.weight(mat.rows, mat.cols));
      float* x = b.floats(size_t(mat.cols));
      float* y = static_cast<float*>(b.alloc(size_t(mat.rows) * 4));
      const std::string key = std::string("gemv ") + m->name + mat.name;
      const double graph_ms = b.time_ms([&] {
        b.be().run_recorded(key, [&] {
          for (int c = 0; c < copies; ++c) b.be().matmul(x, 1, ws[size_t(c)], nullptr, y, false);
        });
      }) / copies;
      int next = 0;
      const double single_ms = b.time_ms([&] {
        b.be().matmul(x, 1, ws[size_t(next)], nullptr, y, false);
        next = (next + 1) % copies;
      });
      const double g1 = bytes / (graph_ms * 1e-3) / 1e9, g2 = bytes / (single_ms * 1e-3) / 1e9;
      std::printf("%-14s %-8s %8d %8d | %9.2f %7.0f %5.0f%% | %9.2f %7.0f %5.0f%%\n", m->name, mat.name, mat.rows,
                  mat.cols, graph_ms * 1e3, g1, 100 * g1 / copy_gbs, single_ms * 1e3, g2, 100 * g2 / copy_gbs);
      b.free_all();
    }
}

// be_mma: the same GEMMs with wgmma off (mma.sync), for the kernel-against-kernel column.
void bench_gemm(Bench& b, CudaBackend& be_mma) {
  const int n = 512;
  std::printf("\n## GEMM, n = %d (bf16 weights, x rounded to bf16, tensor cores): TFLOP/s (incl. the x→bf16 pass)\n", n);
  std::printf("%-14s %-8s %8s %8s | %9s %8s | %9s %8s (wgmma %s)\n", "model", "matrix", "rows", "cols", "us",
              "TFLOP/s", "mma us", "TFLOP/s", b.be().wgmma() ? "on" : "unavailable");
  for (const ModelShape* m : {&kQwen3, &kLlama32})
    for (const Mat& mat : matrices(*m)) {
      const Weight w = b.weight(mat.rows, mat.cols);
      float* x = b.floats(size_t(n) * mat.cols);
      float* y = static_cast<float*>(b.alloc(size_t(n) * mat.rows * 4));
      const double ms = b.time_ms([&] { b.be().matmul(x, n, w, nullptr, y, false); });
      const double ms_mma = b.time_ms([&] { be_mma.matmul(x, n, w, nullptr, y, false); }, be_mma.stream());
      const double flops = 2.0 * n * double(mat.rows) * mat.cols;
      std::printf("%-14s %-8s %8d %8d | %9.1f %8.1f | %9.1f %8.1f\n", m->name, mat.name, mat.rows, mat.cols,
                  ms * 1e3, flops / (ms * 1e-3) / 1e12, ms_mma * 1e3, flops / (ms_mma * 1e-3) / 1e12);
      b.free_all();
    }
}

void bench_attention(Bench& b, CudaBackend& be_f32, double copy_gbs) {
  std::printf("\n## Attention, decode (1 query, all layers' caches rotated): time per layer, GB/s of K+V read\n");
  std::printf("%-14s %-5s %7s | %9s %8s %6s\n", "model", "KV", "context", "us/layer", "GB/s", "%copy");
  const int contexts[] = {128, 4096, 16384};
  for (const ModelShape* m : {&kQwen3, &kLlama32})
    for (CudaBackend* be : {&b.be(), &be_f32}) {
      const DType dt = be->kv_dtype();
      const int kv_dim = m->kv_heads * m->head_dim, qdim = m->heads * m->head_dim, cap = 16384 + 8;
      std::vector<KvLayer> caches;
      for (int l = 0; l < m->layers; ++l) {
        const size_t elems = size_t(cap) * kv_dim;
        KvLayer c{b.alloc(elems * dtype_size(dt)), b.alloc(elems * dtype_size(dt)), dt, cap, kv_dim};
        b.fill(c.k, elems, dt == DType::BF16, 1.f);
        b.fill(c.v, elems, dt == DType::BF16, 1.f);
        caches.push_back(c);
      }
      float* q = b.floats(size_t(qdim));
      float* out = static_cast<float*>(b.alloc(size_t(qdim) * 4));
      int32_t* pos = static_cast<int32_t*>(b.alloc(4));
      FS_CUDA(cudaStreamSynchronize(b.stream()));  // fills ran on the main stream
      const std::string key = std::string("attn ") + m->name + dtype_name(dt);
      for (int ctx : contexts) {
        const int32_t p = ctx - 1;
        be->to_device(pos, &p, 4);
        const double ms = b.time_ms([&] {
          be->run_recorded(key, [&] {
            for (const KvLayer& c : caches) be->attention(q, c, pos, 1, m->heads, m->kv_heads, m->head_dim, out);
          });
        }, be->stream()) / m->layers;
        const double bytes = 2.0 * ctx * kv_dim * dtype_size(dt);
        const double gbs = bytes / (ms * 1e-3) / 1e9;
        std::printf("%-14s %-5s %7d | %9.2f %8.0f %5.0f%%\n", m->name, dtype_name(dt), ctx, ms * 1e3, gbs,
                    100 * gbs / copy_gbs);
      }
      // Prefill: 512 queries at positions 0..511 of one layer.
      {
        const int n = 512;
        std::vector<int32_t> ps(n);
        for (int i = 0; i < n; ++i) ps[size_t(i)] = i;
        int32_t* pd = static_cast<int32_t*>(b.alloc(n * 4));
        be->to_device(pd, ps.data(), n * 4);
        float* qq = b.floats(size_t(n) * qdim);
        float* oo = static_cast<float*>(b.alloc(size_t(n) * qdim * 4));
        FS_CUDA(cudaStreamSynchronize(b.stream()));
        const double ms = b.time_ms(
            [&] { be->attention(qq, caches[0], pd, n, m->heads, m->kv_heads, m->head_dim, oo); }, be->stream());
        const double flops = 4.0 * m->heads * m->head_dim * (double(n) * (n + 1) / 2);
        std::printf("%-14s %-5s prefill %d tokens: %.1f us, %.1f TFLOP/s (causal flops)\n", m->name, dtype_name(dt),
                    n, ms * 1e3, flops / (ms * 1e-3) / 1e12);
      }
      b.free_all();
    }
}

// A random-weight model and one decode step over it, in two forms: the Backend interface's ops alone (what
// engine/forward composes) and the CUDA backend's fused ops.
struct Model {
  struct Layer {
    Weight in_norm, q, k, v, q_norm, k_norm, o, post_norm, gate, up, down;
  };
  const ModelShape& s;
  Weight embed, final_norm;
  std::vector<Layer> layers;
  float *x, *h, *q, *k, *v, *att, *gate, *up, *act, *logits, *inv_freq;
  int32_t *ids, *pos, *next;
  size_t weight_bytes = 0;  // read per token

  Model(Bench& b, const ModelShape& shape) : s(shape) {
    const int qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim;
    embed = b.weight(s.vocab, s.hidden);
    final_norm = b.weight(1, s.hidden, 0.3f);
    for (int l = 0; l < s.layers; ++l) {
      Layer L;
      L.in_norm = b.weight(1, s.hidden, 0.3f);
      L.q = b.weight(qd, s.hidden);
      L.k = b.weight(kvd, s.hidden);
      L.v = b.weight(kvd, s.hidden);
      L.q_norm = b.weight(1, s.head_dim, 0.3f);
      L.k_norm = b.weight(1, s.head_dim, 0.3f);
      L.o = b.weight(s.hidden, qd);
      L.post_norm = b.weight(1, s.hidden, 0.3f);
      L.gate = b.weight(s.inter, s.hidden);
      L.up = b.weight(s.inter, s.hidden);
      L.down = b.weight(s.hidden, s.inter);
      layers.push_back(L);
      weight_bytes += L.q.bytes() + L.k.bytes() + L.v.bytes() + L.o.bytes() + L.gate.bytes() + L.up.bytes() +
                      L.down.bytes() + L.in_norm.bytes() + L.post_norm.bytes() +
                      (s.qk_norm ? L.q_norm.bytes() + L.k_norm.bytes() : 0);
    }
    weight_bytes += embed.bytes() + final_norm.bytes() + size_t(s.hidden) * 2;  // tied lm head + one embedding row
    x = b.floats(size_t(s.hidden)), h = b.floats(size_t(s.hidden));
    q = b.floats(size_t(qd)), att = b.floats(size_t(qd));
    k = b.floats(size_t(kvd)), v = b.floats(size_t(kvd));
    gate = b.floats(size_t(s.inter)), up = b.floats(size_t(s.inter)), act = b.floats(size_t(s.inter));
    logits = b.floats(size_t(s.vocab));
    std::vector<float> f(size_t(s.head_dim / 2));
    for (int j = 0; j < s.head_dim / 2; ++j) f[size_t(j)] = std::pow(1e6f, -2.f * j / s.head_dim);
    inv_freq = b.floats(f.size());
    b.be().to_device(inv_freq, f.data(), f.size() * 4);
    ids = static_cast<int32_t*>(b.alloc(4));
    pos = static_cast<int32_t*>(b.alloc(4));
    next = static_cast<int32_t*>(b.alloc(4));
    const int32_t id = 12345;
    b.be().to_device(ids, &id, 4);
  }

  void step_composed(Backend& be, const std::vector<KvLayer>& kv) const {
    const int qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim;
    be.embed(embed, ids, 1, x);
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& L = layers[l];
      be.rmsnorm(x, L.in_norm, 1e-6f, 1, s.hidden, h);
      be.matmul(h, 1, L.q, nullptr, q, false);
      be.matmul(h, 1, L.k, nullptr, k, false);
      be.matmul(h, 1, L.v, nullptr, v, false);
      if (s.qk_norm) {
        be.rmsnorm(q, L.q_norm, 1e-6f, s.heads, s.head_dim, q);
        be.rmsnorm(k, L.k_norm, 1e-6f, s.kv_heads, s.head_dim, k);
      }
      be.rope(q, pos, 1, s.heads, s.head_dim, inv_freq);
      be.rope(k, pos, 1, s.kv_heads, s.head_dim, inv_freq);
      be.kv_store(k, v, pos, 1, kv[l]);
      be.attention(q, kv[l], pos, 1, s.heads, s.kv_heads, s.head_dim, att);
      be.matmul(att, 1, L.o, nullptr, x, true);
      be.rmsnorm(x, L.post_norm, 1e-6f, 1, s.hidden, h);
      be.matmul(h, 1, L.gate, nullptr, gate, false);
      be.matmul(h, 1, L.up, nullptr, up, false);
      be.swiglu(gate, up, size_t(s.inter), act);
      be.matmul(act, 1, L.down, nullptr, x, true);
    }
    be.rmsnorm(x, final_norm, 1e-6f, 1, s.hidden, h);
    be.matmul(h, 1, embed, nullptr, logits, false);
    be.argmax(logits, 1, s.vocab, next);
    (void)qd, (void)kvd;
  }

  // skip: 1 = no attention, 2 = no qk_norm_rope_store either (ablation: what the GEMVs alone cost).
  void step_fused(CudaBackend& be, const std::vector<KvLayer>& kv, int skip = 0) const {
    be.embed(embed, ids, 1, x);
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& L = layers[l];
      const Weight* ws[3] = {&L.q, &L.k, &L.v};
      const Weight* bs[3] = {nullptr, nullptr, nullptr};
      float* outs[3] = {q, k, v};
      be.rmsnorm_matmul(x, L.in_norm, 1e-6f, 1, h, 3, ws, bs, outs);
      const Weight* qn = s.qk_norm ? &L.q_norm : nullptr;
      const Weight* kn = s.qk_norm ? &L.k_norm : nullptr;
      if (skip == 0) {  // as engine/model.cpp: one call (one kernel on the tensor-core attention path)
        be.qk_norm_rope_attention(q, k, v, qn, kn, 1e-6f, pos, 1, s.heads, s.kv_heads, s.head_dim, inv_freq, kv[l],
                                  att);
      } else {
        if (!(skip & 2))
          be.qk_norm_rope_store(q, k, v, qn, kn, 1e-6f, pos, 1, s.heads, s.kv_heads, s.head_dim, inv_freq, kv[l]);
        if (!(skip & 1)) be.attention(q, kv[l], pos, 1, s.heads, s.kv_heads, s.head_dim, att);
      }
      be.matmul(att, 1, L.o, nullptr, x, true);
      be.mlp(x, L.post_norm, 1e-6f, 1, L.gate, L.up, L.down, h, gate, up, act);
    }
    const Weight* ws[1] = {&embed};
    const Weight* bs[1] = {nullptr};
    float* outs[1] = {logits};
    be.rmsnorm_matmul(x, final_norm, 1e-6f, 1, h, 1, ws, bs, outs);
    be.argmax(logits, 1, s.vocab, next);
  }
};

void bench_decode(Bench& b, CudaBackend& be_f32, double copy_gbs) {
  std::printf("\n## Decode step, batch 1 (recorded graph, median of %d replays): bytes = weights + KV read\n", g_reps);
  std::printf("%-14s %-5s %-9s %-4s %7s | %9s %8s %8s %6s\n", "model", "KV", "ops", "PDL", "context", "us/token",
              "tok/s", "GB/s", "%copy");
  const int contexts[] = {128, 4096, 16384};
  for (const ModelShape* m : {&kQwen3, &kLlama32}) {
    Model model(b, *m);
    const int kvd = m->kv_heads * m->head_dim, cap = 16384 + 8;
    for (CudaBackend* be : {&b.be(), &be_f32}) {
      const DType dt = be->kv_dtype();
      std::vector<KvLayer> kv;
      std::vector<void*> kv_mem;
      for (int l = 0; l < m->layers; ++l) {
        const size_t elems = size_t(cap) * kvd;
        KvLayer c{be->alloc(elems * dtype_size(dt)), be->alloc(elems * dtype_size(dt)), dt, cap, kvd};
        b.fill(c.k, elems, dt == DType::BF16, 1.f);
        b.fill(c.v, elems, dt == DType::BF16, 1.f);
        kv.push_back(c);
        kv_mem.push_back(c.k), kv_mem.push_back(c.v);
      }
      FS_CUDA(cudaStreamSynchronize(b.stream()));  // fills ran on the main stream
      struct Variant {
        bool fused, pdl;
      };
      const std::vector<Variant> variants = dt == DType::BF16
                                                ? std::vector<Variant>{{false, false}, {false, true}, {true, false}, {true, true}}
                                                : std::vector<Variant>{{false, true}, {true, true}};
      for (const Variant var : variants) {
        be->set_pdl(var.pdl);
        const std::string key = std::string("decode ") + m->name + (var.fused ? " fused" : " composed") +
                                (var.pdl ? " pdl" : "");
        for (int ctx : contexts) {
          const int32_t p = ctx;  // the new token sits at position ctx and attends ctx + 1 rows
          be->to_device(model.pos, &p, 4);
          const double ms = b.time_ms([&] {
            be->run_recorded(key, [&] { var.fused ? model.step_fused(*be, kv) : model.step_composed(*be, kv); });
          }, be->stream());
          const double bytes = double(model.weight_bytes) + 2.0 * m->layers * (ctx + 1) * kvd * dtype_size(dt);
          const double gbs = bytes / (ms * 1e-3) / 1e9;
          std::printf("%-14s %-5s %-9s %-4s %7d | %9.1f %8.0f %8.0f %5.0f%%\n", m->name, dtype_name(dt),
                      var.fused ? "fused" : "interface", var.pdl ? "on" : "off", ctx, ms * 1e3, 1e3 / ms, gbs,
                      100 * gbs / copy_gbs);
        }
      }
      be->set_pdl(true);
      if (dt == DType::BF16) {
        // Ablation at context 128: the fused step without attention, and without qk_norm_rope_store too.
        const int32_t p = 128;
        be->to_device(model.pos, &p, 4);
        for (int skip : {1, 3}) {
          const std::string key = std::string("ablate ") + m->name + std::to_string(skip);
          const double ms = b.time_ms([&] { be->run_recorded(key, [&] { model.step_fused(*be, kv, skip); }); },
                                      be->stream());
          std::printf("%-14s fused step without %-26s %9.1f us/token (%zu bytes of weights: %.0f GB/s)\n",
                      m->name, skip == 1 ? "attention:" : "attention and qk/rope/store:", ms * 1e3,
                      model.weight_bytes, model.weight_bytes / (ms * 1e-3) / 1e9);
        }
      }
      // Sanity: both forms compute the same logits.
      {
        const int32_t p = 100;
        be->to_device(model.pos, &p, 4);
        std::vector<float> a(size_t(m->vocab)), c(size_t(m->vocab));
        model.step_composed(*be, kv);
        be->to_host(a.data(), model.logits, a.size() * 4);
        model.step_fused(*be, kv);
        be->to_host(c.data(), model.logits, c.size() * 4);
        double num = 0, den = 0;
        for (size_t i = 0; i < a.size(); ++i) num += double(a[i] - c[i]) * (a[i] - c[i]), den += double(a[i]) * a[i];
        std::printf("%-14s %-5s fused vs interface logits: relative L2 %.2e\n", m->name, dtype_name(dt),
                    std::sqrt(num / std::max(den, 1e-30)));
      }
      FS_CUDA(cudaStreamSynchronize(b.stream()));
      for (void* p2 : kv_mem) be->release(p2);
    }
    b.free_all();
  }
}

}  // namespace
}  // namespace fs

int main(int argc, char** argv) {
  using namespace fs;
  bool gemv_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) g_reps = 5;
    if (std::strcmp(argv[i], "--gemv") == 0) gemv_only = true;
  }
  try {
    CudaBackend be(CudaOptions{DType::BF16, true});
    CudaBackend be_f32(CudaOptions{DType::F32, true});
    CudaOptions mma;
    mma.wgmma = false;
    CudaBackend be_mma(mma);
    Bench b(be);
    std::printf("# fs_cuda_bench on %s, %d SMs\n", be.name().c_str(), be.multiprocessors());
    std::vector<double> copies;
    for (int i = 0; i < 3; ++i) copies.push_back(copy_bandwidth(b));
    std::sort(copies.begin(), copies.end());
    const double copy_gbs = copies[1];
    std::printf("\n## Copy bandwidth (cudaMemcpy D2D, 1 GiB, read + write): %.0f GB/s (runs: %.0f %.0f %.0f)\n",
                copy_gbs, copies[0], copies[1], copies[2]);
    bench_floor(b);
    bench_gemv(b, copy_gbs);
    if (gemv_only) return 0;
    bench_decode(b, be_f32, copy_gbs);
    bench_attention(b, be_f32, copy_gbs);
    bench_gemm(b, be_mma);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fs_cuda_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
