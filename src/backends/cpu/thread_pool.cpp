// The thread pool of thread_pool.h. A job is published in one atomic word, claim_ = [job : 32 | chunks : 16 |
// next : 16]; a thread takes chunk `next` by compare-and-swap of next → next + 1, which fails if the job changed in
// between, so a worker that wakes late can never run a chunk of a job that is over.
#include "backends/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fs::cpu {

namespace {

// True while this thread runs chunks of a job (always, on a worker): a parallel_for made from inside a chunk runs
// inline instead of waiting for a pool that is busy with the outer call.
thread_local bool t_in_job = false;

// How long a parked worker spins before it sleeps. Long enough to cover the gap between two ops of one decode step
// (a few µs of serial work), short enough that an idle engine goes quiet at once.
constexpr auto kSpinTime = std::chrono::microseconds(200);

constexpr int64_t kMaxChunks = 0xffff;  // the chunk count has 16 bits in claim_

constexpr uint64_t pack(uint64_t job, uint64_t chunks, uint64_t next) { return job << 32 | chunks << 16 | next; }
constexpr uint32_t job_of(uint64_t c) { return uint32_t(c >> 32); }
constexpr uint64_t chunks_of(uint64_t c) { return (c >> 16) & 0xffff; }
constexpr uint64_t next_of(uint64_t c) { return c & 0xffff; }

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t ThreadPool::chunk_size(int64_t range, int64_t min_chunk, int per_thread, int64_t multiple) const {
  const int64_t pieces = int64_t(size()) * per_thread;
  int64_t chunk = std::max<int64_t>({(range + pieces - 1) / pieces, min_chunk, 1});
  return (chunk + multiple - 1) / multiple * multiple;
}

void ThreadPool::work_on_job() {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (next_of(c) >= chunks_of(c)) return;  // every chunk taken (or no job at all)
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acquire, std::memory_order_acquire)) continue;
    const int64_t lo = begin_ + int64_t(next_of(c)) * chunk_;
    try {
      fn_(ctx_, lo, std::min(lo + chunk_, end_));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    chunks_done_.fetch_add(1, std::memory_order_release);
    c = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int64_t begin, int64_t end, int64_t chunk, RangeFn fn, void* ctx) {
  if (end <= begin) return;
  chunk = std::max<int64_t>({chunk, 1, (end - begin + kMaxChunks - 1) / kMaxChunks});
  const int64_t chunks = (end - begin + chunk - 1) / chunk;
  if (workers_.empty() || t_in_job || chunks == 1) {
    for (int64_t lo = begin; lo < end; lo += chunk) fn(ctx, lo, std::min(lo + chunk, end));
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  fn_ = fn;
  ctx_ = ctx;
  begin_ = begin;
  end_ = end;
  chunk_ = chunk;
  error_ = nullptr;
  chunks_done_.store(0, std::memory_order_relaxed);
  const uint32_t job = job_of(claim_.load(std::memory_order_relaxed)) + 1;
  claim_.store(pack(job, uint64_t(chunks), 0), std::memory_order_release);  // publishes the fields above
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();

  t_in_job = true;
  work_on_job();
  t_in_job = false;
  // Every chunk is claimed; wait for the ones still running on workers, so everything fn wrote is ours again.
  for (int spins = 0; chunks_done_.load(std::memory_order_acquire) != uint32_t(chunks); ++spins) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();
  }
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker_main() {
  t_in_job = true;
  uint32_t seen = 0;
  for (;;) {
    // Park: spin for a while, then sleep until a new job is announced.
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    for (int spins = 0; wake_.load(std::memory_order_acquire) == seen; ++spins) {
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > spin_until) wake_.wait(seen);
      cpu_relax();
    }
    seen = wake_.load(std::memory_order_acquire);
    if (stopping_.load()) return;
    work_on_job();
  }
}

}  // namespace fs::cpu
