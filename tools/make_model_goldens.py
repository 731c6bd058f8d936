#!/usr/bin/env python3
"""Makes the model goldens: tiny random-weight models, one per supported architecture, and what Hugging Face
computes for them.

    python3 tools/make_model_goldens.py OUT_DIR [--only CASE ...]

For each case this writes OUT_DIR/<case>/:
  config.json, model.safetensors (or model-0000k-of-0000n.safetensors + model.safetensors.index.json),
  generation_config.json   the model in the Hugging Face layout, weights stored in bf16;
  golden.json              prompt ids, greedy ids and their top-1 − top-2 margins, shapes, versions;
  logits.f32               little-endian f32 [n_prompt, vocab_size]: the logits at every prompt position;
  hidden.f32               little-endian f32 [n_layers, n_prompt, hidden_size]: the output of every decoder
                           layer (model.model.layers[l]), before the final norm.

How the reference is computed, and why:
  * The weights are re-drawn so the numbers are O(1) everywhere (the default init, std 0.02, gives
    near-uniform logits whose top-2 margins are too small to compare greedy ids): linear weights
    N(0, 1/fan_in), embeddings N(0, 1) (N(0, 1/hidden) when tied to the lm_head), norm weights
    1 + 0.2·N(0, 1), biases 0.1·N(0, 1).
  * The model is cast to bf16 and saved; the reference is the model RELOADED from that folder in f32
    (bf16 → f32 is exact), eager attention, on the CPU (no TF32). Our engine does f32 math on the same
    bf16 weights, so the two must agree to rounding: 1e-4 relative L2 (docs/goldens.md).
  * Hidden states come from forward hooks on the decoder layers, not output_hidden_states (whose last
    entry is taken after the final norm).
  * The greedy continuation is a manual loop (full forward, argmax, append), not generate().

Runs on the CPU only; needs torch, transformers (4.51+ for Qwen3; 5.x works), numpy. make_demo_golden.py
imports reference_outputs() and the helpers below from this file.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import transformers

N_GREEDY = 12
TOLERANCE = 1e-4          # relative L2, logits and every layer's hidden states
MARGIN_THRESHOLD = 1e-3   # greedy ids are compared only where HF's top-1 − top-2 margin exceeds this


# ---------------------------------------------------------------- small helpers, shared with make_demo_golden.py

class GoldenError(RuntimeError):
    pass


def check(cond, msg):
    if not cond:
        raise GoldenError(msg)


def transformers_version():
    """(major, minor) of the installed transformers, e.g. (4, 57) or (5, 17)."""
    parts = transformers.__version__.split(".")
    return int(parts[0]), int(re.match(r"\d+", parts[1]).group())


def f32_load_kwargs():
    """from_pretrained() arguments for an exact f32 eager reference. `dtype=` replaced `torch_dtype=` (4.56 added
    it, 4.x keeps accepting the old name), so the old name below 5 and the new one from 5 on."""
    key = "dtype" if transformers_version() >= (5, 0) else "torch_dtype"
    return {key: torch.float32, "attn_implementation": "eager"}


def save_kwargs():
    """save_pretrained() arguments: transformers 5 removed `safe_serialization` (safetensors is the only format)."""
    return {"safe_serialization": True} if transformers_version() < (5, 0) else {}


def config_kwargs(kwargs):
    """Config kwargs with the RoPE settings spelled for the installed transformers. The tables here use the 4.x
    spelling (rope_theta, rope_scaling); transformers 5 declares one `rope_parameters` dict (rope_theta inside)
    and only converts the old keys as a compatibility path, so it gets its own spelling."""
    out = dict(kwargs)
    theta = out.pop("rope_theta")
    scaling = out.pop("rope_scaling", None)
    if transformers_version() >= (5, 0):
        rope = {"rope_type": "default", "rope_theta": theta}
        rope.update(scaling or {})
        out["rope_parameters"] = rope
    else:
        out["rope_theta"] = theta
        if scaling:
            out["rope_scaling"] = dict(scaling)
    return out


def versions():
    out = {"python": platform.python_version(), "torch": torch.__version__,
           "transformers": transformers.__version__, "numpy": np.__version__}
    for name in ("tokenizers", "safetensors"):
        try:
            out[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - optional, only recorded
            out[name] = None
    return out


def write_f32(path, tensor, shape):
    """Writes a tensor as raw little-endian f32 and checks the byte count against the expected shape."""
    check(tuple(tensor.shape) == tuple(shape), f"{path}: shape {tuple(tensor.shape)}, expected {tuple(shape)}")
    arr = tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4", copy=False)
    check(bool(np.isfinite(arr).all()), f"{path}: non-finite values")
    arr.tofile(path)
    check(os.path.getsize(path) == 4 * math.prod(shape), f"{path}: wrong size on disk")


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def safetensors_header(path):
    """The JSON header of a .safetensors file (8-byte little-endian length, then JSON), read without libraries."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))


