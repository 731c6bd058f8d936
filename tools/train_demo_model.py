#!/usr/bin/env python3
"""Trains the bundled demo model: a byte-level BPE tokenizer and a small Qwen3 decoder, from scratch, on the
King James Bible (tools/prepare_corpus.sh makes the corpus).

    python3 tools/train_demo_model.py CORPUS OUT_DIR [--minutes M] [--seed S]

OUT_DIR receives the model in the Hugging Face layout, ready for `fs run --model OUT_DIR`:
  tokenizer.json, tokenizer_config.json (with a ChatML chat template), config.json, model.safetensors (bf16),
  generation_config.json (greedy), train_log.json (command, corpus sha256, steps, losses, perplexity, versions).

The recipe, and why:
  * Tokenizer: BPE over bytes, pre-tokenized like Qwen2/3 (NFC, the Qwen2 split regex, ByteLevel without its
    own regex), vocabulary 4096 including <|endoftext|>, <|im_start|>, <|im_end|>. Same pipeline as the real
    models, so the demo exercises the same tokenizer code.
  * Model: Qwen3ForCausalLM (QK-norm, GQA 4:2, head_dim 64, SwiGLU, tied embeddings), sized so the bf16 weights
    plus the tokenizer fit in 12 MB (checked before training; the MLP shrinks if they would not).
  * Data: one verse per line, 2% of the lines (every 50th) held out; each verse is followed by <|endoftext|>, so
    the model learns to end a verse with EOS and `fs run` stops there.
  * Training: bf16 autocast, AdamW (peak LR 1e-3, betas 0.9/0.95, weight decay 0.1 on matrices), linear warmup
    then cosine decay over the wall-clock budget or 60 epochs, whichever ends first; residual dropout 0.1 (the
    corpus is ~1M tokens, small next to what the GPU goes through in minutes, so the run is many epochs long);
    validation every 200 steps, early stop after 10 validations without improvement, and the weights with the
    best held-out loss are the ones kept.
  * The reported perplexity is that of the SAVED bf16 weights, reloaded in f32: what our engine computes.
"""
import argparse
import hashlib
import math
import os
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_model_goldens import (check, config_kwargs, f32_load_kwargs, folder_bytes, save_kwargs,  # noqa: E402
                                stored_tensors, versions, write_json)

# Qwen2's pre-tokenizer split (contractions, letter runs with one leading non-letter, single digits, punctuation
# runs, newlines, whitespace), exactly as in Qwen2/Qwen3's tokenizer.json.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
EOT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SIZE_BUDGET = 12_000_000   # bytes: bf16 weights + tokenizer + configs
CONTEXT = 256

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

SAMPLE_PROMPTS = ["And God said", "In the beginning", "The LORD is my shepherd", "Jesus answered and said",
                  "And it came to pass"]


def ppl(loss):
    """Perplexity from a mean token loss (capped, so a diverged run still reports instead of overflowing)."""
    return math.exp(min(loss, 700.0))


def log(msg):
    print(msg, flush=True)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- tokenizer

def train_tokenizer(lines, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=[EOT, IM_START, IM_END],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    for special in (EOT, IM_START, IM_END):
        tid = tok.token_to_id(special)
        check(tid is not None, f"tokenizer: special token {special} missing after training")
        check(tok.encode(special, add_special_tokens=False).ids == [tid],
              f"tokenizer: {special} does not encode to its single id {tid}")
    return tok


def tokenizer_config(tok):
    """tokenizer_config.json, written by hand so it reads the same under transformers 4 and 5. Qwen-style: no
    BOS, <|endoftext|> ends a document and pads."""
    added = {}
    for special in (EOT, IM_START, IM_END):
        added[str(tok.token_to_id(special))] = {"content": special, "lstrip": False, "normalized": False,
                                                "rstrip": False, "single_word": False, "special": True}
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": EOT,
        "pad_token": EOT,
        "unk_token": None,
        "additional_special_tokens": [IM_START, IM_END],
        "add_bos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "split_special_tokens": False,
        "model_max_length": CONTEXT,
        "added_tokens_decoder": added,
        "chat_template": CHAT_TEMPLATE,
    }


