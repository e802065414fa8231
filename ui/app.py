"""The chat page: ask questions about an article, get answers quoted from it word for word.

Run from the repository root with ``streamlit run ui/app.py`` (or ``assistant ui``); it needs no
configuration and no network. The page only presents: answering, indexing, exports and feedback
records live in ``assistant`` (``Assistant``, ``assistant.conversation``); the helpers in
``ui.formatting`` / ``ui.views`` turn their values into escaped Markdown.

Session state (one browser tab):
    messages        role/content records; assistant records also hold the ``Answer``
    corpus          ``None`` for the shipped article, or the user's ``[Document]``
    pending         an example question clicked in the sidebar, asked on this run
    feedback_saved  ids of answers whose thumbs are already written to feedback.jsonl
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# ``streamlit run ui/app.py`` puts ui/ on sys.path, not the repository root; make ``ui.*``
# importable even without the editable install.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from assistant.conversation import (  # noqa: E402
    ArticleRef,
    Exchange,
    append_feedback,
    export_json,
    export_markdown,
    feedback_record,
)
from assistant.endpoint import RECHECK_SECONDS  # noqa: E402
from assistant.errors import USER_ERRORS, SourceError  # noqa: E402
from assistant.logs import setup_logging  # noqa: E402
from assistant.service import Assistant, read_upload  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.types import Answer, Document, Turn  # noqa: E402
from ui.formatting import (  # noqa: E402
    article_facts,
    article_pages,
    escape_markdown,
    highlight_html,
    llm_endpoint_label,
    where_label,
)
from ui.pool import AssistantPool  # noqa: E402
from ui.views import render_answer  # noqa: E402

log = logging.getLogger("ui.app")

GENERIC_ERROR = "Something went wrong; details are in the log."
UPLOAD_TYPES = ["txt", "md", "markdown", "html", "htm"]
# An article, not a library: news and long reads stay far below this, and indexing a larger
# text on a page that waits for it is the wrong tool (``assistant index`` is the right one).
# .streamlit/config.toml sets the same bound for the server (server.maxUploadSize).
MAX_ARTICLE_MB = 2
MAX_ARTICLE_BYTES = MAX_ARTICLE_MB * 1024 * 1024
EXAMPLES = [
    "Who decides NATO's relationship with Ukraine?",
    "How many soldiers has Russia moved to the Ukrainian border?",
    "What did the Russian Foreign Ministry ask NATO to do?",
    "How much has Washington committed to Ukraine's army?",
    "What is the population of Ukraine?",
]
STAGES = {"embedding": "Embedding passages", "lexical": "Building the keyword index"}


# -- shared resources ------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def assistant_pool() -> AssistantPool:
    """One pool per server process: every session shares the opened indexes."""
    return AssistantPool(max_size=8)


def llm_status(assistant: Assistant) -> tuple[str, str]:
    """The endpoint's state ("up", "down", "checking") and why, never waiting for a check.

    Why not a check here: an endpoint that accepts connections and never answers held the
    page's first render for the whole read timeout. The assistant keeps the verdict and checks
    in the background (``assistant.endpoint``); this run shows what is known now.
    """
    try:
        status = assistant.llm_status()
    except USER_ERRORS as exc:
        return "down", str(exc)
    except Exception:
        log.exception("LLM status failed")
        return "down", GENERIC_ERROR
    if status is None:
        return "down", "No LLM endpoint is configured."
    if status.state == "unknown":
        return "checking", "Checking the endpoint…"
    return status.state, status.detail


# -- state -----------------------------------------------------------------------------------


def state() -> Any:
    """The session state with every key the page uses, created on a session's first run."""
    ss = st.session_state
    ss.setdefault("messages", [])
    ss.setdefault("corpus", None)
    ss.setdefault("pending", None)
    ss.setdefault("feedback_saved", set())
    ss.setdefault("upload_seen", None)
    ss.setdefault("upload_error", None)
    ss.setdefault("notice", None)
    return ss


def queue_question(question: str) -> None:
    """Button callback: ask ``question`` on the run the click starts."""
    st.session_state.pending = question