def weight_files(folder):
    folder = Path(folder)
    return sorted(p.name for p in folder.glob("*.safetensors"))


def stored_tensors(folder):
    """{tensor name: (dtype, shape)} over every .safetensors file in the folder."""
    out = {}
    for name in weight_files(folder):
        for key, info in safetensors_header(Path(folder) / name).items():
            if key != "__metadata__":
                out[key] = (info["dtype"], info["shape"])
    return out


def folder_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def rope_summary(config):
    """The RoPE settings as the loaded config holds them: transformers 5 keeps them in `rope_parameters`
    (rope_theta inside), 4.x in `rope_theta` + `rope_scaling`. config.json follows the same split, so a C++
    loader must read both forms."""
    rp = getattr(config, "rope_parameters", None)
    if isinstance(rp, dict) and rp:
        out = dict(rp)
    else:
        out = dict(getattr(config, "rope_scaling", None) or {})
        out["rope_theta"] = getattr(config, "rope_theta", None)
    out.setdefault("rope_type", out.get("type", "default"))
    return out


def config_summary(config):
    """The fields our loader must derive, as HF sees them, so a C++ test can cross-check its config parsing."""
    n_heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_heads
    return {
        "model_type": config.model_type,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": n_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": head_dim,
        "vocab_size": config.vocab_size,
        "rms_norm_eps": config.rms_norm_eps,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "max_position_embeddings": config.max_position_embeddings,
        "rope": rope_summary(config),
    }


def rope_inv_freq(model):
    """HF's inverse RoPE frequencies [head_dim/2] (llama3 scaling applied), or None where not exposed."""
    rotary = getattr(model.model, "rotary_emb", None)
    inv = getattr(rotary, "inv_freq", None)
    return None if inv is None else [float(x) for x in inv.detach().to(torch.float64).cpu()]


def decoder_layers(model):
    layers = getattr(getattr(model, "model", None), "layers", None)
    check(layers is not None, f"{type(model).__name__} has no model.layers")
    return layers


# ---------------------------------------------------------------- the reference computation

