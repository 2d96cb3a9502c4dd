"""The key and endpoint of an OpenAI-compatible client, from the settings and the environment as the `openai` client
reads them (OPENAI_API_KEY, OPENAI_BASE_URL). Shared by the builder's teacher and the `openai` generation backend."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

# The key sent to a server that needs none: local servers (vLLM, TGI, transformers serve) accept any key.
NO_KEY = "EMPTY"


def api_key(base_url: str | None, key_env: str = "OPENAI_API_KEY") -> str | None:
    """The key in the environment variable `key_env`; NO_KEY for a server given by `base_url` or OPENAI_BASE_URL
    without one, unless that is the OpenAI API; None otherwise (the caller says what to set)."""
    key = os.environ.get(key_env)
    if key:
        return key
    return NO_KEY if (base_url or os.environ.get("OPENAI_BASE_URL")) and not is_openai(base_url) else None


def is_openai(base_url: str | None) -> bool:
    """Whether requests go to the OpenAI API (`base_url`, else OPENAI_BASE_URL, else the client's default)."""
    url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    return (urlsplit(url).hostname or "").lower() == "api.openai.com"


def endpoint_name(base_url: str | None) -> str:
    """Where requests go, for messages: `base_url`, else OPENAI_BASE_URL, else the OpenAI API."""
    return base_url or os.environ.get("OPENAI_BASE_URL") or "the OpenAI API"
