// CudaBackend: memory, the stream, graph recording, error reporting, and the dispatch from each Backend op to the
// launchers in the op files (ops.h). The arguments the interface lets a caller get wrong are checked here, on the
// host, and reported as fs::Error naming the op and the argument; the kernels assume they hold.
#include "backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/cuda/ops.h"
#include "util/error.h"

namespace fs {
namespace cuda {

void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(std::string("CUDA error: ") + call + " failed: " + cudaGetErrorString(e) + " (" +
              (base ? base + 1 : file) + ":" + std::to_string(line) + ")");
}

}  // namespace cuda

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("cuda backend: " + what);
}

void check_weight(const Weight& w, const char* op, const char* name) {
  require(w.data != nullptr, std::string(op) + ": " + name + " has no data");
  require(w.rows > 0 && w.cols > 0, std::string(op) + ": " + name + " has shape [" + std::to_string(w.rows) +
                                        ", " + std::to_string(w.cols) + "]");
}

void check_vector(const Weight& w, int64_t len, const char* op, const char* name) {
  check_weight(w, op, name);
  require(w.rows * w.cols == len, std::string(op) + ": " + name + " has " + std::to_string(w.rows * w.cols) +
                                      " elements, expected " + std::to_string(len));
}

void check_cache(const KvLayer& c, const char* op) {
  require(c.k && c.v, std::string(op) + ": KV cache layer has no memory");
  require(c.dtype == DType::F32 || c.dtype == DType::BF16,
          std::string(op) + ": KV cache dtype " + dtype_name(c.dtype) + " is not supported (F32 or BF16)");
  require(c.capacity > 0 && c.kv_dim > 0, std::string(op) + ": KV cache layer has capacity " +
                                              std::to_string(c.capacity) + ", kv_dim " + std::to_string(c.kv_dim));
}

// Carves one allocation into aligned pieces.
struct Carver {
  char* base;
  size_t used = 0;
  template <typename T>
  T* take(size_t count) {
    used = (used + 255) & ~size_t(255);
    T* p = reinterpret_cast<T*>(base ? base + used : nullptr);
    used += count * sizeof(T);
    return p;
  }
};

cuda::Workspace carve(char* base, size_t* bytes) {
  Carver c{base};
  cuda::Workspace ws;
  ws.attn_o = c.take<float>(size_t(cuda::kDecodeMaxN) * cuda::kMaxQDim * cuda::kMaxSplits);
  ws.attn_ml = c.take<float>(size_t(cuda::kDecodeMaxN) * cuda::kMaxHeads * cuda::kMaxSplits * 2);
  ws.attn_count = c.take<unsigned>(size_t(cuda::kDecodeMaxN) * cuda::kMaxKvHeads);
  ws.amax_val = c.take<float>(size_t(cuda::kArgmaxSplitRows) * cuda::kArgmaxMaxBlocks);
  ws.amax_idx = c.take<int>(size_t(cuda::kArgmaxSplitRows) * cuda::kArgmaxMaxBlocks);
  ws.amax_count = c.take<unsigned>(cuda::kArgmaxSplitRows);
  *bytes = c.used;
  return ws;
}

}  // namespace

