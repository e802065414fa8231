"""The learned reader at run time: input layout, the shipped model's verdicts, and a missing or
damaged model file refused with one sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.errors import ReaderUnavailableError
from assistant.reader.encoding import MAX_LEN, batch, load_tokenizer, sentence_mask, windows
from assistant.reader.model import MANIFEST, MODEL_DIR, Reader, shared_reader


@pytest.fixture(scope="module")
def reader() -> Reader:
    return shared_reader()


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(str(MODEL_DIR / "tokenizer.json"))


def test_layout_is_question_sentence_context(tok) -> None:
    (w,) = windows(tok, "Where is it?", "It is in Paris.", "The tower is tall.")
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    assert w.ids[0] == cls and w.ids.count(sep) == 3
    q_len = len(tok.encode("Where is it?", add_special_tokens=False).ids)
    assert w.first == q_len + 2
    assert w.type_ids[: w.first] == [0] * w.first and set(w.type_ids[w.first :]) == {1}
    sentence = "It is in Paris."
    assert [sentence[s:e] for s, e in w.offsets] == ["it", "is", "in", "paris", "."] or [
        sentence[s:e].lower() for s, e in w.offsets
    ] == ["it", "is", "in", "paris", "."]
    # the context follows the sentence, after its [SEP]
    assert w.ids[w.first + len(w.offsets)] == sep


def test_a_long_sentence_is_cut_into_overlapping_windows_that_cover_it(tok) -> None:
    sentence = " ".join(f"word{i}" for i in range(400)) + " and the answer is Lisbon."
    ws = windows(tok, "What is the answer?", sentence, "Context before. " * 30)
    assert len(ws) > 1
    assert all(len(w.ids) <= MAX_LEN for w in ws)
    covered = {o for w in ws for o in w.offsets}
    n_tokens = len(tok.encode(sentence, add_special_tokens=False).ids)
    assert len(covered) == n_tokens  # every token of the sentence is in some window
    arrays = batch(ws)
    mask = sentence_mask(ws, arrays["input_ids"].shape[1])
    assert mask.sum() == sum(len(w.offsets) for w in ws)


def test_context_keeps_its_end(tok) -> None:
    context = " ".join(f"w{i}" for i in range(200)) + " Scholz"
    (w,) = windows(tok, "Who?", "He spoke.", context)
    tail = tok.decode(w.ids[w.first + len(w.offsets) + 1 : -1])
    assert tail.endswith("scholz")


def test_the_answering_sentence_outscores_the_others(reader: Reader) -> None:
    question = "In which city does the Eiffel Tower stand?"
    got = reader.judge(
        question,
        [
            ("The Eiffel Tower stands in Paris, on the Champ de Mars.", ""),
            ("Bananas are rich in potassium.", ""),
            ("The tower was painted brown in 1968.", "The Eiffel Tower is made of iron."),
        ],
    )
    assert got[0].score > 0.5 > max(got[1].score, got[2].score)
    s, e = got[0].span
    assert "Paris" in "The Eiffel Tower stands in Paris, on the Champ de Mars."[s:e]


def test_the_short_answer_is_found_past_the_first_window(reader: Reader) -> None:
    filler = ", ".join(f"item number {i}" for i in range(120))
    sentence = f"The list went on with {filler}, and the committee finally met in Lisbon in 1999."
    (got,) = reader.judge("Where did the committee finally meet?", [(sentence, "")])
    assert got.span is not None
    assert "Lisbon" in sentence[got.span[0] : got.span[1]]


def test_empty_input_gives_no_verdicts(reader: Reader) -> None:
    assert reader.judge("Who?", []) == []


def _copy_model(tmp_path: Path) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(MODEL_DIR, dest)
    return dest


def test_a_damaged_model_file_is_refused_naming_it(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    model = folder / json.loads((folder / MANIFEST).read_text())["model"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ReaderUnavailableError, match="damaged") as info:
        Reader(folder)
    assert str(model) in str(info.value) and "make reader" in str(info.value)


def test_a_missing_model_file_is_refused_naming_it(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ReaderUnavailableError, match="missing") as info:
        Reader(folder)
    assert "tokenizer.json" in str(info.value)


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / MANIFEST).unlink()
    with pytest.raises(ReaderUnavailableError, match="manifest"):
        Reader(folder)


def test_a_file_that_matches_its_sum_but_is_no_model_is_refused(tmp_path: Path) -> None:
    import hashlib

    folder = _copy_model(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    garbage = b"not an onnx graph"
    (folder / manifest["model"]).write_bytes(garbage)
    manifest["sha256"][manifest["model"]] = hashlib.sha256(garbage).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ReaderUnavailableError, match="could not be loaded"):
        Reader(folder)


def test_the_reader_loads_once_per_process() -> None:
    assert shared_reader() is shared_reader()


def test_a_reader_without_the_verifier_head_says_so() -> None:
    """The verifier head comes with a retrained model; until then asking for it is an error
    with one sentence, never a silent 0.5."""
    from assistant.errors import ReaderUnavailableError
    from assistant.reader.model import shared_reader

    reader = shared_reader()
    if reader.verifies:
        got = reader.supports([("Russia moved soldiers.", "Russia has moved 100,000 soldiers.")])
        assert len(got) == 1 and 0.0 <= got[0] <= 1.0
        return
    with pytest.raises(ReaderUnavailableError, match="no claim verifier head"):
        reader.supports([("a claim", "a sentence")])
