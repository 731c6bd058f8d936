// The CPU backend: plain RAM, weights used in place from the mmapped file, every op a call into ops.h.
//
// It is a real backend (fs run --device cpu) and the oracle the CUDA backend is checked against, so it keeps the
// KV cache in f32 and accumulates everything in f32.
#pragma once
#include <memory>
#include <string>

#include "backends/cpu/thread_pool.h"
#include "engine/backend.h"

namespace fs::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);  // threads <= 0: one per hardware thread

  std::string name() const override;

  void* alloc(size_t bytes) override;
  void release(void* p) override;
  void to_device(void* dst, const void* host_src, size_t bytes) override;
  void to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  Weight upload(const Weight& host) override { return host; }  // zero copy: kernels read the mmapped bytes
  DType kv_dtype() const override { return DType::F32; }

  void embed(const Weight& table, const int32_t* ids, int n, float* out) override;
  void rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) override;
  void matmul(const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) override;
  void rope(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) override;
  void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) override;
  void attention(const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads, int n_kv_heads,
                 int head_dim, float* out) override;
  void swiglu(const float* gate, const float* up, size_t count, float* out) override;
  void argmax(const float* x, int rows, int cols, int32_t* out) override;

  ThreadPool& pool() { return pool_; }

 private:
  ThreadPool pool_;
};

}  // namespace fs::cpu