def clear_chat() -> None:
    """Button callback: forget the conversation (not the article)."""
    st.session_state.messages = []
    st.session_state.feedback_saved = set()


def back_to_shipped() -> None:
    """Button callback: chat about the shipped article again, with a fresh conversation."""
    clear_chat()
    st.session_state.corpus = None
    st.session_state.notice = "Back to the shipped article."


def history_turns(messages: Sequence[dict[str, Any]]) -> list[Turn]:
    """Earlier turns as ``Turn``s for follow-ups; failed exchanges are left out."""
    return [Turn(role=m["role"], content=m["content"]) for m in messages if not m.get("error")]


def exchanges(messages: Sequence[dict[str, Any]]) -> list[Exchange]:
    """The answered questions of the conversation, for the exports."""
    return [
        Exchange(question=m["question"], answer=m["answer"], history=m["history"])
        for m in messages
        if m["role"] == "assistant" and m.get("answer") is not None
    ]


def too_large(name: str, size: int) -> str | None:
    """The sentence refusing an article over ``MAX_ARTICLE_BYTES``; None when it fits."""
    if size <= MAX_ARTICLE_BYTES:
        return None
    return (
        f"{name} is {size / 1024 / 1024:.1f} MB, more than the {MAX_ARTICLE_MB} MB this page "
        "takes; index it with `assistant index FILE` and reload the page to chat about it."
    )


def one_sentence(exc: BaseException) -> str:
    """The message a user error carries (already one sentence), escaped for Markdown."""
    return escape_markdown(str(exc) or GENERIC_ERROR)


# -- building the assistant ------------------------------------------------------------------


def open_assistant_or_stop(settings: Settings, corpus: list[Document] | None) -> Assistant:
    """The assistant for the session's corpus; a spinner while its index is first built."""
    pool = assistant_pool()
    found = pool.get(settings, corpus)
    if found is not None:
        return found
    try:
        with st.spinner("Building the search index for the article (first start only)…"):
            return pool.open(settings, corpus)
    except USER_ERRORS as exc:
        st.error(one_sentence(exc))
    except Exception:
        log.exception("could not open the assistant")
        st.error(GENERIC_ERROR)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def index_user_article(settings: Settings, doc: Document) -> bool:
    """Index an uploaded or pasted article in place, with progress; switch the chat to it."""
    title = escape_markdown(doc.title)
    with st.status(f"Indexing “{title}”…", expanded=True) as status:
        bar = st.progress(0.0, text="Splitting the article into passages")

        def progress(stage: str, done: int, total: int) -> None:
            fraction = min(1.0, done / total) if total else 1.0
            bar.progress(fraction, text=f"{STAGES.get(stage, stage.capitalize())}: {done}/{total}")

        try:
            assistant_pool().open(settings, [doc], progress=progress)
        except USER_ERRORS as exc:
            status.update(label="Could not index this article", state="error")
            st.error(one_sentence(exc))
            return False
        except Exception:
            log.exception("could not index %s", doc.source)
            status.update(label="Could not index this article", state="error")
            st.error(GENERIC_ERROR)
            return False
        status.update(label=f"Indexed “{title}”", state="complete", expanded=False)
    ss = st.session_state
    clear_chat()
    ss.corpus = [doc]
    ss.notice = f"Now chatting about “{doc.title}”."
    return True


# -- sidebar ---------------------------------------------------------------------------------


