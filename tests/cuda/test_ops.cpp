// The small CUDA ops against the CPU oracle: embed, rmsnorm, swiglu, rope, kv_store, argmax, logit_window, plus the
// backend's error reporting (bad token ids, positions past the cache).
#include <algorithm>
#include <cmath>

#include "backends/cpu/ops.h"
#include "cuda_test_util.h"
#include "util/error.h"

namespace fs::test {
namespace {

class CudaOps : public CudaVsCpu {};

TEST_F(CudaOps, NameAndKvDtype) {
  EXPECT_EQ(gpu_->name().rfind("cuda (", 0), 0u) << gpu_->name();
  EXPECT_EQ(gpu_->kv_dtype(), DType::F32);
  EXPECT_EQ(gpu_bf16_->kv_dtype(), DType::BF16);
  EXPECT_EQ(make_cuda_backend()->kv_dtype(), DType::BF16);
}

TEST_F(CudaOps, EmbedGathersRowsExactly) {
  uint32_t seed = 100;
  for (DType dt : {DType::BF16, DType::F16, DType::F32})
    for (int dim : {77, 1024})
      for (int n : {1, 7}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " dim " + std::to_string(dim) + " n " + std::to_string(n));
        const int vocab = 1000;
        HostWeight t = make_weight(vocab, dim, dt, seed++, 1.f);
        std::vector<int32_t> ids = {999, 0, 5, 999, 123, 7, 998};
        ids.resize(size_t(n));
        Mem mc(*cpu_), mg(*gpu_);
        const Weight tc = cpu_->upload(t.w), tg = gpu_->upload(t.w);
        float* oc = mc.alloc<float>(size_t(n) * dim);
        float* og = mg.alloc<float>(size_t(n) * dim);
        mg.poison(og, size_t(n) * dim);
        cpu_->embed(tc, mc.put(ids), n, oc);
        gpu_->embed(tg, mg.put(ids), n, og);
        EXPECT_EQ(rel_l2(mg.get(og, size_t(n) * dim), mc.get(oc, size_t(n) * dim)), 0.0);
      }
}

TEST_F(CudaOps, EmbedBadIdIsReportedAtToHost) {
  HostWeight t = make_weight(10, 64, DType::BF16, 1);
  const Weight tg = gpu_->upload(t.w);
  Mem mg(*gpu_);
  float* out = mg.alloc<float>(2 * 64);
  gpu_->embed(tg, mg.put(std::vector<int32_t>{3, 10}), 2, out);
  std::vector<float> host(2 * 64);
  EXPECT_THROW(gpu_->to_host(host.data(), out, host.size() * 4), Error);
  // The error is reported once; the backend stays usable.
  gpu_->embed(tg, mg.put(std::vector<int32_t>{3, 9}), 2, out);
  EXPECT_NO_THROW(gpu_->to_host(host.data(), out, host.size() * 4));
  gpu_->embed(tg, mg.put(std::vector<int32_t>{-1}), 1, out);
  EXPECT_THROW(gpu_->to_host(host.data(), out, 4), Error);
}

// read_async / wait_read (the greedy token's read-back: a kernel writes the bytes and the error word into mapped
// pinned memory): both slots return their bytes, a slot keeps its bytes until read, and a kernel's error queued
// before a read is reported by wait_read, once.
TEST_F(CudaOps, ReadAsyncReturnsBytesAndReportsErrors) {
  Mem mg(*gpu_);
  std::vector<int32_t> v = {11, -22, 33, 44};
  const int32_t* d = mg.put(v);
  gpu_->read_async(0, d, 16);
  gpu_->read_async(1, d + 2, 4);
  int32_t got[4] = {0, 0, 0, 0}, one = 0;
  gpu_->wait_read(1, &one, 4);
  gpu_->wait_read(0, got, 16);
  EXPECT_EQ(std::vector<int32_t>(got, got + 4), v);
  EXPECT_EQ(one, 33);

  HostWeight t = make_weight(10, 64, DType::BF16, 2);
  const Weight tg = gpu_->upload(t.w);
  float* out = mg.alloc<float>(64);
  gpu_->embed(tg, mg.put(std::vector<int32_t>{10}), 1, out);  // out of range: sets the error word
  gpu_->read_async(0, d, 4);
  EXPECT_THROW(gpu_->wait_read(0, &one, 4), Error);
  gpu_->read_async(1, d + 3, 4);
  EXPECT_NO_THROW(gpu_->wait_read(1, &one, 4));
  EXPECT_EQ(one, 44);
}

TEST_F(CudaOps, RmsnormMatchesCpu) {
  struct Case {
    int rows, dim;
  };
  uint32_t seed = 200;
  for (const Case cs : {Case{1, 1024}, Case{77, 2048}, Case{48, 128}, Case{5, 77}, Case{3, 300}, Case{1, 8192}})
    for (DType dt : {DType::BF16, DType::F16, DType::F32})
      for (bool in_place : {false, true}) {
        SCOPED_TRACE("rows " + std::to_string(cs.rows) + " dim " + std::to_string(cs.dim) + " " + dtype_name(dt) +
                     (in_place ? " in place" : ""));
        const size_t count = size_t(cs.rows) * cs.dim;
        const auto x = random_floats(count, seed++, 3.f);
        HostWeight w = make_weight(1, cs.dim, dt, seed++, 1.f);
        Mem mc(*cpu_), mg(*gpu_);
        float* xc = mc.put(x);
        float* xg = mg.put(x);
        float* oc = in_place ? xc : mc.alloc<float>(count);
        float* og = in_place ? xg : mg.alloc<float>(count);
        if (!in_place) mg.poison(og, count);
        cpu_->rmsnorm(xc, cpu_->upload(w.w), 1e-6f, cs.rows, cs.dim, oc);
        gpu_->rmsnorm(xg, gpu_->upload(w.w), 1e-6f, cs.rows, cs.dim, og);
        EXPECT_LE(rel_l2(mg.get(og, count), mc.get(oc, count)), kF32Tol);
      }
}

TEST_F(CudaOps, SwigluMatchesCpu) {
  uint32_t seed = 300;
  for (size_t count : {size_t(1), size_t(77 * 3 + 1), size_t(3072), size_t(8192 * 5)}) {
    SCOPED_TRACE("count " + std::to_string(count));
    const auto g = random_floats(count, seed++, 4.f), u = random_floats(count, seed++, 2.f);
    Mem mc(*cpu_), mg(*gpu_);
    float* oc = mc.alloc<float>(count);
    float* og = mg.alloc<float>(count);
    mg.poison(og, count);
    cpu_->swiglu(mc.put(g), mc.put(u), count, oc);
    gpu_->swiglu(mg.put(g), mg.put(u), count, og);
    EXPECT_LE(rel_l2(mg.get(og, count), mc.get(oc, count)), kF32Tol);
  }
}

std::vector<float> inv_freq(int head_dim, float theta) {
  std::vector<float> f(size_t(head_dim / 2));
  for (int j = 0; j < head_dim / 2; ++j) f[size_t(j)] = 1.f / std::pow(theta, float(2 * j) / float(head_dim));
  return f;
}

TEST_F(CudaOps, RopeMatchesCpu) {
  struct Case {
    int n, heads, hd;
    std::vector<int32_t> pos;
  };
  const Case cases[] = {
      {1, 16, 128, {0}},
      {1, 8, 128, {16383}},
      {3, 2, 80, {40000, 12345, 7}},
      {77, 8, 64, {}},
  };
  uint32_t seed = 400;
  for (Case cs : cases) {
    if (cs.pos.empty())
      for (int i = 0; i < cs.n; ++i) cs.pos.push_back(100 + i);
    SCOPED_TRACE("n " + std::to_string(cs.n) + " heads " + std::to_string(cs.heads) + " hd " + std::to_string(cs.hd));
    const size_t count = size_t(cs.n) * cs.heads * cs.hd;
    const auto x = random_floats(count, seed++, 1.f);
    const auto f = inv_freq(cs.hd, 1e6f);
    Mem mc(*cpu_), mg(*gpu_);
    float* xc = mc.put(x);
    float* xg = mg.put(x);
    cpu_->rope(xc, mc.put(cs.pos), cs.n, cs.heads, cs.hd, mc.put(f));
    gpu_->rope(xg, mg.put(cs.pos), cs.n, cs.heads, cs.hd, mg.put(f));
    EXPECT_LE(rel_l2(mg.get(xg, count), mc.get(xc, count)), kF32Tol);
  }
}

TEST_F(CudaOps, KvStoreWritesTheRightRows) {
  const int kv_dim = 256, cap = 10;
  const std::vector<int32_t> pos = {3, 0, 9, 4, 7};
  const int n = int(pos.size());
  const auto k = random_floats(size_t(n) * kv_dim, 500, 1.f), v = random_floats(size_t(n) * kv_dim, 501, 1.f);
  const auto init = random_floats(size_t(cap) * kv_dim, 502, 1.f);  // rows nobody writes must stay as they were
  // CPU reference.
  Mem mc(*cpu_);
  float* kc = mc.put(init);
  float* vc = mc.put(init);
  cpu_->kv_store(mc.put(k), mc.put(v), mc.put(pos), n, KvLayer{kc, vc, DType::F32, cap, kv_dim});
  const auto want_k = mc.get(kc, size_t(cap) * kv_dim), want_v = mc.get(vc, size_t(cap) * kv_dim);

  for (CudaBackend* gpu : {gpu_, gpu_bf16_}) {
    const DType dt = gpu->kv_dtype();
    SCOPED_TRACE(dtype_name(dt));
    Mem mg(*gpu);
    const size_t elems = size_t(cap) * kv_dim;
    void *kg, *vg;
    if (dt == DType::F32) {
      kg = mg.put(init), vg = mg.put(init);
    } else {
      std::vector<uint16_t> b(elems);
      for (size_t i = 0; i < elems; ++i) b[i] = f32_to_bf16(init[i]);
      kg = mg.put(b), vg = mg.put(b);
    }
    gpu->kv_store(mg.put(k), mg.put(v), mg.put(pos), n, KvLayer{kg, vg, dt, cap, kv_dim});
    for (int which = 0; which < 2; ++which) {
      const auto& want = which == 0 ? want_k : want_v;
      void* got_p = which == 0 ? kg : vg;
      std::vector<float> got(elems);
      if (dt == DType::F32) {
        got = mg.get(static_cast<float*>(got_p), elems);
      } else {
        const auto b = mg.get(static_cast<uint16_t*>(got_p), elems);
        for (size_t i = 0; i < elems; ++i) got[i] = bf16_to_f32(b[i]);
      }
      // f32: bit-exact; bf16: exactly the round-to-nearest-even of the f32 value.
      for (size_t i = 0; i < elems; ++i) {
        const float expect = dt == DType::F32 ? want[i] : round_bf16(want[i]);
        ASSERT_EQ(got[i], expect) << "element " << i << (which == 0 ? " of K" : " of V");
      }
    }
  }
}

TEST_F(CudaOps, KvStoreBadPositionIsReported) {
  Mem mg(*gpu_);
  float* k = mg.alloc<float>(64);
  float* cache = mg.alloc<float>(4 * 64);
  gpu_->kv_store(k, k, mg.put(std::vector<int32_t>{4}), 1, KvLayer{cache, cache, DType::F32, 4, 64});
  float x;
  EXPECT_THROW(gpu_->to_host(&x, cache, 4), Error);
}

TEST_F(CudaOps, ArgmaxMatchesCpuAndKeepsTheFirstTie) {
  struct Case {
    int rows, cols;
  };
  uint32_t seed = 600;
  for (const Case cs : {Case{1, 151936}, Case{1, 128256}, Case{3, 50000}, Case{3, 1001}, Case{40, 5000}, Case{2, 7}}) {
    SCOPED_TRACE("rows " + std::to_string(cs.rows) + " cols " + std::to_string(cs.cols));
    auto x = random_floats(size_t(cs.rows) * cs.cols, seed++, 3.f);
    // Row r gets its maximum twice, at a late and an early column: the early one must win.
    for (int r = 0; r < cs.rows; ++r) {
      const int early = (r * 7919) % cs.cols, late = cs.cols - 1 - (r % 3);
      x[size_t(r) * cs.cols + size_t(std::min(early, late))] = 100.f;
      x[size_t(r) * cs.cols + size_t(std::max(early, late))] = 100.f;
    }
    Mem mc(*cpu_), mg(*gpu_);
    int32_t* oc = mc.alloc<int32_t>(size_t(cs.rows));
    int32_t* og = mg.alloc<int32_t>(size_t(cs.rows));
    const std::vector<int32_t> junk(size_t(cs.rows), -5);
    gpu_->to_device(og, junk.data(), junk.size() * 4);
    cpu_->argmax(mc.put(x), cs.rows, cs.cols, oc);
    gpu_->argmax(mg.put(x), cs.rows, cs.cols, og);
    EXPECT_EQ(mg.get(og, size_t(cs.rows)), mc.get(oc, size_t(cs.rows)));
  }
}

// The head of a sampling distribution: the same largest z and the same window of ids as the CPU (both divide by T
// with IEEE division), and the denominator within f32 summation error (its order differs: blocks, then the host).
// The GPU's candidate buffers are poisoned first (a previous call with other logits fills them).
TEST_F(CudaOps, LogitWindowMatchesCpu) {
  struct Case {
    int cols;
    float temperature, window;
    int cap;
  };
  uint32_t seed = 700;
  for (const Case cs : {Case{151936, 0.6f, 12.f, 16384}, Case{128256, 1.0f, 3.f, 16384}, Case{1001, 0.7f, 50.f, 4096},
                        Case{5, 2.0f, 0.f, 16}, Case{50000, 1.0f, 40.f, 100}}) {
    SCOPED_TRACE("cols " + std::to_string(cs.cols) + " window " + std::to_string(cs.window));
    const auto x = random_floats(size_t(cs.cols), seed++, 3.f);
    Mem mg(*gpu_);
    LogitWindow wc, wg;
    const bool okc = cpu::logit_window(x.data(), cs.cols, cs.temperature, cs.window, cs.cap, wc);
    wg.cands.assign(3, {NAN, -7});
    const bool okg = gpu_->logit_window(mg.put(x), cs.cols, cs.temperature, cs.window, cs.cap, wg);
    ASSERT_EQ(okg, okc);
    if (!okc) continue;  // more than cap ids in the window: both refuse
    EXPECT_EQ(wg.max, wc.max);
    EXPECT_NEAR(wg.sum, wc.sum, 1e-5 * wc.sum);
    EXPECT_EQ(wg.complete, wc.complete);
    auto by_id = [](const auto& a, const auto& b) { return a.second < b.second; };
    std::sort(wg.cands.begin(), wg.cands.end(), by_id);
    EXPECT_EQ(wg.cands, wc.cands);  // (z, id) pairs, bit for bit
    EXPECT_FALSE(wc.cands.empty());
  }
}

}  // namespace
}  // namespace fs::test