CudaBackend::CudaBackend(const CudaOptions& opts) : opts_(opts), ws_(std::make_unique<cuda::Workspace>()) {
  require(opts.kv_dtype == DType::F32 || opts.kv_dtype == DType::BF16,
          std::string("CudaOptions.kv_dtype must be F32 or BF16, not ") + dtype_name(opts.kv_dtype));
  int count = 0;
  FS_CUDA(cudaGetDeviceCount(&count));
  require(count > 0, "no CUDA device found");
  FS_CUDA(cudaSetDevice(device_));
  cudaDeviceProp prop;
  FS_CUDA(cudaGetDeviceProperties(&prop, device_));
  require(prop.major >= 9, std::string("needs a GPU of compute capability 9.0 or newer (Hopper); device 0, ") +
                               prop.name + ", is " + std::to_string(prop.major) + "." + std::to_string(prop.minor));
  sms_ = prop.multiProcessorCount;
  name_ = std::string("cuda (") + prop.name + ")";
  try {
    cudaStream_t s = nullptr;
    FS_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream_ = s;
    FS_CUDA(cudaMalloc(&dev_err_, sizeof(unsigned)));
    FS_CUDA(cudaMemsetAsync(dev_err_, 0, sizeof(unsigned), stream_));
    FS_CUDA(cudaMallocHost(&host_err_, sizeof(unsigned)));
    size_t bytes = 0;
    carve(nullptr, &bytes);
    FS_CUDA(cudaMalloc(&workspace_, bytes));
    FS_CUDA(cudaMemsetAsync(workspace_, 0, bytes, stream_));  // the split counters start at zero
    *ws_ = carve(static_cast<char*>(workspace_), &bytes);
    cuda::init_gemm_attributes();
    cuda::init_attention_attributes();
  } catch (...) {
    if (workspace_) cudaFree(workspace_);
    if (host_err_) cudaFreeHost(host_err_);
    if (dev_err_) cudaFree(dev_err_);
    if (stream_) cudaStreamDestroy(stream_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  // No throwing here: errors on the way out are ignored (the process may be unwinding another error).
  cudaStreamSynchronize(stream_);
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  for (void* p : uploads_) cudaFree(p);
  for (void* p : act_scratch_) cudaFree(p);
  for (void* p : scratch_) cudaFree(p);
  cudaFree(workspace_);
  cudaFreeHost(host_err_);
  cudaFree(dev_err_);
  cudaStreamDestroy(stream_);
}

cuda::Ctx CudaBackend::ctx() const {
  cuda::Ctx c;
  c.stream = stream_;
  c.pdl = opts_.pdl;
  c.sms = sms_;
  c.err = dev_err_;
  return c;
}

bool CudaBackend::capturing() const {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  FS_CUDA(cudaStreamIsCapturing(stream_, &st));
  return st != cudaStreamCaptureStatusNone;
}

void CudaBackend::synchronize() {
  FS_CUDA(cudaStreamSynchronize(stream_));
  check_errors();
}

void CudaBackend::check_errors() {
  if (*host_err_ == 0) return;
  const unsigned bits = *host_err_;
  *host_err_ = 0;
  FS_CUDA(cudaMemsetAsync(dev_err_, 0, sizeof(unsigned), stream_));
  std::string what;
  if (bits & cuda::kErrTokenId) what += " a token id outside the embedding table (embed);";
  if (bits & cuda::kErrPosition) what += " a position outside the KV cache capacity (kv_store/attention);";
  throw Error("cuda backend: a kernel met" + what + " the results of the queued work are invalid");
}

// ---- memory ----

void* CudaBackend::alloc(size_t bytes) {
  require(!capturing(), "alloc() inside run_recorded: allocate buffers before recording");
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error("cuda backend: cannot allocate " + std::to_string(bytes) + " bytes of GPU memory: " +
                cudaGetErrorString(e));
  }
  return p;
}

void CudaBackend::release(void* p) {
  if (p) FS_CUDA(cudaFree(p));
}

void CudaBackend::to_device(void* dst, const void* host_src, size_t bytes) {
  require(!capturing(), "to_device() inside run_recorded: copy inputs before replaying the step");
  if (bytes == 0) return;
  FS_CUDA(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
}

void CudaBackend::to_host(void* host_dst, const void* src, size_t bytes) {
  require(!capturing(), "to_host() inside run_recorded: read results after the step");
  if (bytes) FS_CUDA(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  FS_CUDA(cudaMemcpyAsync(host_err_, dev_err_, sizeof(unsigned), cudaMemcpyDeviceToHost, stream_));
  FS_CUDA(cudaStreamSynchronize(stream_));
  check_errors();
}

// Device to device on the stream; `fs bench` times this copy to measure the bandwidth it reports against.
void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) FS_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

Weight CudaBackend::upload(const Weight& host) {
  check_weight(host, "upload", "weight");
  require(host.dtype == DType::F32 || host.dtype == DType::BF16 || host.dtype == DType::F16,
          "upload: unsupported dtype");
  void* p = alloc(host.bytes());
  uploads_.push_back(p);
  FS_CUDA(cudaMemcpy(p, host.data, host.bytes(), cudaMemcpyHostToDevice));
  Weight w = host;
  w.data = p;
  return w;
}

void CudaBackend::ensure_act_scratch(size_t elems) {
  if (elems <= act_scratch_elems_) return;
  require(!capturing(),
          "matmul: the prefill path needs a larger scratch buffer, which cannot be allocated inside "
          "run_recorded; run the step once outside run_recorded first");
  const size_t grown = std::max(elems, act_scratch_elems_ * 2);
  void* p = alloc(grown * sizeof(uint16_t));
  act_scratch_.push_back(p);  // earlier buffers stay alive: recorded graphs may still use them
  act_scratch_elems_ = grown;
}

// ---- ops ----

void CudaBackend::embed(const Weight& table, const int32_t* ids, int n, float* out) {
  check_weight(table, "embed", "table");
  require(n >= 0, "embed: n < 0");
  if (n == 0) return;
  cuda::embed(ctx(), table, ids, n, out);
}

void CudaBackend::rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) {
  require(rows >= 0 && dim > 0, "rmsnorm: rows " + std::to_string(rows) + ", dim " + std::to_string(dim));
  check_vector(w, dim, "rmsnorm", "weight");
  if (rows == 0) return;
  cuda::rmsnorm(ctx(), x, w, eps, rows, dim, out);
}

void CudaBackend::matmul(const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) {
  check_weight(w, "matmul", "weight");
  require(n >= 0, "matmul: n < 0");
  require(w.rows <= INT32_MAX && w.cols <= INT32_MAX, "matmul: weight too large");
  if (bias) check_vector(*bias, w.rows, "matmul", "bias");
  if (n == 0) return;
  const cuda::Ctx c = ctx();
  if (n <= cuda::kGemvMaxN && cuda::gemv_ok(x, w)) {
    cuda::MatmulOut o{&w, bias, out};
    cuda::gemv(c, x, n, nullptr, 0.f, &o, 1, false, accumulate);
  } else if (cuda::gemm_tc_ok(w)) {
    const cuda::MatmulOut o{&w, bias, out};
    gemm_tc(x, n, &o, 1, accumulate);
  } else {
    cuda::gemm_simt(c, x, n, w, bias, out, accumulate);
  }
}

void CudaBackend::rope(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) {
  require(n >= 0 && n_heads > 0 && head_dim > 0 && head_dim % 2 == 0,
          "rope: needs n >= 0, n_heads > 0 and an even head_dim (got " + std::to_string(head_dim) + ")");
  if (n == 0) return;
  cuda::rope(ctx(), x, pos, n, n_heads, head_dim, inv_freq);
}

void CudaBackend::kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) {
  check_cache(cache, "kv_store");
  require(n >= 0, "kv_store: n < 0");
  if (n == 0) return;
  cuda::kv_store(ctx(), k, v, pos, n, cache);
}