def reference_outputs(model, prompt_ids, n_greedy):
    """One forward over the prompt (logits at every position, each decoder layer's output), then a manual
    greedy loop. Returns (logits [n, V], hidden [L, n, H], greedy ids, margins), all from f32 math."""
    layers = decoder_layers(model)
    n, n_layers = len(prompt_ids), len(layers)
    hidden_size = model.config.hidden_size
    captured = [None] * n_layers

    def make_hook(index):
        def hook(module, args, output):
            # A decoder layer returns a tensor (transformers >= 4.54) or a tuple whose first entry is it.
            h = output[0] if isinstance(output, (tuple, list)) else output
            captured[index] = h.detach().to(torch.float32).clone()
        return hook

    handles = [layer.register_forward_hook(make_hook(i)) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([prompt_ids], dtype=torch.long), use_cache=False)
    finally:
        for h in handles:
            h.remove()
    logits = out.logits[0].to(torch.float32)
    check(tuple(logits.shape) == (n, model.config.vocab_size), f"logits shape {tuple(logits.shape)}")
    for i, c in enumerate(captured):
        check(c is not None, f"the hook on layer {i} never ran")
        check(tuple(c.shape) == (1, n, hidden_size), f"layer {i} output shape {tuple(c.shape)}")
    hidden = torch.stack([c[0] for c in captured])

    # Cross-check the hooks: final norm + lm_head over the last layer's output must give the logits back.
    with torch.no_grad():
        again = model.lm_head(model.model.norm(hidden[-1].unsqueeze(0)))[0].to(torch.float32)
    rel = float((again - logits).norm() / logits.norm())
    check(rel < 1e-5, f"norm(lm_head(last hidden)) differs from the logits by {rel:.3g}: the hooks caught "
                      f"something other than the layer outputs")

    seq, greedy, margins = list(prompt_ids), [], []
    with torch.no_grad():
        for _ in range(n_greedy):
            last = model(input_ids=torch.tensor([seq], dtype=torch.long), use_cache=False).logits[0, -1]
            top = torch.topk(last.to(torch.float32), 2)
            nxt = int(top.indices[0])
            greedy.append(nxt)
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(nxt)
    check(greedy[0] == int(torch.argmax(logits[-1])), "greedy step 0 disagrees with the prompt forward")
    return logits, hidden, greedy, margins


def load_reference(folder, expect_class):
    """Reloads a saved model in exact f32 on the CPU, eager attention, eval mode."""
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(folder), **f32_load_kwargs())
    model = model.to("cpu").eval()
    check(type(model).__name__ == expect_class,
          f"{folder}: reloaded as {type(model).__name__}, expected {expect_class}")
    bad = sorted({str(p.dtype) for p in model.parameters()} - {"torch.float32"})
    check(not bad, f"{folder}: reloaded parameters are {bad}, expected float32")
    return model


# ---------------------------------------------------------------- the cases

def case_table():
    """Each case: the model class, its config kwargs, the prompt length, and how many shards (1 = one file).
    RoPE is written in the 4.x form (rope_theta / rope_scaling); config_kwargs() respells it for transformers 5,
    and make_case() checks what HF read either way."""
    return {
        "llama": dict(
            arch="LlamaForCausalLM", n_prompt=20, shards=1,
            config=dict(vocab_size=517, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)),
        # Llama 3 frequency scaling. original_max_position_embeddings is 64 (not 32) so that, with
        # head_dim 16 and theta 500000, the frequencies fall in all three regimes of the scaling (kept,
        # smoothly interpolated, divided by factor); make_case() checks that. The prompt (80) is longer
        # than the original context.
        "llama3_rope": dict(
            arch="LlamaForCausalLM", n_prompt=80, shards=1,
            config=dict(vocab_size=640, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                        max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=500000.0,
                        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                        tie_word_embeddings=True)),
        "qwen2": dict(
            arch="Qwen2ForCausalLM", n_prompt=24, shards=1,
            config=dict(vocab_size=771, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                        use_sliding_window=False)),
        # num_heads · head_dim = 128 ≠ hidden 64: q_proj is [128, 64], o_proj [64, 128].
        "qwen3": dict(
            arch="Qwen3ForCausalLM", n_prompt=24, shards=1,
            config=dict(vocab_size=999, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                        max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
                        tie_word_embeddings=True, attention_bias=False, use_sliding_window=False)),
        "mistral_mqa": dict(
            arch="MistralForCausalLM", n_prompt=16, shards=1,
            config=dict(vocab_size=613, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=128,
                        rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=None,
                        tie_word_embeddings=False)),
        # ≈ 280 KB of bf16 in tensors of at most 66 KB, saved with a 100 KB shard limit.
        "qwen3_sharded": dict(
            arch="Qwen3ForCausalLM", n_prompt=24, shards=3,
            config=dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                        max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
                        tie_word_embeddings=False, attention_bias=False, use_sliding_window=False)),
    }


