// CudaBackend: memory, the stream, graph recording, error reporting, and the dispatch from each Backend op to the
// launchers in the op files (ops.h). The arguments the interface lets a caller get wrong are checked here, on the
// host, and reported as fs::Error naming the op and the argument; the kernels assume they hold.
#include "backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/cuda/attention_splits.cuh"
#include "backends/cuda/ops.h"
#include "model/config.h"
#include "model/weights.h"
#include "util/error.h"

namespace fs {
namespace cuda {

void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(std::string("CUDA error: ") + call + " failed: " + cudaGetErrorString(e) + " (" +
              (base ? base + 1 : file) + ":" + std::to_string(line) + ")");
}

// What decode_step prepared for the model it last saw (CudaBackend::prepare_step).
struct StepState {
  std::vector<uintptr_t> key;         // what it was prepared for (step_key): shapes, every weight and cache pointer
  std::string why_not;                // empty: the persistent kernel runs this model
  DecodeLayerPtrs* layers = nullptr;  // device copy of the per-layer table
  DecodeStepParams params = {};
  size_t smem = 0;
};

}  // namespace cuda

namespace {

constexpr size_t kReadSlot = Backend::kReadBytes + 16;  // read_async: data, then the error word (16-aligned)

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

// A matrix that multiplies a normalised vector of `dim` elements (rmsnorm_matmul and its argmax form).
void check_normed_weight(const Weight& w, int64_t dim, const char* op) {
  check_weight(w, op, "weight");
  require(w.cols == dim,
          std::string(op) + ": weight cols " + std::to_string(w.cols) + " != norm length " + std::to_string(dim));
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
  ws.amax_keys = c.take<unsigned long long>(cuda::kArgmaxKeys);
  ws.step_barrier = c.take<unsigned>(1);
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
  wgmma_ = opts_.wgmma && cuda::gemm_wgmma_available(prop);
  name_ = std::string("cuda (") + prop.name + ")";
  try {
    cudaStream_t s = nullptr;
    FS_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream_ = s;
    FS_CUDA(cudaMalloc(&dev_err_, sizeof(unsigned)));
    FS_CUDA(cudaMemsetAsync(dev_err_, 0, sizeof(unsigned), stream_));
    FS_CUDA(cudaMallocHost(&host_err_, sizeof(unsigned)));
    FS_CUDA(cudaHostAlloc(&read_pinned_, 2 * kReadSlot, cudaHostAllocMapped));
    void* mapped = nullptr;
    FS_CUDA(cudaHostGetDevicePointer(&mapped, read_pinned_, 0));
    read_mapped_ = static_cast<unsigned char*>(mapped);
    for (auto& e : read_done_) FS_CUDA(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    size_t bytes = 0;
    carve(nullptr, &bytes);
    FS_CUDA(cudaMalloc(&workspace_, bytes));
    FS_CUDA(cudaMemsetAsync(workspace_, 0, bytes, stream_));  // the split counters and argmax keys start at zero
    *ws_ = carve(static_cast<char*>(workspace_), &bytes);
    cuda::init_gemm_attributes();
    if (wgmma_) cuda::init_gemm_wgmma_attributes();
    cuda::init_attention_attributes();
    if (std::getenv("FS_CUDA_TRACE")) {
      trace_ = std::make_unique<cuda::LaunchTrace>();
      const size_t bytes = sizeof(unsigned long long) * cuda::LaunchTrace::kStride * cuda::LaunchTrace::kLaunches;
      FS_CUDA(cudaMalloc(&trace_->stamps, bytes));
      FS_CUDA(cudaMemsetAsync(trace_->stamps, 0, bytes, stream_));
    }
  } catch (...) {
    if (trace_) cudaFree(trace_->stamps);
    if (workspace_) cudaFree(workspace_);
    for (auto& e : read_done_)
      if (e) cudaEventDestroy(e);
    if (read_pinned_) cudaFreeHost(read_pinned_);
    if (host_err_) cudaFreeHost(host_err_);
    if (dev_err_) cudaFree(dev_err_);
    if (stream_) cudaStreamDestroy(stream_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  // No throwing here: errors on the way out are ignored (the process may be unwinding another error).
  cudaStreamSynchronize(stream_);
  if (trace_) {
    if (!trace_->names.empty()) {
      std::vector<unsigned long long> stamps(cuda::LaunchTrace::kStride * trace_->names.size());
      if (cudaMemcpy(stamps.data(), trace_->stamps, stamps.size() * sizeof(stamps[0]), cudaMemcpyDeviceToHost) ==
          cudaSuccess) {
        try {
          cuda::write_trace_summary(*trace_, stamps, std::getenv("FS_CUDA_TRACE"));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "%s\n", e.what());
        }
      }
    }
    cudaFree(trace_->stamps);
  }
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  if (step_) cudaFree(step_->layers);
  for (void* p : uploads_) cudaFree(p);
  for (void* p : act_scratch_) cudaFree(p);
  for (void* p : scratch_) cudaFree(p);
  cudaFree(workspace_);
  cudaFree(window_buf_);
  for (auto& e : read_done_) cudaEventDestroy(e);
  cudaFreeHost(read_pinned_);
  cudaFreeHost(host_err_);
  cudaFree(dev_err_);
  cudaStreamDestroy(stream_);
}

cuda::Ctx CudaBackend::ctx() const {
  cuda::Ctx c;
  c.stream = stream_;
  c.pdl = opts_.pdl;
  c.wgmma = wgmma_;
  c.attn_tc = opts_.attn_tc;
  c.qkv_cap = opts_.qkv_cap ? qkv_cap_ : 0;
  c.sms = sms_;
  c.err = dev_err_;
  c.trace = trace_.get();
  return c;
}

int CudaBackend::qkv_gemv_blocks_per_sm(int cols, int q_rows, int kv_rows) const {
  return cuda::qkv_gemv_blocks_per_sm(ctx(), cols, q_rows, kv_rows);
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

// A slot of read_pinned_: the bytes, then the device error word as it was when they were copied. One small kernel
// writes both straight into the mapped slot (read_back.cu: two copy-engine copies per token cost the step more).
void CudaBackend::read_async(int slot, const void* src, size_t bytes) {
  require(!capturing(), "read_async() inside run_recorded");
  require((slot == 0 || slot == 1) && bytes <= kReadBytes, "read_async: slot 0 or 1, at most 16 bytes");
  cuda::read_back(ctx(), src, int(bytes), read_mapped_ + size_t(slot) * kReadSlot, int(kReadBytes));
  FS_CUDA(cudaEventRecord(read_done_[slot], stream_));
}

void CudaBackend::wait_read(int slot, void* host_dst, size_t bytes) {
  require((slot == 0 || slot == 1) && bytes <= kReadBytes, "wait_read: slot 0 or 1, at most 16 bytes");
  FS_CUDA(cudaEventSynchronize(read_done_[slot]));
  const unsigned char* at = read_pinned_ + size_t(slot) * kReadSlot;
  std::memcpy(host_err_, at + kReadBytes, sizeof(unsigned));
  check_errors();
  std::memcpy(host_dst, at, bytes);
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

bool CudaBackend::logit_window(const float* x, int cols, float temperature, float window, int cap,
                               LogitWindow& out) {
  require(cols > 0 && temperature > 0 && cap >= 0 && window >= 0,
          "logit_window: cols " + std::to_string(cols) + ", temperature " + std::to_string(temperature));
  constexpr size_t kHead = 8 + sizeof(float2) * cuda::kLogitParts;  // count, pad, part[]
  if (cap > window_cap_) {  // grows once to the largest cap asked for
    if (window_buf_) release(window_buf_);
    window_buf_ = alloc(kHead + size_t(cap) * (sizeof(float) + sizeof(int32_t)));
    window_cap_ = cap;
  }
  auto* base = static_cast<unsigned char*>(window_buf_);
  auto* count = reinterpret_cast<unsigned*>(base);
  auto* part = reinterpret_cast<float2*>(base + 8);
  auto* z = reinterpret_cast<float*>(base + kHead);
  auto* ids = reinterpret_cast<int32_t*>(z + window_cap_);
  cuda::logit_window(ctx(), x, cols, temperature, window, cap, part, count, z, ids);

  const int parts = cuda::logit_window_parts(cols);
  std::vector<unsigned char> head(8 + sizeof(float2) * size_t(parts));
  to_host(head.data(), base, head.size());
  unsigned n = 0;
  std::memcpy(&n, head.data(), sizeof n);
  if (n > unsigned(cap)) return false;
  std::vector<float2> p(static_cast<size_t>(parts));
  std::memcpy(p.data(), head.data() + 8, p.size() * sizeof(float2));
  // The denominator, block by block in a fixed order (double): the same every run.
  float top = -INFINITY;
  for (const float2& b : p) top = std::max(top, b.x);
  out.max = top;
  out.sum = 0;
  for (const float2& b : p)
    if (b.y > 0) out.sum += double(b.y) * std::exp(double(b.x) - double(top));
  std::vector<float> zs(n);
  std::vector<int32_t> is(n);
  if (n) {
    FS_CUDA(cudaMemcpyAsync(zs.data(), z, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    to_host(is.data(), ids, n * sizeof(int32_t));
  }
  out.cands.resize(n);
  for (unsigned i = 0; i < n; ++i) out.cands[i] = {zs[i], is[i]};
  out.complete = int(n) == cols;
  return true;
}

void CudaBackend::run_recorded(std::string_view key, const std::function<void()>& step) {
  std::string k(key);
  auto it = graphs_.find(k);
  if (it == graphs_.end()) {
    require(!capturing(), "run_recorded: already recording (nested run_recorded)");
    FS_CUDA(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    // FS_CUDA_TRACE: the greedy decode step (what `fs run` at temperature 0 and `fs bench` replay) is traced, in the
    // context class it was first recorded for.
    const bool trace = trace_ && k.rfind("decode-greedy", 0) == 0 && trace_->names.empty();
    if (trace) trace_->recording = true;
    try {
      step();
      if (trace) trace_->recording = false;
    } catch (...) {
      if (trace) trace_->recording = false, trace_->names.clear(), trace_->blocks.clear();
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
    check_normed_weight(*w[j], dim, "rmsnorm_matmul");
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

// The greedy head: one lm-head launch that also folds each warp's best logit into the argmax keys, then one warp
// reads them (argmax.cu) — instead of a pass over the whole logits row. Other shapes and dtypes compose the ops.
void CudaBackend::rmsnorm_matmul_argmax(const float* x, const Weight& norm, float eps, float* normed, const Weight& w,
                                        float* logits, int32_t* out) {
  check_weight(norm, "rmsnorm_matmul_argmax", "norm");
  check_normed_weight(w, norm.rows * norm.cols, "rmsnorm_matmul_argmax");
  const cuda::MatmulOut o{&w, nullptr, logits};
  if (opts_.argmax_keys && cuda::aligned16(norm.data) && cuda::gemv_ok(x, w) &&
      cuda::gemv_argmax(ctx(), x, norm, eps, o, ws_->amax_keys)) {
    cuda::argmax_from_keys(ctx(), ws_->amax_keys, out);
    return;
  }
  Backend::rmsnorm_matmul_argmax(x, norm, eps, normed, w, logits, out);
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

void CudaBackend::gemm_tc(const float* x, int n, const cuda::MatmulOut* outs, int count, bool accumulate,
                          uint16_t* a) {
  const cuda::Ctx c = ctx();
  if (!a) {
    ensure_act_scratch(size_t(n) * size_t(outs[0].w->cols));
    a = static_cast<uint16_t*>(act_scratch_.back());
  }
  // The plan first: planning may grow the split-K workspace, whose pointers are read after it (as arguments of one
  // call the two would be evaluated in an unspecified order, and GCC reads the pointers first).
  const cuda::GemmPlan plan = plan_gemm(n, outs, count);
  cuda::gemm_tc(c, plan, x, n, outs, count, accumulate, a, {split_part_, split_counters_});
}

// The tensor-core launch for these matrices, with its split-K workspace ready (no split inside a recording, where
// the workspace cannot grow).
cuda::GemmPlan CudaBackend::plan_gemm(int n, const cuda::MatmulOut* outs, int count) {
  const cuda::Ctx c = ctx();
  cuda::GemmPlan plan = cuda::plan_gemm_tc(c, n, outs, count, cuda::kMaxSplitK);
  if (plan.splits > 1 && !ensure_split_workspace(plan.part_floats, plan.tiles))
    plan = cuda::plan_gemm_tc(c, n, outs, count, 1);
  return plan;
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

void CudaBackend::mlp(float* x, const Weight& norm, float eps, int n, const Weight& w_gate, const Weight& w_up,
                      const Weight& w_down, float* normed, float* gate, float* up, float* act) {
  const int64_t dim = norm.rows * norm.cols;
  const bool fused = n > cuda::kGemvMaxN && wgmma_ && cuda::gemm_tc_ok(w_gate) && cuda::gemm_tc_ok(w_up) &&
                     cuda::gemm_tc_ok(w_down) && w_gate.rows == w_up.rows && w_gate.cols == dim &&
                     w_up.cols == dim && w_down.cols == w_gate.rows && w_down.rows == dim;
  const cuda::MatmulOut gu[2] = {{&w_gate, nullptr, nullptr}, {&w_up, nullptr, nullptr}};
  const cuda::GemmPlan plan = fused ? plan_gemm(n, gu, 2) : cuda::GemmPlan{};
  if (!fused || !plan.big_tiles) {  // (64 × 64 tiles are mma.sync only: tiny models)
    Backend::mlp(x, norm, eps, n, w_gate, w_up, w_down, normed, gate, up, act);
    return;
  }
  check_weight(norm, "mlp", "norm");
  check_weight(w_gate, "mlp", "gate");
  check_weight(w_up, "mlp", "up");
  check_weight(w_down, "mlp", "down");
  // One bf16 buffer: the normed x [n, dim] (the gate/up GEMM's input), then act [n, inter] (the down GEMM's).
  const size_t h_elems = size_t(n) * size_t(dim), a_elems = size_t(n) * size_t(w_gate.rows);
  ensure_act_scratch(h_elems + a_elems);
  uint16_t* h = static_cast<uint16_t*>(act_scratch_.back());
  uint16_t* a = h + h_elems;  // 16-byte aligned: dim is a multiple of 8 (gemm_tc_ok)
  const cuda::Ctx c = ctx();
  cuda::rmsnorm_bf16(c, x, norm, eps, n, int(dim), h);
  cuda::gemm_swiglu(c, plan, h, n, w_gate, w_up, a, {split_part_, split_counters_});
  const cuda::MatmulOut down{&w_down, nullptr, x};
  gemm_tc(nullptr, n, &down, 1, /*accumulate=*/true, a);
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

namespace {
// A weight vector as the fused kernels read it; absent (null data) stays absent.
cuda::DecodeVec vec(const Weight& w) { return {w.data, w.dtype}; }
}  // namespace

void CudaBackend::qk_norm_rope_attention(float* q, float* k, const float* v, const Weight* q_norm,
                                         const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads,
                                         int n_kv_heads, int head_dim, const float* inv_freq, const KvLayer& cache,
                                         float* out) {
  const bool fused = opts_.attn_tc && opts_.rope_attn && n_heads > 0 && n_kv_heads > 0 &&
                     n_heads % n_kv_heads == 0 && cache.kv_dim == n_kv_heads * head_dim && cuda::aligned16(k) &&
                     cuda::aligned16(v) && cuda::attention_decode_tc_ok(q, cache, n, n_heads, n_kv_heads, head_dim);
  if (!fused) {
    Backend::qk_norm_rope_attention(q, k, v, q_norm, k_norm, eps, pos, n, n_heads, n_kv_heads, head_dim, inv_freq,
                                    cache, out);
    return;
  }
  check_cache(cache, "qk_norm_rope_attention");
  if (q_norm) check_vector(*q_norm, head_dim, "qk_norm_rope_attention", "q_norm");
  if (k_norm) check_vector(*k_norm, head_dim, "qk_norm_rope_attention", "k_norm");
  const cuda::DecodeTcRope rope{k, v, inv_freq, q_norm ? vec(*q_norm) : cuda::DecodeVec{},
                                 k_norm ? vec(*k_norm) : cuda::DecodeVec{}, eps};
  cuda::attention_decode_tc(ctx(), *ws_, q, cache, pos, n_heads, n_kv_heads, head_dim, out, &rope);
}

// The one-token q/k/v GEMV's blocks per SM follow the context (matmul.cu, CudaOptions::qkv_cap): while the decode
// attention runs one split per kv head (contexts up to kSplitMinChunk) its few working blocks need few SMs, and q/k/v
// blocks spread over the most SMs (4 an SM) win; past that the attention's splits want SMs as soon as the GEMV ends,
// and packing its blocks 6 an SM leaves them more. Two recordings, one per class.
int CudaBackend::plan_context(int max_len) {
  const bool one_split = max_len <= cuda::kSplitMinChunk;
  qkv_cap_ = one_split ? cuda::kQkvBlocksShort : cuda::kQkvBlocksLong;
  return opts_.qkv_cap && !one_split ? 1 : 0;
}

// ---- the fused decode step (decode_step.cu) ----

namespace {

const uint16_t* bf16_ptr(const Weight& w) { return static_cast<const uint16_t*>(w.data); }

// Why the persistent kernel cannot run this model ("" when it can). Everything else falls back to the ops.
std::string step_unsupported(const DecodeStep& s, int sms) {
  const ModelConfig& c = *s.cfg;
  const ModelWeights& w = *s.w;
  auto bf16 = [](const Weight& t) { return t.data && t.dtype == DType::BF16 && cuda::aligned16(t.data); };
  if (!bf16(w.embed) || !bf16(w.lm_head)) return "embedding or lm head not bf16";
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    for (const Weight* m : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
      if (!bf16(*m)) return "layer " + std::to_string(l) + " has a matrix that is not bf16";
    const KvLayer& kv = s.kv[l];
    if (kv.dtype != DType::BF16 || kv.capacity != s.kv[0].capacity || kv.kv_dim != c.kv_dim())
      return "KV cache not bf16, or layers of different shapes";
  }
  const int hd = c.head_dim, group = c.n_heads / c.n_kv_heads;
  if (hd != 16 && hd != 32 && hd != 64 && hd != 128) return "head_dim " + std::to_string(hd);
  if (c.n_heads % c.n_kv_heads != 0 || group > 8) return "GQA group of " + std::to_string(group);
  if (c.hidden_size % 8 || c.q_dim() % 8 || c.intermediate_size % 8) return "a width not a multiple of 8";
  if (c.hidden_size > cuda::kDecodeMaxOwnRows * sms) return "hidden_size above 64 rows per multiprocessor";
  if (c.n_heads > cuda::kMaxHeads || c.n_kv_heads > cuda::kMaxKvHeads || c.q_dim() > cuda::kMaxQDim ||
      c.n_kv_heads > sms)
    return "more heads than the workspace holds";
  return "";
}

// Everything the prepared state depends on. Compared on every step (a few hundred words), so that a model freed and
// another loaded at the same addresses can never run on a stale layer table.
std::vector<uintptr_t> step_key(const DecodeStep& s) {
  const ModelConfig& c = *s.cfg;
  std::vector<uintptr_t> k = {uintptr_t(c.n_layers), uintptr_t(c.hidden_size), uintptr_t(c.intermediate_size),
                              uintptr_t(c.n_heads), uintptr_t(c.n_kv_heads), uintptr_t(c.head_dim),
                              uintptr_t(c.vocab_size)};
  auto add = [&](const Weight& w) {
    k.push_back(reinterpret_cast<uintptr_t>(w.data));
    k.push_back(uintptr_t(w.dtype));
  };
  add(s.w->embed), add(s.w->lm_head), add(s.w->final_norm);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = s.w->layers[l];
    for (const Weight* w : {&L.attn_norm, &L.q, &L.k, &L.v, &L.o, &L.q_bias, &L.k_bias, &L.v_bias, &L.o_bias,
                            &L.q_norm, &L.k_norm, &L.mlp_norm, &L.gate, &L.up, &L.down})
      add(*w);
    k.push_back(reinterpret_cast<uintptr_t>(s.kv[l].k));
    k.push_back(reinterpret_cast<uintptr_t>(s.kv[l].v));
    k.push_back(uintptr_t(s.kv[l].capacity));
    k.push_back(uintptr_t(s.kv[l].dtype));
  }
  return k;
}

}  // namespace

bool CudaBackend::decode_step(const DecodeStep& s) {
  if (!opts_.persistent || capturing()) return false;
  std::vector<uintptr_t> key = step_key(s);
  if (!step_ || step_->key != key) prepare_step(s, std::move(key));
  if (!step_->why_not.empty()) return false;
  cuda::DecodeStepParams p = step_->params;
  p.id = s.id, p.pos = s.pos, p.inv_freq = s.inv_freq;
  p.x = s.x, p.q = s.q, p.k = s.k, p.v = s.v, p.att = s.att, p.h = s.h, p.logits = s.logits;
  p.barrier_base = step_barrier_base_;
  // FS_STEP_TRACE=N: the N-th step records when blocks 0 and 1 finish each part of each layer; printed to stderr.
  static const long trace_step = std::getenv("FS_STEP_TRACE") ? std::atol(std::getenv("FS_STEP_TRACE")) : -1;
  const bool trace = fused_steps_ == trace_step;
  if (trace) {
    FS_CUDA(cudaMalloc(&p.trace, 2 * cuda::kTraceStride * sizeof(unsigned long long)));
    scratch_.push_back(p.trace);
  }
  cuda::decode_step(ctx(), p, step_->smem);
  step_barrier_base_ += cuda::decode_step_barriers(s.cfg->n_layers) * unsigned(sms_);
  ++fused_steps_;
  if (trace) print_step_trace(p.trace, s.cfg->n_layers);
  return true;
}

// Sums, over the layers, the time each part of a layer took in blocks 0 and 1 (µs), and the whole step.
void CudaBackend::print_step_trace(const unsigned long long* dev, int n_layers) {
  std::vector<unsigned long long> t(2 * cuda::kTraceStride);
  FS_CUDA(cudaMemcpyAsync(t.data(), dev, t.size() * sizeof(t[0]), cudaMemcpyDeviceToHost, stream_));
  FS_CUDA(cudaStreamSynchronize(stream_));
  const char* names[14] = {"norm", "qkv", "barrier", "attention", "barrier", "load att", "o", "barrier",
                           "norm", "gate/up", "barrier", "load h", "down", "barrier"};
  for (int b = 0; b < 2; ++b) {
    const unsigned long long* s = t.data() + size_t(b) * cuda::kTraceStride;
    std::fprintf(stderr, "decode_step trace, block %d:", b);
    for (int k = 0; k < 14; ++k) {
      double sum = 0;
      for (int l = 0; l < n_layers; ++l) sum += double(s[l * 14 + k + 1] - s[l * 14 + k]);
      std::fprintf(stderr, " %s %.1f", names[k], sum / 1e3);
    }
    const int e = n_layers * 14;
    std::fprintf(stderr, " | final norm %.1f lm head %.1f | step %.1f us\n", double(s[e + 1] - s[e]) / 1e3,
                 double(s[e + 2] - s[e + 1]) / 1e3, double(s[e + 2] - s[0]) / 1e3);
  }
}

void CudaBackend::prepare_step(const DecodeStep& s, std::vector<uintptr_t> key) {
  if (step_ && step_->layers) FS_CUDA(cudaFree(step_->layers));  // synchronises: no launch still reads it
  step_ = std::make_unique<cuda::StepState>();
  step_->key = std::move(key);
  step_->why_not = step_unsupported(s, sms_);
  if (!step_->why_not.empty()) return;
  const ModelConfig& c = *s.cfg;

  // Shared memory: the ring (as many 64 KB stages as fit), the activation vector, the layer table, two layers'
  // norm weights.
  const size_t act = cuda::decode_step_act_floats(c.hidden_size, c.q_dim(), c.intermediate_size,
                                                  c.n_heads / c.n_kv_heads, c.head_dim);
  const void* kernel = cuda::decode_step_kernel_ptr();
  cudaFuncAttributes fa;
  FS_CUDA(cudaFuncGetAttributes(&fa, kernel));
  int optin = 0, coop = 0;
  FS_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device_));
  FS_CUDA(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device_));
  const size_t table_bytes = cuda::decode_step_table_bytes(c.n_layers);  // copied into shared memory
  // Two buffers of one layer's norm weights (decode_step.cu: layer_vecs), each vector rounded up to 16 bytes.
  auto vbytes = [](const Weight& w) { return w.data ? (w.bytes() + 15) & ~size_t(15) : 0; };
  size_t vec_bytes = vbytes(s.w->final_norm);
  for (const LayerWeights& L : s.w->layers)
    vec_bytes = std::max(vec_bytes, vbytes(L.attn_norm) + vbytes(L.mlp_norm) + vbytes(L.q_norm) + vbytes(L.k_norm));
  const size_t fixed = act * sizeof(float) + table_bytes + 2 * vec_bytes;
  const long room = long(optin) - long(fa.sharedSizeBytes) - long(fixed);
  const int stage_bytes = cuda::kDecodeStageBytes;
  const int stages = int(std::min<long>(cuda::kMaxStages, room / stage_bytes));
  const long longest = std::max({long(c.hidden_size) * 4, long(c.q_dim()) * 2, long(c.intermediate_size) * 2});
  if (!coop || stages < 2 || longest > stage_bytes) {  // a row (gate/up: a pair) must fit one stage
    step_->why_not = "not enough shared memory for the ring";
    return;
  }
  step_->smem = size_t(stages) * stage_bytes + fixed;
  FS_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(step_->smem)));
  int per_sm = 0;
  FS_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, cuda::kDecodeStepThreads, step_->smem));
  if (per_sm < 1) {
    step_->why_not = "the kernel does not fit an SM";
    return;
  }

  std::vector<cuda::DecodeLayerPtrs> table(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = s.w->layers[l];
    cuda::DecodeLayerPtrs& t = table[l];
    t.attn_norm = vec(L.attn_norm), t.mlp_norm = vec(L.mlp_norm), t.q_norm = vec(L.q_norm);
    t.k_norm = vec(L.k_norm), t.q_bias = vec(L.q_bias), t.k_bias = vec(L.k_bias), t.v_bias = vec(L.v_bias);
    t.o_bias = vec(L.o_bias);
    t.q = bf16_ptr(L.q), t.k = bf16_ptr(L.k), t.v = bf16_ptr(L.v), t.o = bf16_ptr(L.o);
    t.gate = bf16_ptr(L.gate), t.up = bf16_ptr(L.up), t.down = bf16_ptr(L.down);
    t.kc = static_cast<uint16_t*>(s.kv[l].k), t.vc = static_cast<uint16_t*>(s.kv[l].v);
  }
  const size_t bytes = table.size() * sizeof(cuda::DecodeLayerPtrs);
  FS_CUDA(cudaMalloc(&step_->layers, bytes));
  FS_CUDA(cudaMemcpy(step_->layers, table.data(), bytes, cudaMemcpyHostToDevice));

  cuda::DecodeStepParams& p = step_->params;
  p.layers = step_->layers;
  p.embed = bf16_ptr(s.w->embed);
  p.lm_head = bf16_ptr(s.w->lm_head);
  p.final_norm = vec(s.w->final_norm);
  p.splits = {ws_->attn_o, ws_->attn_ml, ws_->attn_count,
              std::max(1, std::min(cuda::kMaxSplits, sms_ / c.n_kv_heads))};
  p.err = dev_err_;
  p.barrier = ws_->step_barrier;
  p.n_layers = c.n_layers, p.hidden = c.hidden_size, p.q_dim = c.q_dim(), p.kv_dim = c.kv_dim();
  p.inter = c.intermediate_size, p.vocab = c.vocab_size, p.n_heads = c.n_heads, p.n_kv_heads = c.n_kv_heads;
  p.head_dim = c.head_dim, p.capacity = s.kv[0].capacity;
  p.eps = c.rms_norm_eps, p.scale = 1.f / std::sqrt(float(c.head_dim));
  p.stages = stages, p.stage_bytes = stage_bytes, p.act_floats = int(act);
  p.vec_bytes = int(vec_bytes);
}

CudaOptions cuda_options_from_env() {
  CudaOptions o;
  // Each variable is a comma-separated list of feature names; `set(name)` applies one (false: unknown).
  auto parse = [](const char* var, const char* known, const std::function<bool(const std::string&)>& set) {
    const char* env = std::getenv(var);
    if (!env) return;
    const std::string list(env);
    for (size_t i = 0; i <= list.size();) {
      const size_t j = std::min(list.find(',', i), list.size());
      const std::string name = list.substr(i, j - i);
      if (!name.empty() && !set(name))
        throw Error(std::string(var) + ": unknown feature '" + name + "' (known: " + known + ")");
      i = j + 1;
    }
  };
  parse("FS_CUDA_DISABLE", "pdl, wgmma, attn-tc, rope-attn, qkv-cap, argmax-keys", [&](const std::string& n) {
    if (n == "pdl") return o.pdl = false, true;
    if (n == "wgmma") return o.wgmma = false, true;
    if (n == "attn-tc") return o.attn_tc = false, true;
    if (n == "rope-attn") return o.rope_attn = false, true;
    if (n == "qkv-cap") return o.qkv_cap = false, true;
    if (n == "argmax-keys") return o.argmax_keys = false, true;
    return false;
  });
  parse("FS_CUDA_ENABLE", "persistent",
        [&](const std::string& n) { return n == "persistent" ? (o.persistent = true, true) : false; });
  return o;
}

std::unique_ptr<Backend> make_cuda_backend(const CudaOptions& opts) { return std::make_unique<CudaBackend>(opts); }
std::unique_ptr<Backend> make_cuda_backend() { return make_cuda_backend(cuda_options_from_env()); }

}  // namespace fs