void CudaBackend::attention(const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                            int n_kv_heads, int head_dim, float* out) {
  check_cache(cache, "attention");
  require(n >= 0 && n_heads > 0 && n_kv_heads > 0 && n_heads % n_kv_heads == 0,
          "attention: n_heads (" + std::to_string(n_heads) + ") must be a multiple of n_kv_heads (" +
              std::to_string(n_kv_heads) + ")");
  require(head_dim > 0 && head_dim <= cuda::kMaxHeadDim,
          "attention: head_dim " + std::to_string(head_dim) + " outside 1.." + std::to_string(cuda::kMaxHeadDim));
  require(cache.kv_dim == n_kv_heads * head_dim, "attention: cache kv_dim " + std::to_string(cache.kv_dim) +
                                                     " != n_kv_heads · head_dim");
  if (n == 0) return;
  if (cuda::attention_decode_ok(cache, n, n_heads, n_kv_heads, head_dim))
    cuda::attention_decode(ctx(), *ws_, q, cache, pos, n, n_heads, n_kv_heads, head_dim, out);
  else
    cuda::attention_prefill(ctx(), q, cache, pos, n, n_heads, n_kv_heads, head_dim, out);
}

void CudaBackend::swiglu(const float* gate, const float* up, size_t count, float* out) {
  if (count == 0) return;
  cuda::swiglu(ctx(), gate, up, count, out);
}

void CudaBackend::argmax(const float* x, int rows, int cols, int32_t* out) {
  require(rows >= 0 && cols > 0, "argmax: rows " + std::to_string(rows) + ", cols " + std::to_string(cols));
  if (rows == 0) return;
  cuda::argmax(ctx(), *ws_, x, rows, cols, out);
}

void CudaBackend::run_recorded(std::string_view key, const std::function<void()>& step) {
  std::string k(key);
  auto it = graphs_.find(k);
  if (it == graphs_.end()) {
    require(!capturing(), "run_recorded: already recording (nested run_recorded)");
    FS_CUDA(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
      step();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(stream_, &broken);
      if (broken) cudaGraphDestroy(broken);
      cudaGetLastError();
      throw;
    }
    cudaGraph_t graph = nullptr;
    FS_CUDA(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess) cuda::throw_cuda(e, "cudaGraphInstantiate", __FILE__, __LINE__);
    it = graphs_.emplace(std::move(k), exec).first;
  }
  FS_CUDA(cudaGraphLaunch(it->second, stream_));
}

