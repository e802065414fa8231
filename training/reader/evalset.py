"""Write the held-out SQuAD eval set the product ships (``evals/data/squad.*``).

Whole articles the reader never trained on: 15 SQuAD 1.1 articles per part (the calibration
articles are the dev part, the test articles the test part) and Spectre from SQuAD 2.0 train,
whose paragraphs alternate between the parts, with its real unanswerable questions. All 31
articles form one corpus, indexed together, so retrieval must find the right article too.
Deterministic: the same seed gives the same files.

It writes ``squad.{dev,test}.jsonl`` and the corpus only. The questions reworded by hand live in
``squad.{dev,test}.paraphrase.jsonl``, which ``evals.dataset`` reads after each part and this
script never writes; it reports any of them whose original (the id before ``-para``) is no longer
in its part or no longer has the same gold data, since such a row would measure nothing.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from training.reader import data as D

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "data"


def doc_id(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def main() -> None:
    s11, s2 = D.load(D.SQUAD11), D.load(D.SQUAD2)
    _train, calib, test = D.split_articles(s11)
    corpus: dict[str, str] = {}
    for part, titles, half in (("dev", calib, "even"), ("test", test, "odd")):
        qs, texts = D.held_out_questions(s11, s2, titles, random.Random(D.SEED), 12, half)
        corpus |= texts
        written: dict[str, dict[str, object]] = {}
        with (OUT / f"squad.{part}.jsonl").open("w", encoding="utf-8") as fh:
            for q in qs:
                item = {
                    "id": q.id,
                    "question": q.question,
                    "answerable": q.answerable,
                    "answers": q.answers,
                    "evidence": q.evidence,
                    "doc_id": doc_id(q.article),
                    "tags": q.tags,
                }
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
                written[q.id] = item
        print(part, len(qs), sum(not q.answerable for q in qs), "unanswerable")
        for problem in stale_rewordings(OUT / f"squad.{part}.paraphrase.jsonl", written):
            print(f"warning: {problem}")
    with (OUT / "squad.corpus.jsonl").open("w", encoding="utf-8") as fh:
        for title, text in sorted(corpus.items()):
            row = {"id": doc_id(title), "title": title.replace("_", " "), "text": text}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("corpus", len(corpus), "articles")


GOLD = ("answerable", "answers", "evidence", "doc_id")


def stale_rewordings(path: Path, originals: dict[str, dict[str, object]]) -> list[str]:
    """Hand-reworded rows in ``path`` whose original is gone from its part or whose gold data
    differs from it now."""
    if not path.is_file():
        return []
    problems = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        was = originals.get(str(row["id"]).removesuffix("-para"))
        if was is None:
            problems.append(f"{path.name}: {row['id']} rewords a question no longer in its part")
        elif any(row.get(key) != was.get(key) for key in GOLD):
            problems.append(f"{path.name}: {row['id']} no longer has its original's gold data")
    return problems


if __name__ == "__main__":
    main()
