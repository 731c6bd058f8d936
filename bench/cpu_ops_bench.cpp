// Benchmarks of the CPU backend and of the machine under it (Google Benchmark).
//
//   * StreamRead, FmaPeak: the roofline of this CPU — how fast memory can be read (threads, with/without software
//     prefetch), how many FLOP/s the FMA units do.
//   * Gemv: decode's matmul (n = 1) on the shapes of Qwen3-0.6B and Llama-3.2-1B, with weights that are not in
//     cache (each iteration reads a different copy), reported as GB/s of weights streamed and as a fraction of
//     StreamRead.
//   * Gemm: prefill's matmul (n = 128, 512) on the same shapes, in GFLOP/s and as a fraction of FmaPeak.
//   * Qwen3Decode / Qwen3Prefill: every matmul of one Qwen3-0.6B forward pass (28 layers + lm head, 1.2 GB of
//     bf16), i.e. the matmul-only ceiling of the end-to-end tok/s.
//   * The small ops, and the cost of one empty parallel_for.
//
// Run: fs_bench_cpu_ops [--benchmark_filter=Gemv] [--benchmark_min_time=0.5]. Threads: FS_BENCH_THREADS (default 2).
// On a shared machine, take the best of many short runs instead of the mean of one long one:
//   fs_bench_cpu_ops --benchmark_repetitions=40 --benchmark_min_time=0.02 --benchmark_report_aggregates_only=true
// and read the GB/s and GFLOP/s counters of the "_max" rows (the highest rate any repetition reached).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "model/dtype.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fs::cpu {
namespace {

// The best repetition: a "_max" row next to mean/median/stddev (for rates; its time column is the slowest run).
double best(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

int bench_threads() {
  const char* s = std::getenv("FS_BENCH_THREADS");
  return s ? std::atoi(s) : 2;
}

ThreadPool& pool() {
  static ThreadPool p(bench_threads());
  return p;
}

// Memory that is 64-byte aligned and freed automatically.
struct Buffer {
  std::unique_ptr<void, decltype(&std::free)> p{nullptr, &std::free};
  size_t bytes = 0;
  explicit Buffer(size_t n) : p(std::aligned_alloc(64, (n + 63) / 64 * 64), &std::free), bytes(n) {}
  template <class T> T* as() const { return static_cast<T*>(p.get()); }
};

std::vector<float> randoms(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A bf16 matrix of random values, copied `copies` times back to back (to read cold weights).
struct Matrix {
  int64_t rows, cols;
  int copies;
  Buffer data;
  Matrix(int64_t r, int64_t c, int copies_)
      : rows(r), cols(c), copies(copies_), data(size_t(r * c) * 2 * size_t(copies_)) {
    const std::vector<float> f = randoms(size_t(std::min<int64_t>(r * c, 1 << 20)), 1);
    auto* h = data.as<uint16_t>();
    const size_t total = size_t(r * c) * size_t(copies_);
    for (size_t i = 0; i < total; ++i) h[i] = f32_to_bf16(f[i % f.size()]);
  }
  Weight weight(int copy) const {
    return Weight{data.as<uint16_t>() + size_t(copy) * size_t(rows * cols), DType::BF16, rows, cols};
  }
};

// Enough copies that one pass reads at least 512 MB: 16× the 32 MB L3, so every weight comes from DRAM.
int cold_copies(int64_t rows, int64_t cols) {
  return int(std::max<int64_t>(2, (int64_t(512) << 20) / (rows * cols * 2) + 1));
}

// ---- the roofline ----

#if defined(__x86_64__)
// Sums n floats (so the loads cannot be optimised away); with `prefetch`, also prefetches 1 KB ahead as the GEMV
// does, which lets one core keep more misses in flight.
FS_AVX2 float read_sum(const float* p, size_t n, bool prefetch) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    if (prefetch) {
      _mm_prefetch(reinterpret_cast<const char*>(p + i) + 1024, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(p + i) + 1088, _MM_HINT_T0);
    }
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  return _mm256_cvtss_f32(s);
}

// 12 independent FMA chains: enough to cover 2 pipes × 4 cycles of latency, so the pipes, not latency, limit.
FS_AVX2 float fma_chains(int64_t iters) {
  const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(iters % 7 + i));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  return _mm256_cvtss_f32(s);
}
#else
float read_sum(const float* p, size_t n, bool) {
  float s[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += p[i + j];
  return s[0] + s[7];
}
float fma_chains(int64_t iters) { return float(iters); }
#endif

// Reads 1 GiB with `threads` threads, each its own contiguous part; the second argument turns on the prefetch.
void BM_StreamRead(benchmark::State& state) {
  const int threads = int(state.range(0));
  const bool prefetch = state.range(1) != 0;
  static Buffer buf(size_t(1) << 30);
  static bool filled = [] { std::memset(buf.as<char>(), 1, buf.bytes); return true; }();
  (void)filled;
  const size_t n = buf.bytes / 4, per = n / size_t(threads);
  ThreadPool tp(threads);
  for (auto _ : state) {
    std::vector<float> sums(static_cast<size_t>(threads));
    tp.parallel_for(0, threads, 1, [&](int64_t lo, int64_t) {
      sums[size_t(lo)] = read_sum(buf.as<float>() + size_t(lo) * per, per, prefetch);
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.bytes));
}
BENCHMARK(BM_StreamRead)->ArgsProduct({{1, 2}, {0, 1}})->UseRealTime()->Unit(benchmark::kMillisecond)->ComputeStatistics("max", best);

void BM_FmaPeak(benchmark::State& state) {
  const int threads = int(state.range(0));
  const int64_t iters = 20'000'000;
  ThreadPool tp(threads);
  for (auto _ : state) {
    tp.parallel_for(0, threads, 1, [&](int64_t, int64_t) { benchmark::DoNotOptimize(fma_chains(iters)); });
  }
  const double flops = double(iters) * 12 * 16 * threads;  // 12 FMAs × 8 lanes × 2 FLOP
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FmaPeak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->ComputeStatistics("max", best);

// ---- matmul on real shapes ----

struct Shape {
  const char* name;
  int64_t rows, cols;
};
const Shape kShapes[] = {
    {"qwen3_q", 2048, 1024},   {"qwen3_kv", 1024, 1024},  {"qwen3_o", 1024, 2048},   {"qwen3_gate_up", 3072, 1024},
    {"qwen3_down", 1024, 3072}, {"qwen3_lm_head", 151936, 1024},
    {"llama32_q_o", 2048, 2048}, {"llama32_kv", 512, 2048}, {"llama32_gate_up", 8192, 2048},
    {"llama32_down", 2048, 8192}, {"llama32_lm_head", 128256, 2048},
};

void BM_Gemv(benchmark::State& state, Shape s) {
  const Matrix m(s.rows, s.cols, cold_copies(s.rows, s.cols));
  const std::vector<float> x = randoms(size_t(s.cols), 2);
  std::vector<float> out(size_t(s.rows));
  int copy = 0;
  for (auto _ : state) {
    matmul(pool(), x.data(), 1, m.weight(copy), nullptr, out.data(), false);
    copy = (copy + 1) % m.copies;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * s.rows * s.cols * 2);
}

void BM_Gemm(benchmark::State& state, Shape s) {
  const int n = int(state.range(0));
  const Matrix m(s.rows, s.cols, cold_copies(s.rows, s.cols));
  const std::vector<float> x = randoms(size_t(n * s.cols), 2);
  std::vector<float> out(size_t(n * s.rows));
  int copy = 0;
  for (auto _ : state) {
    matmul(pool(), x.data(), n, m.weight(copy), nullptr, out.data(), false);
    copy = (copy + 1) % m.copies;
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * s.rows * s.cols * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// ---- every matmul of a Qwen3-0.6B forward pass ----

struct Qwen3Weights {
  static constexpr int kLayers = 28;
  Matrix layers[7] = {{2048, 1024, kLayers}, {1024, 1024, kLayers}, {1024, 1024, kLayers}, {1024, 2048, kLayers},
                      {3072, 1024, kLayers}, {3072, 1024, kLayers}, {1024, 3072, kLayers}};  // q k v o gate up down
  Matrix lm_head{151936, 1024, 1};
};

Qwen3Weights& qwen3() {
  static Qwen3Weights w;
  return w;
}

// One forward pass of n tokens: x [n, 3072] stands in for every activation (only the shapes matter here). The lm
// head runs on the last token only, as prefill needs.
void qwen3_matmuls(int n, const float* x, float* out) {
  Qwen3Weights& w = qwen3();
  for (int l = 0; l < Qwen3Weights::kLayers; ++l)
    for (const Matrix& m : w.layers) matmul(pool(), x, n, m.weight(l), nullptr, out, false);
  matmul(pool(), x, 1, w.lm_head.weight(0), nullptr, out, false);
}

void BM_Qwen3Matmuls(benchmark::State& state) {
  const int n = int(state.range(0));
  const std::vector<float> x = randoms(size_t(n) * 3072, 3);
  std::vector<float> out(size_t(std::max(n * 3072, 151936)));
  qwen3_matmuls(n, x.data(), out.data());  // warm up (and fault in the weights)
  for (auto _ : state) qwen3_matmuls(n, x.data(), out.data());
  double bytes = 151936.0 * 1024 * 2, flops = 2.0 * 151936 * 1024;
  for (const Matrix& m : qwen3().layers) {
    bytes += 28.0 * m.rows * m.cols * 2;
    flops += 28.0 * 2 * n * m.rows * m.cols;
  }
  state.counters["tok/s"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Qwen3Matmuls)->Name("Qwen3Decode")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Qwen3Matmuls)->Name("Qwen3Prefill")->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- the small ops, Qwen3-0.6B sizes ----

void BM_AttentionDecode(benchmark::State& state) {  // one token at position pos, 16 query heads, 8 kv heads
  const int pos = int(state.range(0)), cap = pos + 1, heads = 16, kv = 8, d = 128;
  const std::vector<float> k = randoms(size_t(cap) * kv * d, 1), v = randoms(size_t(cap) * kv * d, 2);
  const std::vector<float> q = randoms(size_t(heads) * d, 3);
  std::vector<float> out(q.size());
  const KvLayer cache{const_cast<float*>(k.data()), const_cast<float*>(v.data()), DType::F32, cap, kv * d};
  const int32_t p = pos;
  for (auto _ : state) attention(pool(), q.data(), cache, &p, 1, heads, kv, d, out.data());
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(2 * size_t(cap) * kv * d * 4));
}
BENCHMARK(BM_AttentionDecode)->Arg(127)->Arg(1023)->Arg(4095)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_AttentionPrefill(benchmark::State& state) {  // n tokens at positions 0..n-1
  const int n = int(state.range(0)), heads = 16, kv = 8, d = 128;
  const std::vector<float> k = randoms(size_t(n) * kv * d, 1), v = randoms(size_t(n) * kv * d, 2);
  const std::vector<float> q = randoms(size_t(n) * heads * d, 3);
  std::vector<float> out(q.size());
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) pos[size_t(i)] = i;
  const KvLayer cache{const_cast<float*>(k.data()), const_cast<float*>(v.data()), DType::F32, n, kv * d};
  for (auto _ : state) attention(pool(), q.data(), cache, pos.data(), n, heads, kv, d, out.data());
}
BENCHMARK(BM_AttentionPrefill)->Arg(128)->Arg(512)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Rmsnorm(benchmark::State& state) {
  const int rows = int(state.range(0)), dim = 1024;
  const std::vector<float> x = randoms(size_t(rows) * dim, 1);
  std::vector<uint16_t> w(size_t(dim), f32_to_bf16(1.f));
  std::vector<float> out(x.size());
  for (auto _ : state) rmsnorm(pool(), x.data(), Weight{w.data(), DType::BF16, 1, dim}, 1e-6f, rows, dim, out.data());
}
BENCHMARK(BM_Rmsnorm)->Arg(1)->Arg(128)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Rope(benchmark::State& state) {
  const int n = int(state.range(0)), heads = 16, d = 128;
  std::vector<float> x = randoms(size_t(n) * heads * d, 1), inv(d / 2);
  for (int j = 0; j < d / 2; ++j) inv[size_t(j)] = float(std::pow(1e6, -2.0 * j / d));
  std::vector<int32_t> pos(static_cast<size_t>(n), 100);
  for (auto _ : state) rope(pool(), x.data(), pos.data(), n, heads, d, inv.data());
}
BENCHMARK(BM_Rope)->Arg(1)->Arg(128)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Swiglu(benchmark::State& state) {
  const size_t count = size_t(state.range(0)) * 3072;
  const std::vector<float> g = randoms(count, 1), u = randoms(count, 2);
  std::vector<float> out(count);
  for (auto _ : state) swiglu(pool(), g.data(), u.data(), count, out.data());
}
BENCHMARK(BM_Swiglu)->Arg(1)->Arg(128)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_ArgmaxVocab(benchmark::State& state) {
  const std::vector<float> x = randoms(151936, 1);
  int32_t out = 0;
  for (auto _ : state) argmax(pool(), x.data(), 1, 151936, &out);
}
BENCHMARK(BM_ArgmaxVocab)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_EmptyParallelFor(benchmark::State& state) {  // the fixed cost of handing work to the pool
  for (auto _ : state) pool().parallel_for(0, 2, 1, [](int64_t, int64_t) {});
}
BENCHMARK(BM_EmptyParallelFor)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace fs::cpu

int main(int argc, char** argv) {
  using namespace fs::cpu;
  for (const Shape& s : kShapes) {
    benchmark::RegisterBenchmark((std::string("Gemv/") + s.name).c_str(), BM_Gemv, s)
        ->UseRealTime()->Unit(benchmark::kMicrosecond)->ComputeStatistics("max", best);
    benchmark::RegisterBenchmark((std::string("Gemm/") + s.name).c_str(), BM_Gemm, s)
        ->Arg(128)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond)->ComputeStatistics("max", best);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("fs_threads", std::to_string(bench_threads()));
  benchmark::AddCustomContext("fs_simd", use_avx2() ? "avx2" : "portable");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