// ---- fused ops ----

void CudaBackend::rmsnorm_matmul(const float* x, const Weight& norm, float eps, int n, float* normed, int count,
                                 const Weight* const w[], const Weight* const bias[], float* const out[]) {
  require(count >= 1 && count <= 3, "rmsnorm_matmul: count must be 1..3");
  require(n >= 0, "rmsnorm_matmul: n < 0");
  check_weight(norm, "rmsnorm_matmul", "norm");
  const int dim = int(norm.rows * norm.cols);
  bool fused = n <= cuda::kGemvMaxN && cuda::aligned16(norm.data);
  for (int j = 0; j < count; ++j) {
    check_weight(*w[j], "rmsnorm_matmul", "weight");
    require(w[j]->cols == dim, "rmsnorm_matmul: weight cols " + std::to_string(w[j]->cols) + " != norm length " +
                                   std::to_string(dim));
    if (bias && bias[j]) check_vector(*bias[j], w[j]->rows, "rmsnorm_matmul", "bias");
    fused = fused && cuda::gemv_ok(x, *w[j]) && w[j]->dtype == w[0]->dtype;
  }
  if (n == 0) return;
  if (fused) {
    cuda::MatmulOut outs[3];
    for (int j = 0; j < count; ++j) outs[j] = {w[j], bias ? bias[j] : nullptr, out[j]};
    cuda::gemv(ctx(), x, n, &norm, eps, outs, count, false, false);
    return;
  }
  if (rmsnorm_gemm(x, norm, eps, n, count, w, bias, out)) return;
  rmsnorm(x, norm, eps, n, dim, normed);
  for (int j = 0; j < count; ++j) matmul(normed, n, *w[j], bias ? bias[j] : nullptr, out[j], false);
}

// Prefill: the norm writes its output as bf16 straight into the GEMM's input buffer, and the matrices that read
// it run as one tensor-core GEMM launch. False where that path does not apply (decode sizes, non-bf16 weights).
bool CudaBackend::rmsnorm_gemm(const float* x, const Weight& norm, float eps, int n, int count,
                               const Weight* const w[], const Weight* const bias[], float* const out[]) {
  if (n <= cuda::kGemvMaxN) return false;
  for (int j = 0; j < count; ++j)
    if (!cuda::gemm_tc_ok(*w[j])) return false;
  const int dim = int(norm.rows * norm.cols);
  ensure_act_scratch(size_t(n) * size_t(dim));
  cuda::rmsnorm_bf16(ctx(), x, norm, eps, n, dim, static_cast<uint16_t*>(act_scratch_.back()));
  cuda::MatmulOut outs[3];
  for (int j = 0; j < count; ++j) outs[j] = {w[j], bias ? bias[j] : nullptr, out[j]};
  gemm_tc(nullptr, n, outs, count, false);
  return true;
}

// x null: act_scratch_ already holds the bf16 input.
void CudaBackend::gemm_tc(const float* x, int n, const cuda::MatmulOut* outs, int count, bool accumulate) {
  const cuda::Ctx c = ctx();
  ensure_act_scratch(size_t(n) * size_t(outs[0].w->cols));
  cuda::GemmPlan plan = cuda::plan_gemm_tc(c, n, outs, count, cuda::kMaxSplitK);
  if (plan.splits > 1 && !ensure_split_workspace(plan.part_floats, plan.tiles))
    plan = cuda::plan_gemm_tc(c, n, outs, count, 1);  // inside a recording: no new workspace, no split
  cuda::gemm_tc(c, plan, x, n, outs, count, accumulate, static_cast<uint16_t*>(act_scratch_.back()),
                {split_part_, split_counters_});
}

// Split-K partial tiles and per-tile counters (zeroed once; each launch leaves them zero). Grows outside graph
// capture only; earlier buffers stay alive because recorded graphs may point at them.
bool CudaBackend::ensure_split_workspace(size_t part_floats, size_t tiles) {
  if (part_floats <= split_part_floats_ && tiles <= split_counters_n_) return true;
  if (capturing()) return false;
  const size_t floats = std::max(part_floats, split_part_floats_ * 2);
  const size_t counters = std::max(tiles, split_counters_n_ * 2);
  void* p = alloc(floats * sizeof(float));
  void* k = alloc(counters * sizeof(unsigned));
  scratch_.push_back(p);
  scratch_.push_back(k);
  FS_CUDA(cudaMemsetAsync(k, 0, counters * sizeof(unsigned), stream_));  // ordered before the GEMM that uses it
  split_part_ = static_cast<float*>(p);
  split_counters_ = static_cast<unsigned*>(k);
  split_part_floats_ = floats;
  split_counters_n_ = counters;
  return true;
}

