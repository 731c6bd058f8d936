#!/usr/bin/env bash
# The one command for the GPU machine, whenever CUDA code changes: correctness first, then speed.
#
#   1. the CUDA ops against the CPU oracle, and the whole model on the GPU against the golden vectors
#      (fs_cuda_tests: tests/cuda/*.cpp, tolerances stated in each file);
#   2. fs bench on random bf16 weights of Qwen3-0.6B and Llama-3.2-1B: pp512, tg128, and decode at 4k and 16k
#      of context, with GB/s and % of the copy bandwidth measured in the same run; the sampled draw's cost with and
#      without the GPU's logit window (sampler_bench) and fs bench's sampled rows;
#   3. the per-op CUDA bench (GEMV GB/s per matrix, GEMM TFLOP/s) and the PyTorch/cuBLAS yardsticks
#      (copy bandwidth, bf16 matmul rate) — tools/device_cuda.sh;
#   4. the Hugging Face references that need `transformers`/`tokenizers`: chat-template goldens, and tokenizer
#      speed against ours on the same English prose.
#
# Build here (the GPU machine has no PCRE2 headers; binaries built on Debian 12 run there):
#   cmake -S . -B build-dev -DFS_STATIC_RUNTIME=ON -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-dev --target fs tokenizer_bench fs_cuda_tests fs_cuda_bench sampler_bench -j2
#   mkdir -p .carry/dev && cp build-dev/{fs,tokenizer_bench,fs_cuda_tests,fs_cuda_bench,sampler_bench} .carry/dev/
#   python3 tools/english_prose.py .carry/tok/english_prose.txt
# then through the device tool, carrying [".carry/dev", ".carry/tok"]:  bash tools/device_check.sh [parts...]
# parts: tests bench sample ablate ops torch goldens tokspeed (default: all but ablate). Logs go to $OUT.
set -uo pipefail
OUT=${OUT:-device-out}
mkdir -p "$OUT"
BIN=.carry/dev
PROSE=.carry/tok/english_prose.txt
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(tests bench sample ops torch goldens tokspeed)
has() { for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
export PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/card.txt"
date -u | tee -a "$OUT/card.txt"

if has tests; then
  echo "== CUDA tests (ops vs CPU oracle; model vs goldens)"
  timeout 300 "$BIN/fs_cuda_tests" --gtest_color=no > "$OUT/tests.log" 2>&1 || status=1
  grep -E "prefill vs HF|^\[  FAILED|Failure|Which is|tests ran|PASSED" "$OUT/tests.log" | head -60
fi

if has bench; then
  echo "== fs bench"
  for shape in qwen3-0.6b llama-3.2-1b; do
    timeout 240 "$BIN/fs" bench --shape "$shape" --device cuda -p 512 -n 128 -r 5 --depth 4096 --depth 16384 \
      2>&1 | tee -a "$OUT/bench.log" || status=1
  done
fi

if has sample; then
  echo "== sampling: the draw with and without the GPU's logit window (bench/sampler_bench.cpp); fs bench's sampled rows"
  timeout 120 "$BIN/sampler_bench" --device cuda --repeat 200 2>&1 | tee -a "$OUT/sample.log" || status=1
  timeout 240 "$BIN/fs" bench --shape qwen3-0.6b --device cuda -p 16 -n 128 -r 5 --temp 0.6 --top-p 0.9 2>&1 \
    | tee -a "$OUT/sample.log" | grep -E "tg|sampled" || status=1
fi

if has ablate; then
  echo "== ablation: the same fs bench with one feature turned off (FS_CUDA_DISABLE) or on (FS_CUDA_ENABLE)"
  for shape in qwen3-0.6b llama-3.2-1b; do
    for off in none pdl wgmma attn-tc rope-attn qkv-cap argmax-keys; do
      echo "-- $shape, off: $off" | tee -a "$OUT/ablate.log"
      FS_CUDA_DISABLE=$([ "$off" = none ] || echo "$off") timeout 240 "$BIN/fs" bench --shape "$shape" --device cuda \
        -p 512 -n 128 -r 5 --depth 4096 2>&1 | tee -a "$OUT/ablate.log" | grep -E "tg|pp" || status=1
    done
    echo "-- $shape, on: persistent (opt-in decode kernel; FS_STEP_TRACE=40 prints where its step time goes)" \
      | tee -a "$OUT/ablate.log"
    FS_CUDA_ENABLE=persistent FS_STEP_TRACE=40 timeout 240 "$BIN/fs" bench --shape "$shape" --device cuda \
      -p 512 -n 128 -r 5 --depth 4096 2>&1 | tee -a "$OUT/ablate.log" | grep -E "tg|trace" || status=1
  done
fi
if has ops; then
  echo "== per-op bench"
  timeout 200 "$BIN/fs_cuda_bench" > "$OUT/ops.log" 2>&1 || status=1
  tail -40 "$OUT/ops.log"
fi

if has torch; then
  OUT="$OUT" timeout 200 bash tools/device_cuda.sh torch > /dev/null 2>&1 || status=1
  grep -E "copy|TFLOP|torch" "$OUT/torch.log" | head -30
fi

if has goldens; then
  echo "== chat-template goldens (transformers)"
  timeout 120 python3 tools/make_template_goldens.py --out "$OUT/chat" > "$OUT/goldens.log" 2>&1 || status=1
  tail -5 "$OUT/goldens.log"
  tar -C "$OUT" -czf "$OUT/chat_goldens.tar.gz" chat && rm -rf "$OUT/chat"
fi

if has tokspeed; then
  echo "== tokenizer speed, one thread, same text ($(wc -c < "$PROSE") bytes)"
  for t in qwen3 llama3; do
    timeout 120 python3 tools/tokenizer_speed.py "tests/data/tokenizers/$t" "$PROSE" 2>&1 | tee -a "$OUT/tokspeed.log"
    timeout 120 "$BIN/tokenizer_bench" "tests/data/tokenizers/$t" "$PROSE" 2>&1 | tee -a "$OUT/tokspeed.log"
  done
fi
echo "== device_check done (status $status)"
exit $status
