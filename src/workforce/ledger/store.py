"""Insert-only ledger tables and their store."""

from __future__ import annotations
