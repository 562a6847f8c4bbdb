"""How values are written in messages and pages: JSON text, `code` spans, timestamps."""
from __future__ import annotations

import json
from datetime import UTC, datetime


def json_text(value) -> str:
    """A JSON value as compact text (non-ASCII kept as it is)."""
    return json.dumps(value, ensure_ascii=False)


def code(value) -> str:
    """A JSON value as a `code` span (the pages turn backticks into literals)."""
    return f"`{json_text(value)}`"


def now() -> str:
    """The current time as the record format writes timestamps: RFC 3339, UTC, whole seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