def sidebar_own_article(settings: Settings) -> None:
    """Paste or upload an article; a bad file gets one sentence, never a traceback."""
    ss = state()
    st.subheader("Your own article")
    paste, upload = st.tabs(["Paste text", "Upload a file"])
    with paste:
        text = st.text_area(
            "Article text",
            key="paste_text",
            height=140,
            placeholder="Paste an article here; its first line is taken as the title.",
        )
        if st.button("Chat about this text", key="use_paste", icon=":material/chat:"):
            refusal = too_large("The pasted text", len(text.encode("utf-8")))
            if not text.strip():
                st.error("Paste some text first; the box is empty.")
            elif refusal:
                st.error(escape_markdown(refusal))
            else:
                try:
                    doc = read_upload("pasted.txt", text.encode("utf-8"), "pasted")
                except SourceError as exc:
                    st.error(one_sentence(exc))
                else:
                    index_user_article(settings, doc)
    with upload:
        file = st.file_uploader(
            f"A .txt, .md or .html file (up to {MAX_ARTICLE_MB} MB)",
            type=UPLOAD_TYPES,
            key="upload",
            max_upload_size=MAX_ARTICLE_MB,
        )
        if file is not None and file.file_id != ss.upload_seen:
            ss.upload_seen = file.file_id
            ss.upload_error = too_large(file.name, file.size)
            if ss.upload_error is None:
                try:
                    doc = read_upload(file.name, file.getvalue())
                except SourceError as exc:
                    ss.upload_error = str(exc)
                else:
                    index_user_article(settings, doc)
        if file is not None and ss.upload_error and file.file_id == ss.upload_seen:
            st.error(escape_markdown(ss.upload_error))
    if ss.corpus is not None:
        st.button(
            "Back to the shipped article",
            key="back",
            on_click=back_to_shipped,
            icon=":material/undo:",
        )


def sidebar_answering(settings: Settings, assistant: Assistant) -> tuple[int, bool]:
    """Mode in use, top-k and the passages toggle; returns (k, show_passages)."""
    st.subheader("Answering")
    if settings.effective_mode == "llm" and settings.llm_base_url:
        label = llm_endpoint_label(settings).replace("`", "")
        state, detail = llm_status(assistant)
        dot = {"up": ":green[●]", "down": ":red[●]"}.get(state, ":gray[●]")
        st.markdown(f"{dot} **LLM** `{label}`")
        if state == "checking":
            st.caption(escape_markdown(detail))
        elif state == "down":
            st.caption(
                f"{escape_markdown(detail)} Answers are offline quotes, at once, until a check "
                f"in the background (every {RECHECK_SECONDS:.0f} s) finds it answering again."
            )
    elif settings.effective_mode == "llm":
        st.markdown("**LLM**, but no endpoint is configured (ASSISTANT\\_LLM\\_BASE\\_URL).")
    else:
        st.markdown("**Offline**, extractive")
        st.caption("Answers are sentences quoted from the article; no model, no network.")
    k = st.slider(
        "Passages to retrieve (top-k)",
        min_value=1,
        max_value=max(12, settings.top_k),
        value=settings.top_k,
        key="top_k",
    )
    show = st.toggle("Show retrieved passages with scores", key="show_passages")
    return k, show


def sidebar_examples(is_shipped: bool) -> None:
    """Example questions that ask themselves; only for the shipped article they were made for."""
    st.subheader("Try asking")
    if not is_shipped:
        st.caption("Ask anything about your article in the box below.")
        return
    for i, question in enumerate(EXAMPLES):
        st.button(
            question,
            key=f"example-{i}",
            on_click=queue_question,
            args=(question,),
            icon=":material/arrow_forward:",
            width="stretch",
        )


def sidebar_conversation(assistant: Assistant, article: ArticleRef) -> None:
    """Clear the chat, and download it as Markdown or JSON (filled last, so it is current)."""
    ss = state()
    st.subheader("Conversation")
    done = exchanges(ss.messages)
    st.button(
        "Clear chat",
        key="clear",
        on_click=clear_chat,
        icon=":material/delete_sweep:",
        disabled=not ss.messages,
    )
    left, right = st.columns(2)
    with left:
        st.download_button(
            "Markdown",
            data=export_markdown(done, article, assistant.documents),
            file_name="conversation.md",
            mime="text/markdown",
            key="download_md",
            icon=":material/download:",
            on_click="ignore",
            disabled=not done,
        )
    with right:
        st.download_button(
            "JSON",
            data=export_json(done, article),
            file_name="conversation.json",
            mime="application/json",
            key="download_json",
            icon=":material/download:",
            on_click="ignore",
            disabled=not done,
        )


