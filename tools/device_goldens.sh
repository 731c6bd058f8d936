#!/usr/bin/env bash
# Makes every golden and trains the demo model, on the GPU machine, in one go (about 6 minutes):
#
#     bash tools/device_goldens.sh          # run from anywhere in the repo; needs $OUT and .carry/corpus.txt
#
# Everything it makes lands in a staging tree shaped like the repo (tests/golden/<case>/..., models/<demo>/...,
# tests/golden/demo/...), packed into ONE archive, $OUT/goldens.tar.gz (the device tool brings back at most
# 8 files of 16 MiB); unpack it at the repo root with `tar -xzf goldens.tar.gz`. The full log is
# $OUT/device_goldens.log.
#
# Each step is one `step NAME COMMAND...` line below. A failed step is reported and the others still run
# (the demo golden needs the trained model, so it is skipped when training failed); the archive is packed
# either way, and the script exits non-zero if any step failed. To add a golden, add one line in the marked
# place, writing under "$STAGE/tests/golden/<name>".
#
# Environment: OUT (required), CORPUS (default .carry/corpus.txt), TRAIN_MINUTES (default 4),
# ONLY (space-separated step names to run, e.g. ONLY="machine models" to redo the model goldens without
# training; default: every step).
set -euo pipefail
export PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=true

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)                                   # absolute, before the cd below
CORPUS=$(realpath -m "${CORPUS:-$REPO/.carry/corpus.txt}")
TRAIN_MINUTES=${TRAIN_MINUTES:-4}
ONLY=${ONLY:-}
DEMO=fs-demo-kjv                     # the bundled model's folder name under models/
cd "$REPO"
STAGE=$(mktemp -d)
LOG="$OUT/device_goldens.log"
: >"$LOG"
T0=$(date +%s)
FAILED=()

say() { echo "$*" | tee -a "$LOG"; }

# step NAME COMMAND...: runs COMMAND with its output shown and logged, times it, records a failure.
step() {
  local name=$1; shift
  local t rc=0
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then say "=== [$name] not in ONLY, skipped"; return 0; fi
  t=$(date +%s)
  say "=== [$name] $*"
  "$@" 2>&1 | tee -a "$LOG" || rc=$?
  if [ "$rc" -ne 0 ]; then FAILED+=("$name"); fi
  say "=== [$name] $([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $(( $(date +%s) - t )) s" \
      "(total $(( $(date +%s) - T0 )) s)"
  return 0
}
failed() { [[ " ${FAILED[*]-} " == *" $1 "* ]]; }

machine_info() {
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv || echo "nvidia-smi failed"
  python3 - <<'EOF'
import importlib, platform, sys
print(f"python {platform.python_version()} ({sys.executable})")
for name in ("torch", "transformers", "tokenizers", "safetensors", "numpy"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as e:
        print(f"{name} MISSING ({type(e).__name__}: {e})")
import torch
print(f"torch cuda {torch.version.cuda}, available {torch.cuda.is_available()}")
EOF
  if [ -f "$CORPUS" ]; then
    echo "corpus $CORPUS: $(wc -c <"$CORPUS") bytes, $(wc -l <"$CORPUS") lines," \
         "sha256 $(sha256sum "$CORPUS" | cut -d' ' -f1)"
  else
    echo "corpus $CORPUS: MISSING (make it with tools/prepare_corpus.sh and carry .carry/); training will fail"
  fi
}

pack() {
  local archive="$OUT/goldens.tar.gz"
  tar -C "$STAGE" -czf "$archive" .
  local bytes parts
  bytes=$(stat -c %s "$archive")
  say "=== packed $archive: $bytes bytes"
  tar -tzvf "$archive" | tee -a "$LOG" >/dev/null
  if [ "$bytes" -gt 16000000 ]; then   # too big to come back in one file: split it (cat the parts to rejoin)
    split -b 15000000 -d "$archive" "$archive.part-"
    rm "$archive"
    parts=("$archive".part-*)
    say "=== split into ${#parts[@]} parts: cat goldens.tar.gz.part-* > goldens.tar.gz"
  fi
}

step machine  machine_info
step models   python3 tools/make_model_goldens.py "$STAGE/tests/golden"
step train    python3 tools/train_demo_model.py "$CORPUS" "$STAGE/models/$DEMO" --minutes "$TRAIN_MINUTES"
if failed train; then
  say "=== [demo] skipped: training failed"; FAILED+=(demo)
elif [ ! -f "$STAGE/models/$DEMO/config.json" ]; then
  say "=== [demo] skipped: no trained model (the demo golden needs the train step)"
else
  step demo   python3 tools/make_demo_golden.py "$STAGE/models/$DEMO" "$STAGE/tests/golden/demo"
fi
# ---- more goldens go here, one line each, e.g.:
# step tokenizer python3 tools/make_tokenizer_goldens.py "$STAGE/tests/golden/tokenizer"

pack
rm -rf "$STAGE"
if [ ${#FAILED[@]} -gt 0 ]; then
  say "=== device_goldens: FAILED steps: ${FAILED[*]} (total $(( $(date +%s) - T0 )) s)"
  exit 1
fi
say "=== device_goldens: all steps ok (total $(( $(date +%s) - T0 )) s)"
