"""Prompts are data: `prompts/NAME.md` files with `{variable}` placeholders.

`render` fails on a missing variable and on an unused one, so a prompt and its caller cannot drift
apart silently. Literal braces in a prompt are written `{{` and `}}`.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from coach.config import PROJECT_ROOT
from coach.errors import CoachError

PROMPT_DIR = PROJECT_ROOT / "prompts"


@lru_cache(maxsize=None)
def _template(name: str, directory: str) -> str:
    p = Path(directory) / f"{name}.md"
    if not p.is_file():
        raise CoachError(f"prompt {name!r} not found at {p}: is the prompts/ folder complete?")
    return p.read_text(encoding="utf-8").strip()


def variables(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def render(name: str, directory: Path = PROMPT_DIR, **values: object) -> str:
    """Fill prompts/NAME.md.

    Raises CoachError naming the missing or unused variables.
    """
    template = _template(name, str(directory))
    wanted = variables(template)
    missing, unused = wanted - set(values), set(values) - wanted
    if missing or unused:
        raise CoachError(f"prompt {name!r}: missing {sorted(missing)}, unused {sorted(unused)}")
    return template.format(**{k: str(v) for k, v in values.items()})
