// attention on the GPU against the CPU oracle: the flash-decoding path (n <= 4) and the tiled prefill path, GQA
// group sizes 1..8, head dims 16..256, positions that do not start at 0, long context (5000), and both KV cache
// dtypes. Cache rows past the largest position are NaN on the GPU, so reading one fails the test. With a bf16
// cache the CPU gets the same bf16-rounded K and V, so the comparison measures the kernel, at kF32Tol — except the
// tensor-core kernels (bf16 cache, head_dim 64 or 128: prefill for n > 4, decode for one query with at most 8 query
// heads per kv head), which round q and the probabilities P to bf16 and are checked at kAttnTcTol. The decode cases
// also run with the tensor-core decode kernel off (the SIMT kernel, kF32Tol).
#include <algorithm>

#include "cuda_test_util.h"
#include "util/error.h"

namespace fs::test {
namespace {

struct Case {
  const char* what;
  int n_heads, n_kv_heads, head_dim;
  std::vector<int32_t> pos;
};

std::vector<int32_t> run_of(int start, int n) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = start + i;
  return p;
}

bool uses_tensor_cores(const CudaBackend& gpu, int n, int group, int head_dim) {
  if (gpu.kv_dtype() != DType::BF16 || (head_dim != 64 && head_dim != 128)) return false;
  return n > 4 || (n == 1 && group <= 8 && gpu.attn_tc());  // 4 = cuda::kDecodeMaxN
}

class CudaAttention : public CudaVsCpu {
 protected:

