"""Measure the shipped reader through the product on held-out data, and write its model card.

Every figure comes from the product's own pipeline (``Assistant.ask`` over a real index), with
declining switched off so each threshold can be replayed from the recorded confidences:
- right sentence first: the first citation stands on the gold evidence (answerable items);
- AUROC: how well the reader's confidence separates answerable from unanswerable questions;
- Spectre refusal recall at ≤ 10 % false refusals: the best a threshold can do on SQuAD 2.0's
  real unanswerable questions (an article the reader never saw);
- the calibrated threshold's evidence hit / refusal recall / false refusals per set and part.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.reader.model import MANIFEST, MODEL_DIR
from assistant.settings import calibrated_defaults, load_settings
from evals.dataset import shipped_dataset_paths
from evals.metrics import threshold_curve
from evals.runner import prepare, run_items
from training.reader.measure import auroc, open_set

ROOT = Path(__file__).resolve().parents[2]


def refusal_at_cap(rows: Sequence[dict[str, Any]], cap: float = 0.10) -> tuple[float, float]:
    """(threshold, refusal recall) of the highest threshold refusing ≤ ``cap`` answerables."""
    grid = [i / 1000 for i in range(1000)]
    best = (0.0, 0.0)
    for p in threshold_curve(rows, grid):
        if p.false_refusal_rate <= cap:
            best = (p.threshold, p.refusal_recall)
    return best


def measure(name: str, split: str, within_doc: bool) -> dict[str, Any]:
    assistant = open_set(name)
    prepared = prepare(shipped_dataset_paths(split, name), assistant)  # type: ignore[arg-type]
    rows = run_items(
        assistant,
        prepared.items,
        mode="extractive",
        k=assistant.settings.top_k,
        out=None,
        within_doc=within_doc,
    )
    ans = [r for r in rows if r["answerable"]]
    top = [r["top_citation_hit"] for r in ans if r["top_citation_hit"] is not None]
    threshold = float(calibrated_defaults().get("decline_threshold", 0.5))
    (at,) = threshold_curve(rows, [threshold])
    out: dict[str, Any] = {
        "items": len(rows),
        "answerable": len(ans),
        "unanswerable": len(rows) - len(ans),
        "right_sentence_first": sum(top) / len(top) if top else math.nan,
        "auroc": auroc(
            [r["confidence"] for r in ans], [r["confidence"] for r in rows if not r["answerable"]]
        ),
        "at_threshold": {
            "threshold": threshold,
            "evidence_hit": at.evidence_hit,
            "refusal_recall": at.refusal_recall,
            "false_refusal_rate": at.false_refusal_rate,
        },
        "latency_p50_ms": sorted(r["latency_ms"] for r in rows)[len(rows) // 2],
    }
    reworded = [r for r in rows if "paraphrase" in r["tags"]]
    if reworded:
        (pt,) = threshold_curve(reworded, [threshold])
        hits = [r["top_citation_hit"] for r in reworded if r["top_citation_hit"] is not None]
        out["paraphrase"] = {
            "items": len(reworded),
            "right_sentence_first": sum(hits) / len(hits) if hits else math.nan,
            "evidence_hit": pt.evidence_hit,
            "refusal_recall": pt.refusal_recall,
            "false_refusal_rate": pt.false_refusal_rate,
        }
    spectre = [r for r in rows if "spectre" in r["tags"]]
    if spectre:
        t, recall = refusal_at_cap(spectre)
        out["spectre"] = {
            "items": len(spectre),
            "unanswerable": sum(not r["answerable"] for r in spectre),
            "auroc": auroc(
                [r["confidence"] for r in spectre if r["answerable"]],
                [r["confidence"] for r in spectre if not r["answerable"]],
            ),
            "refusal_recall_at_10pct_false_refusals": recall,
            "threshold_for_it": t,
        }
    return out


def fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def main() -> None:
    results = {
        f"{name}/{split}{'/within-doc' if within else ''}": measure(name, split, within)
        for name, split, within in (
            ("squad", "test", True),
            ("squad", "test", False),
            ("squad", "dev", False),
            ("article", "test", False),
            ("article", "dev", False),
        )
    }
    (MODEL_DIR / "held-out.json").write_text(json.dumps(results, indent=2) + "\n")
    manifest = json.loads((MODEL_DIR / MANIFEST).read_text())
    report = json.loads((MODEL_DIR / "training-report.json").read_text())
    rows = "\n".join(
        f"| {k} | {v['items']} ({v['unanswerable']} unanswerable) | {fmt(v['right_sentence_first'])} "
        f"| {fmt(v['auroc'])} | {fmt(v['at_threshold']['evidence_hit'])} / "
        f"{fmt(v['at_threshold']['refusal_recall'])} / {fmt(v['at_threshold']['false_refusal_rate'])} "
        f"| {fmt(v.get('spectre', {}).get('refusal_recall_at_10pct_false_refusals', '–'))} "
        f"| {fmt(v['latency_p50_ms'])} |"
        for k, v in results.items()
    )
    para_rows = "\n".join(
        f"| {k} | {p['items']} | {fmt(p['right_sentence_first'])} | {fmt(p['evidence_hit'])} / "
        f"{fmt(p['refusal_recall'])} / {fmt(p['false_refusal_rate'])} |"
        for k, v in results.items()
        if (p := v.get("paraphrase"))
    )
    decline = json.loads((MODEL_DIR / "decline.json").read_text())
    decline_weights = ", ".join(f"{k} {v:.2f}" for k, v in decline["weights"].items())
    ranking = json.loads((MODEL_DIR / "ranking.json").read_text())
    rank_rows = "\n".join(
        f"| {k} | {v['answerable']} | {fmt(v['right_sentence_first_reader'])} "
        f"| {fmt(v.get('right_sentence_first_reading_all', '–'))} "
        f"| {fmt(v['right_sentence_first_model'])} | {fmt(v['gold_in_first_5'])} |"
        for k, v in ranking["held_out"].items()
    )
    weights = ", ".join(f"{k} {v:.2f}" for k, v in ranking["weights"].items())
    prefilter = ", ".join(f"{k} {v:.2f}" for k, v in ranking.get("prefilter", {}).items())
    top_k = load_settings().top_k
    sums = "\n".join(f"- `{n}`: `{h}`" for n, h in manifest["sha256"].items())
    curve = "\n".join(
        f"| {c['step']} | {c['loss']:.3f} | {c['pair_auroc']:.3f} | {c['span_exact']:.3f} "
        f"| {fmt(c.get('claim_auroc', '–'))} |"
        for c in report.get("curve", [])
    )
    kinds = report["pairs"]
    claim_kinds = {k: v for k, v in kinds.items() if k == "supported" or k.startswith("claim-")}
    pair_kinds = {k: v for k, v in kinds.items() if k not in claim_kinds}
    steps, planned = report.get("steps") or 0, report.get("planned_steps") or 0
    passes = steps * report["batch"] / max(1, sum(pair_kinds.values()))
    progress = f"{steps:,} steps" + (
        f" of the {planned:,} planned ({passes:.2f} passes over the pairs; `make reader` "
        "continues the run from its checkpoint)"
        if planned and steps < planned
        else f" ({passes:.2f} passes over the pairs)"
    )
    held = report.get("held_out", {})
    verifier = (
        f"\nThe verifier head on {held['claims']:,} held-out claims (made the same way from the "
        f"calibration articles): AUROC {held['claim_auroc']:.3f}, accuracy "
        f"{held['claim_accuracy']:.3f} at 0.5. The claim judge (`assistant/grounding.py`) can "
        "ask it after its rules (`ClaimJudge(verifier=…)`); the product does not yet: replayed "
        "over an LLM's real claims (`python -m bench.anchors --verifier`) it removed more "
        "right claims than wrong ones.\n"
        if "claim_auroc" in held
        else ""
    )
    claims_line = (
        f"- Claims for the verifier head ({sum(claim_kinds.values()):,}, "
        f"{report.get('claim_batch', 16)} a step beside the pairs): "
        + ", ".join(f"{k} {v:,}" for k, v in claim_kinds.items())
        + ". Supported: the sentence, one of its clauses, or it with words of the same "
        "meaning put in; the others change what it states (another name or number, a "
        "negation added or dropped, a reversal, a speaker it never names, an antonym) or "
        "set it against another sentence of its paragraph (`training/reader/verifier.py`)."
        if claim_kinds
        else ""
    )
    card = f"""# Model card: the reader

