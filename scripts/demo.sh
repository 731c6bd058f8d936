#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the bundled demo model on a prompt.
# Extra arguments go to `fs run` (e.g. scripts/demo.sh -p "And the king said" -n 60).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target fs -j"$(nproc)"
MODEL=models/fs-demo-kjv
if [ $# -eq 0 ]; then set -- -p "And God said" -n 80; fi
exec build/fs run --model "$MODEL" "$@"
