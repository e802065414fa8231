"""Questions for the benchmarks, with the evidence spans of the shipped article they need.

Sources, best first:
1. the eval sets ``evals/data/article.dev.jsonl`` and ``article.test.jsonl`` (answerable items
   with ``evidence``), when they exist;
2. the hand-written answer cases of the tests (``tests/data/answer_cases.py``, read as data with
   ``ast``, never imported), when they exist;
3. keyword questions generated from the article's sentences (always available; the evidence is
   the whole sentence). They are reported as a second view in every run.
"""

from __future__ import annotations

import ast
import json
import random
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.sentences import sentence_spans
from index.text import STOPWORDS, tokens
from index.types import Document

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "evals" / "data"
EVAL_FILES = ("article.dev.jsonl", "article.test.jsonl")
ANSWER_CASES = ROOT / "tests" / "data" / "answer_cases.py"
_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*(?:[.,][0-9]+)*")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "«": '"', "»": '"'})


@dataclass
class Item:
    id: str
    question: str
    answerable: bool
    evidence: list[str]
    spans: list[tuple[int, int]] = field(default_factory=list)  # offsets in the article
    history: list[dict[str, str]] = field(default_factory=list)
    # shares a term that only the shipped article holds with its evidence chunk (set per corpus
    # by ``mark_distinctive``); if not, it is ambiguous among the article's near-twins
    distinctive: bool | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> Item:
        obj = dict(obj)
        obj["spans"] = [tuple(s) for s in obj.get("spans", [])]
        return cls(**obj)


def locate(text: str, evidence: str) -> list[tuple[int, int]]:
    """Every occurrence of ``evidence`` in ``text`` (exact, else with quote marks normalised,
    which keeps offsets since the mapping is one character to one)."""
    out = []
    for hay, needle in ((text, evidence), (text.translate(_QUOTES), evidence.translate(_QUOTES))):
        start = hay.find(needle)
        while needle and start >= 0:
            out.append((start, start + len(needle)))
            start = hay.find(needle, start + 1)
        if out:
            break
    return out


def _with_spans(items: list[Item], text: str) -> list[Item]:
    kept = []
    for it in items:
        it.spans = [s for ev in it.evidence for s in locate(text, ev)]
        if it.spans or not it.answerable:
            kept.append(it)
    return kept


def eval_set_items(article: Document) -> list[Item] | None:
    files = [EVAL_DIR / f for f in EVAL_FILES if (EVAL_DIR / f).is_file()]
    if not files:
        return None
    items = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict) or not obj.get("question"):
                continue
            if obj.get("doc_id") not in (None, article.id):
                continue
            history = [
                {"role": h["role"], "content": h["content"]}
                for h in obj.get("history") or []
                if isinstance(h, dict) and h.get("role") in ("user", "assistant")
            ]
            items.append(
                Item(
                    id=f"{path.stem}:{obj.get('id', n)}",
                    question=str(obj["question"]),
                    answerable=bool(obj.get("answerable", bool(obj.get("evidence")))),
                    evidence=[e for e in obj.get("evidence") or [] if isinstance(e, str)],
                    history=history,
                )
            )
    return _with_spans(items, article.text) or None


def answer_case_items(article: Document) -> list[Item] | None:
    if not ANSWER_CASES.is_file():
        return None
    try:
        tree = ast.parse(ANSWER_CASES.read_text(encoding="utf-8"))
        values = {}
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            if isinstance(target, ast.Name) and node.value is not None:
                values[target.id] = ast.literal_eval(node.value)
        answerable = values.get("ANSWERABLE", [])
        unanswerable = values.get("UNANSWERABLE", [])
        items = [
            Item(id=f"case-a{i:02d}", question=q, answerable=True, evidence=[ev])
            for i, (q, ev) in enumerate(answerable)
        ] + [
            Item(id=f"case-u{i:02d}", question=q, answerable=False, evidence=[])
            for i, q in enumerate(unanswerable)
        ]
    except (SyntaxError, ValueError, TypeError):
        return None
    return _with_spans(items, article.text) or None


_TEMPLATES = [
    "What does the article say about {}?",
    "What happened with {}?",
    "Tell me about {}.",
    "What is reported about {}?",
]


def generated_items(article: Document, per_sentence: int = 5, seed: int = 7) -> list[Item]:
    """Keyword questions: 3–5 content words of one article sentence (in their order), so some
    name the article's own entities and some are as generic as a wire story gets."""
    rng = random.Random(seed)
    items = []
    for s, e in sentence_spans(article.text):
        sentence = article.text[s:e]
        content = [w for w in _WORD.findall(sentence) if w.lower() not in STOPWORDS and len(w) > 2]
        if len(content) < 5:
            continue
        for j in range(per_sentence):
            size = rng.randint(3, min(5, len(content)))
            picked = sorted(rng.sample(range(len(content)), size))
            words = [content[p] for p in picked]
            phrase = ", ".join(words[:-1]) + " and " + words[-1]
            items.append(
                Item(
                    id=f"gen-{s}-{j}",
                    question=rng.choice(_TEMPLATES).format(phrase),
                    answerable=True,
                    evidence=[sentence],
                    spans=[(s, e)],
                )
            )
    return items


def article_only_terms(article: Document, others: Iterable[Document]) -> set[str]:
    """Stemmed terms of the article that no other document of the corpus holds."""
    seen: set[str] = set()
    for d in others:
        if d.id != article.id:
            seen.update(_WORD.findall(d.text.lower()))
    return set(tokens(article.text)) - set(tokens(" ".join(seen)))


def mark_distinctive(items: list[Item], terms: set[str], article: Document) -> list[Item]:
    """``distinctive``: the question and the chunk that holds its evidence (the product's
    default chunking) share a term that only the article holds in this corpus, so that chunk
    alone can be told from its near-twins. Otherwise the question is ambiguous at chunk level:
    e.g. it names "Stoltenberg" but the evidence chunk only says "he said"."""
    from index.chunking import chunk_document

    chunks = [(c.start, c.end, set(tokens(c.text))) for c in chunk_document(article)]
    for it in items:
        asked = " ".join([it.question] + [h["content"] for h in it.history if h["role"] == "user"])
        gold: set[str] = set()
        for s, e, toks in chunks:
            if any(s < b and a < e for a, b in it.spans):
                gold |= toks
        it.distinctive = bool(set(tokens(asked)) & terms & gold)
    return items


def question_sets(article: Document) -> dict[str, list[Item]]:
    """Named question sets: the best hand-made one available (if any), then ``generated``."""
    sets: dict[str, list[Item]] = {}
    for name, loader in (("eval", eval_set_items), ("answer_cases", answer_case_items)):
        got = loader(article)
        if got:
            sets[name] = got
            break
    sets["generated"] = generated_items(article)
    return sets


def latency_questions(sets: dict[str, list[Item]], n: int = 100) -> list[str]:
    """About ``n`` questions: the hand-made ones (answerable and not) topped up with generated."""
    out: list[str] = []
    for name, items in sets.items():
        pool = [it.question for it in items]
        if name == "generated":
            pool = random.Random(3).sample(pool, len(pool))
        for q in pool:
            if len(out) >= n:
                return out
            if q not in out:
                out.append(q)
    return out
