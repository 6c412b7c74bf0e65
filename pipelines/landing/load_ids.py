"""Load ids: one per landing, sortable by time, so raw folders and raw rows can be traced to a run."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_load_id(now: datetime | None = None) -> str:
    """``20261123T041500Z-1a2b3c``: UTC time of the load plus a random suffix against collisions."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
