#!/usr/bin/env python3
"""Makes the golden of the bundled demo model: what Hugging Face computes for it on a fixed English prompt.

    python3 tools/make_demo_golden.py MODEL_DIR OUT_DIR [--prompt TEXT]

OUT_DIR receives (the model itself stays in MODEL_DIR, e.g. models/fs-demo-kjv, and is not copied):
  golden.json   prompt text and ids, 32 greedy ids from a manual argmax loop with their top-1 − top-2 margins,
                the greedy text, the text of HF generate(do_sample=False, max_new_tokens=32) (it stops at EOS,
                as `fs run` does), a rendered chat prompt, versions;
  logits.f32    little-endian f32 [n_prompt, vocab_size];
  hidden.f32    little-endian f32 [n_layers, n_prompt, hidden_size], each decoder layer's output before the
                final norm.
The reference is the same as for the random-weight goldens (tools/make_model_goldens.py): the bf16 weights
reloaded in f32, eager attention, on the CPU. The prompt is tokenized with the model's own tokenizer.json
through the `tokenizers` library, without special tokens (the demo model has no BOS).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_model_goldens import (MARGIN_THRESHOLD, TOLERANCE, check, config_summary, load_reference,  # noqa: E402
                                reference_outputs, versions, write_f32, write_json)

N_GREEDY = 32
CHAT_EXAMPLE = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Who created the heaven and the earth?"}]


def hf_tokenizer_checks(model_dir, prompt, prompt_ids):
    """AutoTokenizer must load the folder and agree with `tokenizers`; returns its rendering of a chat. Failures
    are reported, not fatal: the numbers in the golden do not depend on transformers' tokenizer wrapper."""
    try:
        from transformers import AutoTokenizer
        hf = AutoTokenizer.from_pretrained(str(model_dir))
        ids = hf(prompt, add_special_tokens=False)["input_ids"]
        check(list(ids) == list(prompt_ids), f"AutoTokenizer gives {ids}, tokenizers gives {prompt_ids}")
        rendered = hf.apply_chat_template(CHAT_EXAMPLE, tokenize=False, add_generation_prompt=True)
        return "ok", rendered
    except Exception as e:  # noqa: BLE001
        print(f"  WARNING: AutoTokenizer check failed: {type(e).__name__}: {e}")
        return f"error: {type(e).__name__}: {e}", None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--prompt", default="In the beginning God created")
    args = ap.parse_args()
    t0 = time.time()
    model_dir, out = Path(args.model_dir), Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"make_demo_golden: {model_dir} -> {out}; versions {versions()}")

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    prompt_ids = tok.encode(args.prompt, add_special_tokens=False).ids
    check(len(prompt_ids) > 0, "empty prompt")
    print(f"  prompt {args.prompt!r} -> {prompt_ids} {[tok.id_to_token(i) for i in prompt_ids]}")

    model = load_reference(model_dir, "Qwen3ForCausalLM")
    config = model.config
    logits, hidden, greedy, margins = reference_outputs(model, prompt_ids, N_GREEDY)
    n_prompt, n_layers, hidden_size, vocab = len(prompt_ids), config.num_hidden_layers, config.hidden_size, \
        config.vocab_size
    write_f32(out / "logits.f32", logits, (n_prompt, vocab))
    write_f32(out / "hidden.f32", hidden, (n_layers, n_prompt, hidden_size))

    # EOS as generate() sees it: generation_config.json (a list for this model), else config.json.
    from transformers import GenerationConfig
    gen_cfg = GenerationConfig.from_pretrained(str(model_dir))
    eos = gen_cfg.eos_token_id if gen_cfg.eos_token_id is not None else config.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    first_eos = next((i for i, t in enumerate(greedy) if t in eos_ids), None)
    until_eos = greedy if first_eos is None else greedy[:first_eos]

    # HF generate(), for the text `fs run` should print (informational: a failure here is reported, not fatal).
    try:
        with torch.no_grad():
            ids = torch.tensor([prompt_ids], dtype=torch.long)
            generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                       max_new_tokens=N_GREEDY, pad_token_id=eos_ids[0] if eos_ids else None)
        gen_ids = generated[0, n_prompt:].tolist()
        gen_text = tok.decode(gen_ids, skip_special_tokens=True)
        gen_agrees = gen_ids == greedy[:len(gen_ids)]
        if not gen_agrees:
            print("  WARNING: generate() and the manual greedy loop disagree")
    except Exception as e:  # noqa: BLE001
        print(f"  WARNING: generate() failed: {type(e).__name__}: {e}")
        gen_ids, gen_text, gen_agrees = None, f"error: {type(e).__name__}: {e}", None

    tokenizer_check, chat_rendered = hf_tokenizer_checks(model_dir, args.prompt, prompt_ids)

    golden = {
        "case": "demo",
        "architecture": type(model).__name__,
        "model_dir": f"models/{model_dir.name}",   # where the repo keeps it
        "prompt_text": args.prompt,
        "prompt_ids": prompt_ids,
        "n_prompt": n_prompt,
        "n_layers": n_layers,
        "hidden_size": hidden_size,
        "vocab_size": vocab,
        "logits_file": "logits.f32",
        "logits_shape": [n_prompt, vocab],
        "hidden_file": "hidden.f32",
        "hidden_shape": [n_layers, n_prompt, hidden_size],
        "greedy_ids": greedy,
        "greedy_margins": margins,
        "greedy_text": tok.decode(greedy, skip_special_tokens=False),
        "eos_token_ids": eos_ids,
        "greedy_first_eos_index": first_eos,
        "greedy_text_until_eos": tok.decode(until_eos, skip_special_tokens=False),
        "generate_ids": gen_ids,
        "generate_text": gen_text,
        "generate_agrees_with_greedy": gen_agrees,
        "chat_example_messages": CHAT_EXAMPLE,
        "chat_example_rendered": chat_rendered,
        "hf_tokenizer_check": tokenizer_check,
        "tolerance": TOLERANCE,
        "margin_threshold": MARGIN_THRESHOLD,
        "hf_config": config_summary(config),
        "versions": versions(),
    }
    write_json(out / "golden.json", golden)
    small = sum(m <= MARGIN_THRESHOLD for m in margins)
    print(f"  greedy ids {greedy}")
    print(f"  greedy text {golden['greedy_text']!r}")
    print(f"  generate() text {gen_text!r}")
    print(f"  margins min {min(margins):.3g} median {statistics.median(margins):.3g} "
          f"(<= {MARGIN_THRESHOLD:g}: {small}/{len(margins)}); first EOS at {first_eos}")
    print(f"make_demo_golden: done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
