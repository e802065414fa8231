"""One settings object for every edge.

Precedence, highest first: CLI flags (applied with ``Settings.model_copy(update=...)``),
environment variables ``ASSISTANT_*``, a ``.env`` file in the working directory, the calibration
file written by ``assistant eval calibrate`` (decline threshold only), then the defaults below.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# the one URL masker, re-exported: every message that names a URL shows it through it
from index.urls import display_url, url_secrets

__all__ = [
    "CALIBRATION_FILE",
    "DEFAULT_DECLINE_THRESHOLD",
    "MAX_QUESTION_CHARS",
    "Settings",
    "calibrated_defaults",
    "display_url",
    "load_settings",
    "mask_secret",
    "url_secrets",
]

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
MAX_QUESTION_CHARS = 2000
DEFAULT_DECLINE_THRESHOLD = 0.45  # before any calibration, or with the calibration file removed


@lru_cache(maxsize=1)
def calibrated_defaults() -> dict[str, Any]:
    """Values chosen on data by ``assistant eval calibrate``; empty if the file is missing.

    A file that is there but damaged (cut off, not JSON, no threshold in 0–1) is a ValueError
    with one sentence, never an empty result: the threshold decides when an answer declines,
    and a silent fallback to the built-in value would change answers with no word said. A
    missing file means the built-in ``DEFAULT_DECLINE_THRESHOLD``, as before any calibration.
    """
    try:
        raw = CALIBRATION_FILE.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(_damaged(f"cannot be read: {exc.__class__.__name__}")) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(_damaged("is not valid JSON (cut off?)")) from None
    threshold = data.get("decline_threshold") if isinstance(data, dict) else None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(_damaged("holds no decline_threshold number"))
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(_damaged(f"holds a decline_threshold of {threshold}, outside 0–1"))
    hedge = data.get("hedge_threshold")
    if hedge is not None and (isinstance(hedge, bool) or not isinstance(hedge, int | float)):
        raise ValueError(_damaged("holds a hedge_threshold that is not a number"))
    if hedge is not None and not 0.0 <= hedge <= threshold:
        raise ValueError(_damaged(f"holds a hedge_threshold of {hedge}, outside 0–decline"))
    return {"decline_threshold": float(threshold)} | (
        {"hedge_threshold": float(hedge)} if hedge is not None else {}
    )


def _damaged(what: str) -> str:
    return (
        f"The calibration file {CALIBRATION_FILE} {what}; restore it, or set "
        "ASSISTANT_DECLINE_THRESHOLD (then `assistant eval calibrate` writes a new file)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path(".assistant"), description="Where the index and logs live.")
    chroma_url: str | None = Field(None, description="A Chroma server (chroma run) to use.")
    embedder: Literal["wordllama"] = Field("wordllama", description="Embedding model.")
    collection: str = Field("article", description="Prefix of the Chroma collection names.")
    chunk_size: int = Field(480, ge=80, le=8000)
    chunk_overlap: int = Field(0, ge=0)
    top_k: int = Field(
        8,
        ge=1,
        le=50,
        description="Passages retrieved per question; the reader reads the best sentences of them.",
    )
    decline_threshold: float = Field(
        None,  # filled from the calibration file by _calibrated_threshold
        validate_default=True,
        description="Evidence score below which the extractive answerer declines.",
    )
    hedge_threshold: float | None = Field(
        None,  # filled from the calibration file by _calibrated_hedge
        ge=0.0,
        le=1.0,
        description="Evidence score from which a question the answerer would decline gets its "
        "closest sentence, shown as a guess; unset or at the decline threshold: never.",
    )
    mode: Literal["extractive", "llm"] | None = Field(
        None, description="Answerer; default llm when an endpoint is set, else extractive."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"
    )
    llm_model: str = Field("default", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer key for the endpoint.")
    llm_connect_timeout: float = Field(3.0, gt=0)
    llm_read_timeout: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_total_timeout: float = Field(
        120.0, gt=0, description="One deadline per LLM call, retries and trickling included."
    )
    llm_citations: Literal["sentences", "quotes"] = Field(
        "sentences",
        description="How the model cites: sentence numbers in JSON (needs response_format), "
        "or quotes in free text.",
    )
    max_question_chars: int = Field(MAX_QUESTION_CHARS, ge=10)

    @field_validator("decline_threshold", mode="before")
    @classmethod
    def _calibrated_threshold(cls, value: Any) -> Any:
        """The calibrated threshold when none is set; read only then, so a threshold set by
        hand works even while the calibration file is damaged. A validator rather than a
        default factory, so a damaged file is a validation error every edge shows as one
        sentence."""
        if value is None:
            return calibrated_defaults().get("decline_threshold", DEFAULT_DECLINE_THRESHOLD)
        return value

    @model_validator(mode="after")
    def _calibrated_hedge(self) -> Settings:
        """Unless set, the hedge band is the calibrated one's width below the decline threshold
        in effect: a decline threshold raised by hand then does not turn everything between the
        two calibrated thresholds into hedges. A damaged file is reported by the decline
        threshold's validator; here it only means no hedging."""
        if self.hedge_threshold is None:
            try:
                cal = calibrated_defaults()
            except ValueError:
                cal = {}
            if "hedge_threshold" in cal:
                width = cal["decline_threshold"] - cal["hedge_threshold"]
                # derived, not set: kept out of ``model_fields_set`` so that ``load_settings``
                # derives it again from an overridden decline threshold
                object.__setattr__(
                    self, "hedge_threshold", max(0.0, self.decline_threshold - width)
                )
        return self

    @field_validator("chroma_url", "llm_base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        # the message names the URL masked: a malformed one is still likely to hold a password
        shown = display_url(value)
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 - raises for a port that is no number (a password, often)
        except ValueError:
            raise ValueError(f"{shown!r} is not a valid http(s) URL") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{shown!r} is not an http(s) URL")
        return value.strip().rstrip("/")

    @property
    def effective_mode(self) -> Literal["extractive", "llm"]:
        if self.mode:
            return self.mode
        return "llm" if self.llm_base_url else "extractive"

    def masked(self) -> dict[str, Any]:
        """The effective settings, safe to print: the key never appears."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = mask_secret(value.get_secret_value())
            elif isinstance(value, Path):
                value = str(value)
            elif name in {"llm_base_url", "chroma_url"} and value:
                value = display_url(value)
            out[name] = value
        out["effective_mode"] = self.effective_mode
        return out


def mask_secret(secret: str | None) -> str | None:
    if not secret:
        return None
    return "****"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with the non-None overrides (CLI flags) on top."""
    base = Settings()
    updates = {k: v for k, v in overrides.items() if v is not None}
    derived = {"hedge_threshold"} - base.model_fields_set  # derived again from the updates
    return (
        Settings.model_validate({**base.model_dump(exclude=derived), **updates})
        if updates
        else base
    )
