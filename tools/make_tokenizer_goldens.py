#!/usr/bin/env python3
"""Writes the tokenizer goldens: what Hugging Face `tokenizers` makes of our test corpus.

Run on a machine with the `tokenizers` package (the GPU machine), from anywhere:
    python3 tools/make_tokenizer_goldens.py
It reads tests/data/tokenizer_corpus.jsonl (one JSON string per line) and the committed tokenizer files
tests/data/tokenizers/<name>/tokenizer.json, and writes for each <name>:

  tests/golden/tokenizer/<name>.jsonl         line 1: {"tokenizers_version", "tokenizer", "corpus_sha256", "count"}
                                              then per corpus line: {"text", "ids", "ids_special", "decoded",
                                              "decoded_skip"}
        ids          = encode(text, add_special_tokens=False).ids
        ids_special  = encode(text, add_special_tokens=True).ids
        decoded      = decode(ids_special, skip_special_tokens=False)
        decoded_skip = decode(ids_special, skip_special_tokens=True)
  tests/golden/tokenizer/<name>_decode.jsonl  line 1: the same header; then {"ids", "skip", "text"}: decodes of
                                              fixed pseudo-random id sequences (any token, byte tokens, special
                                              tokens, broken UTF-8), text = decode(ids, skip_special_tokens=skip)

The C++ test (tests/tokenizer/test_golden.cpp) compares against these files and skips while they are absent.
Only the Python standard library and `tokenizers` are used; the script is deterministic (fixed seeds).
"""
import hashlib
import json
import os
import random
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

NAMES = ["qwen3", "llama3", "llama2"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_corpus(path):
    texts = []
    with open(path, encoding="utf-8", newline="\n") as f:  # newline="\n": only LF ends a line
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            text = json.loads(line)
            if not isinstance(text, str):
                sys.exit(f"{path}:{number}: expected a JSON string")
            texts.append(text)
    return texts


def decode_cases(tok, seed):
    """Id sequences that stress the decoder: random tokens, runs of byte tokens, specials, every single id region."""
    rng = random.Random(seed)
    size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    byte_ids = sorted(i for t, i in vocab.items() if len(t) == 6 and t.startswith("<0x") and t.endswith(">"))
    added = getattr(tok, "get_added_tokens_decoder", None)  # tokenizers >= 0.14
    special_ids = sorted(i for i, t in added().items() if t.special) if added else []
    cases = []
    for n in range(60):
        length = rng.randint(1, 24)
        ids = [rng.randrange(size) for _ in range(length)]
        if byte_ids and n % 3 == 0:  # splice in a run of byte tokens (often not valid UTF-8)
            at = rng.randrange(len(ids) + 1)
            ids[at:at] = [rng.choice(byte_ids) for _ in range(rng.randint(1, 5))]
        if special_ids and n % 4 == 0:
            ids.insert(rng.randrange(len(ids) + 1), rng.choice(special_ids))
        cases.append(ids)
    # Byte-level models: ids of the 256 single-byte tokens in random order (broken UTF-8 everywhere).
    byte_level = [vocab[c] for c in byte_chars() if c in vocab]
    for _ in range(10):
        cases.append([rng.choice(byte_level) for _ in range(rng.randint(1, 12))])
    return cases


def byte_chars():
    """GPT-2's 256 byte-level characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def main():
    corpus_path = os.path.join(ROOT, "tests", "data", "tokenizer_corpus.jsonl")
    with open(corpus_path, "rb") as f:
        corpus_sha = hashlib.sha256(f.read()).hexdigest()
    texts = read_corpus(corpus_path)
    out_dir = os.path.join(ROOT, "tests", "golden", "tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    for seed, name in enumerate(NAMES):
        tok = Tokenizer.from_file(os.path.join(ROOT, "tests", "data", "tokenizers", name, "tokenizer.json"))
        header = {"tokenizers_version": tokenizers.__version__, "tokenizer": name, "corpus_sha256": corpus_sha,
                  "count": len(texts)}
        with open(os.path.join(out_dir, name + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(header) + "\n")
            for text in texts:
                ids = tok.encode(text, add_special_tokens=False).ids
                ids_special = tok.encode(text, add_special_tokens=True).ids
                record = {"text": text, "ids": ids, "ids_special": ids_special,
                          "decoded": tok.decode(ids_special, skip_special_tokens=False),
                          "decoded_skip": tok.decode(ids_special, skip_special_tokens=True)}
                f.write(json.dumps(record, ensure_ascii=True) + "\n")
        with open(os.path.join(out_dir, name + "_decode.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(header) + "\n")
            for k, ids in enumerate(decode_cases(tok, 1000 + seed)):
                skip = k % 2 == 1
                record = {"ids": ids, "skip": skip, "text": tok.decode(ids, skip_special_tokens=skip)}
                f.write(json.dumps(record, ensure_ascii=True) + "\n")
        print(f"{name}: {len(texts)} texts, tokenizers {tokenizers.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
