#!/usr/bin/env python3
"""Goldens for the chat-template interpreter (src/tokenizer/chat_template.*, jinja_*.*).

For each template (the chat_template of tests/data/tokenizers/{qwen3,llama3}/tokenizer_config.json) x each
conversation (tests/data/chat/*.json) x each option set, renders the prompt with Hugging Face's
tokenizer.apply_chat_template(..., tokenize=False) and writes one JSON file per case to tests/golden/chat/:

    {"template": "qwen3", "conversation": "tool_calls", "messages": [...], "tools": [...] or null,
     "add_generation_prompt": true, "kwargs": {"date_string": "...", ...}, "expected": "<the prompt>",
     "versions": {"transformers": "...", "jinja2": "..."}}

(or "expected_error" instead of "expected" when HF raises). tests/tokenizer/test_chat_template_golden.cpp renders
the same case with our interpreter and demands the same bytes.

Needs: transformers (and its jinja2). Run from anywhere, e.g. on the GPU machine:
    python3 tools/make_template_goldens.py            # writes tests/golden/chat/*.json
    python3 tools/make_template_goldens.py --out DIR  # somewhere else
"""
import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = ["qwen3", "llama3"]  # llama2's tokenizer_config.json has no chat_template
# A fixed date for templates that print today's date (Llama 3.1+ call strftime_now unless date_string is given),
# passed to both sides so the goldens do not depend on the day they were made.
DATE_STRING = "26 Jul 2024"
OPTIONS = [
    ("gen", True, {}),
    ("nogen", False, {}),
    ("nothink", True, {"enable_thinking": False}),
]


def load_tokenizer(model_dir):
    """The tokenizer HF would build from the committed files, with its chat template."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    try:
        tok = AutoTokenizer.from_pretrained(model_dir)
    except Exception as e:  # a tokenizer class this transformers lacks: the fast tokenizer + template suffice
        print(f"  AutoTokenizer failed ({e}); using PreTrainedTokenizerFast", file=sys.stderr)

        def token(key):
            v = config.get(key)
            return v.get("content") if isinstance(v, dict) else v

        tok = PreTrainedTokenizerFast(
            tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
            bos_token=token("bos_token"),
            eos_token=token("eos_token"),
        )
    if not tok.chat_template:
        tok.chat_template = config.get("chat_template")
    if not tok.chat_template:
        raise SystemExit(f"{model_dir}: no chat template")
    if tok.chat_template != config.get("chat_template"):
        raise SystemExit(f"{model_dir}: the tokenizer's chat template differs from tokenizer_config.json's")
    return tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "chat"))
    args = ap.parse_args()

    import jinja2
    import transformers

    versions = {"transformers": transformers.__version__, "jinja2": jinja2.__version__}
    os.makedirs(args.out, exist_ok=True)
    conversations = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "chat", "*.json")))
    if not conversations:
        raise SystemExit("no conversations in tests/data/chat")
    written = 0
    for template in TEMPLATES:
        tok = load_tokenizer(os.path.join(ROOT, "tests", "data", "tokenizers", template))
        for path in conversations:
            name = os.path.splitext(os.path.basename(path))[0]
            with open(path, encoding="utf-8") as f:
                conv = json.load(f)  # json keeps each object's key order, which `tojson` shows
            for option, add_generation_prompt, extra in OPTIONS:
                kwargs = {"date_string": DATE_STRING, **extra}
                record = {
                    "template": template,
                    "conversation": name,
                    "messages": conv["messages"],
                    "tools": conv.get("tools"),
                    "add_generation_prompt": add_generation_prompt,
                    "kwargs": kwargs,
                }
                try:
                    record["expected"] = tok.apply_chat_template(
                        conv["messages"],
                        tools=conv.get("tools"),
                        tokenize=False,
                        add_generation_prompt=add_generation_prompt,
                        **kwargs,
                    )
                except Exception as e:  # the template itself refused (raise_exception): we must refuse too
                    record["expected_error"] = f"{type(e).__name__}: {e}"
                record["versions"] = versions
                out = os.path.join(args.out, f"{template}__{name}__{option}.json")
                with open(out, "w", encoding="utf-8") as f:
                    json.dump(record, f, ensure_ascii=False, indent=1)
                    f.write("\n")
                written += 1
    print(f"wrote {written} goldens to {args.out} (transformers {versions['transformers']}, jinja2 {versions['jinja2']})")


if __name__ == "__main__":
    main()
