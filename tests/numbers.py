"""Counts the hardening tests report at the end of a run (races run, hypothesis cases
tried, URL x persona cells checked), also written to test-artifacts/hardening-numbers.json
so that a closing note can quote them."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

COUNTS: Counter[str] = Counter()
# HARDENING_NUMBERS names another file: `make fuzz` keeps one per database.
OUTPUT = Path(
    os.environ.get("HARDENING_NUMBERS")
    or Path(__file__).resolve().parents[1] / "test-artifacts" / "hardening-numbers.json"
)


def add(key: str, n: int = 1) -> None:
    COUNTS[key] += n


def write() -> None:
    if not COUNTS:
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(dict(sorted(COUNTS.items())), indent=2) + "\n")
