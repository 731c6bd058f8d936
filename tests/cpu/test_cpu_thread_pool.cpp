// The thread pool: every index covered exactly once, nested calls, exceptions, and many calls in a row.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "backends/cpu/thread_pool.h"

namespace fs::cpu {
namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 7, 100, 1001})
      for (int64_t chunk : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(size_t(n) + 5);
        pool.parallel_for(5, 5 + n, chunk, [&](int64_t lo, int64_t hi) {
          EXPECT_LE(hi - lo, chunk);
          for (int64_t i = lo; i < hi; ++i) hits[size_t(i - 5)]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n=" << n << " chunk=" << chunk;
      }
  }
}

TEST(ThreadPool, DefaultSizeIsOnePerHardwareThread) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), int(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPool, ManySmallCallsInARow) {  // what decode does: hundreds of short calls per token
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 20000; ++call)
    pool.parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) { sum += hi - lo; });
  EXPECT_EQ(sum.load(), 80000);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.parallel_for(0, 8, 1, [&](int64_t, int64_t) {
    pool.parallel_for(0, 10, 2, [&](int64_t lo, int64_t hi) { inner += int(hi - lo); });
  });
  EXPECT_EQ(inner.load(), 80);
}

TEST(ThreadPool, RethrowsAnExceptionFromAChunk) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(0, 100, 1,
                                 [](int64_t lo, int64_t) {
                                   if (lo == 57) throw std::runtime_error("chunk 57");
                                 }),
               std::runtime_error);
  std::atomic<int> after{0};  // and the pool still works
  pool.parallel_for(0, 10, 1, [&](int64_t, int64_t) { ++after; });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPool, ChunkSize) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.chunk_size(1000, 1, 4), 125);      // 8 pieces
  EXPECT_EQ(pool.chunk_size(10, 64, 4), 64);        // never below the minimum
  EXPECT_EQ(pool.chunk_size(1000, 1, 4, 3), 126);   // rounded up to a multiple
}

}  // namespace
}  // namespace fs::cpu
