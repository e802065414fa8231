"""Streamlit views of one answer: the text, citation cards, the article view, passages.

Each function draws into the current container (the page calls them inside
``st.chat_message``). Everything drawn here is sent again on every rerun, so the article view
under an answer is bounded (``ui.formatting.article_window``). Text from articles, questions
and answers only reaches the page through ``ui.formatting`` (escaped Markdown); the one
``unsafe_allow_html`` call renders ``highlight_html``, whose every piece of article text is
HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from assistant.types import HEDGE_TEXT, Answer, Document, Passage
from ui.formatting import (
    Span,
    answer_markdown,
    article_window,
    blockquote,
    citation_caption,
    escape_markdown,
    highlight_html,
    passage_caption,
    removed_claims_markdown,
    short_answer_markdown,
    short_span_in,
    where_label,
)

DECLINED = "The article does not say."
CLOSEST = "The closest passages it considered:"


def render_answer(
    answer: Answer,
    documents: Mapping[str, Document],
    *,
    show_passages: bool,
) -> None:
    """Everything under one assistant turn, in reading order.

    Warning first (a fallback changes how to read what follows), then the answer or the
    decline, the numbered citation cards the ``[n]`` markers refer to, the article with those
    spans highlighted, and (on request) every retrieved passage with its scores.
    """
    if answer.fallback_reason:
        st.warning(escape_markdown(answer.fallback_reason), icon=":material/cloud_off:")
    if answer.hedged:
        # a guess, said to be one: the single closest sentence in its card, no headline
        st.markdown(f"**{HEDGE_TEXT}**")
        render_citations(answer, documents)
        render_article_views(answer, documents)
    elif not answer.grounded:
        render_declined(answer, documents)
    else:
        if answer.mode == "extractive":
            # the short answer (when the reader is sure of it) heads the turn; the sentence
            # stands once, in its card
            headline = short_answer_markdown(answer)
            if headline:
                st.markdown(headline)
        else:
            st.markdown(answer_markdown(answer))
        render_citations(answer, documents)
        render_article_views(answer, documents)
    if show_passages and answer.passages:
        with st.expander(f"Retrieved passages with scores ({len(answer.passages)})"):
            for passage in answer.passages:
                render_passage(passage, documents, scores=True)
    note = answer.left_out()
    if note:
        st.caption(note)
    if answer.removed_claims:
        with st.expander(f"What the model said that was left out ({len(answer.removed_claims)})"):
            st.markdown(removed_claims_markdown(answer))


def render_declined(answer: Answer, documents: Mapping[str, Document]) -> None:
    """Say plainly that the article does not answer, then show what was closest.

    The decline is ``answer.grounded is False``, never a string match, so an LLM's own wording
    of a refusal still gets the same clear sentence here.
    """
    st.markdown(f"**{DECLINED}**")
    if answer.passages:
        st.caption(CLOSEST)
        for passage in answer.passages[:3]:
            render_passage(passage, documents, scores=False)


def render_citations(answer: Answer, documents: Mapping[str, Document]) -> None:
    """One bordered card per citation: the verbatim quote (the short answer bold inside it),
    then title and paragraph, muted."""
    for c in answer.citations:
        doc = documents.get(c.doc_id)
        title = c.title or (doc.title if doc else c.doc_id)
        with st.container(border=True):
            st.markdown(blockquote(c.quote, short_span_in(answer, c)))
            st.caption(citation_caption(c, title, doc.text if doc else None))


def render_article_views(answer: Answer, documents: Mapping[str, Document]) -> None:
    """For each cited document, an expander with the cited spans marked in the article: all of
    it when it is short, else the quotes amid their neighbouring paragraphs (the page sends
    every answer's view on every rerun, so a long article is never sent whole here)."""
    by_doc: dict[str, list[Span]] = {}
    for c in answer.citations:
        by_doc.setdefault(c.doc_id, []).append(Span(c.start, c.end, c.n))
    for doc_id, spans in by_doc.items():
        doc = documents.get(doc_id)
        if doc is None:
            continue
        label = "Show in the article" if len(by_doc) == 1 else f"Show in “{doc.title}”"
        window = article_window(doc.text, spans)
        with st.expander(escape_markdown(label), icon=":material/article:"):
            st.markdown(highlight_html(doc.text, spans, window), unsafe_allow_html=True)
            if window != (0, len(doc.text)):
                where = where_label(doc.text, *window)
                st.caption(
                    f"Showing {where}, around the quote; “Read the article” at the top shows "
                    "all of it, a page at a time."
                )


def render_passage(passage: Passage, documents: Mapping[str, Document], *, scores: bool) -> None:
    """A retrieved passage as a quote with its place (and, on request, its scores)."""
    doc = documents.get(passage.doc_id)
    title = doc.title if doc else passage.doc_id
    st.markdown(blockquote(passage.text))
    if scores:
        st.caption(passage_caption(passage, title, doc.text if doc else None))
    else:
        where = f" · {where_label(doc.text, passage.start, passage.end)}" if doc else ""
        st.caption(f"*{escape_markdown(title)}*{where}")
