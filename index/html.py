"""A saved web page reduced to its article's text: all of it, and none of the page around it.

Why an extractor: a news page saved from a browser keeps much of its article in ``<div>``s and
table cells, and wraps it in navigation, banners, forms and scripts. Keeping only ``<p>`` and
headings lost the divs; keeping every visible word indexes the menus. ``trafilatura`` (offline,
no download: it only parses) tells the article from the furniture, and its XML output keeps the
blocks, so each paragraph, quote, list item and table row becomes one paragraph here.

When it finds nothing, or much less than the page's visible text (a page with no article-like
block), or the page is too short to tell article from furniture, the plain fallback takes over:
every block's visible text. The furniture (scripts, styles, navigation, forms, the page's header
and footer, cookie and newsletter banners) is removed before either looks. Either way the
returned text *is* the document: chunk offsets index into it exactly.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

# the extractor's text must be at least this share of the page's visible (defurnished) text,
# or it is taken to have missed part of the article
MIN_SHARE = 0.25
# a page whose visible text is shorter has no room for both an article and furniture worth
# telling apart (the extractor guesses poorly below a few hundred characters): all of it is kept
SHORT_PAGE_CHARS = 500
# elements that are never article text
NEVER_TEXT = [
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "nav",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "iframe",
    "svg",
    "canvas",
    "dialog",
]
# class or id words of banners no article sits inside, and ARIA roles of page furniture
FURNITURE_WORDS = re.compile(r"cookie|consent|gdpr|newsletter|breadcrumb", re.IGNORECASE)
FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}
BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "html", "li", "main",
    "ol", "p", "pre", "section", "summary", "table", "tr", "ul",
}  # fmt: skip


def html_to_text(html: str) -> tuple[str, str]:
    """The article's text (blocks as paragraphs, ``\n\n`` between them) and its headline."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    headline, from_h1 = _headline(soup)
    _strip_furniture(soup)
    blocks = _extracted_blocks(str(soup))
    fallback = _visible_blocks(soup)
    visible = sum(map(len, fallback))
    if visible < SHORT_PAGE_CHARS or sum(map(len, blocks)) < MIN_SHARE * visible:
        blocks = fallback
    if from_h1 and blocks and headline not in blocks[0]:
        blocks.insert(0, headline)
    text = "\n\n".join(blocks)
    return headline, text + "\n" if text else ""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _headline(soup: Any) -> tuple[str, bool]:
    """The article's own headline: the ``<h1>`` of its article or main part, else the first
    ``<h1>`` outside the page header and navigation, else the ``<title>``; and whether it came
    from an ``<h1>`` (then it belongs to the article's text, where a ``<title>`` does not)."""
    for scope in (soup.find("article"), soup.find("main"), soup.body or soup):
        if scope is None:
            continue
        for h1 in scope.find_all("h1"):
            if not h1.find_parent(["header", "nav", "footer"]) or h1.find_parent("article"):
                text = _clean(h1.get_text(" "))
                if text:
                    return text, True
    title = soup.find("title")
    return (_clean(title.get_text(" ")) if title else ""), False


def _extracted_blocks(html: str) -> list[str]:
    """The blocks trafilatura takes for the article; [] when it finds none or fails."""
    import trafilatura
    from lxml import etree

    try:
        xml = trafilatura.extract(
            html,
            output_format="xml",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_formatting=False,
            include_links=False,
            favor_recall=True,
            with_metadata=False,
        )
        if not xml:
            return []
        root = etree.fromstring(xml.encode("utf-8"))
    except Exception as exc:  # an extractor's bug must not cost the page: fall back
        log.info("the article extractor failed (%s); using the page's visible text", exc)
        return []
    main = root.find("main")
    blocks: list[str] = []
    for el in main if main is not None else root:
        if el.tag == "table":
            rows = (" ".join(_xml_text(c) for c in row) for row in el.iter("row"))
            blocks.extend(_clean(r) for r in rows)
        elif el.tag == "list":
            blocks.extend(_xml_text(item) for item in el.iter("item"))
        else:
            blocks.append(_xml_text(el))
    return [b for b in blocks if b]


def _xml_text(el: Any) -> str:
    """An element's text with its ``<lb/>`` line breaks as spaces."""
    parts: list[str] = []
    for node in el.iter():
        if node.tag == "lb":
            parts.append(" ")
        elif node is el or node.tag not in ("row", "item"):
            parts.append(node.text or "")
        if node is not el:
            parts.append(node.tail or "")
    return _clean("".join(parts))


def _strip_furniture(soup: Any) -> None:
    """Remove what is never article text: scripts, styles, navigation, forms, the page's own
    header, footer and asides (an article's own header holds its headline, its aside a fact
    box: kept), cookie and newsletter
    banners. A banner-like element that holds the headline or the article is kept (a page
    wrapper whose class names the cookie state must not take the article with it)."""
    for tag in soup(NEVER_TEXT):
        tag.decompose()
    for tag in soup(["header", "footer", "aside"]):
        if not tag.find_parent("article"):
            tag.decompose()
    for tag in soup.find_all(_is_furniture):
        if not tag.decomposed and not tag.find(["h1", "article", "main"]):
            tag.decompose()


def _visible_blocks(soup: Any) -> list[str]:
    """Every visible text of a defurnished page, one paragraph per innermost block element
    (``<br>``s in ``soup`` become spaces)."""
    from bs4 import NavigableString

    for br in soup("br"):
        br.replace_with(" ")
    blocks: list[str] = []
    current: Any = None
    cell: Any = None
    for node in list(soup.descendants):
        # comments, CData, the doctype and processing instructions are subclasses: not text
        if type(node) is not NavigableString:
            continue
        block = node.find_parent(lambda t: t.name in BLOCKS)
        if block is not current or not blocks:
            blocks.append("")
            current, cell = block, None
        in_cell = node.find_parent(["td", "th"])
        if in_cell is not cell:  # the cells of a row are one paragraph, a space apart
            blocks[-1] += " "
            cell = in_cell
        blocks[-1] += str(node)
    cleaned = [_clean(b) for b in blocks]
    return [b for b in cleaned if b]


def _is_furniture(tag: Any) -> bool:
    if tag.name in ("html", "body"):
        return False
    attrs = tag.attrs or {}
    if str(attrs.get("role", "")).lower() in FURNITURE_ROLES:
        return True
    words = [attrs.get("id") or "", *(attrs.get("class") or [])]
    return any(FURNITURE_WORDS.search(str(w)) for w in words)
