"""Standalone queries for follow-up questions.

Prepending the previous question drags retrieval back to the previous answer, so instead the
reference is resolved: "And who did he meet?" after a question about Stoltenberg becomes
"And who did Stoltenberg meet?". The entity comes from the latest user turn that names one,
then from the assistant's answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.types import Turn

_PERSONAL = {"he", "him", "his", "she", "her", "hers"}
_THING = {"it", "its", "they", "them", "their", "theirs"}
_PRONOUN_RE = re.compile(r"\b(he|him|his|she|her|hers|it|its|they|them|their|theirs)\b", re.I)
_DEMONSTRATIVE = re.compile(r"\b(that|this|these|those)\b", re.I)
_ELLIPTIC = re.compile(r"^\s*(and|what about|how about|and what about)\b", re.I)
_ENTITY = re.compile(
    r"(?<![\w’'])((?:[A-Z][\w’'-]+|[A-Z]{2,})(?:\s+(?:of\s+|the\s+)?(?:[A-Z][\w’'-]+|[A-Z]{2,}|\d+))*)"
)
_QUESTION_WORDS = {
    "what",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "which",
    "did",
    "does",
    "do",
    "is",
    "are",
    "was",
    "were",
    "will",
    "would",
    "can",
    "could",
    "should",
    "has",
    "have",
    "had",
    "and",
    "the",
    "a",
    "an",
    "in",
    "on",
    "according",
    "tell",
    "quote",
    "i",
    "please",
}
# Places and organisations: poor antecedents for he/she.
_NOT_PERSON = {
    "nato",
    "russia",
    "ukraine",
    "georgia",
    "germany",
    "europe",
    "washington",
    "moscow",
    "brussels",
    "kremlin",
    "west",
    "crimea",
    "donbass",
    "us",
    "u.s",
    "united",
    "states",
    "eu",
    "un",
    "bucharest",
    "china",
    "france",
    "britain",
    "nord",
    "stream",
}


def entities(text: str) -> list[str]:
    """Capitalised phrases in order of appearance, sentence-initial question words removed."""
    found = []
    for m in _ENTITY.finditer(text):
        words = m.group(1).split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        if words:
            phrase = " ".join(words).rstrip("’'s").strip()
            phrase = re.sub(r"[’']s$", "", phrase)
            if phrase:
                found.append(phrase)
    return found


def _is_person(entity: str) -> bool:
    return not any(w.lower().strip(".") in _NOT_PERSON for w in entity.split())


def _antecedent(history: Sequence[Turn], personal: bool) -> str | None:
    users = [t.content for t in reversed(history) if t.role == "user"]
    answers = [t.content for t in reversed(history) if t.role == "assistant"]
    for pool in (users[:1], answers[:1], users[1:]):
        for text in pool:
            cands = entities(text)
            if personal:
                cands = [c for c in cands if _is_person(c)]
            if cands:
                return cands[0]
    return None


def standalone_query(question: str, history: Sequence[Turn]) -> str:
    """The question with pronouns resolved from history; unchanged without history."""
    if not history:
        return question
    m = _PRONOUN_RE.search(question)
    if m:
        word = m.group(1).lower()
        ent = _antecedent(history, personal=word in _PERSONAL)
        if ent:
            replacement = (
                f"{ent}’s" if word in {"his", "her", "its", "their", "hers", "theirs"} else ent
            )
            return question[: m.start()] + replacement + question[m.end() :]
        return question
    if _DEMONSTRATIVE.search(question):
        # "that summit", "where has that raised the alarm?": the thing is in the last answer
        answers = [t.content for t in reversed(history) if t.role == "assistant"]
        ents = (
            list(
                dict.fromkeys(e for e in entities(answers[0]) if e.lower() not in question.lower())
            )[:3]
            if answers
            else []
        )
        if ents:
            return f"{question.rstrip(' ?')} ({', '.join(ents)})?"
    if _ELLIPTIC.match(question) or len(question.split()) <= 3:
        ent = _antecedent(history, personal=False)
        if ent and ent.lower() not in question.lower():
            return f"{question.rstrip(' ?')} ({ent})?"
    return question
