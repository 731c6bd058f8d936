// CpuBackend as the engine sees it: memory, upload, the name, and the same results from 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "cpu_test_util.h"

namespace fs::test {
namespace {

TEST(CpuBackend, MemoryIsAlignedAndCopiesRoundTrip) {
  auto be = make_cpu_backend(2);
  EXPECT_NE(be->name().find("cpu (2 threads"), std::string::npos) << be->name();
  for (size_t bytes : {size_t(0), size_t(1), size_t(100), size_t(4096)}) {
    void* p = be->alloc(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    std::vector<uint8_t> src(bytes), dst(bytes);
    for (size_t i = 0; i < bytes; ++i) src[i] = uint8_t(i * 7);
    be->to_device(p, src.data(), bytes);
    be->to_host(dst.data(), p, bytes);
    EXPECT_EQ(src, dst);
    be->release(p);
  }
  EXPECT_EQ(be->kv_dtype(), DType::F32);
}

TEST(CpuBackend, UploadIsZeroCopy) {
  auto be = make_cpu_backend(1);
  const OwnedWeight w = make_weight(DType::BF16, 3, 4, 1);
  const Weight up = be->upload(w.w);
  EXPECT_EQ(up.data, w.w.data);
  EXPECT_EQ(up.rows, 3);
  EXPECT_EQ(up.cols, 4);
}

// Each output element is computed by one thread with the same instruction sequence whatever the thread count,
// so 1 and 2 threads must agree bit for bit.
TEST(CpuBackend, OneAndTwoThreadsAgreeExactly) {
  auto one = make_cpu_backend(1), two = make_cpu_backend(2);
  const int n = 37, dim = 200, rows = 301, heads = 4, kv_heads = 2, d = 16, cap = 64;
  const OwnedWeight w = make_weight(DType::BF16, rows, dim, 1), bias = make_weight(DType::BF16, 1, rows, 2);
  const OwnedWeight norm = make_weight(DType::BF16, 1, dim, 3);
  const std::vector<float> x = random_floats(size_t(n) * dim, 4);

  for (int batch : {1, n}) {  // GEMV and GEMM
    std::vector<float> a = random_floats(size_t(batch) * rows, 5), b = a;
    one->matmul(x.data(), batch, w.w, &bias.w, a.data(), true);
    two->matmul(x.data(), batch, w.w, &bias.w, b.data(), true);
    EXPECT_EQ(a, b) << "matmul n=" << batch;
  }
  {
    std::vector<float> a(x.size()), b(x.size());
    one->rmsnorm(x.data(), norm.w, 1e-6f, n, dim, a.data());
    two->rmsnorm(x.data(), norm.w, 1e-6f, n, dim, b.data());
    EXPECT_EQ(a, b) << "rmsnorm";
  }
  {
    const auto k = random_floats(size_t(cap) * kv_heads * d, 6), v = random_floats(size_t(cap) * kv_heads * d, 7);
    const KvLayer cache{const_cast<float*>(k.data()), const_cast<float*>(v.data()), DType::F32, cap, kv_heads * d};
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) pos[size_t(i)] = 20 + i;
    const auto q = random_floats(size_t(n) * heads * d, 8);
    std::vector<float> a(q.size()), b(q.size());
    one->attention(q.data(), cache, pos.data(), n, heads, kv_heads, d, a.data());
    two->attention(q.data(), cache, pos.data(), n, heads, kv_heads, d, b.data());
    EXPECT_EQ(a, b) << "attention";
  }
}

}  // namespace
}  // namespace fs::test
