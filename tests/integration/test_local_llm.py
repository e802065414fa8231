"""The real local model (the 0.5B on llama.cpp's server, started by `assistant llm serve`).

Prompts are short and ``max_tokens`` small: on 2 shared cores every token counts.
"""

from __future__ import annotations

import json

import httpx
import pytest

from assistant.llm.local import MODELS, running
from tests.local_llm import DATA_DIR, LOCAL_LLM_MODEL

pytestmark = pytest.mark.local_llm

SCHEMA = {
    "type": "object",
    "properties": {
        "answerable": {"type": "boolean"},
        "sentence_ids": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 3},
            "maxItems": 2,
        },
    },
    "required": ["answerable", "sentence_ids"],
    "additionalProperties": False,
}
PROMPT = (
    "Sentences:\n[1] NATO is headquartered in Brussels.\n[2] It rained in Kyiv.\n"
    "[3] Scholz met Biden.\n\nQuestion: Where is NATO headquartered? "
    "Answer in JSON: is it answerable, and which sentence ids say so."
)


def test_models_lists_the_served_model(local_llm: str) -> None:
    response = httpx.get(f"{local_llm}/models", timeout=10.0)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == [LOCAL_LLM_MODEL]


def test_no_web_page_of_another_origin_may_read_it(local_llm: str) -> None:
    origin = {"Origin": "http://example.com"}
    response = httpx.get(f"{local_llm}/models", headers=origin, timeout=10.0)
    assert response.status_code == 200
    # absent or empty: a browser lets no page read it (llama.cpp sends it empty)
    assert response.headers.get("access-control-allow-origin", "") == ""


def test_with_a_key_every_request_must_carry_it(local_llm: str) -> None:
    model = DATA_DIR / "models" / MODELS["0.5b"].file_name  # assembled by the fixture
    with running(model, port=0, threads=1, ctx_size=512, api_key="s3cret") as url:
        assert httpx.get(f"{url}/models", timeout=10.0).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert httpx.get(f"{url}/models", headers=auth, timeout=10.0).status_code == 200


def test_chat_completion_follows_a_json_schema(local_llm: str) -> None:
    response = httpx.post(
        f"{local_llm}/chat/completions",
        json={
            "model": LOCAL_LLM_MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "temperature": 0,
            "max_tokens": 48,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "evidence", "strict": True, "schema": SCHEMA},
            },
        },
        timeout=180.0,
    )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    data = json.loads(choice["message"]["content"])
    assert set(data) == {"answerable", "sentence_ids"}
    assert isinstance(data["answerable"], bool)
    ids = data["sentence_ids"]
    assert isinstance(ids, list) and len(ids) <= 2
    assert all(isinstance(i, int) and 1 <= i <= 3 for i in ids)


def test_chat_completion_streams(local_llm: str) -> None:
    body = {
        "model": LOCAL_LLM_MODEL,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 3,
        "stream": True,
    }
    events = []
    with httpx.stream("POST", f"{local_llm}/chat/completions", json=body, timeout=120.0) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(line.removeprefix("data: "))
            if len(events) > 50:
                break
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip()


def test_after_warming_a_question_reads_only_its_own_part(local_llm: str) -> None:
    """``warm`` (which ``assistant llm serve`` runs at start) leaves the claims prompt's rules
    in llama.cpp's prompt cache: the next question's prompt is read from its own sentences on.
    Another request in between would evict them, so this warms again first."""
    from assistant.llm.claims import claims_messages
    from assistant.llm.local import warm

    assert warm(local_llm)
    response = httpx.post(
        f"{local_llm}/chat/completions",
        json={
            "model": LOCAL_LLM_MODEL,
            "messages": claims_messages("Where is it?", ["NATO is in Brussels."]),
            "max_tokens": 1,
        },
        timeout=180.0,
    )
    assert response.status_code == 200, response.text
    timings = response.json()["timings"]
    # the rules (~225 tokens with the chat template's) come from the cache; only the question,
    # its one sentence and their fences (~60) are read
    assert timings["cache_n"] >= 200 and timings["prompt_n"] < 100, timings
