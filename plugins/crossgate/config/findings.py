"""One finding per problem: where it is, which rule, and what is allowed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

ERROR = "error"
WARNING = "warning"  # what Zuul itself reports as a warning (e.g. deprecations)
INFO = "info"


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str
    severity: str = ERROR

    def text(self) -> str:
        prefix = "" if self.severity == ERROR else f"{self.severity}: "
        return f"{self.path}:{self.line}: {self.rule}: {prefix}{self.message}"


def relpath(path: Path | str, base: Path | None = None) -> str:
    """Show a path relative to the working directory when it lies below it."""
    p = Path(path)
    base = base or Path.cwd()
    try:
        return str(p.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p)


def render(findings: list[Finding], fmt: str) -> str:
    ordered = sorted(set(findings))
    if fmt == "json":
        errors = sum(1 for f in ordered if f.severity == ERROR)
        return json.dumps(
            {"findings": [asdict(f) for f in ordered], "errors": errors}, indent=2
        )
    return "\n".join(f.text() for f in ordered)
