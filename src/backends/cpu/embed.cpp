// embed: out[i, :] = table[ids[i], :] widened to f32.            table [vocab, dim] (bf16/f16/f32); out [n, dim] f32
//
// A row gather. It is the first op of the forward pass, so it is also where a bad token id is caught: every id is
// checked against the vocabulary before anything is read.
#include <string>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

void embed(ThreadPool& pool, const Weight& table, const int32_t* ids, int n, float* out) {
  if (n < 0) throw Error("embed: negative token count " + std::to_string(n));
  for (int i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= table.rows)
      throw Error("embed: token id " + std::to_string(ids[i]) + " at batch index " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(table.rows) + ")");
  const int64_t dim = table.cols;
  const size_t row_bytes = size_t(dim) * dtype_size(table.dtype);
  const auto* base = static_cast<const unsigned char*>(table.data);
  // Copying a row is cheap: only hand rows to other threads when there are many thousands of elements.
  pool.parallel_for(0, n, pool.chunk_size(n, 1 + 32768 / (dim + 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) widen_row(base + size_t(ids[i]) * row_bytes, table.dtype, dim, out + i * dim);
  });
}

}  // namespace fs::cpu
