"""Heavy objects are loaded on first use, and only once when several threads ask at the same time
(the app serves requests and works ahead in background threads: two threads opening one chromadb
client at once fail inside chromadb)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()  # loads are rare: one lock for all keeps nested loads simple


def once(owner: object, attr: str, load: Callable[[], Any]) -> Any:
    """`owner.attr`, set to `load()` first if it is None.

    >>> class Box: value = None
    >>> b, calls = Box(), []
    >>> once(b, "value", lambda: calls.append(1) or 42), once(b, "value", lambda: 0), calls
    (42, 42, [1])
    """
    value = getattr(owner, attr)
    if value is None:
        with _LOCK:
            value = getattr(owner, attr)
            if value is None:
                value = load()
                setattr(owner, attr, value)
    return value
