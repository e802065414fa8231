"""Follow-up questions become standalone queries without dragging in the previous question."""

from __future__ import annotations

from assistant.followup import standalone_query
from assistant.types import Turn


def _history(user: str, assistant: str) -> list[Turn]:
    return [Turn(role="user", content=user), Turn(role="assistant", content=assistant)]


def test_personal_pronoun_takes_the_person_from_the_last_question() -> None:
    history = _history("What did Stoltenberg reject?", "“… Russia’s call …” [1]")
    assert standalone_query("And who did he meet?", history) == "And who did Stoltenberg meet?"


def test_places_are_not_antecedents_for_he() -> None:
    history = _history("What did NATO say about Ukraine?", "“Joe Biden held talks” [1]")
    assert standalone_query("What did he say?", history) == "What did Joe Biden say?"


def test_demonstrative_brings_the_entities_of_the_last_answer() -> None:
    history = _history(
        "Which decision was to be repudiated?",
        "“… the decision of the NATO Summit in Bucharest in 2008 …” [1]",
    )
    got = standalone_query("In what year was that summit held?", history)
    assert got.startswith("In what year was that summit held") and "Bucharest" in got


def test_no_history_leaves_the_question_alone() -> None:
    assert standalone_query("Who is he?", []) == "Who is he?"
