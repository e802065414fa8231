"""Errors the assistant raises on purpose, caught at the edges (CLI, page) and shown as one
sentence.

    AssistantError
    ├── QuestionError            empty or oversized question
    ├── ConfigError              settings that cannot work (bad URL, unknown embedder)
    ├── IndexUnavailableError    the index cannot be built or opened (wraps index errors)
    ├── ReaderUnavailableError   the shipped reader model is missing or damaged
    └── LLMError                 the OpenAI-compatible endpoint failed
        ├── LLMUnreachableError  connection refused, DNS, TLS
        ├── LLMTimeoutError      connect or read timeout, stalled stream
        ├── LLMRateLimitedError  429 after the retries
        ├── LLMAuthError         401/403: the key is missing or wrong
        ├── LLMRefusedError      other 4xx: the server refused the request
        └── LLMBadResponseError  5xx after the retries, malformed or too deeply nested JSON,
                                 cut stream

The index layer has its own root (``index.errors.IndexLayerError``); ``USER_ERRORS`` is what an
edge catches to cover both. ``SourceError`` (an article that cannot be read: empty, binary,
malformed) is re-exported from there, so the page can catch it without importing ``index``.
"""

from __future__ import annotations

from index.errors import IndexLayerError, SourceError

__all__ = [
    "USER_ERRORS",
    "AssistantError",
    "ConfigError",
    "IndexLayerError",
    "IndexUnavailableError",
    "LLMAuthError",
    "LLMBadResponseError",
    "LLMError",
    "LLMRateLimitedError",
    "LLMRefusedError",
    "LLMTimeoutError",
    "LLMUnreachableError",
    "QuestionError",
    "ReaderUnavailableError",
    "SourceError",
]


class AssistantError(Exception):
    """Root of everything the assistant raises on purpose."""


class QuestionError(AssistantError):
    """The question cannot be asked as given."""


class ConfigError(AssistantError):
    """Settings that cannot work."""


class IndexUnavailableError(AssistantError):
    """The index cannot be built or opened."""


class ReaderUnavailableError(AssistantError):
    """The reader model file is missing, damaged or cannot be loaded."""


class LLMError(AssistantError):
    """The LLM endpoint failed."""


class LLMUnreachableError(LLMError):
    pass


class LLMTimeoutError(LLMError):
    pass


class LLMRateLimitedError(LLMError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMAuthError(LLMError):
    pass


class LLMRefusedError(LLMError):
    pass


class LLMBadResponseError(LLMError):
    pass


USER_ERRORS: tuple[type[Exception], ...] = (AssistantError, IndexLayerError)
