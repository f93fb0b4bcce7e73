"""JSON lines: batch files, where a bad line becomes an error record for that line (never an exception
that loses the rest of the batch), and datasets, where a bad line is an error naming it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.errors import CoachError, UsageError


@dataclass(frozen=True)
class Item:
    id: str
    data: dict[str, Any]
    error: str | None = None


def read_items(path: str, required: tuple[str, ...]) -> Iterator[Item]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"batch file not found: {path}")
    with p.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                yield Item(f"line-{n}", {}, f"line {n} is not valid JSON: {e.msg}")
                continue
            if not isinstance(data, dict):
                yield Item(f"line-{n}", {}, f"line {n} must be a JSON object")
                continue
            item_id = data.get("id")
            item_id = str(item_id) if item_id is not None else f"line-{n}"
            missing = [k for k in required if not isinstance(data.get(k), str)]
            if missing:
                yield Item(item_id, data, f"line {n}: missing or non-string field(s): {', '.join(missing)}")
                continue
            yield Item(item_id, data)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def run_batch(items: Iterable[Item], invalid: Callable[[dict[str, Any]], str | None],
              run: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """One JSON line per input line on stdout, in order: `{"id", **run(data)}`, or `{"id", "error"}`
    for a line that did not parse, that `invalid(data)` names a problem with, or whose run failed."""
    for item in items:
        error = item.error or invalid(item.data)
        if not error:
            try:
                line = dumps({"id": item.id, **run(item.data)})
            except CoachError as e:
                error = str(e)
            except Exception as e:  # noqa: BLE001 - one item's failure must not lose the rest of the batch
                error = f"unexpected {type(e).__name__} on this item: {e} (the rest of the batch went on)"
        if error:
            line = dumps({"id": item.id, "error": error})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a JSON-lines dataset (blank lines skipped); UsageError naming a missing file
    or the first line that is not a JSON object."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"dataset not found: {p}")
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UsageError(f"{p}:{n}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise UsageError(f"{p}:{n}: expected a JSON object")
        rows.append(row)
    return rows
