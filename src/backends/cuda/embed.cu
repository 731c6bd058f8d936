// embed: out[i, :] = table[ids[i], :] widened to f32.            table [vocab, dim] (bf16/f16/f32), ids [n], out [n, dim]
//
// A row gather: one block per token, each thread widening a few elements. It reads n·dim elements (a few KB for
// one decode token), so it is all latency; the design only has to be simple and coalesced. An id outside
// [0, vocab) sets kErrTokenId (reported by the next to_host) and writes NaN, so a bad id can never pass silently.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

__global__ void embed_kernel(const void* table, DType dtype, int64_t vocab, int dim, const int32_t* ids,
                             float* out, unsigned* err) {
  grid_dep_launch();
  grid_dep_wait();
  const int i = blockIdx.x;
  const int32_t id = ids[i];
  float* row = out + size_t(i) * dim;
  if (id < 0 || id >= vocab) {
    if (threadIdx.x == 0) atomicOr(err, kErrTokenId);
    for (int d = threadIdx.x; d < dim; d += blockDim.x) row[d] = __int_as_float(0x7fc00000);
    return;
  }
  const size_t base = size_t(id) * dim;
  for (int d = threadIdx.x; d < dim; d += blockDim.x) row[d] = load_f32(table, dtype, base + d);
}

}  // namespace

void embed(const Ctx& c, const Weight& table, const int32_t* ids, int n, float* out) {
  launch(c, "embed", dim3(n), dim3(256), 0, embed_kernel, table.data, table.dtype, table.rows, int(table.cols), ids,
         out, c.err);
}

}  // namespace fs::cuda
