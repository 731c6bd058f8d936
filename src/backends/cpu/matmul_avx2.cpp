// matmul on x86 with AVX2 + FMA (+ F16C): a blocked, register-tiled GEMM whose n = 1 case is a streaming GEMV.
//
// Both operands are stored "k-contiguous": a token's activations x[t, :] and a weight row W[r, :] each run along the
// reduction index k. So the micro-kernel is a block of dot products: it keeps a T × R tile of 8-lane accumulators
// (T tokens × R weight rows) and walks k 16 elements at a time,
//
//        k →  16 at a time                          acc[t][r] += x[t, k..k+8) ⊙ W[r, k..k+8)   (8 lanes, FMA)
//   x[t0] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   ┐
//   x[t1] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   │ T = 3 tokens     one widened weight vector feeds T FMAs,
//   x[t2] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   ┘                  one x vector feeds R FMAs
//   W[r0] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   ┐
//   W[r1] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   │ R = 3 rows       9 accumulators + 3 weights + 1 x + 1 mask = 14 of 16 registers
//   W[r2] ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ ...   ┘
//
// and at the end reduces each accumulator's 8 lanes to one output. Per 16 k: 18 FMAs, 12 loads, 6 widening ops,
// which keeps both FMA pipes of a Zen 3 core busy. (A 4 × 3 tile would leave no register for x: GCC then folds
// every x load into its FMA, 30 loads per 24 FMAs, and runs at ~55% of the 3 × 3 tile's speed.)
//
// Widening bf16 → f32 costs one integer op per 8 weights: a 32-byte load holds 16 bf16 as 8 pairs; shifting each
// 32-bit pair left by 16 gives the even elements as f32, masking off its low half gives the odd ones. The x rows
// are packed once per call in the same even/odd order (pack_tile), so the dot products still line up. f16 widens
// with F16C's vcvtph2ps and f32 needs nothing; both keep x in natural order.
//
// Cache blocking: a k-block of 1024 keeps a tile's x (3 · 1024 · 4 B = 12 KB) in L1 while every weight row of the
// block reuses it, and a block of ≤ 96 weight rows (96 · 1024 · 2 B = 192 KB) stays in L2 while every token tile
// passes over it. Threads claim blocks of output rows. For n = 1 there is nothing to reuse: the GEMV (gemv_row)
// streams the weights row after row, and its speed is the memory bandwidth.
#include "backends/cpu/matmul_internal.h"

#if FS_HAVE_X86_SIMD
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "backends/cpu/avx2_math.h"
#include "backends/cpu/thread_pool.h"

namespace fs::cpu {

namespace {

constexpr int kTileTokens = 3;    // T of the GEMM tile
constexpr int kTileRows = 3;      // R of the GEMM tile
constexpr int kGemvPrefetch = 1024;       // GEMV: prefetch this many bytes ahead of the weight being read
constexpr int64_t kBlockK = 1024;         // k-block of the GEMM: a tile's x (3 · 1024 · 4 B = 12 KB) fits in L1
constexpr int64_t kMaxBlockRows = 96;     // weight rows per GEMM work item: 96 · 1024 · 2 B = 192 KB, fits in L2

// ---- widening 16 weights into two f32 vectors, lo and hi ----
// x must be packed so that its lo/hi halves hold the matching k's (Deinterleave: even/odd; else first/second 8).

struct Bf16 {
  static constexpr int kBytes = 32;  // bytes of weights per 16 k
  static constexpr bool kDeinterleave = true;
  static FS_AVX2 __m256 lo(const char* p) {  // elements 0, 2, 4, .., 14
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), 16));
  }
  static FS_AVX2 __m256 hi(const char* p) {  // elements 1, 3, 5, .., 15
    const __m256i pairs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(int(0xffff0000u))));
  }
};

