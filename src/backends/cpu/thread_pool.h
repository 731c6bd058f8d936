// A fixed set of worker threads that split one loop between them: the CPU backend's only source of parallelism.
//
// Decode calls into the pool about 200 times per token, each call tens of microseconds of work, so a call must cost
// far less than starting a thread. The workers are created once and park between calls: they first spin (the next
// call usually comes within microseconds), then sleep on an atomic (a futex on Linux) so an idle engine burns no
// CPU. The calling thread works too, so threads = 2 means one extra worker.
//
//   parallel_for(0, 1000, 100, fn)      caller:   fn(0,100)  fn(200,300) fn(400,500) ...
//                                       worker 1: fn(100,200) fn(300,400) ...
//
// Chunks are claimed one at a time from a shared counter, so a thread that falls behind (another process took its
// core for a moment) simply claims fewer, and the caller never waits for a worker that has not started: it waits
// only for chunks that a worker has actually claimed. One call at a time: concurrent callers are serialised, and a
// call made from inside a chunk runs inline.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace fs::cpu {

class ThreadPool {
 public:
  // threads <= 0: one per hardware thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls fn(lo, hi) on the consecutive sub-ranges [begin, begin + chunk), [begin + chunk, ...) of [begin, end),
  // spread over all threads, and returns when every call has returned. An exception thrown by fn is rethrown here.
  // (The chunk grows if [begin, end) would otherwise make more than 65535 chunks.)
  template <class F>
  void parallel_for(int64_t begin, int64_t end, int64_t chunk, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(begin, end, chunk, [](void* f, int64_t lo, int64_t hi) { (*static_cast<Fn*>(f))(lo, hi); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // A chunk size that gives each thread about `per_thread` chunks of [0, range), but no chunk below `min_chunk`
  // (too little work to be worth a hand-off) and every chunk a multiple of `multiple`.
  int64_t chunk_size(int64_t range, int64_t min_chunk, int per_thread = 4, int64_t multiple = 1) const;

 private:
  using RangeFn = void (*)(void* ctx, int64_t lo, int64_t hi);
  void run(int64_t begin, int64_t end, int64_t chunk, RangeFn fn, void* ctx);
  void work_on_job();  // claims and runs chunks of the current job until none are left
  void worker_main();

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time

  // The current job. Its fields are written by the caller before it publishes the job in claim_, and read by a
  // thread only after it has claimed one of its chunks, so they cannot change under it.
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t begin_ = 0, end_ = 0, chunk_ = 1;
  // Everything a thread needs to claim a chunk, in one word so that one compare-and-swap decides:
  //   [ job number : 32 | chunk count : 16 | next chunk : 16 ]
  std::atomic<uint64_t> claim_{0};
  std::atomic<uint32_t> chunks_done_{0};
  std::exception_ptr error_;  // the first exception a chunk threw
  std::mutex error_mutex_;

  std::atomic<uint32_t> wake_{0};  // bumped once per job; parked workers wait for it to change
  std::atomic<bool> stopping_{false};
};

}  // namespace fs::cpu