  void check(const Case& c, CudaBackend* gpu, uint32_t seed) {
    const DType dt = gpu->kv_dtype();
    SCOPED_TRACE(std::string(c.what) + ", KV " + dtype_name(dt));
    const int n = int(c.pos.size());
    const int maxpos = *std::max_element(c.pos.begin(), c.pos.end());
    const int cap = maxpos + 1 + 7;
    const int kv_dim = c.n_kv_heads * c.head_dim, q_dim = c.n_heads * c.head_dim;
    const size_t valid = size_t(maxpos + 1) * kv_dim, all = size_t(cap) * kv_dim;
    auto k = random_floats(valid, seed, 1.5f), v = random_floats(valid, seed + 1, 1.f);
    if (dt == DType::BF16) k = rounded_bf16(k), v = rounded_bf16(v);
    const auto q = random_floats(size_t(n) * q_dim, seed + 2, 1.f);

    Mem mc(*cpu_), mg(*gpu);
    auto padded = [&](const std::vector<float>& x, float fill) {
      std::vector<float> p(all, fill);
      std::copy(x.begin(), x.end(), p.begin());
      return p;
    };
    const KvLayer cc{mc.put(padded(k, 0.f)), mc.put(padded(v, 0.f)), DType::F32, cap, kv_dim};
    KvLayer cg{nullptr, nullptr, dt, cap, kv_dim};
    if (dt == DType::F32) {
      cg.k = mg.put(padded(k, NAN));
      cg.v = mg.put(padded(v, NAN));
    } else {
      auto bits = [&](const std::vector<float>& x) {
        std::vector<uint16_t> b(all, 0x7fc0);  // NaN past the last position
        for (size_t i = 0; i < x.size(); ++i) b[i] = f32_to_bf16(x[i]);
        return b;
      };
      cg.k = mg.put(bits(k));
      cg.v = mg.put(bits(v));
    }
    float* oc = mc.alloc<float>(size_t(n) * q_dim);
    float* og = mg.alloc<float>(size_t(n) * q_dim);
    mg.poison(og, size_t(n) * q_dim);
    cpu_->attention(mc.put(q), cc, mc.put(c.pos), n, c.n_heads, c.n_kv_heads, c.head_dim, oc);
    gpu->attention(mg.put(q), cg, mg.put(c.pos), n, c.n_heads, c.n_kv_heads, c.head_dim, og);
    EXPECT_LE(rel_l2(mg.get(og, size_t(n) * q_dim), mc.get(oc, size_t(n) * q_dim)),
              uses_tensor_cores(*gpu, n, c.n_heads / c.n_kv_heads, c.head_dim) ? kAttnTcTol : kF32Tol);
  }
};

TEST_F(CudaAttention, DecodeMatchesCpu) {
  const Case cases[] = {
      {"qwen3 decode at 0", 16, 8, 128, {0}},
      {"qwen3 decode at 100", 16, 8, 128, {100}},
      {"qwen3 decode at 200 (one split, two steps per warp)", 16, 8, 128, {200}},
      {"qwen3 decode at 4999", 16, 8, 128, {4999}},
      {"llama decode at 4999", 32, 8, 64, {4999}},
      {"llama decode at 31", 32, 8, 64, {31}},
      {"llama decode at 16383 (every split)", 32, 8, 64, {16383}},
      {"qwen3 decode at 16000", 16, 8, 128, {16000}},
      {"3 queries, scattered positions", 8, 2, 64, {10, 4000, 500}},
      {"4 queries", 16, 8, 128, {2047, 2048, 2049, 2050}},
      {"group of 8", 8, 1, 128, {1000}},
      {"group of 7", 14, 2, 64, {300}},
      {"group of 1", 4, 4, 64, {77}},
      {"head_dim 80", 4, 2, 80, {200}},
      {"head_dim 16", 4, 4, 16, {77}},
      {"head_dim 256", 2, 1, 256, {600}},
      {"head_dim 50 (no vector loads)", 2, 1, 50, {90}},
  };
  uint32_t seed = 5000;
  for (const Case& c : cases)
    for (CudaBackend* gpu : {gpu_, gpu_bf16_, gpu_simt_}) check(c, gpu, seed += 10);
}

TEST_F(CudaAttention, PrefillMatchesCpu) {
  const Case cases[] = {
      {"5 queries from 0", 16, 8, 128, run_of(0, 5)},
      {"77 queries from 100", 16, 8, 128, run_of(100, 77)},
      {"512 queries from 0 (llama)", 32, 8, 64, run_of(0, 512)},
      {"200 queries, head_dim 80", 4, 2, 80, run_of(3, 200)},
      {"40 queries, head_dim 256, group of 8", 8, 1, 256, run_of(60, 40)},
      {"33 queries continuing a 5000-token cache", 16, 8, 128, run_of(4967, 33)},
      {"130 queries from 1 (llama shape, partial last block)", 32, 8, 64, run_of(1, 130)},
      {"70 queries, group of 1, head_dim 128", 4, 4, 128, run_of(500, 70)},
  };
  uint32_t seed = 6000;
  for (const Case& c : cases)
    for (CudaBackend* gpu : {gpu_, gpu_bf16_}) check(c, gpu, seed += 10);
}

TEST_F(CudaAttention, PositionPastCapacityIsReported) {
  Mem mg(*gpu_);
  const int cap = 8, kv_dim = 64;
  const KvLayer cg{mg.alloc<float>(cap * kv_dim), mg.alloc<float>(cap * kv_dim), DType::F32, cap, kv_dim};
  float* q = mg.put(random_floats(8 * 64, 1, 1.f));
  float* out = mg.alloc<float>(8 * 64);
  float x;
  gpu_->attention(q, cg, mg.put(std::vector<int32_t>{8}), 1, 1, 1, 64, out);
  EXPECT_THROW(gpu_->to_host(&x, out, 4), Error);
  gpu_->attention(q, cg, mg.put(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 9}), 8, 1, 1, 64, out);
  EXPECT_THROW(gpu_->to_host(&x, out, 4), Error);
  // The tensor-core decode kernel (bf16 cache, one query) checks too.
  Mem mb(*gpu_bf16_);
  const KvLayer cb{mb.alloc<uint16_t>(cap * kv_dim), mb.alloc<uint16_t>(cap * kv_dim), DType::BF16, cap, kv_dim};
  float* qb = mb.put(random_floats(8 * 64, 2, 1.f));
  float* ob = mb.alloc<float>(8 * 64);
  gpu_bf16_->attention(qb, cb, mb.put(std::vector<int32_t>{8}), 1, 1, 1, 64, ob);
  EXPECT_THROW(gpu_bf16_->to_host(&x, ob, 4), Error);
}

}  // namespace
}  // namespace fs::test