# ---------------------------------------------------------------- model

def make_config(vocab, eot_id, intermediate):
    cfg_cls = getattr(transformers, "Qwen3Config", None)
    check(cfg_cls is not None, f"transformers {transformers.__version__} has no Qwen3 (needs 4.51 or newer)")
    return cfg_cls(**config_kwargs(dict(
        vocab_size=vocab, hidden_size=256, intermediate_size=intermediate, num_hidden_layers=6,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=CONTEXT,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True, attention_bias=False,
        use_sliding_window=False, attention_dropout=0.0, bos_token_id=None, eos_token_id=eot_id,
        pad_token_id=eot_id)))


def param_count(cfg):
    """Parameters of the config above (tied embeddings counted once)."""
    h, f, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * f + 2 * h + 2 * hd
    return cfg.vocab_size * h + cfg.num_hidden_layers * per_layer + h


def add_residual_dropout(model, p):
    """Dropout on each residual branch (the outputs of o_proj and down_proj), in training mode only. Done with
    forward hooks so the saved model is a plain Qwen3; the hooks are removed before saving."""
    def hook(module, args, output):
        return F.dropout(output, p=p, training=module.training)
    handles = []
    for layer in model.model.layers:
        handles.append(layer.self_attn.o_proj.register_forward_hook(hook))
        handles.append(layer.mlp.down_proj.register_forward_hook(hook))
    return handles


def batch_windows(data, starts, length):
    idx = starts[:, None] + torch.arange(length + 1, device=data.device)[None, :]
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def evaluate(model, val, batch, autocast):
    """Mean token loss over the held-out stream cut into consecutive CONTEXT-token windows."""
    was_training = model.training
    model.eval()
    n_windows = (val.numel() - 1) // CONTEXT
    check(n_windows > 0, "held-out set shorter than one window")
    starts = torch.arange(n_windows, device=val.device) * CONTEXT
    total, count = 0.0, 0
    for i in range(0, n_windows, batch):
        x, y = batch_windows(val, starts[i:i + batch], CONTEXT)
        with torch.autocast(val.device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = model(input_ids=x, use_cache=False).logits
        total += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1),
                                       reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / count