A (question, sentence) cross-encoder with three heads over one encoder: **answers** (the
probability that the sentence answers the question), **span** (where the short answer stands in
it) and **supports** (the probability that a sentence states a claim: the verifier the claim
judge asks about an LLM's claims). It judges every offline answer of the product;
`assistant/reader/model.py` runs it with onnxruntime and tokenizers only.

## Base and training

- Base: {manifest["base"]}, Apache-2.0; its `model.safetensors` sha256 begins `53aa5117`.
- Data (`../shared/data/`, see its `SOURCE.md`): SQuAD 1.1 train and SQuAD 2.0 train's first 10
  articles, CC BY-SA 4.0 (Rajpurkar et al. 2016; Rajpurkar, Jia & Liang 2018). SQuAD 2.0 *dev*
  was never used. Held out as whole articles: Spectre (SQuAD 2.0, with its 188 real unanswerable
  questions) and 30 SQuAD 1.1 articles (15 for calibration, 15 for test).
- Pairs ({sum(pair_kinds.values()):,}): {", ".join(f"{k} {v:,}" for k, v in pair_kinds.items())}.
  Positives are the sentence holding a SQuAD answer (with its span); negatives are the other
  sentences of the paragraph, the sentence of another paragraph sharing the most of the
  question's words (what a whole-article search puts beside the right one), other paragraphs'
  questions, questions edited the way SQuAD 2.0's
  writers edited them (entity / number / date swapped, negation, antonym, an entity of another
  article) against the sentence that answered the original, and SQuAD 2.0's real unanswerables
  against their plausible-answer sentence. `reword` pairs are positives whose question is
  asked in other words (`training/reader/paraphrase.py`: a word swapped for one of the same
  meaning, by WordLlama similarity among the training articles' words), so that a missing word
  alone does not teach "no".
{claims_line}
- Input: `[CLS] question [SEP] sentence [SEP] tail of the sentence before [SEP]`, {manifest["max_len"]} tokens;
  longer sentences are scored in overlapping windows and keep their best.
- Loss: {report.get("loss", "pair BCE + 0.5 span")} (`--loss`).
- {progress}, {report["batch"]} pairs a step, AdamW lr {report["lr"]} (linear decay over the
  planned steps), seed {report["seed"]}, bf16 autocast, on 2 CPU cores (`make reader`).
- Export: ONNX, dynamic int8 quantisation with per-channel weights (per-tensor loses accuracy).

| step | loss | held-out pair AUROC | span exact | held-out claim AUROC |
| --- | --- | --- | --- | --- |
{curve}
{verifier}
## Ranking the candidates (`ranking.json`)

The sentence quoted is the best by a linear model over the reader's logit, the idf-weighted
share of the question the sentence holds, its passage's BM25 score (relative to the question's
best passage) and dense similarity: {weights}. The reader reads only the {ranking.get("read", "all")}
candidates that the same signals without the reader rank best ({prefilter}), so that
{top_k} passages cost the reading time of 4. Both fitted listwise on the dev parts of both eval sets
(`python -m training.reader.ranking`); right sentence first over the {top_k} retrieved passages,
searching each set's whole corpus, and the gold sentence among the first 5 (what the LLM reads):

| set / part | answerable | reader alone, reading all | ranking model, reading all | ranking model, reading the best {ranking.get("read", "all")} | gold in first 5 |
| --- | --- | --- | --- | --- | --- |
{rank_rows}

## Held-out results (through the product: retrieval, then the reader)

`make reader-eval` (`python -m training.reader.card`). Right sentence first and AUROC are without
declining; the triple is evidence hit / refusal recall / false refusals at the calibrated
threshold ({fmt(float(calibrated_defaults().get("decline_threshold", 0.5)))}, `assistant eval calibrate`).
"within-doc" asks each question within its own article (the whole article); the others search
all 31 held-out articles at once.

| set / part | items | right sentence first | AUROC | at threshold | Spectre refusal recall at ≤ 10 % false refusals | p50 ms |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

The questions asked in other words alone (tag `paraphrase`, written by hand; in the article
set with near misses it does not answer):

| set / part | items | right sentence first | at threshold |
| --- | --- | --- | --- |
{para_rows}

## Deciding to answer (`decline.json`)

A logistic model over the reader's best score and general signals, never names from an
article: {decline_weights}; bias {decline["bias"]:.2f}. Coverage counts a word as matched when the
sentence or article holds a word of about the same meaning, and may only lower the
probability; names and numbers the article lacks lower it most. Fitted on the dev parts of both
sets (`python -m training.reader.decline`); see `docs/answers.md`.

## Files (sha256, checked on every load)

{sums}

## Limits

- English only; trained on encyclopedia text, used on news.
- The decline decision is one threshold on one calibrated score; questions whose every word
  (or a word of the same meaning) stands in the article but whose answer does not remain the
  hard case, and questions asked in other words are still declined more often than others.
- Licence of the weights: derived from Apache-2.0 weights and CC BY-SA 4.0 data; ship this card
  with them.
"""
    (MODEL_DIR / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(card)


if __name__ == "__main__":
    main()