CONFIG_CLASS = {"LlamaForCausalLM": "LlamaConfig", "Qwen2ForCausalLM": "Qwen2Config",
                "Qwen3ForCausalLM": "Qwen3Config", "MistralForCausalLM": "MistralConfig"}


def build_model(arch, kwargs):
    model_cls = getattr(transformers, arch, None)
    config_cls = getattr(transformers, CONFIG_CLASS[arch], None)
    check(model_cls is not None and config_cls is not None,
          f"transformers {transformers.__version__} has no {arch} (Qwen3 needs 4.51 or newer)")
    config = config_cls(**config_kwargs(kwargs))
    torch.manual_seed(0)  # HF's own init draws from the global RNG; we overwrite every weight anyway
    return model_cls(config)


def randomize_weights(model, seed):
    """Overwrites every parameter with O(1)-scale values (see the file comment), from its own generator so the
    result does not depend on how much of the global RNG transformers' init consumed. A tied embedding is
    drawn once, as the lm_head it also is: N(0, 1/hidden). At N(0, 1) the current token's own embedding would
    dominate the logits (its dot product with itself is ~hidden) and greedy decoding would just repeat it."""
    g = torch.Generator().manual_seed(seed)
    done = set()
    head = model.get_output_embeddings().weight

    def fill(p, std, mean=0.0):
        if id(p) in done:
            return
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * std + mean)
        done.add(id(p))

    with torch.no_grad():
        for mname, module in model.named_modules():
            own = dict(module.named_parameters(recurse=False))
            if not own:
                continue
            if isinstance(module, torch.nn.Embedding):
                fill(module.weight, 1.0 / math.sqrt(module.embedding_dim) if module.weight is head else 1.0)
            elif isinstance(module, torch.nn.Linear):
                fill(module.weight, 1.0 / math.sqrt(module.in_features))
                if module.bias is not None:
                    fill(module.bias, 0.1)
            elif type(module).__name__.endswith("RMSNorm") and set(own) == {"weight"}:
                fill(module.weight, 0.2, mean=1.0)
            else:
                raise GoldenError(f"no init rule for {mname} ({type(module).__name__}, {sorted(own)})")
    missed = [n for n, p in model.named_parameters() if id(p) not in done]
    check(not missed, f"parameters left at their default init: {missed}")


