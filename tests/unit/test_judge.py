"""The judge's pure parts: reading verdicts, the faithfulness math, the prompt, the summary."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from assistant.errors import LLMBadResponseError, LLMTimeoutError, LLMUnreachableError
from assistant.llm.client import Completion
from assistant.settings import Settings
from evals.judge import (
    JUDGE_METRIC,
    MAX_QUOTES,
    Claim,
    JudgeSummary,
    JudgeVerdict,
    faithfulness,
    is_answered,
    judge_available,
    judge_messages,
    judge_rows,
    parse_verdict,
    summarize_judged,
)

TWO = '{"claims": [{"claim": "A", "supported": true}, {"claim": "B", "supported": false}]}'

# --------------------------------------------------------------------------- parse_verdict


def test_plain_json() -> None:
    verdict = parse_verdict(TWO)
    assert verdict == JudgeVerdict((Claim("A", True), Claim("B", False)))
    assert (verdict.supported, verdict.total, verdict.faithfulness) == (1, 2, 0.5)


@pytest.mark.parametrize(
    "reply",
    [
        f"```json\n{TWO}\n```",
        f"```\n{TWO}\n```",
        f"```JSON {TWO}```",
        f"Here is my verdict:\n\n```json\n{TWO}\n```\nHope this helps.",
        f"Sure! {TWO}",
        f"{TWO}\n\nExplanation: claim B is not in the quotes {{see above}}.",
        f"Thinking about {{the quotes}} first... then: {TWO} done.",
        f"```json\n{TWO}",  # an unclosed fence still holds the JSON
    ],
)
def test_fences_and_prose_around_the_json(reply: str) -> None:
    verdict = parse_verdict(reply)
    assert verdict is not None
    assert verdict.claims == (Claim("A", True), Claim("B", False))


def test_the_fenced_verdict_wins_over_json_like_prose() -> None:
    reply = 'I was asked for {"claims": ...}. ```json\n{"claims": [{"supported": true}]}\n```'
    verdict = parse_verdict(reply)
    assert verdict is not None and verdict.faithfulness == 1.0


def test_supported_as_words_is_tolerated() -> None:
    reply = '{"claims": [{"claim": "A", "supported": "Yes"}, {"claim": "B", "supported": "false"}]}'
    verdict = parse_verdict(reply)
    assert verdict is not None and [c.supported for c in verdict.claims] == [True, False]


def test_claim_text_is_optional_but_the_decision_is_not() -> None:
    verdict = parse_verdict(
        '{"claims": [{"supported": true}, {"claim": null, "supported": false}]}'
    )
    assert verdict == JudgeVerdict((Claim("", True), Claim("", False)))
    assert parse_verdict('{"claims": [{"claim": "A"}]}') is None
    assert parse_verdict('{"claims": [{"claim": "A", "supported": true}, {"claim": "B"}]}') is None


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        "Supported.",
        "yes",
        "The answer is faithful.",
        "{",
        '{"claims": [{"claim": "A", "supported": true}',  # cut mid-reply
        '{"verdict": "supported"}',  # no claims
        '{"claims": "all supported"}',  # claims not a list
        '{"claims": ["A", "B"]}',  # claims not objects
        '{"claims": [{"claim": "A", "supported": "maybe"}]}',
        '{"claims": [{"claim": "A", "supported": 1}]}',  # 1 is no boolean
        '{"claims": [{"claim": "A", "supported": null}]}',
        '[{"claim": "A", "supported": true}]',  # not the shape asked for
        "null",
        "```json\n```",
    ],
)
def test_garbage_is_none_not_zero(reply: str) -> None:
    assert parse_verdict(reply) is None


def test_a_huge_reply_is_none() -> None:
    assert parse_verdict(" " * 200_000 + TWO) is None


def test_many_braces_do_not_hang() -> None:
    assert parse_verdict("{" * 50_000) is None


def test_zero_claims_is_a_verdict_with_nan_faithfulness() -> None:
    verdict = parse_verdict('{"claims": []}')
    assert verdict is not None and verdict.total == 0
    assert math.isnan(verdict.faithfulness)


# --------------------------------------------------------------------------- the math


@pytest.mark.parametrize(
    ("supported", "total", "want"),
    [(0, 1, 0.0), (1, 1, 1.0), (1, 2, 0.5), (2, 3, 2 / 3), (0, 4, 0.0), (4, 4, 1.0)],
)
def test_faithfulness(supported: int, total: int, want: float) -> None:
    assert faithfulness(supported, total) == pytest.approx(want)


def test_faithfulness_of_nothing_is_nan() -> None:
    assert math.isnan(faithfulness(0, 0))


@pytest.mark.parametrize(("supported", "total"), [(2, 1), (-1, 1), (0, -1)])
def test_faithfulness_rejects_impossible_counts(supported: int, total: int) -> None:
    with pytest.raises(ValueError):
        faithfulness(supported, total)


def _row(i: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"q{i}",
        "question": f"Question {i}?",
        "answer": f'Answer {i} "quote {i}" [1].',
        "grounded": True,
        "declined": False,
        "cited": [{"n": 1, "doc_id": "d", "start": 0, "end": 7, "quote": f"quote {i}"}],
    }
    base.update(fields)
    return base


def test_summary_mean_is_over_rows_with_a_number() -> None:
    rows = [
        _row(1, judge_faithfulness=1.0, judge_claims=[{"claim": "a", "supported": True}]),
        _row(2, judge_faithfulness=0.5, judge_claims=[{}, {}], judge_error=None),
        _row(3, judge_faithfulness=None, judge_claims=[], judge_error=None),  # no claim
        _row(4, judge_faithfulness=None, judge_claims=None, judge_error="boom"),
        _row(5),  # answered, never judged: a failure, not a silent drop
        _row(6, grounded=False, declined=True, cited=[]),
    ]
    summary = summarize_judged(rows, model="m")
    assert summary == JudgeSummary(0.75, judged=3, skipped=1, failed=2, no_claims=1, model="m")
    assert summary.metrics() == {JUDGE_METRIC: 0.75}


def test_summary_of_nothing_judged() -> None:
    summary = summarize_judged([_row(1, grounded=False, declined=True, cited=[])])
    assert math.isnan(summary.faithfulness_mean)
    assert (summary.judged, summary.skipped, summary.failed) == (0, 1, 0)
    assert summary.metrics() == {}
    assert summary.to_json()["faithfulness_mean"] is None
    json.dumps(summary.to_json(), allow_nan=False)


def test_judged_rows_without_claims_report_none_not_nan() -> None:
    summary = summarize_judged([_row(1, judge_faithfulness=None, judge_claims=[])])
    assert summary.judged == 1 and summary.no_claims == 1
    assert summary.metrics() == {JUDGE_METRIC: None}


@pytest.mark.parametrize(
    ("fields", "answered"),
    [
        ({}, True),
        ({"grounded": False}, False),
        ({"declined": True}, False),
        ({"cited": []}, False),
        ({"cited": None}, False),
        ({"cited": [{"n": 1, "quote": "  "}]}, False),
        ({"answer": None}, False),
    ],
)
def test_is_answered(fields: dict[str, Any], answered: bool) -> None:
    assert is_answered(_row(1, **fields)) is answered


# --------------------------------------------------------------------------- the prompt


def _fence(messages: list[dict[str, str]]) -> str:
    match = re.search(r"<answer-([a-z]{6})>", messages[1]["content"])
    assert match, messages[1]["content"]
    return match.group(1)


def test_messages_put_rules_in_system_and_data_in_user() -> None:
    messages = judge_messages("Who?", 'He said "x" [1].', ["x marks", "the spot"])
    assert [m["role"] for m in messages] == ["system", "user"]
    fence = _fence(messages)
    system, user = messages[0]["content"], messages[1]["content"]
    assert f"<answer-{fence}>" in system and '"claims"' in system
    assert "Who?" not in system and "x marks" not in system
    assert f"<question-{fence}>\nWho?\n</question-{fence}>" in user
    assert f'<quote-{fence} n="1">\nx marks\n</quote-{fence}>' in user
    assert f'<quote-{fence} n="2">\nthe spot\n</quote-{fence}>' in user
    # deterministic: same input, same bytes
    assert judge_messages("Who?", 'He said "x" [1].', ["x marks", "the spot"]) == messages


def test_the_fence_depends_on_the_data() -> None:
    assert _fence(judge_messages("Q", "A", ["x"])) != _fence(judge_messages("Q", "A", ["y"]))


def test_messages_are_bounded() -> None:
    messages = judge_messages("q" * 10_000, "a" * 50_000, ["z" * 9_000] * 100)
    user = messages[1]["content"]
    assert user.count("<quote-") == MAX_QUOTES
    assert len(user) < 100_000


# --------------------------------------------------------------------------- judge_rows, faked


class FakeClient:
    """Replies by question; records what it was asked."""

    model = "fake-judge"

    def __init__(self, replies: dict[str, str | Exception]) -> None:
        self.replies = replies
        self.asked: list[str] = []
        self.params: list[dict[str, Any]] = []

    def complete(self, messages: Any, **params: Any) -> Completion:
        user = messages[1]["content"]
        question = re.search(r"(Question \d+\?)", user)
        assert question
        self.asked.append(question.group(1))
        self.params.append(params)
        reply = self.replies[question.group(1)]
        if isinstance(reply, Exception):
            raise reply
        return Completion(reply, "stop", None, "fake-judge")


def test_judge_rows_records_each_outcome_on_its_row() -> None:
    rows = [_row(1), _row(2), _row(3), _row(4), _row(5, grounded=False, declined=True, cited=[])]
    client = FakeClient(
        {
            "Question 1?": '{"claims": [{"claim": "a", "supported": true}]}',
            "Question 2?": TWO,
            "Question 3?": "I cannot judge this.",
            "Question 4?": LLMTimeoutError("timed out"),
        }
    )
    summary = judge_rows(rows, client)
    assert sorted(client.asked) == ["Question 1?", "Question 2?", "Question 3?", "Question 4?"]
    assert all(p["max_tokens"] > 0 and p["temperature"] == 0 for p in client.params)
    assert [r["judge_faithfulness"] for r in rows] == [1.0, 0.5, None, None, None]
    assert rows[0]["judge_claims"] == [{"claim": "a", "supported": True}]
    assert rows[0]["judge_error"] is None
    assert "no usable verdict" in rows[2]["judge_error"]
    assert rows[3]["judge_error"] == "LLMTimeoutError: timed out"
    assert rows[4]["judge_error"] is None and rows[4]["judge_claims"] is None
    assert summary == JudgeSummary(0.75, 2, 1, 2, 0, "fake-judge")
    json.dumps(rows, allow_nan=False)


def test_a_cut_reply_says_so() -> None:
    class Cut(FakeClient):
        def complete(self, messages: Any, **params: Any) -> Completion:
            return Completion('{"claims": [{"claim": "a", "supp', "length", None, "m")

    rows = [_row(1)]
    summary = judge_rows(rows, Cut({}))
    assert summary.failed == 1 and "token limit" in rows[0]["judge_error"]


def test_an_unreachable_endpoint_is_not_asked_again_for_every_row() -> None:
    rows = [_row(i) for i in range(1, 6)]
    client = FakeClient({f"Question {i}?": LLMUnreachableError("refused") for i in range(1, 6)})
    summary = judge_rows(rows, client)
    assert client.asked == ["Question 1?"]
    assert summary.failed == 5 and summary.judged == 0
    assert rows[0]["judge_error"] == "LLMUnreachableError: refused"
    assert all(r["judge_error"] == "not asked: LLMUnreachableError: refused" for r in rows[1:])


def test_other_llm_errors_do_not_stop_the_rest() -> None:
    rows = [_row(1), _row(2)]
    client = FakeClient({"Question 1?": LLMBadResponseError("bad"), "Question 2?": TWO})
    summary = judge_rows(rows, client)
    assert summary.failed == 1 and summary.judged == 1 and summary.faithfulness_mean == 0.5


def test_rows_with_a_verdict_are_kept_unless_rejudged() -> None:
    rows = [
        _row(1, judge_faithfulness=1.0, judge_claims=[{"claim": "a", "supported": True}]),
        _row(2, judge_faithfulness=None, judge_claims=None, judge_error="earlier failure"),
    ]
    client = FakeClient({"Question 1?": TWO, "Question 2?": TWO})
    summary = judge_rows(rows, client)
    assert client.asked == ["Question 2?"]
    assert summary.faithfulness_mean == 0.75
    summary = judge_rows(rows, client, rejudge=True)
    assert sorted(client.asked) == ["Question 1?", "Question 2?", "Question 2?"]
    assert summary.faithfulness_mean == 0.5


def test_no_rows() -> None:
    summary = judge_rows([], FakeClient({}), concurrency=4)
    assert (summary.judged, summary.skipped, summary.failed) == (0, 0, 0)
    assert summary.metrics() == {}


# --------------------------------------------------------------------------- availability


def test_judge_available_needs_an_endpoint() -> None:
    assert judge_available(Settings()) is False
    assert judge_available(Settings(llm_base_url="http://127.0.0.1:9/v1")) is True
