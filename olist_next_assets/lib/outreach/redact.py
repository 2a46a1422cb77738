"""Masking secrets in anything that may be stored or shown (error messages, logs)."""

from __future__ import annotations

import re

MASK = "***"
# what API keys and credentials look like when a provider or a library echoes them
KEY_SHAPES = re.compile(
    r"(?i)\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{6,}"  # OpenAI-style keys (sk-..., sk-proj-...)
    r"|\bdapi[0-9a-f]{16,}"  # Databricks tokens
    r"|(?<=bearer )[A-Za-z0-9._\-]{8,}"  # Authorization: Bearer <token>
    r"|(?<=api[_-]key[=:] )\S{6,}|(?<=api[_-]key=)\S{6,}|(?<=api[_-]key: )\S{6,}"
)


def mask_secrets(text: str, *secrets: str | None) -> str:
    """``text`` with every given secret, and anything shaped like an API key, replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return KEY_SHAPES.sub(MASK, text)
