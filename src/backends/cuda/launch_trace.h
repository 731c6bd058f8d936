// A per-block timeline of one decode step: FS_CUDA_TRACE=<file> (a diagnostic, off by default).
//
// A decode step is ~150 kernels overlapped by Programmatic Dependent Launch, so "how long does kernel k take" has
// no single answer: its blocks start while the kernel before still runs, wait, and finish at different times. This
// records, for every block of the traced launches (the GEMVs and the decode attention), three global-timer stamps:
//
//     start — the block is on an SM (its weight loads are issued right after)
//     wait  — it is past grid_dep_wait(): the kernel before has finished
//     end   — its thread 0 is done (thread 0 writes in every block of these kernels)
//
// The recording covers the launches of the greedy decode step (run_recorded's "decode-greedy/<context class>" graph
// recorded first, which `fs run` at temperature 0 and `fs bench` replay); every replay overwrites the stamps, so the
// file, written when the backend is destroyed, shows the last step run of that graph. It lists per launch the
// first, median and last block of each stamp, in µs from the first launch's block 0 start, and two derived numbers
// (docs/cuda-backend.md, section 5): the gap from the previous launch's last end to this one's first wait (the
// dependency hand-over), and the span from the previous last end to this last end (what the launch adds to the
// step). The stamps are plain stores, one per block: measured, they leave tok/s within 1%. %globaltimer ticks in
// steps of ~32 ns on an H100.
//
// A kernel may also stamp up to kPhases points between its wait and its end (FS_TRACE_PHASE), in its first
// kPhaseBlocks blocks; the summary then adds a line of their medians, in µs after those blocks' waits. The decode
// attention does (attention_decode_tc.cu): its first 8 blocks are split 0 of every kv head, which is the whole of
// the work at short context, and its phases are 0 tables in shared memory, 1 q (and in one warp row P's K and V)
// normalised and rotated, 2 row P in the registers that need it, 3 warp 0's products done, 4 the warps' states in
// shared memory. Those stamps are compiled in only with the CMake option FS_CUDA_TRACE_PHASES (which defines
// FS_TRACE_PHASES): even with tracing off they cost 0.4–2% of Qwen3-0.6B's tg128 on an H100 (ninth session log,
// parts 9–12), as the attention kernel sits at its 255-register limit and any added code reshuffles it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fs::cuda {

struct LaunchTrace {
  static constexpr int kLaunches = 192;      // traced launches per step, at most (Qwen3-0.6B: 141)
  static constexpr int kBlocks = 16384;      // blocks per launch, at most (an lm head: ~9,500)
  static constexpr int kPhases = 5, kPhaseBlocks = 8;
  static constexpr size_t kPhaseAt = size_t(3) * kBlocks;                    // a launch's phase stamps start here
  static constexpr size_t kStride = kPhaseAt + kPhaseBlocks * kPhases;       // stamps per launch
  unsigned long long* stamps = nullptr;      // device [kLaunches][kStride]: [kBlocks][3], then [kPhaseBlocks][kPhases]
  bool recording = false;
  std::vector<std::string> names;            // per launch, in graph order
  std::vector<unsigned> blocks;
};

// Where a launch of `blocks` blocks writes its stamps, or null (not recording, or past the limits).
inline unsigned long long* trace_slot(LaunchTrace* t, const char* name, unsigned blocks) {
  if (!t || !t->recording || t->names.size() >= size_t(LaunchTrace::kLaunches) || blocks > LaunchTrace::kBlocks)
    return nullptr;
  t->names.push_back(name);
  t->blocks.push_back(blocks);
  return t->stamps + LaunchTrace::kStride * (t->names.size() - 1);
}

// The summary described above, from the stamps copied to the host.
void write_trace_summary(const LaunchTrace& t, const std::vector<unsigned long long>& stamps, const char* path);

#ifdef __CUDACC__
__device__ __forceinline__ unsigned trace_block() { return blockIdx.x + gridDim.x * blockIdx.y; }
// The global timer. It takes `after` as an input, so the read is not scheduled before that value (a register
// computed from what the stamp waits for) exists.
__device__ __forceinline__ unsigned long long trace_now(uint32_t after = 0) {
  unsigned long long now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now) : "r"(after));
  return now;
}
__device__ __forceinline__ void trace_mark(unsigned long long* tr, int what) {
  if (tr && threadIdx.x == 0) tr[3 * trace_block() + what] = trace_now();
}
__device__ __forceinline__ void trace_start(unsigned long long* tr) { trace_mark(tr, 0); }
__device__ __forceinline__ void trace_wait(unsigned long long* tr) { trace_mark(tr, 1); }
__device__ __forceinline__ void trace_end(unsigned long long* tr) { trace_mark(tr, 2); }
#ifdef FS_TRACE_PHASES
#define FS_TRACE_PHASE(tr, ...) ::fs::cuda::trace_phase(tr, __VA_ARGS__)
#else
#define FS_TRACE_PHASE(tr, ...) ((void)0)
#endif
// Phase k of this block (thread 0, first kPhaseBlocks blocks), stamped once `after` exists.
__device__ __forceinline__ void trace_phase(unsigned long long* tr, int k, uint32_t after = 0) {
  const unsigned b = trace_block();
  if (tr && threadIdx.x == 0 && b < LaunchTrace::kPhaseBlocks)
    tr[LaunchTrace::kPhaseAt + LaunchTrace::kPhases * b + k] = trace_now(after);
}
#endif

}  // namespace fs::cuda