void CudaBackend::rmsnorm_swiglu(const float* x, const Weight& norm, float eps, int n, const Weight& w_gate,
                                 const Weight& w_up, float* normed, float* gate, float* up, float* out) {
  require(n >= 0, "rmsnorm_swiglu: n < 0");
  check_weight(norm, "rmsnorm_swiglu", "norm");
  check_weight(w_gate, "rmsnorm_swiglu", "gate");
  check_weight(w_up, "rmsnorm_swiglu", "up");
  const int dim = int(norm.rows * norm.cols);
  require(w_gate.rows == w_up.rows && w_gate.cols == dim && w_up.cols == dim,
          "rmsnorm_swiglu: gate [" + std::to_string(w_gate.rows) + ", " + std::to_string(w_gate.cols) +
              "] and up [" + std::to_string(w_up.rows) + ", " + std::to_string(w_up.cols) +
              "] must match each other and the norm length " + std::to_string(dim));
  if (n == 0) return;
  if (n == 1 && w_gate.dtype == DType::BF16 && w_up.dtype == DType::BF16 && cuda::aligned16(norm.data) &&
      cuda::gemv_ok(x, w_gate) &&
      cuda::gemv_ok(x, w_up)) {
    cuda::MatmulOut outs[2] = {{&w_gate, nullptr, out}, {&w_up, nullptr, out}};
    cuda::gemv(ctx(), x, n, &norm, eps, outs, 2, true, false);
    return;
  }
  const Weight* ws[2] = {&w_gate, &w_up};
  float* outs[2] = {gate, up};
  if (!rmsnorm_gemm(x, norm, eps, n, 2, ws, nullptr, outs)) {
    rmsnorm(x, norm, eps, n, dim, normed);
    matmul(normed, n, w_gate, nullptr, gate, false);
    matmul(normed, n, w_up, nullptr, up, false);
  }
  swiglu(gate, up, size_t(n) * size_t(w_gate.rows), out);
}

void CudaBackend::qk_norm_rope_store(float* q, float* k, const float* v, const Weight* q_norm,
                                     const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads,
                                     int n_kv_heads, int head_dim, const float* inv_freq, const KvLayer& cache) {
  check_cache(cache, "qk_norm_rope_store");
  require(n >= 0 && n_heads > 0 && n_kv_heads > 0 && head_dim > 0 && head_dim % 2 == 0 &&
              head_dim <= cuda::kMaxHeadDim,
          "qk_norm_rope_store: bad head layout (head_dim " + std::to_string(head_dim) + ")");
  require(cache.kv_dim == n_kv_heads * head_dim, "qk_norm_rope_store: cache kv_dim != n_kv_heads · head_dim");
  if (q_norm) check_vector(*q_norm, head_dim, "qk_norm_rope_store", "q_norm");
  if (k_norm) check_vector(*k_norm, head_dim, "qk_norm_rope_store", "k_norm");
  if (n == 0) return;
  cuda::qk_norm_rope_store(ctx(), q, k, v, q_norm, k_norm, eps, pos, n, n_heads, n_kv_heads, head_dim, inv_freq,
                           cache);
}

CudaOptions cuda_options_from_env() {
  CudaOptions o;
  const char* env = std::getenv("FS_CUDA_DISABLE");
  if (!env) return o;
  std::string list(env);
  size_t i = 0;
  while (i <= list.size()) {
    const size_t j = std::min(list.find(',', i), list.size());
    const std::string name = list.substr(i, j - i);
    if (name == "pdl") o.pdl = false;
    else if (!name.empty())
      throw Error("FS_CUDA_DISABLE: unknown feature '" + name + "' (known: pdl)");
    i = j + 1;
  }
  return o;
}

std::unique_ptr<Backend> make_cuda_backend(const CudaOptions& opts) { return std::make_unique<CudaBackend>(opts); }
std::unique_ptr<Backend> make_cuda_backend() { return make_cuda_backend(cuda_options_from_env()); }

}  // namespace fs