struct F16 {
  static constexpr int kBytes = 32;
  static constexpr bool kDeinterleave = false;
  static FS_AVX2 __m256 lo(const char* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static FS_AVX2 __m256 hi(const char* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  }
};

struct F32 {
  static constexpr int kBytes = 64;
  static constexpr bool kDeinterleave = false;
  static FS_AVX2 __m256 lo(const char* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static FS_AVX2 __m256 hi(const char* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + 8); }
};

// ---- packing x ----
// A tile of T tokens, for the first k16 (a multiple of 16) columns, becomes chunks of T · 16 floats:
//   [t0 lo(8) | t0 hi(8) | t1 lo | t1 hi | ... ]  for k = 0..15, then the same for k = 16..31, ...
// so the micro-kernel reads x strictly sequentially.
template <bool Deinterleave>
FS_AVX2 void pack_tile(const float* x, int64_t K, int T, int64_t k16, float* dst) {
  for (int64_t k = 0; k < k16; k += 16) {
    for (int t = 0; t < T; ++t, dst += 16) {
      const __m256 a = _mm256_loadu_ps(x + t * K + k), b = _mm256_loadu_ps(x + t * K + k + 8);
      if (Deinterleave) {
        // shuffle: [a0 a2 b0 b2 | a4 a6 b4 b6]; the 64-bit permute then orders it a0 a2 a4 a6 b0 b2 b4 b6.
        const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        const __m256 odd = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        _mm256_storeu_ps(dst, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_storeu_ps(dst + 8, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), _MM_SHUFFLE(3, 1, 2, 0))));
      } else {
        _mm256_storeu_ps(dst, a);
        _mm256_storeu_ps(dst + 8, b);
      }
    }
  }
}

// ---- horizontal sums ----

// [Σa, Σb, Σc, Σd] in one go: three horizontal adds and one cross-lane add instead of four separate reductions.
// Every output is reduced in this same order, ((v0+v1) + (v2+v3)) + ((v4+v5) + (v6+v7)), whichever tile shape
// computed it, so results do not depend on how rows were split between threads.
FS_AVX2 inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// sums[i] = Σ lanes of acc[i], four at a time (N is a multiple of 4).
template <int N>
FS_AVX2 inline void reduce(const __m256* acc, float* sums) {
  static_assert(N % 4 == 0);
  for (int i = 0; i < N; i += 4) _mm_storeu_ps(sums + i, hsum4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3]));
}