@torch.no_grad()
def greedy_text(model, tok, prompt, n_new, eot_id, device):
    ids = tok.encode(prompt, add_special_tokens=False).ids
    out = []
    for _ in range(n_new):
        logits = model(input_ids=torch.tensor([ids + out], device=device), use_cache=False).logits[0, -1]
        nxt = int(torch.argmax(logits))
        if nxt == eot_id:
            break
        out.append(nxt)
    return prompt + tok.decode(out)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("out_dir")
    ap.add_argument("--minutes", type=float, default=4.0, help="wall-clock training budget")
    ap.add_argument("--max-epochs", type=float, default=60.0,
                    help="the LR schedule ends here or at the time budget, whichever comes first")
    ap.add_argument("--seed", type=int, default=1611)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=32, help="sequences of 256 tokens per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200, help="steps")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=200, help="steps")
    ap.add_argument("--patience", type=int, default=10, help="evaluations without improvement before stopping")
    ap.add_argument("--device", default="cuda", help="cuda (the real run) or cpu (a smoke test only)")
    args = ap.parse_args()
    t_start = time.time()
    command = "python3 " + shlex.join(sys.argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        check(torch.cuda.is_available(), "no CUDA device: train_demo_model.py trains on the GPU")
        gpu = torch.cuda.get_device_name(0)
        torch.cuda.manual_seed_all(args.seed)
    else:
        gpu = f"none ({device.type})"
    torch.manual_seed(args.seed)
    log(f"train_demo_model: {command}\n  versions {versions()}\n  gpu {gpu}")

    # ---- corpus
    corpus = Path(args.corpus)
    check(corpus.is_file(), f"corpus {corpus} not found (make it with tools/prepare_corpus.sh)")
    corpus_sha = sha256_of(corpus)
    lines = [ln.strip() for ln in corpus.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    check(len(lines) > 1000, f"corpus {corpus}: only {len(lines)} non-empty lines")
    val_lines = [ln for i, ln in enumerate(lines) if i % 50 == 0]
    train_lines = [ln for i, ln in enumerate(lines) if i % 50 != 0]
    log(f"  corpus {corpus}: {corpus.stat().st_size} bytes, {len(lines)} lines, sha256 {corpus_sha}; "
        f"train {len(train_lines)} lines, held out {len(val_lines)}")

    # ---- tokenizer
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    tok = train_tokenizer(train_lines, args.vocab)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    tok.save(str(out / "tokenizer.json"))
    eot_id, im_start_id, im_end_id = (tok.token_to_id(s) for s in (EOT, IM_START, IM_END))
    log(f"  tokenizer: vocab {vocab}, specials {EOT}={eot_id} {IM_START}={im_start_id} {IM_END}={im_end_id}, "
        f"tokenizer.json {(out / 'tokenizer.json').stat().st_size} bytes [{time.time() - t0:.1f}s]")
    if vocab != args.vocab:
        log(f"  WARNING: tokenizer vocab {vocab}, asked for {args.vocab}; the model follows the tokenizer")
    sample = "In the beginning God created the heaven and the earth."
    log(f"  tokenizer sample: {[tok.id_to_token(i) for i in tok.encode(sample, add_special_tokens=False).ids]}")
    check(tok.decode(tok.encode(sample, add_special_tokens=False).ids) == sample, "tokenizer does not round-trip")

    t0 = time.time()

    def stream(some_lines):
        ids = []
        for enc in tok.encode_batch(some_lines, add_special_tokens=False):
            ids.extend(enc.ids)
            ids.append(eot_id)
        return torch.tensor(ids, dtype=torch.long, device=device)

    train_data, val_data = stream(train_lines), stream(val_lines)
    n_chars = sum(len(ln) + 1 for ln in train_lines)
    log(f"  tokens: train {train_data.numel()} ({n_chars / train_data.numel():.2f} chars/token), "
        f"held out {val_data.numel()} [{time.time() - t0:.1f}s]")

    # ---- model, sized to the budget before any training
    tok_bytes = (out / "tokenizer.json").stat().st_size
    intermediate = 768
    while True:
        cfg = make_config(vocab, eot_id, intermediate)
        n_params = param_count(cfg)
        total = 2 * n_params + tok_bytes + 40_000   # bf16 weights + tokenizer + configs, headers, train_log
        if total <= SIZE_BUDGET:
            break
        check(intermediate > 256, "cannot fit the size budget")
        intermediate -= 32
        log(f"  over the size budget ({total} bytes): intermediate_size -> {intermediate}")
    model = transformers.Qwen3ForCausalLM(cfg)
    if model.lm_head.weight is not model.model.embed_tokens.weight:
        model.tie_weights()
    check(model.lm_head.weight is model.model.embed_tokens.weight, "lm_head is not tied to the embedding")
    model = model.to(device)
    real = sum(p.numel() for p in model.parameters())
    check(real == n_params, f"parameter count {real}, the size arithmetic says {n_params}")
    log(f"  model: Qwen3 hidden {cfg.hidden_size}, layers {cfg.num_hidden_layers}, heads {cfg.num_attention_heads}"
        f"/{cfg.num_key_value_heads}, head_dim {cfg.head_dim}, intermediate {cfg.intermediate_size}, vocab {vocab},"
        f" tied; {n_params} parameters = {2 * n_params} bytes in bf16; expected folder {total} bytes")

    # ---- training
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            **({"fused": True} if device.type == "cuda" else {}))
    hooks = add_residual_dropout(model, args.dropout) if args.dropout > 0 else []
    gen = torch.Generator(device=device).manual_seed(args.seed)
    budget = args.minutes * 60.0
    max_steps = math.ceil(args.max_epochs * train_data.numel() / (args.batch * CONTEXT))
    n_starts = train_data.numel() - CONTEXT - 1
    model.train()
    step, best_loss, best_step, best_state, since_best = 0, float("inf"), 0, None, 0
    window_loss, window_n, last_train_loss = torch.zeros((), device=device), 0, float("nan")
    history = []
    t_train = time.time()
    log(f"  training for {args.minutes:g} min or {max_steps} steps ({args.max_epochs:g} epochs), whichever ends "
        f"first: batch {args.batch}x{CONTEXT} tokens, lr {args.lr}, warmup {args.warmup}, dropout {args.dropout}")
    stop_reason = "time budget"
    while True:
        # The schedule runs on whichever clock is further along: wall time or steps.
        progress = max((time.time() - t_train) / budget, step / max_steps)
        if progress >= 1.0:
            stop_reason = "time budget" if step < max_steps else "epoch cap"
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, n_starts, (args.batch,), device=device, generator=gen)
        x, y = batch_windows(train_data, starts, CONTEXT)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            logits = model(input_ids=x, use_cache=False).logits
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        window_loss += loss.detach()
        window_n += 1
        if step % 100 == 0:
            last_train_loss = float(window_loss) / window_n
            window_loss.zero_()
            window_n = 0
            tok_s = step * args.batch * CONTEXT / (time.time() - t_train)
            log(f"  step {step:6d}  loss {last_train_loss:.4f}  lr {lr:.2e}  {time.time() - t_train:6.1f}s  "
                f"{tok_s / 1e6:.2f}M tok/s  epoch {step * args.batch * CONTEXT / train_data.numel():.1f}")
            if not math.isfinite(last_train_loss):
                log(f"  WARNING: training diverged at step {step}; keeping the best weights so far")
                stop_reason = "diverged"
                break
        if step % args.eval_every == 0:
            val_loss = evaluate(model, val_data, args.batch, autocast=True)
            history.append({"step": step, "seconds": round(time.time() - t_train, 1), "train_loss": last_train_loss,
                            "val_loss": val_loss, "val_ppl": ppl(val_loss)})
            mark = ""
            if val_loss < best_loss:
                best_loss, best_step, since_best, mark = val_loss, step, 0, "  (best)"
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                since_best += 1
            log(f"  eval  step {step:6d}  held-out loss {val_loss:.4f}  ppl {ppl(val_loss):.2f}{mark}")
            if since_best >= args.patience:
                log(f"  early stop: no held-out improvement in {args.patience} evaluations")
                stop_reason = "early stop"
                break
    train_seconds = time.time() - t_train
    if window_n > 0:
        last_train_loss = float(window_loss) / window_n
    for h in hooks:
        h.remove()
    val_loss = evaluate(model, val_data, args.batch, autocast=True)
    log(f"  trained {step} steps in {train_seconds:.1f}s ({stop_reason}); last held-out loss {val_loss:.4f}")
    if val_loss < best_loss:
        best_loss, best_step, best_state = val_loss, step, None
    check(math.isfinite(best_loss), "no finite held-out loss: training failed")
    if best_state is not None:
        model.load_state_dict(best_state)
        log(f"  keeping the weights of step {best_step} (held-out loss {best_loss:.4f}, ppl {ppl(best_loss):.2f})")

    # ---- save: bf16 weights, configs, tokenizer files
    from transformers import GenerationConfig
    model.eval()
    model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(eos_token_id=[eot_id, im_end_id], pad_token_id=eot_id,
                                               do_sample=False)
    model.save_pretrained(str(out), **save_kwargs())
    model.generation_config.save_pretrained(str(out))
    write_json(out / "tokenizer_config.json", tokenizer_config(tok))
    stored = stored_tensors(out)
    check(sorted({d for d, _ in stored.values()}) == ["BF16"], f"{out}: weights not all bf16")
    if "lm_head.weight" in stored:
        log("  WARNING: the tied lm_head.weight was saved as well (the size budget assumed it is not)")
    del model, best_state, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # ---- the saved weights, reloaded in f32 (what the engine computes): held-out perplexity and samples
    # cuBLAS f32 matmuls are IEEE (no TF32) by default; the TF32 flags are left alone (torch 2.9+ raises when
    # its legacy and new precision APIs are mixed).
    ref = transformers.AutoModelForCausalLM.from_pretrained(str(out), **f32_load_kwargs()).to(device).eval()
    final_loss = evaluate(ref, val_data, args.batch, autocast=False)
    final_ppl = ppl(final_loss)
    log(f"  saved model (bf16 weights, f32 math): held-out loss {final_loss:.4f}, perplexity {final_ppl:.2f}")
    samples = {}
    for prompt in SAMPLE_PROMPTS:
        samples[prompt] = greedy_text(ref, tok, prompt, 48, eot_id, device)
        log(f"  sample (greedy): {samples[prompt]!r}")

    log_obj = {
        "command": command,
        "corpus": {"path": str(corpus), "bytes": corpus.stat().st_size, "sha256": corpus_sha, "lines": len(lines),
                   "train_lines": len(train_lines), "heldout_lines": len(val_lines),
                   "heldout_rule": "every 50th non-empty line (index % 50 == 0)",
                   "train_tokens": train_data.numel(), "heldout_tokens": val_data.numel()},
        "tokenizer": {"vocab_size": vocab, "eos": EOT, "eos_id": eot_id, "im_start_id": im_start_id,
                      "im_end_id": im_end_id},
        "model": {"architecture": "Qwen3ForCausalLM", "parameters": n_params, "hidden_size": cfg.hidden_size,
                  "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
                  "num_key_value_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim,
                  "intermediate_size": cfg.intermediate_size, "context": CONTEXT, "tied_embeddings": True},
        "training": {"seed": args.seed, "minutes_budget": args.minutes, "max_epochs": args.max_epochs,
                     "stop_reason": stop_reason, "steps": step,
                     "seconds": round(train_seconds, 1), "batch": args.batch, "context": CONTEXT,
                     "tokens_seen": step * args.batch * CONTEXT,
                     "epochs": round(step * args.batch * CONTEXT / train_data.numel(), 2),
                     "peak_lr": args.lr, "warmup_steps": args.warmup,
                     "schedule": "linear warmup, cosine to 0.1x over the wall-clock budget or the epoch cap, "
                                 "whichever ends first",
                     "weight_decay": 0.1, "betas": [0.9, 0.95], "grad_clip": 1.0,
                     "residual_dropout": args.dropout, "precision": "bf16 autocast, f32 master weights",
                     "final_train_loss": last_train_loss, "kept_step": best_step,
                     "kept_heldout_loss_bf16_autocast": best_loss, "evals": history},
        "heldout_loss": final_loss,
        "heldout_perplexity": final_ppl,
        "heldout_note": "saved bf16 weights reloaded in f32 (HF, eager attention), no TF32, windows of 256 tokens",
        "samples_greedy": samples,
        "versions": versions(),
        "gpu": gpu,
        "wall_seconds": None,
    }
    log_obj["wall_seconds"] = round(time.time() - t_start, 1)
    write_json(out / "train_log.json", log_obj)

    files = sorted(p.name for p in out.iterdir() if p.is_file())
    size = folder_bytes(out)
    log(f"  {out}: {files}")
    log(f"  folder size {size} bytes ({size / 1e6:.2f} MB, budget {SIZE_BUDGET / 1e6:.0f} MB)")
    if size > SIZE_BUDGET:
        log("  WARNING: over the size budget")
    log(f"train_demo_model: done in {time.time() - t_start:.1f}s; held-out perplexity {final_ppl:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    main()