# -- main area -------------------------------------------------------------------------------


def article_ref(assistant: Assistant) -> ArticleRef:
    """The article being chatted about (the first, when a corpus holds several)."""
    docs = list(assistant.documents.values())
    first = docs[0]
    if len(docs) == 1:
        return ArticleRef(id=first.id, title=first.title, source=first.source)
    return ArticleRef(id=first.id, title=f"{len(docs)} articles", source=first.source)


def header(assistant: Assistant, is_shipped: bool) -> None:
    """Name the article at the top, with muted facts about it and the whole text on demand."""
    docs = list(assistant.documents.values())
    title = docs[0].title if len(docs) == 1 else f"{len(docs)} articles"
    st.caption("Article assistant · answers only from the article, quoted word for word")
    st.header(escape_markdown(title), anchor=False)
    facts = [article_facts(d.text) for d in docs]
    paragraphs, words = sum(p for p, _ in facts), sum(w for _, w in facts)
    origin = "the shipped article" if is_shipped else "your article"
    st.caption(f"Chatting about {origin} · {paragraphs} paragraphs · {words:,} words")
    if len(docs) == 1:
        read_article(docs[0])


def read_article(doc: Document) -> None:
    """The article behind a toggle, a page at a time.

    Why not an expander: a collapsed expander's content is still sent on every rerun, and a
    long article sent with every question froze the browser tab. Off, nothing is sent; on, one
    page of ``ARTICLE_PAGE_CHARS`` at most.
    """
    if not st.toggle("Read the article", key="read_article"):
        return
    pages = article_pages(doc.text)
    number = 1
    if len(pages) > 1:
        number = int(
            st.number_input(
                f"Page (of {len(pages)})",
                min_value=1,
                max_value=len(pages),
                value=1,
                step=1,
                key=f"article_page-{doc.content_hash[:12]}",
            )
        )
    start, end = pages[number - 1]
    st.markdown(highlight_html(doc.text, [], (start, end)), unsafe_allow_html=True)
    if len(pages) > 1:
        st.caption(f"Page {number} of {len(pages)} · {where_label(doc.text, start, end)}")


def feedback(message: dict[str, Any], settings: Settings, doc_id: str | None) -> None:
    """Thumbs under an answer, written once to DATA_DIR/feedback.jsonl.

    The widget's value is read from the session state before the widget is drawn, so the
    record is saved and the thumbs disabled in the same run: a second click cannot write again.
    """
    ss = state()
    key = f"feedback-{message['id']}"
    value = ss.get(key)
    saved = message["id"] in ss.feedback_saved
    if value is not None and not saved:
        record = feedback_record(
            question=message["question"],
            answer=message["answer"],
            history=message["history"],
            verdict="up" if value == 1 else "down",
            record_id=f"fb-{message['id']}",
            doc_id=doc_id,
        )
        try:
            append_feedback(settings.data_dir, record)
        except OSError:
            log.exception("could not write feedback")
            st.error("Could not save the feedback; details are in the log.")
        else:
            ss.feedback_saved.add(message["id"])
            saved = True
    st.feedback("thumbs", key=key, disabled=saved)
    if saved:
        st.caption("Thanks, your feedback is saved.")


def draw_assistant_message(
    message: dict[str, Any],
    assistant: Assistant,
    settings: Settings,
    *,
    show_passages: bool,
    doc_id: str | None,
) -> None:
    """One assistant turn: an error sentence, or the answer with its cards and thumbs."""
    answer: Answer | None = message.get("answer")
    if answer is None:
        st.error(message["error"])  # Markdown made when the error was caught
        return
    render_answer(answer, assistant.documents, show_passages=show_passages)
    total = answer.timings.get("total_ms")
    took = f" · {total:,.0f} ms" if total is not None else ""
    st.caption(f"{'LLM' if answer.mode == 'llm' else 'Extractive'} answer{took}")
    feedback(message, settings, doc_id)