// ---- the micro-kernel ----
// sums[t · R + r] = Σ_k x[t, k] · W[r, k] over `chunks` · 16 k's. xp: the packed tile; w: row 0 of the R rows,
// at the block's first k; stride: bytes from one weight row to the next. sums has room for T · R rounded up to 4
// (the reduction works on groups of four accumulators; the padding ones stay zero).
template <class W, int T, int R>
FS_AVX2 void tile(const float* xp, const char* w, int64_t stride, int64_t chunks, float* sums) {
  constexpr int kPadded = (T * R + 3) / 4 * 4;
  __m256 acc[kPadded];
  for (int i = 0; i < kPadded; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c, xp += T * 16, w += W::kBytes) {
    __m256 wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = W::lo(w + r * stride);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      __m256 xv = _mm256_loadu_ps(xp + t * 16);
      asm("" : "+x"(xv));  // keep x in a register: otherwise GCC folds this load into each of the R FMAs
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[t * R + r] = _mm256_fmadd_ps(wv[r], xv, acc[t * R + r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = W::hi(w + r * stride);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      __m256 xv = _mm256_loadu_ps(xp + t * 16 + 8);
      asm("" : "+x"(xv));
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[t * R + r] = _mm256_fmadd_ps(wv[r], xv, acc[t * R + r]);
    }
  }
  reduce<kPadded>(acc, sums);
}

using TileFn = void (*)(const float* xp, const char* w, int64_t stride, int64_t chunks, float* sums);

// tile<W, T, R> for T = tokens (1 ≤ tokens ≤ kTileTokens).
template <class W, int R, int T = 1>
TileFn tile_for_tokens(int tokens) {
  if constexpr (T < kTileTokens) {
    if (tokens > T) return tile_for_tokens<W, R, T + 1>(tokens);
  }
  return tile<W, T, R>;
}

template <class W>
TileFn pick_tile(int T, int R) {
  return R == kTileRows ? tile_for_tokens<W, kTileRows>(T) : tile_for_tokens<W, 1>(T);
}

// ---- the GEMV kernel (n = 1) ----
// Σ_k x[k] · W[r, k] for one row, over `chunks` · 16 k's. One row at a time, with four accumulators along k (so
// the FMA latency never stalls the loop): the rows of a work item are contiguous, so the weights are read as one
// sequential stream. A single core cannot keep enough cache-line misses in flight on its own (each 32 bytes of
// bf16 costs ~7 instructions, which fills the out-of-order window long before the memory latency is covered), so
// the loop also prefetches kGemvPrefetch bytes ahead; that is worth 10-15% of bandwidth here.
template <class W>
FS_AVX2 float gemv_row(const float* xp, const char* w, int64_t chunks) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t c = 0;
  for (; c + 2 <= chunks; c += 2, xp += 32, w += 2 * W::kBytes) {
    for (int b = 0; b < 2 * W::kBytes; b += 64) _mm_prefetch(w + b + kGemvPrefetch, _MM_HINT_T0);
    a0 = _mm256_fmadd_ps(W::lo(w), _mm256_loadu_ps(xp), a0);
    a1 = _mm256_fmadd_ps(W::hi(w), _mm256_loadu_ps(xp + 8), a1);
    a2 = _mm256_fmadd_ps(W::lo(w + W::kBytes), _mm256_loadu_ps(xp + 16), a2);
    a3 = _mm256_fmadd_ps(W::hi(w + W::kBytes), _mm256_loadu_ps(xp + 24), a3);
  }
  if (c < chunks) {
    a0 = _mm256_fmadd_ps(W::lo(w), _mm256_loadu_ps(xp), a0);
    a1 = _mm256_fmadd_ps(W::hi(w), _mm256_loadu_ps(xp + 8), a1);
  }
  return hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// ---- the blocked loops ----

struct Problem {
  const float* x;   // [n, K], for the k's past the last multiple of 16
  const float* xp;  // packed tiles: the tile that starts at token t0 starts at xp + t0 · k16
  int n;
  int64_t N, K, k16;
  const char* w;
  int64_t stride;  // bytes per weight row
  DType dtype;
  const Weight* bias;
  float* out;
  bool accumulate;
};

// Σ x[token, k] · W[row, k] over the k's the 16-wide kernels leave over (K not a multiple of 16).
float tail_dot(const Problem& p, int64_t token, int64_t row) {
  float s = 0.f;
  for (int64_t k = p.k16; k < p.K; ++k) s += p.x[token * p.K + k] * load_as_f32(p.w, p.dtype, size_t(row * p.K + k));
  return s;
}

// Writes one tile's sums into out. The first k-block starts from the bias / residual; the last adds the tail.
void store_tile(const Problem& p, int t0, int T, int64_t r0, int rows, const float* sums, bool first, bool last) {
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < rows; ++i) {
      const int64_t row = r0 + i;
      const float s = sums[t * rows + i] + (last ? tail_dot(p, t0 + t, row) : 0.f);
      float* o = p.out + int64_t(t0 + t) * p.N + row;
      *o = first ? matmul_output_base(o, p.accumulate, p.bias, row) + s : *o + s;
    }
  }
}

// GEMV, output rows [r0, r1): one dot product per row over the whole of K.
template <class W>
void gemv_rows(const Problem& p, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float s = gemv_row<W>(p.xp, p.w + r * p.stride, p.k16 / 16) + (p.k16 < p.K ? tail_dot(p, 0, r) : 0.f);
    p.out[r] = matmul_output_base(p.out + r, p.accumulate, p.bias, r) + s;
  }
}

