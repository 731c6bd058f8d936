// The CPU ops as free functions, one file each (embed.cpp, rmsnorm.cpp, ...). CpuBackend forwards to them, and the
// tests call them directly. The contract of each op is the one written in engine/backend.h; each takes the thread
// pool it may split its work over. They check their arguments and throw fs::Error on a bad one (an id outside the
// vocabulary, a position outside the cache, mismatched shapes) before any work starts.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/backend.h"

namespace fs::cpu {

class ThreadPool;

void embed(ThreadPool& pool, const Weight& table, const int32_t* ids, int n, float* out);
void rmsnorm(ThreadPool& pool, const float* x, const Weight& w, float eps, int rows, int dim, float* out);
void matmul(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out,
            bool accumulate);
void rope(ThreadPool& pool, float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq);
void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache);
void attention(ThreadPool& pool, const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
               int n_kv_heads, int head_dim, float* out);
void swiglu(ThreadPool& pool, const float* gate, const float* up, size_t count, float* out);
void argmax(ThreadPool& pool, const float* x, int rows, int cols, int32_t* out);
// logit_window.cpp: Backend::logit_window's oracle (the CPU backend itself does not offer the op)
bool logit_window(const float* x, int cols, float temperature, float window, int cap, LogitWindow& out);

}  // namespace fs::cpu