def ask(
    question: str,
    assistant: Assistant,
    settings: Settings,
    *,
    k: int,
    show_passages: bool,
    doc_id: str | None,
) -> None:
    """Ask with the conversation so far as history; draw and remember the turn."""
    ss = state()
    history = history_turns(ss.messages)
    asked: dict[str, Any] = {"id": uuid.uuid4().hex, "role": "user", "content": question}
    ss.messages.append(asked)
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    message: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "role": "assistant",
        "question": question,
        "history": history,
    }
    with st.chat_message("assistant"):
        try:
            answer = get_answer(assistant, settings, question, history, k)
        except USER_ERRORS as exc:
            message.update(content=str(exc), error=one_sentence(exc), answer=None)
        except Exception:
            log.exception("could not answer %r", question)
            message.update(content=GENERIC_ERROR, error=GENERIC_ERROR, answer=None)
        else:
            message.update(content=answer.text, answer=answer)
        if message.get("error"):
            asked["error"] = True  # a failed exchange is not history for the next question
        ss.messages.append(message)
        draw_assistant_message(
            message, assistant, settings, show_passages=show_passages, doc_id=doc_id
        )


def get_answer(
    assistant: Assistant, settings: Settings, question: str, history: list[Turn], k: int
) -> Answer:
    """The answer, streamed as the model writes it in LLM mode, at once otherwise.

    The streamed text is a draft: it is shown escaped, then replaced by the verified
    ``Answer`` (whose quotes were checked against the article) once the stream ends.
    """
    if settings.effective_mode != "llm":
        with st.spinner("Reading the article…"):
            return assistant.ask(question, history, k=k)
    draft = st.empty()
    with st.spinner("Asking the model…"):
        stream = assistant.ask_stream(question, history, k=k)
        text = ""
        for delta in stream:
            text += delta
            draft.markdown(escape_markdown(text) + " ▌")
    draft.empty()
    return stream.answer


def main() -> None:
    """Draw the page; each run rebuilds it from the session state."""
    st.set_page_config(page_title="Article assistant", page_icon="📰", layout="centered")
    try:
        settings = load_settings()
    except (ValidationError, ValueError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        st.error(
            f"The settings are not valid ({escape_markdown(first)}); "
            "check the ASSISTANT\\_\\* environment variables and .env."
        )
        st.stop()
    setup_logging(settings.data_dir)
    ss = state()

    with st.sidebar:
        answering_box = st.container()
        examples_box = st.container()
        st.divider()
        sidebar_own_article(settings)
        st.divider()
        conversation_box = st.container()

    assistant = open_assistant_or_stop(settings, ss.corpus)
    is_shipped = ss.corpus is None
    doc_id = None if is_shipped else ss.corpus[0].id
    with answering_box:
        k, show_passages = sidebar_answering(settings, assistant)
    with examples_box:
        st.divider()
        sidebar_examples(is_shipped)

    # st.chat_input is pinned to the bottom wherever it is called; reading it first lets the
    # empty-chat hint know whether a question is about to be asked on this run.
    typed = st.chat_input("Ask about the article…", max_chars=settings.max_question_chars)
    question = typed or ss.pending
    ss.pending = None

    header(assistant, is_shipped)
    if ss.notice:
        st.success(escape_markdown(ss.notice), icon=":material/check_circle:")
        ss.notice = None
    if not ss.messages and not question:
        st.info(
            "Ask a question below, or pick an example in the sidebar. Every answer quotes the "
            "article word for word; the numbers in brackets point to the quotes under it.",
            icon=":material/lightbulb:",
        )

    for message in ss.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(escape_markdown(message["content"]))
            else:
                draw_assistant_message(
                    message, assistant, settings, show_passages=show_passages, doc_id=doc_id
                )
    if question:
        ask(question, assistant, settings, k=k, show_passages=show_passages, doc_id=doc_id)

    with conversation_box:
        sidebar_conversation(assistant, article_ref(assistant))


try:
    main()
except USER_ERRORS as _exc:  # a user error that escaped a narrower handler: one sentence
    st.error(one_sentence(_exc))
except Exception:
    log.exception("the page failed")
    st.error(GENERIC_ERROR)
