"""Reading values of Zuul's parsed stanzas (which keep !override/!inherit wrappers)."""

from __future__ import annotations

from typing import Any


def unwrap(value: Any) -> Any:
    """Strip Zuul's !override / !inherit wrappers."""
    return getattr(value, "value", value) if type(value).__name__.startswith("Override") \
        else value


def as_list(value: Any) -> list[Any]:
    value = unwrap(value)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def names(value: Any) -> list[str]:
    """Names from `x`, `[x, y]`, `{name: x}` or `[{name: x}]`; other shapes (which
    Zuul's parser reports) give nothing."""
    out = []
    for item in as_list(value):
        if isinstance(item, dict):
            if isinstance(item.get("name"), str):
                out.append(item["name"])
        elif isinstance(item, str | int | float):
            out.append(str(item))
    return out


def a_name(value: Any) -> str | None:
    """A single name (a parent, a nodeset): a string, or None for any other shape."""
    value = unwrap(value)
    return value if isinstance(value, str) else None
