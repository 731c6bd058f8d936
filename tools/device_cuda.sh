#!/usr/bin/env bash
# The one script the GPU machine runs for the CUDA backend: card info, the CUDA op tests against the CPU oracle,
# the benchmarks, and the PyTorch (cuBLAS) yardsticks. Binaries are built on the development machine and carried:
#
#   cmake -S . -B build-cuda -DFS_STATIC_RUNTIME=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_STANDARD=17
#   cmake --build build-cuda --target fs_cuda_tests -j2
#   nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a --expt-relaxed-constexpr -Isrc \
#        bench/cuda_ops_bench.cu build-cuda/libfs_cuda.a build-cuda/libfs_model.a \
#        -Xcompiler -static-libstdc++,-static-libgcc -o .carry/cuda/fs_cuda_bench
#   cp build-cuda/fs_cuda_tests .carry/cuda/
#
# then, through the device tool, with carry [".carry/cuda"]:   tools/device_cuda.sh [parts...]
# parts: smoke tests bench torch sanitize (default: smoke tests bench torch). Logs go to $OUT (or ./device-out).
set -uo pipefail
OUT=${OUT:-device-out}
mkdir -p "$OUT"
BIN=.carry/cuda
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(smoke tests bench torch)
export PYTHONUNBUFFERED=1
status=0

has() { for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

{
  date -u
  nvidia-smi
  nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv
} > "$OUT/nvidia-smi.txt" 2>&1
head -20 "$OUT/nvidia-smi.txt"

if has smoke; then
  echo "== smoke"
  if ! timeout 60 "$BIN/fs_cuda_tests" --gtest_filter='CudaOps.NameAndKvDtype:CudaOps.SwigluMatchesCpu' \
      > "$OUT/smoke.log" 2>&1; then
    cat "$OUT/smoke.log"
    echo "SMOKE FAILED: stopping"
    exit 1
  fi
  tail -3 "$OUT/smoke.log"
fi

if has tests; then
  echo "== tests"
  timeout 300 "$BIN/fs_cuda_tests" --gtest_color=no > "$OUT/tests.log" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED) |^\[  FAILED  \]|Failure|Expected|Which is|error|rel|Error|trace" "$OUT/tests.log" | head -60
  tail -5 "$OUT/tests.log"
fi

if has bench; then
  echo "== bench"
  timeout 300 "$BIN/fs_cuda_bench" > "$OUT/bench.log" 2>&1 || status=1
  cat "$OUT/bench.log"
fi

if has torch; then
  echo "== torch yardsticks"
  timeout 200 python3 - > "$OUT/torch.log" 2>&1 <<'EOF' || status=1
import statistics, torch
dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False

def bench(fn, reps=20, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)

print(f"# torch {torch.__version__} on {torch.cuda.get_device_name()}")
src = torch.empty(1 << 28, dtype=torch.float32, device=dev).uniform_()
dst = torch.empty_like(src)
ms = bench(lambda: dst.copy_(src))
print(f"copy D2D 1 GiB: {2 * (1 << 30) / (ms * 1e-3) / 1e9:.0f} GB/s")
del src, dst
# The bf16 matmul rate a large problem reaches: the yardstick for the prefill GEMMs.
a, b = (torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev) for _ in range(2))
ms = bench(lambda: torch.matmul(a, b))
print(f"bf16 matmul 8192 x 8192 x 8192 (cuBLAS): {2 * 8192 ** 3 / (ms * 1e-3) / 1e12:.0f} TFLOP/s")
del a, b

models = {
    "Qwen3-0.6B": [("q", 2048, 1024), ("k/v", 1024, 1024), ("o", 1024, 2048), ("gate/up", 3072, 1024),
                   ("down", 1024, 3072), ("lm_head", 151936, 1024)],
    "Llama-3.2-1B": [("q", 2048, 2048), ("k/v", 512, 2048), ("o", 2048, 2048), ("gate/up", 8192, 2048),
                     ("down", 2048, 8192), ("lm_head", 128256, 2048)],
}
print("\n## torch.matmul bf16, x [512, K] @ W[N, K].T (cuBLAS)")
print(f"{'model':14} {'matrix':8} {'rows':>8} {'cols':>8} | {'us':>9} {'TFLOP/s':>8}")
for model, mats in models.items():
    for name, rows, cols in mats:
        w = torch.randn(rows, cols, dtype=torch.bfloat16, device=dev) * 0.02
        x = torch.randn(512, cols, dtype=torch.bfloat16, device=dev)
        ms = bench(lambda: torch.matmul(x, w.t()))
        print(f"{model:14} {name:8} {rows:8} {cols:8} | {ms * 1e3:9.1f} {2 * 512 * rows * cols / (ms * 1e-3) / 1e12:8.1f}")
        del w, x

print("\n## torch.matmul bf16 at n = 1 (cuBLAS GEMV), weights rotated over copies; one launch per timing")
print(f"{'model':14} {'matrix':8} {'rows':>8} {'cols':>8} | {'us':>9} {'GB/s':>8}")
for model, mats in models.items():
    for name, rows, cols in mats:
        nbytes = rows * cols * 2
        copies = max(1, min(64, (512 << 20) // nbytes))
        ws = [torch.randn(rows, cols, dtype=torch.bfloat16, device=dev) * 0.02 for _ in range(copies)]
        x = torch.randn(1, cols, dtype=torch.bfloat16, device=dev)
        it = [0]
        def one():
            torch.matmul(x, ws[it[0]].t()); it[0] = (it[0] + 1) % copies
        ms = bench(one)
        # back-to-back, as in a decode step: all copies in one CUDA graph
        g = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for wc in ws: torch.matmul(x, wc.t())
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(g):
            for wc in ws: torch.matmul(x, wc.t())
        gms = bench(lambda: g.replay()) / copies
        print(f"{model:14} {name:8} {rows:8} {cols:8} | {ms * 1e3:9.2f} {nbytes / (ms * 1e-3) / 1e9:8.0f}"
              f"   graph: {gms * 1e3:7.2f} us {nbytes / (gms * 1e-3) / 1e9:6.0f} GB/s")
        del ws, g
EOF
  cat "$OUT/torch.log"
fi

if has sanitize; then
  echo "== compute-sanitizer (memcheck, racecheck) on the small-op and decode-attention tests"
  timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN/fs_cuda_tests" \
    --gtest_filter='CudaOps.*:CudaAttention.DecodeMatchesCpu:CudaFused.RecordedDecodeLayerMatchesCpu' \
    > "$OUT/sanitize.log" 2>&1 || status=1
  timeout 90 compute-sanitizer --tool racecheck --error-exitcode 9 "$BIN/fs_cuda_tests" \
    --gtest_filter='CudaOps.ArgmaxMatchesCpuAndKeepsTheFirstTie:CudaAttention.DecodeMatchesCpu' \
    >> "$OUT/sanitize.log" 2>&1 || status=1
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED" "$OUT/sanitize.log" | head -20
fi

echo "== done (status $status)"
exit $status
