"""The language tests of the claim judge (``assistant.grounding``): what a claim says that the
words it shares with its sentence do not show.

Each test is about English, never about an article: spelling variants, names, numbers and the
nouns they count, negations and reversals, speakers. The judge decides what to do with them.

- ``american``: British and American spellings made one ("kilometres" meets "kilometers"), so
  a claim in the other spelling is not missing its sentence's word.
- ``names``: the names a text uses, its first word included when that is no common opener
  ("Belarus has moved …"); ``held`` matches a name to a form of it ("Russia", "Russian").
- ``numbers``, ``misattached``: the numbers of a text, and whether a claim puts a number of
  its sentence on another noun ("30 NATO soldiers" beside "30 NATO allies").
- ``negated``: the claim and its sentence disagree on a "not", a denial ("denied that", "…
  are false"), a direction ("away from") or a pair of opposites ("rose"/"fell").
- ``unnamed_speaker``: the claim reports a speaker or an agent ("X said …", "X ordered …")
  where its sentence reports none, or names one the sentence does not.
- ``refers_back``: the sentence opens on a pronoun, which the text before it may resolve.

``swapped`` (the question's name put in the sentence's place) stays in ``assistant.grounding``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from index.text import STOPWORDS, tokens

# -------------------------------------------------------------------------- spelling

_SPELLING = (
    (re.compile(r"\b(\w{2,})our(s|ed|ing|ite|ites|able|er|ers|ful)?\b"), r"\1or\2"),
    (re.compile(r"\b(\w{2,}[bcdfgkmnpstvz])re(s)?\b"), r"\1er\2"),
    (re.compile(r"\b(\w{2,})is(e|es|ed|ing|ation|ations|er|ers)\b"), r"\1iz\2"),
    (re.compile(r"\b(\w{2,})ys(e|es|ed|ing)\b"), r"\1yz\2"),
    (re.compile(r"\b(\w{3,})ogue(s)?\b"), r"\1og\2"),
    (re.compile(r"\b(def|off|lic|pret)ence(s)?\b", re.I), r"\1ense\2"),
    (re.compile(r"\b(\w{3,}[ea])ll(ed|ing|er|ers)\b"), r"\1l\2"),
    (re.compile(r"\b(program)me(s)?\b", re.I), r"\1\2"),
)


def american(text: str) -> str:
    """``text`` with British spellings made American (-our/-or, -re/-er, -ise/-ize, -yse/-yze,
    -ogue/-og, -ence/-ense, -lled/-led). Applied to both sides of a comparison, so a word that
    only looks like a variant ("promise" → "promize") still meets itself."""
    for pattern, repl in _SPELLING:
        text = pattern.sub(repl, text)
    return text


# -------------------------------------------------------------------------- names

_CAPITALISED = re.compile(r"\b[^\W\d_][\w'’-]*", re.UNICODE)
# Words that open a sentence without being names; stopwords are left out anyway.
_OPENERS = frozenset(
    re.findall(
        r"\w+",
        "yes yeah no according also although though however meanwhile moreover nevertheless "
        "furthermore therefore thus hence instead still yet indeed overall today yesterday "
        "tomorrow currently recently earlier later now then there here many several much every "
        "another either neither approximately around roughly nearly almost perhaps maybe "
        "despite since unless whether while even only just among along across after before "
        "during per "
        "one two three four five six seven eight nine ten",
    )
)
# endings of common nouns that names hardly have: "Officials", "Negotiations", "Protesters"
_COMMON = re.compile(r"(?:ments?|[st]ions?|ness|isms?|ists?|ials?|ities|ants|ents|ers)$", re.I)
_PRONOUNS = re.compile(r"\b(?:he|she|it|they|him|her|them|his|its|their|hers|theirs)\b", re.I)


def names(text: str, *, first: bool = True) -> set[str]:
    """The content words of a text's names: its capitalised words ("Ralph Fiennes", "Romania"),
    the first word too unless it is a stopword, a common opener ("Yes", "According") or has a
    common noun's ending ("Officials"), as the word tokens the sentences are compared in.
    ``first=False``: never the first word."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        word = m.group(0)
        if not word[0].isupper():
            continue
        opens = not text[: m.start()].strip(" \t\"'“‘«(")
        if opens and (not first or word.lower() in _OPENERS or _COMMON.search(word)):
            continue
        out.update(tokens(word))
    return out


