"""Print the hypothesis cases `make fuzz` tried on each database, and fail when they
number fewer than --min in all (a run that quietly tried nothing must not pass)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEY = "hypothesis cases tried on "


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min", type=int, default=10_000)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    per_database: dict[str, int] = {}
    for path in args.files:
        counts = json.loads(path.read_text()) if path.exists() else {}
        for key, value in counts.items():
            if key.startswith(KEY):
                database = key.removeprefix(KEY)
                per_database[database] = per_database.get(database, 0) + value
    total = sum(per_database.values())
    for database, cases in sorted(per_database.items()):
        print(f"fuzz: {cases:,} cases on {database}")
    print(f"fuzz: {total:,} cases in all (at least {args.min:,} wanted)")
    return 0 if total >= args.min and len(per_database) == len(args.files) else 1


if __name__ == "__main__":
    sys.exit(main())
