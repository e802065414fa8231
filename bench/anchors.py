"""Where the claim judge's anchor bar stands: every claim a model had shown, judged again.

``python -m bench.anchors RESULTS.jsonl ...`` reads LLM-mode eval results (``assistant eval
--mode llm``), splits each shown answer into its claims with their ``[n]`` citations, and judges
each claim again against the quotes it cites with ``ANCHOR_MIN`` at 1 to 4 (the reader bar is
left out: those claims had passed it). A claim is labelled by its question: *unanswerable*
(whatever it says, the article does not answer the question: made up, or true but beside it),
*right* where the answer's citations hit the gold evidence, *wrong* otherwise. The cited
sentences are read without the text before them, so a claim leaning on "he said" context may
count as removed here and not in the product.
Claims the product had removed are judged again too, against the sentences they cited (kept
in ``removed_claims`` since commit 1d59066; older runs have none), labelled *right sentence* when a
cited sentence holds the item's gold evidence: a test that removes those costs answers. With
``--newer`` they are also counted by the judge's recorded reason. ``--verifier`` replays every
rule, then with the reader's verifier head at several bars (``VERIFIER_MIN``):
``bench/results/verifier.json``.
Results: ``bench/results/anchors.json``. With ``--newer``, the shipped bars alone, then with
each test added since, one more at a time (the negation test,
``assistant.claim_language.negated``; the short-claim anchor; the swapped-name test,
``assistant.grounding.swapped``; names in a claim's first word; reversals; speakers; nouns
counted by numbers): ``bench/results/judge-tests.json``. ``--help`` says so and writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from assistant.grounding import (
    ANCHOR_MIN,
    COMPACT_MIN,
    VERIFIER_MIN,
    ClaimJudge,
    Verifier,
    reader_verifier,
)
from assistant.reader.model import shared_reader
from evals.dataset import load_dataset
from evals.rows import read_results

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parent.parent / "evals" / "data"
_CLAIM = re.compile(r"(.+?)((?:\[\d+\])+)")


def replay(
    paths: list[Path],
    anchor: int,
    compact: float = 0.0,
    *,
    negation: bool = False,
    short_claims: bool = False,
    swaps: bool = False,
    first_names: bool = False,
    reversals: bool = False,
    speakers: bool = False,
    counted: bool = False,
    verifier: Verifier | None = None,
    verifier_min: float = VERIFIER_MIN,
) -> dict[str, dict[str, int]]:
    judge = ClaimJudge(
        verifier=verifier,
        verifier_min=verifier_min,
        anchor_min=anchor,
        compact_min=compact,
        negation=negation,
        short_claims=short_claims,
        swaps=swaps,
        first_names=first_names,
        reversals=reversals,
        speakers=speakers,
        counted=counted,
    )
    counts: Counter[tuple[str, str]] = Counter()
    gone: Counter[tuple[str, str]] = Counter()  # claims the product had removed
    gold = _gold_evidence()
    for path in paths:
        for row in read_results(path).rows:
            label = (
                "unanswerable" if not row.answerable else ("right" if row.evidence_hit else "wrong")
            )
            for claim in row.removed_claims:
                if not claim.sentences:  # runs before removed claims kept their sentences
                    continue
                kept = judge.check(claim.text, claim.sentences, 1.0, row.question).supported
                gone[(_label(row.answerable, claim.sentences, gold.get(row.id, [])), kept)] += 1
            if not row.claims_shown:
                continue
            quotes = {c.n: c.quote for c in row.cited}
            for m in _CLAIM.finditer(row.answer):
                cited = [quotes[int(n)] for n in re.findall(r"\d+", m.group(2)) if int(n) in quotes]
                kept = judge.check(m.group(1).strip(), cited, 1.0, row.question).supported
                counts[(label, "kept" if kept else "removed")] += 1
    out: dict[str, dict[str, int]] = {}
    for (label, verdict), n in sorted(counts.items()):
        out.setdefault(label, {})[verdict] = n
    for (label, kept), n in sorted(gone.items()):
        out.setdefault(f"removed before, {label}", {})["kept" if kept else "removed"] = n
    return out


def verifier_bars(paths: list[Path]) -> dict[str, object]:
    """Per run (its folder's name), every rule, then the shipped reader's verifier head added
    at each of ``VERIFIER_BARS``: what the learned veto removes beyond the rules, right claims
    included. Choose the bar on dev runs; the test runs say what it costs."""
    verify = reader_verifier(shared_reader())
    if verify is None:
        sys.exit("The shipped reader has no verifier head.")
    every = {flag: True for _name, flag in _TESTS}
    out: dict[str, object] = {}
    for path in paths:
        one = [path]
        run: dict[str, object] = {"every rule": replay(one, ANCHOR_MIN, COMPACT_MIN, **every)}
        for bar in VERIFIER_BARS:
            run[f"+ verifier_min={bar}"] = replay(
                one, ANCHOR_MIN, COMPACT_MIN, **every, verifier=verify, verifier_min=bar
            )
        out[path.parent.name if path.name == "results.jsonl" else path.stem] = run
    return out


def removed_by_reason(paths: list[Path]) -> dict[str, dict[str, int]]:
    """The claims the product removed, by the judge's reason and by what they were: where a
    test removes claims citing the gold sentence ("right"), it costs answers."""
    gold = _gold_evidence()
    counts: Counter[tuple[str, str]] = Counter()
    for path in paths:
        for row in read_results(path).rows:
            for claim in row.removed_claims:
                if claim.sentences:
                    label = _label(row.answerable, claim.sentences, gold.get(row.id, []))
                    counts[(claim.reason, label)] += 1
    out: dict[str, dict[str, int]] = {}
    for (reason, label), n in sorted(counts.items()):
        out.setdefault(reason, {})[label] = n
    return out


def _label(answerable: bool, sentences: list[str], evidence: list[str]) -> str:
    """A removed claim is *right* when a sentence it cites holds the gold evidence: a claim
    citing the answering sentence, which the product may have judged wrongly."""
    if not answerable:
        return "unanswerable"
    said = [" ".join(s.split()) for s in sentences]
    hit = any(" ".join(e.split()) in s for e in evidence for s in said)
    return "right sentence" if hit else "other sentence"


def _gold_evidence() -> dict[str, list[str]]:
    """Every shipped eval item's gold evidence, by id (the ids of both sets are distinct)."""
    out: dict[str, list[str]] = {}
    for path in sorted(DATA.glob("*.jsonl")):
        if path.name.endswith(".corpus.jsonl"):
            continue
        for item in load_dataset(path).items:
            out[item.id] = list(item.evidence)
    return out


# the tests added since the anchor and compact bars, in the order they came
_TESTS = (
    ("negation", "negation"),
    ("short claims", "short_claims"),
    ("swapped names", "swaps"),
    ("first-word names", "first_names"),
    ("reversals", "reversals"),
    ("speakers", "speakers"),
    ("counted nouns", "counted"),
)
VERIFIER_BARS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
USAGE = """usage: python -m bench.anchors [--newer | --verifier] RESULTS.jsonl [...]

Replays the claim judge over recorded LLM-mode results (bench/results/llm/*/results.jsonl).
Without --newer: the anchor and compact bars at several values -> bench/results/anchors.json.
With --newer: the shipped bars, then each test added since, one more at a time
-> bench/results/judge-tests.json.
With --verifier: every rule, then the shipped reader's verifier head added at several bars
-> bench/results/verifier.json."""


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if args else 2)
    newer = args[:1] == ["--newer"]
    with_verifier = args[:1] == ["--verifier"]
    paths = [Path(p) for p in args[newer or with_verifier :]]
    if not paths:
        sys.exit(USAGE)
    if with_verifier:
        _write("verifier.json", verifier_bars(paths))
        return
    if newer:
        # the shipped bars, then each test added since, one more at a time
        out: dict[str, object] = {"files": [str(p) for p in paths]}
        out["anchor and compact bars"] = replay(paths, ANCHOR_MIN, COMPACT_MIN)
        on: dict[str, bool] = {}
        for k, (_name, flag) in enumerate(_TESTS):
            on[flag] = True
            label = "+ " + " + ".join(n for n, _f in _TESTS[: k + 1])
            out[label] = replay(paths, ANCHOR_MIN, COMPACT_MIN, **on)
        out["removed by the product, by reason"] = removed_by_reason(paths)
        _write("judge-tests.json", out)
        return
    out = (
        {"files": [str(p) for p in paths]}
        | {f"anchor_min={a}": replay(paths, a) for a in (1, 2, 3, 4)}
        | {
            f"anchor_min=3,compact_min={c}": replay(paths, 3, c)
            for c in (0.2, 0.25, COMPACT_MIN, 0.35, 0.4)
        }
    )
    _write("anchors.json", out)


def _write(name: str, out: dict[str, object]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
