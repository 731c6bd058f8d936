#!/usr/bin/env bash
# The README's second command: install what is missing, then build and run every test twice — once optimised,
# once with AddressSanitizer + UndefinedBehaviorSanitizer. Where nvcc exists the CUDA backend is compiled too
# (its tests need a GPU: tools/device_check.sh runs them on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
# The sanitizer build skips the CUDA backend (nvcc objects are not instrumented) and runs the CPU tests. -O1 without
# debug info keeps its compile time (and CI's) down; the sanitizers' reports still name functions and files.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -fno-omit-frame-pointer" -DFS_SANITIZE=ON \
  -DFS_CUDA=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs")
