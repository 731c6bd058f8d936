#!/usr/bin/env python3
"""Hugging Face `tokenizers` speed, measured exactly like bench/tokenizer_bench.cpp measures ours.

    python3 tools/tokenizer_speed.py DIR FILE [--lines] [--repeat N]

DIR holds tokenizer.json, FILE is the prose from tools/english_prose.py (the same file for both tools). One thread
(TOKENIZERS_PARALLELISM=false, and encode() of a single text never uses more); the whole file is encoded as one
string (or line by line with --lines), without special tokens, N times (default 3) on one Tokenizer, so the first
run starts with an empty BPE cache and later ones reuse it. Load time is Tokenizer.from_file. Prints one JSON object
with the same keys as tokenizer_bench, plus the tokenizers version.
"""
import argparse
import json
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("file")
    ap.add_argument("--lines", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with open(args.file, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")
    lines = text.split("\n") if args.lines else None
    if lines is not None and lines and lines[-1] == "":
        lines.pop()  # like std::getline: a final newline does not start another line

    t0 = time.perf_counter()
    tok = Tokenizer.from_file(os.path.join(args.dir, "tokenizer.json"))
    load_ms = (time.perf_counter() - t0) * 1e3

    runs, tokens = [], 0
    for _ in range(max(1, args.repeat)):
        t1 = time.perf_counter()
        if lines is not None:
            tokens = sum(len(tok.encode(line, add_special_tokens=False).ids) for line in lines)
        else:
            tokens = len(tok.encode(text, add_special_tokens=False).ids)
        runs.append((time.perf_counter() - t1) * 1e3)
    mb = len(data) / 1e6
    print(json.dumps({"load_ms": round(load_ms, 1), "bytes": len(data), "tokens": tokens,
                      "first_mb_s": round(mb / (runs[0] / 1e3), 2), "best_mb_s": round(mb / (min(runs) / 1e3), 2),
                      "mode": "lines" if args.lines else "whole", "ms_per_run": [round(r, 1) for r in runs],
                      "tokenizers_version": tokenizers.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
