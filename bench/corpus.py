"""Synthetic news corpora built from real text, with the shipped article hidden among them.

Every generated article recombines sentences of the shipped article (and, when an eval set is
present, its evidence sentences that the article does not already hold) with a fresh "cast":
other countries, capitals, people, organisations, regions, pipelines, numbers and years. So the
corpus reads like many similar wire stories, which is the hard case for retrieval: the shipped
article's sentences have hundreds of near-twins that differ only in names and numbers.

A sentence whose swap changes nothing (no entity, no number) gets a few synonyms instead, and is
dropped if it still equals the original: no distractor ever repeats an article sentence verbatim,
so "the passage of document ``article``" stays well defined.

Deterministic: document ``i`` depends only on ``(seed, i)``, so the 1,000-article corpus is a
prefix of the 10,000-article one (apart from where the article itself is placed).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.sentences import sentence_spans
from index.sources import load_default
from index.types import Document

ARTICLE_ID = "article"
DEFAULT_SEED = 20240611
# Sentences per generated article; the mean is tuned so 10,000 articles give ~100,000 chunks at
# the default chunk size (480 characters, whole sentences): see ``python -m bench.corpus``.
SENTENCES_MIN = 17
SENTENCES_MAX = 27

# (country, adjective, capital); none of the article's own (Russia, Ukraine, Georgia, Germany,
# the United States, Belgium, Romania), so no distractor names the article's cast.
COUNTRIES: list[tuple[str, str, str]] = [
    ("Iran", "Iranian", "Tehran"),
    ("Turkey", "Turkish", "Ankara"),
    ("China", "Chinese", "Beijing"),
    ("India", "Indian", "New Delhi"),
    ("Brazil", "Brazilian", "Brasília"),
    ("Japan", "Japanese", "Tokyo"),
    ("Egypt", "Egyptian", "Cairo"),
    ("Nigeria", "Nigerian", "Abuja"),
    ("Mexico", "Mexican", "Mexico City"),
    ("Argentina", "Argentine", "Buenos Aires"),
    ("Poland", "Polish", "Warsaw"),
    ("France", "French", "Paris"),
    ("Italy", "Italian", "Rome"),
    ("Spain", "Spanish", "Madrid"),
    ("Sweden", "Swedish", "Stockholm"),
    ("Finland", "Finnish", "Helsinki"),
    ("Norway", "Norwegian", "Oslo"),
    ("Canada", "Canadian", "Ottawa"),
    ("Australia", "Australian", "Canberra"),
    ("Indonesia", "Indonesian", "Jakarta"),
    ("Vietnam", "Vietnamese", "Hanoi"),
    ("Kenya", "Kenyan", "Nairobi"),
    ("Ethiopia", "Ethiopian", "Addis Ababa"),
    ("South Africa", "South African", "Pretoria"),
    ("Chile", "Chilean", "Santiago"),
    ("Peru", "Peruvian", "Lima"),
    ("Colombia", "Colombian", "Bogotá"),
    ("Pakistan", "Pakistani", "Islamabad"),
    ("Thailand", "Thai", "Bangkok"),
    ("Morocco", "Moroccan", "Rabat"),
    ("Algeria", "Algerian", "Algiers"),
    ("Serbia", "Serbian", "Belgrade"),
    ("Hungary", "Hungarian", "Budapest"),
    ("Greece", "Greek", "Athens"),
    ("Portugal", "Portuguese", "Lisbon"),
    ("Armenia", "Armenian", "Yerevan"),
    ("Azerbaijan", "Azerbaijani", "Baku"),
    ("Kazakhstan", "Kazakh", "Astana"),
    ("Moldova", "Moldovan", "Chișinău"),
    ("Lithuania", "Lithuanian", "Vilnius"),
    ("Latvia", "Latvian", "Riga"),
    ("Estonia", "Estonian", "Tallinn"),
    ("Malaysia", "Malaysian", "Kuala Lumpur"),
    ("Ghana", "Ghanaian", "Accra"),
    ("Senegal", "Senegalese", "Dakar"),
    ("Tunisia", "Tunisian", "Tunis"),
    ("Jordan", "Jordanian", "Amman"),
]


def _names(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _names(
    "Amira Bogdan Carmen Dmitri Elena Farid Greta Hiroshi Ines Jonas Kwame Leila Mateo "
    "Nadia Oskar Priya Rafael Sofia Tomas Ulla Viktor Wanjiru Ximena Yusuf Zofia Anders "
    "Beatriz Chen Dario Esra"
)
LAST_NAMES = _names(
    "Okafor Lindqvist Moreau Kowalski Haddad Tanaka Novak Ferreira Mensah Rossi Petrov "
    "Nakamura Almeida Bergström Castillo Demir Eriksen Fontaine Gallagher Horvath Ibrahim "
    "Jovanović Kagame Larsen Mwangi Nilsen Oliveira Papadopoulos Quispe Rahman Sato Varga"
)
ORGS = ["OSCE", "ASEAN", "SCO", "CSTO", "ECOWAS", "SADC", "GCC", "APEC", "IGAD"]
REGIONS = _names(
    "Kashmir Tigray Darfur Transnistria Aceh Mindanao Casamance Cabinda Ogaden Sahel "
    "Silesia Anatolia Patagonia Galicia Lombardy Sardinia"
)
HQ_CITIES = ["Geneva", "Vienna", "Strasbourg", "The Hague", "Luxembourg", "Montevideo", "Arusha"]
SUMMIT_CITIES = ["Madrid", "Lisbon", "Istanbul", "Prague", "Bratislava", "Sofia", "Zagreb"]
PIPELINES = [
    "TurkStream",
    "Power of Siberia 2",
    "Baltic Pipe",
    "EastMed",
    "Trans-Saharan",
    "Galsi",
    "Nabucco",
    "Blue Stream",
    "Medgaz",
    "Trans Adriatic",
]
FORMER = ["Yugoslav", "Ottoman", "Habsburg", "colonial", "imperial", "Portuguese"]
REGION_ADJ = ["Asian", "African", "Latin American", "Pacific", "Nordic", "Balkan", "Arab"]
REGION_NAME = ["Asia", "Africa", "Latin America", "the Pacific", "the Nordic region", "the Balkans"]
LEADER_TITLES = ["Prime Minister", "President", "Premier"]
WEEKDAYS = ["Monday", "Tuesday", "Thursday", "Friday", "Saturday", "Sunday"]
DURATIONS = ["one-hour", "three-hour", "four-hour", "90-minute", "five-hour"]
NUMBER_WORDS = ["three", "four", "five", "several"]
# Only for sentences with no entity and no number, so their twins still differ from them.
SYNONYMS = {
    "clearly": ["plainly", "explicitly", "repeatedly"],
    "independent": ["free", "self-governing"],
    "sovereign": ["autonomous", "neutral"],
    "security": ["defence", "trade"],
    "arrangements": ["alliances", "pacts"],
    "expensive": ["costly", "painful", "dangerous"],
    "documents": ["treaties", "charters"],
    "agreements": ["accords", "protocols"],
    "fundamental": ["basic", "long-term"],
    "system": ["order", "framework"],
    "influence": ["control", "interest"],
    "accept": ["tolerate", "allow"],
    "path": ["course", "future"],
    "signed": ["ratified", "endorsed"],
}


@dataclass(frozen=True)
class Story:
    """One cast: every entity, number and date of the article mapped to a replacement."""

    mapping: dict[str, str]

    @classmethod
    def draw(cls, rng: random.Random) -> Story:
        a, b, c, d, e = rng.sample(COUNTRIES, 5)
        names = [(rng.choice(FIRST_NAMES), n) for n in rng.sample(LAST_NAMES, 4)]
        (chief_f, chief_l), (lead_f, lead_l), (a_f, a_l), (e_f, e_l) = names
        org = rng.randrange(len(ORGS))
        regions = rng.sample(REGIONS, 2)
        y1 = rng.choice([y for y in range(1992, 2013) if y != 2008])
        y2 = rng.choice([y for y in range(y1 + 1, 2024) if y != 2014])
        m = {
            "Jens Stoltenberg": f"{chief_f} {chief_l}",
            "Stoltenberg": chief_l,
            "Olaf Schulz": f"{lead_f} {lead_l}",
            "Schulz": lead_l,
            "Schultz": lead_l,
            "Chancellor": rng.choice(LEADER_TITLES),
            "Vladimir Putin": f"{a_f} {a_l}",
            "Joe Biden": f"{e_f} {e_l}",
            "NATO": ORGS[org],
            "Russia": a[0],
            "Russian": a[1],
            "Moscow": a[2],
            "Kremlin": a[2],
            "Ukraine": b[0],
            "Ukrainian": b[1],
            "Georgia": c[0],
            "Germany": d[0],
            "German": d[1],
            "the United States": e[0],
            "United States": e[0],
            "US": e[1],
            "Washington": e[2],
            "Brussels": rng.choice(HQ_CITIES),
            "Bucharest": rng.choice(SUMMIT_CITIES),
            "Crimea": regions[0],
            "Donbass": regions[1],
            "Nord Stream 2": rng.choice(PIPELINES),
            "Soviet": rng.choice(FORMER),
            "European": rng.choice(REGION_ADJ),
            "Europe": rng.choice(REGION_NAME),
            "Wednesday": rng.choice(WEEKDAYS),
            "30": str(rng.choice([n for n in range(9, 48) if n != 30])),
            "2008": str(y1),
            "2014": str(y2),
            "100,000": f"{rng.choice([n for n in range(5, 300, 5) if n != 100]) * 1000:,}",
            "2.5": f"{rng.choice([n for n in range(3, 120) if n != 25]) / 10:.1f}",
            "two-hour": rng.choice(DURATIONS),
            "two": rng.choice(NUMBER_WORDS),
        }
        return cls(m)

    def apply(self, sentence: str) -> str:
        return _ENTITY_RE.sub(lambda mt: self.mapping[mt.group(0)], sentence)


_KEYS = [
    "Jens Stoltenberg",
    "Stoltenberg",
    "Olaf Schulz",
    "Schulz",
    "Schultz",
    "Chancellor",
    "Vladimir Putin",
    "Joe Biden",
    "NATO",
    "Russia",
    "Russian",
    "Moscow",
    "Kremlin",
    "Ukraine",
    "Ukrainian",
    "Georgia",
    "Germany",
    "German",
    "the United States",
    "United States",
    "US",
    "Washington",
    "Brussels",
    "Bucharest",
    "Crimea",
    "Donbass",
    "Nord Stream 2",
    "Soviet",
    "European",
    "Europe",
    "Wednesday",
    "30",
    "2008",
    "2014",
    "100,000",
    "2.5",
    "two-hour",
    "two",
]
_ENTITY_RE = re.compile(
    r"(?<![\w.,])(?:"
    + "|".join(re.escape(k) for k in sorted(_KEYS, key=len, reverse=True))
    + r")(?![\w])"
)
_SYN_RE = re.compile(r"\b(" + "|".join(SYNONYMS) + r")\b")


def _synonyms(sentence: str, rng: random.Random) -> str:
    hits = list(_SYN_RE.finditer(sentence))
    if not hits:
        return sentence
    forced = rng.randrange(len(hits))
    out, last = [], 0
    for i, mt in enumerate(hits):
        out.append(sentence[last : mt.start()])
        word = mt.group(0)
        out.append(rng.choice(SYNONYMS[word]) if i == forced or rng.random() < 0.5 else word)
        last = mt.end()
    out.append(sentence[last:])
    return "".join(out)


def article() -> Document:
    """The shipped article exactly as the product loads it (same id, title, text)."""
    return load_default()[0]


def _eval_sentences(article_text: str) -> list[str]:
    """Evidence strings of the eval sets that the article does not already hold."""
    from bench.questions import EVAL_DIR

    out: list[str] = []
    # only the news set: the encyclopedia set's sentences would turn the near-twins of the
    # article into a different corpus (and most are dropped unvaried, shrinking every article)
    for path in sorted(EVAL_DIR.glob("article.*.jsonl")) if EVAL_DIR.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            for ev in obj.get("evidence") or [] if isinstance(obj, dict) else []:
                if isinstance(ev, str) and len(ev) >= 40 and ev not in article_text:
                    out.append(ev.strip())
    return sorted(set(out))


@dataclass(frozen=True)
class SentencePool:
    headline: str
    body: list[str]

    @classmethod
    def from_article(cls, doc: Document) -> SentencePool:
        spans = [doc.text[s:e] for s, e in sentence_spans(doc.text)]
        headline = spans[0].rstrip(" –-")
        return cls(headline, spans[1:] + _eval_sentences(doc.text))


def generate_document(index: int, pool: SentencePool, seed: int, salt: str = "") -> Document:
    """Generated article number ``index``; ``salt`` gives a rewritten version of it."""
    rng = random.Random(f"{seed}:{index}:{salt}")
    stories = [Story.draw(rng) for _ in range(3)]
    n = rng.randint(SENTENCES_MIN, SENTENCES_MAX)
    order: list[str] = []
    while len(order) < n:
        batch = list(pool.body)
        rng.shuffle(batch)
        order.extend(batch)
    used: dict[str, int] = {}
    sentences = []
    for original in order[:n]:
        occ = used.get(original, 0)
        used[original] = occ + 1
        varied = stories[occ % len(stories)].apply(original)
        if varied == original:
            varied = _synonyms(original, rng)
        if varied != original:
            sentences.append(varied)
    title = stories[0].apply(pool.headline)
    paragraphs, i = [], 0
    while i < len(sentences):
        take = 2 if rng.random() < 0.3 and min(map(len, sentences[i : i + 2])) >= 40 else 1
        paragraphs.append(" ".join(sentences[i : i + take]))
        i += take
    text = title + " –\n\n" + "\n\n".join(paragraphs) + "\n"
    doc_id = f"doc-{index:05d}"
    return Document(id=doc_id, title=title, text=text, source="bench")


@dataclass(frozen=True)
class CorpusInfo:
    path: Path
    n_docs: int
    article_position: int
    ids: list[str]


def iter_corpus(n_docs: int, seed: int = DEFAULT_SEED) -> Iterator[Document]:
    """``n_docs`` documents: the shipped article at a seeded position, the rest generated."""
    doc = article()
    if n_docs <= 1:
        yield doc
        return
    pool = SentencePool.from_article(doc)
    pos = random.Random(f"{seed}:position:{n_docs}").randrange(n_docs)
    gen = 0
    for i in range(n_docs):
        if i == pos:
            yield doc
        else:
            yield generate_document(gen, pool, seed)
            gen += 1


def write_jsonl(path: Path, docs: Iterator[Document] | list[Document]) -> list[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = []
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "title": d.title, "text": d.text}, ensure_ascii=False))
            fh.write("\n")
            ids.append(d.id)
    return ids


def write_corpus(path: Path, n_docs: int, seed: int = DEFAULT_SEED) -> CorpusInfo:
    ids = write_jsonl(path, iter_corpus(n_docs, seed))
    return CorpusInfo(path, len(ids), ids.index(ARTICLE_ID), ids)


def read_jsonl(path: Path) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                o = json.loads(line)
                docs.append(Document(id=o["id"], title=o["title"], text=o["text"], source="bench"))
    return docs


def write_changed(
    src: Path, dst: Path, fraction: float = 0.01, seed: int = DEFAULT_SEED
) -> list[str]:
    """Copy ``src`` to ``dst`` with ``fraction`` of the generated documents rewritten (never the
    shipped article). Returns the ids rewritten."""
    docs = read_jsonl(src)
    candidates = [i for i, d in enumerate(docs) if d.id != ARTICLE_ID]
    n = max(1, round(len(docs) * fraction)) if candidates else 0
    picked = sorted(random.Random(f"{seed}:changed:{len(docs)}").sample(candidates, n))
    pool = SentencePool.from_article(article())
    for i in picked:
        number = int(docs[i].id.split("-")[1])
        new = generate_document(number, pool, seed, salt="rewrite")
        docs[i] = Document(id=docs[i].id, title=new.title, text=new.text, source="bench")
    write_jsonl(dst, docs)
    return [docs[i].id for i in picked]


def main() -> None:
    """Print chunk statistics for a sample of generated articles (to tune the length)."""
    import statistics

    from index.chunking import chunk_document

    pool = SentencePool.from_article(article())
    docs = [generate_document(i, pool, DEFAULT_SEED) for i in range(500)]
    counts = [len(chunk_document(d)) for d in docs]
    chars = [len(d.text) for d in docs]
    print(
        f"{len(docs)} generated articles: chunks/article mean {statistics.mean(counts):.2f} "
        f"(min {min(counts)}, max {max(counts)}); chars mean {statistics.mean(chars):.0f}; "
        f"pool {len(pool.body)} sentences; 10,000 articles ≈ {statistics.mean(counts) * 1e4:,.0f}"
        " chunks"
    )
    print(docs[0].text[:1200])


if __name__ == "__main__":
    main()
