"""URLs as they may be shown: the one masker every message that names a URL goes through.

Lives in the lowest layer because both the index (a Chroma server URL) and the assistant (the
LLM endpoint) name URLs in their errors. Settings take URLs from the environment and ``.env``,
where credentials travel as ``user:password@`` or as query values (``?key=…``), so a message
must never print a URL as given, not even one too malformed to parse (the message that says
it is malformed is where it would leak first).
"""

from __future__ import annotations

import re

__all__ = ["MASK", "display_url", "url_secrets"]

MASK = "****"
MIN_SECRET_CHARS = 4  # shorter parts ("v1", "x") are no secret, and replacing them mangles text

# an optional "scheme://" (or a bare "//"), the authority up to the path, and the rest
_PARTS = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?([^/\\]*)(.*)$", re.DOTALL)


def _split(url: str) -> tuple[str, list[str], str, str]:
    """(prefix, secrets, host and port, path) without query and fragment, by text alone.

    The secrets are the user name and password, and a "port" that is no number: a
    "user:password" whose "@host" was left out reads as a host and a port. No ``urlsplit``: it
    raises on some malformed URLs and reads others ("user:pw@host" with no scheme) with the
    password in the path, and either would leak.
    """
    base = url.split("#", 1)[0].split("?", 1)[0]
    match = _PARTS.match(base)
    assert match is not None  # every part is optional: the pattern matches any text
    prefix, authority, path = match.group(1) or "", match.group(2), match.group(3)
    userinfo, _at, host = authority.rpartition("@")
    secrets = userinfo.split(":", 1) if userinfo else []
    name, colon, port = host.rpartition(":")
    if colon and port and not port.isdigit() and "]" not in port:
        secrets.append(port)
        host = f"{name}:{MASK}"
    return prefix, secrets, host, path


def _query(url: str) -> str:
    without_fragment = url.split("#", 1)[0]
    return without_fragment.split("?", 1)[1] if "?" in without_fragment else ""


def display_url(url: str) -> str:
    """``url`` safe to show: no ``user:password@`` part, every query value masked (keys
    travel as ``?key=…`` on some services), no fragment. Works on any text, parsable or not."""
    prefix, _secrets, host, path = _split(url.strip())
    query = _query(url.strip())
    if query:
        query = "&".join(
            f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else (MASK if pair else "")
            for pair in query.split("&")
        )
        return f"{prefix}{host}{path}?{query}"
    return f"{prefix}{host}{path}"


def url_secrets(url: str | None) -> list[str]:
    """The secret parts of a URL (user name, password, query values), to redact from any text
    that may quote the URL back (an httpx error, a server's reply)."""
    if not url:
        return []
    _prefix, found, _host, _path = _split(url.strip())
    found += [pair.split("=", 1)[1] for pair in _query(url.strip()).split("&") if "=" in pair]
    return [s for s in found if len(s) >= MIN_SECRET_CHARS]