def held(word: str, words: Iterable[str]) -> bool:
    """Whether ``word`` (a stem) is among ``words``, or is a form of one of them: one stem
    opening the other, both at least four letters ("russia" and "russian", "germani" and
    "german")."""
    pool = set(words)
    if word in pool:
        return True
    return len(word) >= 4 and any(
        len(w) >= 4 and (w.startswith(word) or word.startswith(w)) for w in pool
    )


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` opens on a pronoun (within its first three words) or reports a
    speaker by one ("… he said"): the text before it may then name who or what it means."""
    first = " ".join(re.findall(r"[\w'’]+", sentence)[:3])
    if _PRONOUNS.search(first):
        return True
    return re.search(rf"{_PRONOUNS.pattern}\s+(?:{_SAID})\b", sentence, re.I) is not None


# -------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Numbers written out. "one" is left out: it is as often a pronoun ("no one else").
_NUMBER_WORDS = frozenset(
    re.findall(
        r"\w+",
        "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
        "ninety hundred hundreds thousand thousands million millions billion billions trillion "
        "dozen dozens",
    )
)
_ITEM = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*|[^\w\s]", re.UNICODE)
_JOINS = "-–$%"  # "two-hour talks", "$2.5 billion", "40% of"


def numbers(text: str) -> set[str]:
    """The numbers of a text, in digits with their thousands separators dropped ("100,000" →
    "100000") or written out ("two hundred" → "two", "hundred")."""
    digits = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    return digits | {w for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}


def _counted(text: str) -> list[tuple[str, set[str], str | None]]:
    """Each number of ``text`` (a run: "2.5 billion", "two hundred"), with the content words
    beside it (3 at most before it, and the plain words after it, before a stopword, a
    participle or punctuation) and the noun it counts: the last of the words after it ("30
    NATO allies" → "allies"), or its unit ("75%" → "percent", "$2.5 billion" → "dollar")."""
    items = [m.group(0) for m in _ITEM.finditer(text)]
    out: list[tuple[str, set[str], str | None]] = []
    i = 0
    while i < len(items):
        if not (items[i][0].isdigit() or items[i].lower() in _NUMBER_WORDS):
            i += 1
            continue
        start, run = i, []
        while i < len(items) and (items[i][0].isdigit() or items[i].lower() in _NUMBER_WORDS):
            run.append(items[i].lower().replace(",", ""))
            i += 1
        before: list[str] = []
        for word in reversed(items[max(0, start - 6) : start]):
            if not word[0].isalpha():
                if word in _JOINS:
                    continue
                break
            before += tokens(word)
        unit = "percent" if i < len(items) and items[i] == "%" else None
        if unit is None and start and items[start - 1] == "$":
            unit = "dollar"
        while i < len(items) and items[i] in _JOINS:
            i += 1
        after: list[str] = []
        while i < len(items) and len(after) < 3 and items[i][0].isalpha():
            word = items[i]
            if word.lower() in STOPWORDS or (word.islower() and word.endswith(("ed", "ing"))):
                break
            after += tokens(word)
            i += 1
        head = after[-1] if after else unit
        out.append((" ".join(run), set(before[:3]) | set(after) | {unit} - {None}, head))
    return out


def misattached(claim: str, sentences: Sequence[str], question: str = "") -> bool:
    """True when the claim puts a number of its sentences on a noun they do not count with it.

    - The sentence counts something else with the number, and never names what the claim
      counts: "There are 30 NATO soldiers" beside "… decided by 30 NATO allies". A form of the
      same noun counts ("ally", "allies"); a synonym is not seen ("troops" for "soldiers" is
      removed). A claim restating the question's own count ("Which two ex-Soviet states …?"
      → "the two ex-Soviet states" beside "the two former Soviet republics") is left to the
      word tests.
    - The number is not the sentence's (the question's), and the sentence counts the claim's
      noun with another: "more than two hundred minutes" beside "more than one hundred
      minutes", asked about two hundred."""
    counted = [c for s in sentences for c in _counted(s)]
    in_sentences = {t for s in sentences for t in tokens(s)}
    asked = [(k, h) for k, _w, h in _counted(question) if h is not None]
    for key, _words, head in _counted(claim):
        if head is None:
            continue
        same = [(w, h) for k, w, h in counted if k == key]
        if not same:
            if any(h is not None and held(head, {h}) for _k, _w, h in counted):
                return True
            continue
        if any(held(head, w) for w, _h in same) or any(
            k == key and held(head, {h}) for k, h in asked
        ):
            continue
        if any(h is not None for _w, h in same) and not held(head, in_sentences):
            return True
    return False


# -------------------------------------------------------------------------- negation

_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nobody|nothing|without|cannot)\b|n['’]t\b", re.I
)
# "not only", "not until 1990" (it did happen, then), "no doubt": no negation of the statement
_NOT_NEGATING = re.compile(
    r"\bnot\s+(?:only|just|merely|simply|least)\b|\bno\s+doubt\b"
    r"|(?:\bnot\b|n['’]t\b)(?=(?:\s+[\w'’-]+){0,5}?\s+until\b)",
    re.I,
)
# a denial or a falsehood reverses what it is said of, as a "not" does
_DENIAL = re.compile(
    r"\b(?:den(?:y|ies|ied|ying|ial|ials)|refut\w*|debunk\w*|disprov\w*|false(?:ly|hood)?"
    r"|untrue|incorrect(?:ly)?|unfounded|baseless|fake|myth)\b",
    re.I,
)
# in a sentence, a denial reverses a claim only where it governs what follows ("denied that
# …", "… is false"): "rejects Russia's request to deny entry" denies nothing the claim says
_DENIED = re.compile(
    r"\bden(?:y|ies|ied|ying)\s+that\b|\b(?:false|untrue|incorrect)\s+that\b"
    r"|\b(?:is|are|was|were|be|been)\s+(?:false|untrue|incorrect|unfounded|baseless)\b",
    re.I,
)
_AWAY = re.compile(
    r"\b(?:away|back)\s+from\b|\bout\s+of\b|\bwithdr[ae]w\w*|\bpull(?:ed|s|ing)?\s+(?:back|out)\b"
    r"|\bretreat\w*",
    re.I,
)
# pairs of opposites: a claim using one side where its sentence uses only the other
_OPPOSITES = tuple(
    (re.compile(rf"\b(?:{a})\b", re.I), re.compile(rf"\b(?:{b})\b", re.I))
    for a, b in (
        (
            r"increas\w*|ris(?:e|es|en|ing)|rose|gr[eo]w(?:s|n|ing)?|growth",
            r"decreas\w*|f[ae]ll(?:s|en|ing)?|dropp?(?:ed|s|ing)?|declin\w*|shr[iau]nk\w*"
            r"|reduc\w*",
        ),
        (
            r"more|greater|higher|larger|bigger|highest|largest|biggest|maximum",
            r"less|fewer|lower|smaller|fewest|lowest|smallest|minimum",
        ),
        (r"before|earlier", r"after|later"),
        (r"w[io]n|wins|winning|victor\w*", r"lose|lost|loses|losing|defeat\w*"),
        (r"first", r"last"),
        (r"north\w*", r"south\w*"),
        (r"east\w*", r"west\w*"),
    )
)
_YES_NO = re.compile(r"^\s*(?:yes|no)\b[,.:;!]?\s*", re.I)
# where a negation's reach ends, roughly: punctuation, a dash, a sentence end, "that" (in "we
# cannot accept that Russia is trying …" the "not" is the speaker's, not the reported clause's)
# — but a denial reaches into its "that" clause ("denied that Russia moved …")
_CLAUSE = re.compile(
    r"[,;:«»“”\"()–—]|[.!?](?=\s|$)|\s-\s|(?<!denied )(?<!denies )(?<!deny )\bthat\b", re.I
)


def _polarity(text: str, reversals: bool, denial: re.Pattern[str] = _DENIAL) -> int:
    """How many negations ``text`` holds (denials too, with ``reversals``)."""
    text = _NOT_NEGATING.sub(" ", text)
    return len(_NEGATION.findall(text)) + (len(denial.findall(text)) if reversals else 0)


def _clauses(sentence: str, terms: set[str]) -> list[str]:
    """The clauses of ``sentence`` holding two or more of ``terms``."""
    return [p for p in _CLAUSE.split(sentence) if len(terms.intersection(tokens(p))) >= 2]


def negated(claim: str, sentence: str, *, reversals: bool = True) -> bool:
    """True when the claim and ``sentence`` disagree on a "not", the one thing the word tests
    cannot see: every word matches, only the negation differs.

    - The sentence negates, in a clause holding two or more of the claim's content words, what
      the claim states plainly: "Ukraine and Georgia would join NATO" beside "Ukraine and
      Georgia are not about to join NATO".
    - The claim negates, and the sentence holds no negation at all: SQuAD 2.0's "Diamonds
      Aren't Forever was released in 1971" beside "Diamonds Are Forever (1971)". Where the
      sentence does hold a "not" somewhere, the claim may rest on it, so it is not judged.

    "Not only", "not until" and "no doubt" negate nothing. A leading "Yes,"/"No," is the
    claim's answer word, not its statement. With ``reversals``, a denial or a falsehood counts
    as a "not" ("X denied that Russia has moved …", "Rumours that … are false"), and so does a
    direction or a pair of opposites (``reversed_``)."""
    body = _YES_NO.sub("", claim)
    terms = set(tokens(body))
    if reversals and reversed_(body, sentence, terms):
        return True
    if _polarity(body, reversals) % 2:
        return _polarity(sentence, reversals) == 0
    count = sum(_polarity(part, reversals, _DENIED) for part in _clauses(sentence, terms))
    return count % 2 == 1


def reversed_(claim: str, sentence: str, terms: set[str]) -> bool:
    """True when the claim goes the other way than ``sentence``: it says "away from" (or "out
    of", "withdrew") where the sentence says no such thing, or the reverse in a clause holding
    two or more of the claim's words; or it uses one of a pair of opposites ("rose"/"fell",
    "more"/"fewer", "before"/"after", "won"/"lost", "first"/"last", "north"/"south") where
    those clauses use only the other."""
    clauses = " | ".join(_clauses(sentence, terms))
    claim_away = _AWAY.search(claim) is not None
    if claim_away and _AWAY.search(sentence) is None:
        return True
    if not claim_away and _AWAY.search(clauses) is not None:
        return True
    for a, b in _OPPOSITES:
        for ours, theirs in ((a, b), (b, a)):
            if (
                ours.search(claim)
                and not theirs.search(claim)
                and theirs.search(clauses)
                and not ours.search(clauses)
            ):
                return True
    return False


# -------------------------------------------------------------------------- speakers

# verbs that report what someone said, or did to others ("ordered"), as a claim writes them
_SAID = (
    r"said|says|told|tells|stated|announced|announces|claimed|claims|declared|declares|ordered"
    r"|commanded|instructed|reported|confirmed|confirms|denied|denies|insisted|insists|warned"
    r"|warns|added|noted|explained|argued|argues|urged|urges|demanded|asserted|alleged|admitted"
    r"|acknowledged|promised|pledged|vowed|threatened|revealed|wrote|according"
)
_REPORTS = re.compile(rf"\b(?:{_SAID})\b", re.I)
# a sentence reports speech with any form of those verbs, a statement, or quotation marks
_SPEECH = re.compile(
    r"«|»|“|”|\"|\b(?:say|tell|state|statement|announc|claim|declar|order|command|instruct"
    r"|report|confirm|deni|deny|insist|warn|add|note|explain|argu|urg|demand|assert|alleg"
    r"|admit|acknowledg|promis|pledg|vow|threat|reveal|writ|wrote|accord|spokes|call)\w*",
    re.I,
)


# what a claim calls the text it answers from: "It says …", "According to the article, …"
_THE_TEXT = frozenset(
    re.findall(
        r"\w+",
        "it this the article text passage passages source sources sentence sentences document "
        "story quote",
    )
)


def unnamed_speaker(claim: str, sentences: Sequence[str], words: Iterable[str]) -> bool:
    """True when the claim reports a speaker or an agent ("Officials said …", "Putin ordered
    that …") and no sentence reports speech (no reporting verb, no quotation marks), or when
    the claim's speaker (the content words just before its verb, or after "according to")
    are not among ``words`` (what the sentences and the question hold). The text itself is no
    speaker ("It says …", "According to the article, …")."""
    speakers: list[list[str]] = []
    for m in _REPORTS.finditer(claim):
        if m.group(0).lower() == "according":
            said = re.split(r"[,;:.]", claim[m.end() :], maxsplit=1)[0]
            said = re.sub(r"^\s*to\b", "", said)
        else:
            said = " ".join(re.split(r"[,;:.«»“”\"]|\bthat\b", claim[: m.start()])[-1].split()[-3:])
        if not set(re.findall(r"\w+", said.lower())) <= _THE_TEXT:
            speakers.append(tokens(said))
    if not speakers:
        return False
    if not any(_SPEECH.search(s) for s in sentences):
        return True
    pool = set(words)
    return any(not held(t, pool) for speaker in speakers for t in speaker)
