"""Where the claim judge's reader bar stands: the reader's score of the gold evidence sentences.

``python -m bench.grounding`` scores, for every answerable question of the dev parts of both
shipped eval sets, the retrieved sentences that overlap the gold evidence, and prints the share
of them at or above each bar. ``assistant.grounding.RELEVANCE_MIN`` is the bar that keeps
about 95% of them: a claim citing a sentence below it is treated as beside the question.
Dev parts only, so the test parts stay a fair check. Results: ``bench/results/grounding.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.grounding import RELEVANCE_MIN, Grounder
from assistant.service import Assistant
from assistant.settings import load_settings
from evals.dataset import load_dataset, resolve_sources
from evals.metrics import gold_spans, overlaps

RESULTS = Path(__file__).resolve().parent / "results"
BARS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def gold_scores(eval_set: str, data_dir: Path) -> list[float]:
    """The reader's best score among retrieved gold sentences, per answerable dev question
    whose evidence retrieval found."""
    src = resolve_sources(eval_set=eval_set, split="dev")  # type: ignore[arg-type]
    settings = load_settings(data_dir=data_dir, **src.overrides)
    assistant = Assistant.open(settings, sources=src.corpus)
    grounder = Grounder(assistant.extractive)
    corpus = {doc_id: doc.text for doc_id, doc in assistant.documents.items()}
    scores = []
    for item in load_dataset(src.datasets).items:
        if not item.answerable:
            continue
        gold = gold_spans(item, corpus)
        got = assistant.retrieve(item.question, doc_id=item.doc_id)
        evidence = grounder.evidence(item.question, got.passages, assistant.documents)
        hits = [
            c.score for c in evidence.sentences if overlaps(c.passage.doc_id, c.start, c.end, gold)
        ]
        if hits:
            scores.append(max(hits))
    return scores


def main() -> None:
    data_dir = Path(".assistant-bench-grounding")
    out: dict[str, dict[str, float]] = {}
    for eval_set in ("article", "squad"):
        scores = gold_scores(eval_set, data_dir)
        out[eval_set] = {"questions": len(scores)} | {
            f"kept_at_{bar}": sum(s >= bar for s in scores) / len(scores) for bar in BARS
        }
    out["relevance_min"] = {"value": RELEVANCE_MIN}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "grounding.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