def check_llama3_regimes(config, inv_freq):
    """All three regimes of the Llama 3 scaling must occur, or the case tests less than it claims."""
    rope = rope_summary(config)
    if rope["rope_type"] != "llama3":
        return
    check(inv_freq is not None, "llama3 case: the model exposes no rotary_emb.inv_freq")
    head_dim = config_summary(config)["head_dim"]
    theta = rope["rope_theta"]
    orig = rope["original_max_position_embeddings"]
    low_wl, high_wl = orig / rope["low_freq_factor"], orig / rope["high_freq_factor"]
    regimes = {"kept": 0, "smooth": 0, "scaled": 0}
    for i in range(head_dim // 2):
        wavelen = 2 * math.pi * theta ** (2 * i / head_dim)
        regimes["kept" if wavelen < high_wl else "scaled" if wavelen > low_wl else "smooth"] += 1
    print(f"    llama3 rope regimes over {head_dim // 2} frequencies: {regimes}")
    check(all(regimes.values()), f"llama3 case does not cover every scaling regime: {regimes}")


def save_sharded(model, folder, want_shards):
    """save_pretrained with a small max_shard_size; tries a few limits to land on `want_shards` files."""
    last = None
    for limit in ("100KB", "120KB", "140KB", "90KB", "80KB", "160KB"):
        if folder.exists():
            shutil.rmtree(folder)
        model.save_pretrained(str(folder), max_shard_size=limit, **save_kwargs())
        n = len(weight_files(folder))
        index = folder / "model.safetensors.index.json"
        print(f"    max_shard_size={limit}: {n} shard(s), index {'written' if index.exists() else 'MISSING'}")
        if n >= 2:
            check(index.exists(), f"{folder}: {n} shards but no model.safetensors.index.json")
            last = limit
            if n == want_shards:
                return
    check(last is not None, f"{folder}: save_pretrained never wrote more than one shard")
    print(f"    WARNING: no limit gave exactly {want_shards} shards; keeping max_shard_size={last}")
    shutil.rmtree(folder)
    model.save_pretrained(str(folder), max_shard_size=last, **save_kwargs())


def patch_eos(folder, eos_id):
    """Sets eos_token_id in config.json and writes generation_config.json (greedy). The eos id is chosen after
    the greedy run so it is none of the prompt or greedy ids: an engine that stops at EOS still produces all
    N_GREEDY ids. The forward pass does not read eos_token_id, so the reference is unaffected."""
    from transformers import GenerationConfig
    path = folder / "config.json"
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["eos_token_id"] = eos_id
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    bos = cfg.get("bos_token_id")
    gen = GenerationConfig(bos_token_id=bos, eos_token_id=eos_id, do_sample=False)
    gen.save_pretrained(str(folder))
    from transformers import AutoConfig
    got = getattr(AutoConfig.from_pretrained(str(folder)), "eos_token_id", None)
    if got != eos_id:
        print(f"  WARNING: {path}: HF reads eos_token_id {got} after patching it to {eos_id}")


def make_case(out_dir, name, spec, seed):
    t0 = time.time()
    folder = Path(out_dir) / name
    if folder.exists():
        shutil.rmtree(folder)
    tie = spec["config"]["tie_word_embeddings"]

    model = build_model(spec["arch"], spec["config"])
    if tie and model.get_output_embeddings().weight is not model.get_input_embeddings().weight:
        model.tie_weights()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    check(tied == tie, f"{name}: lm_head tied = {tied}, config asks {tie}")
    randomize_weights(model, seed)
    model = model.to(torch.bfloat16)
    bf16_state = {k: v.detach().to(torch.float32).clone() for k, v in model.state_dict().items()}

    if spec["shards"] > 1:
        save_sharded(model, folder, spec["shards"])
    else:
        model.save_pretrained(str(folder), **save_kwargs())
    del model

    # What is on disk: bf16 only, the lm_head present exactly when untied.
    stored = stored_tensors(folder)
    dtypes = sorted({d for d, _ in stored.values()})
    check(dtypes == ["BF16"], f"{name}: stored dtypes {dtypes}, expected BF16 only")
    if ("lm_head.weight" in stored) != (not tie):
        print(f"  WARNING: {name}: lm_head.weight {'present' if 'lm_head.weight' in stored else 'absent'} "
              f"on disk with tie_word_embeddings={tie}")

    ref = load_reference(folder, spec["arch"])
    ref_state = ref.state_dict()
    check(set(ref_state) == set(bf16_state),
          f"{name}: reloaded keys differ: {sorted(set(ref_state) ^ set(bf16_state))}")
    for key, value in bf16_state.items():
        check(torch.equal(ref_state[key], value), f"{name}: {key} changed between save and reload")

    config = ref.config
    summary = config_summary(config)
    want = spec["config"]
    want_head_dim = want.get("head_dim") or want["hidden_size"] // want["num_attention_heads"]
    attn = decoder_layers(ref)[0].self_attn
    check(tuple(attn.q_proj.weight.shape) == (want["num_attention_heads"] * want_head_dim, want["hidden_size"]) and
          tuple(attn.k_proj.weight.shape) == (want["num_key_value_heads"] * want_head_dim, want["hidden_size"]),
          f"{name}: q_proj {tuple(attn.q_proj.weight.shape)}, k_proj {tuple(attn.k_proj.weight.shape)} do not match "
          f"{want['num_attention_heads']}/{want['num_key_value_heads']} heads of {want_head_dim}")
    inv_freq = rope_inv_freq(ref)
    want_theta = spec["config"]["rope_theta"]
    check(float(summary["rope"]["rope_theta"]) == want_theta,
          f"{name}: HF reads rope_theta {summary['rope']['rope_theta']}, the case asks {want_theta}")
    want_type = spec["config"].get("rope_scaling", {}).get("rope_type", "default")
    check(summary["rope"]["rope_type"] == want_type,
          f"{name}: HF reads rope_type {summary['rope']['rope_type']}, the case asks {want_type}")
    check_llama3_regimes(config, inv_freq)

    g = torch.Generator().manual_seed(seed + 1)
    prompt_ids = torch.randint(0, config.vocab_size, (spec["n_prompt"],), generator=g).tolist()
    logits, hidden, greedy, margins = reference_outputs(ref, prompt_ids, N_GREEDY)

    n_layers, n_prompt, hidden_size, vocab = config.num_hidden_layers, len(prompt_ids), config.hidden_size, \
        config.vocab_size
    write_f32(folder / "logits.f32", logits, (n_prompt, vocab))
    write_f32(folder / "hidden.f32", hidden, (n_layers, n_prompt, hidden_size))

    used = set(prompt_ids) | set(greedy)
    eos_id = max(i for i in range(vocab) if i not in used)
    patch_eos(folder, eos_id)

    golden = {
        "case": name,
        "architecture": spec["arch"],
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
        "tolerance": TOLERANCE,
        "margin_threshold": MARGIN_THRESHOLD,
        "eos_token_id": eos_id,
        "weight_files": weight_files(folder),
        "seed": seed,
        "hf_config": summary,
        "rope_inv_freq": inv_freq,
        "versions": versions(),
    }
    write_json(folder / "golden.json", golden)

    med = statistics.median(margins)
    small = sum(m <= MARGIN_THRESHOLD for m in margins)
    size_kb = folder_bytes(folder) / 1000
    print(f"  {name:14s} {spec['arch']:19s} L={n_layers} H={hidden_size} V={vocab} prompt={n_prompt} "
          f"files={len(golden['weight_files'])} size={size_kb:.0f}KB margins min={min(margins):.3g} "
          f"median={med:.3g} (<= {MARGIN_THRESHOLD:g}: {small}/{len(margins)}) eos={eos_id} "
          f"rope={summary['rope']} [{time.time() - t0:.1f}s]")
    check(size_kb < 1000, f"{name}: {size_kb:.0f} KB, the budget is 1 MB per case")
    if small > len(margins) // 4:
        print(f"  WARNING: {name}: {small} greedy margins at or below {MARGIN_THRESHOLD:g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--only", nargs="*", help="make only these cases")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()

    # The reference runs on the CPU, whose f32 matmuls are plain IEEE f32 by default. TF32 flags are left
    # alone on purpose: torch 2.9+ raises when its legacy and new precision APIs are mixed.
    print(f"make_model_goldens: versions {versions()}, torch threads {torch.get_num_threads()}")
    table = case_table()
    names = args.only or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        sys.exit(f"ERROR: unknown case(s) {unknown}; known: {list(table)}")
    os.makedirs(args.out_dir, exist_ok=True)

    failed = []
    for name in names:
        try:
            # The seed depends on the case's place in the table, not on --only, so a case is reproducible alone.
            make_case(args.out_dir, name, table[name], args.seed + 1000 * list(table).index(name))
        except Exception:  # noqa: BLE001 - report every case, then fail
            traceback.print_exc()
            print(f"  FAILED: {name}")
            failed.append(name)
    if failed:
        sys.exit(f"ERROR: make_model_goldens: {len(failed)} case(s) failed: {failed}")
    print(f"make_model_goldens: wrote {len(names)} case(s) under {args.out_dir}")


if __name__ == "__main__":
    main()