// GEMM, output rows [r0, r1): for each k-block, each token tile, each group of R weight rows: one micro-kernel call.
template <class W>
void gemm_rows(const Problem& p, int64_t r0, int64_t r1) {
  constexpr int R = kTileRows;
  float sums[(kTileTokens * R + 3) / 4 * 4];
  float single[(kTileTokens + 3) / 4 * 4];
  for (int64_t k0 = 0; k0 == 0 || k0 < p.k16; k0 += kBlockK) {
    const int64_t k1 = std::min(k0 + kBlockK, p.k16), chunks = (k1 - k0) / 16;
    const bool first = k0 == 0, last = k1 == p.k16;
    for (int t0 = 0; t0 < p.n; t0 += kTileTokens) {
      const int T = std::min(kTileTokens, p.n - t0);
      const float* xt = p.xp + int64_t(t0) * p.k16 + k0 * T;
      const TileFn full = pick_tile<W>(T, R), one_row = pick_tile<W>(T, 1);
      for (int64_t r = r0; r < r1; r += R) {
        const char* wr = p.w + r * p.stride + k0 / 16 * W::kBytes;
        const int rows = int(std::min<int64_t>(R, r1 - r));
        if (rows == R) {
          full(xt, wr, p.stride, chunks, sums);
        } else {  // the last few rows of the matrix, one at a time
          for (int i = 0; i < rows; ++i) {
            one_row(xt, wr + i * p.stride, p.stride, chunks, single);
            for (int t = 0; t < T; ++t) sums[t * rows + i] = single[t];
          }
        }
        store_tile(p, t0, T, r, rows, sums, first, last);
      }
    }
  }
}

template <class W>
void run(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) {
  const int64_t N = w.rows, K = w.cols, k16 = K / 16 * 16;
  // The caller's buffer, reused from call to call. The workers must see the caller's copy, so they get a plain
  // pointer to it: naming the thread_local inside the lambdas would give each worker its own, empty one.
  thread_local std::vector<float> packed_storage;
  packed_storage.resize(size_t(n) * size_t(k16));
  float* const packed = packed_storage.data();
  const int tiles = (n + kTileTokens - 1) / kTileTokens;
  pool.parallel_for(0, tiles, pool.chunk_size(tiles, 1 + 16384 / (k16 + 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      const int t0 = int(j) * kTileTokens, T = std::min(kTileTokens, n - t0);
      pack_tile<W::kDeinterleave>(x + t0 * K, K, T, k16, packed + t0 * k16);
    }
  });

  const Problem p{x, packed, n, N, K, k16, static_cast<const char*>(w.data),
                  K * int64_t(dtype_size(w.dtype)), w.dtype, bias, out, accumulate};
  if (n == 1) {  // GEMV: a few large row ranges per thread, each one long sequential stream
    pool.parallel_for(0, N, pool.chunk_size(N, 64, 8), [&](int64_t lo, int64_t hi) { gemv_rows<W>(p, lo, hi); });
  } else {       // GEMM: blocks of rows whose weights fit in L2
    const int64_t chunk = std::min(pool.chunk_size(N, 4 * kTileRows, 8, kTileRows), kMaxBlockRows);
    pool.parallel_for(0, N, chunk, [&](int64_t lo, int64_t hi) { gemm_rows<W>(p, lo, hi); });
  }
}

}  // namespace

void matmul_avx2(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out,
                 bool accumulate) {
  switch (w.dtype) {
    case DType::BF16: return run<Bf16>(pool, x, n, w, bias, out, accumulate);
    case DType::F16: return run<F16>(pool, x, n, w, bias, out, accumulate);
    case DType::F32: return run<F32>(pool, x, n, w, bias, out, accumulate);
  }
}

}  // namespace fs::cpu

#endif  // FS_HAVE_X86_SIMD
