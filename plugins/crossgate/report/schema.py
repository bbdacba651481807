"""JSON Schema validation of records, phase markers and results.json with `jsonschema`.

The node-side module validates with the standard library only
(crossgate_records.validate_record); on the host the published schemas are applied
too, so the two can never silently disagree.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from . import RECORD_SCHEMA, RESULTS_SCHEMA, core


@cache
def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    return (json.loads(Path(RECORD_SCHEMA).read_text()),
            json.loads(Path(RESULTS_SCHEMA).read_text()))


@cache
def _registry() -> Registry:
    record, results = _schemas()
    return Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in (record, results)])


def record_validator() -> Draft202012Validator:
    return Draft202012Validator(_schemas()[0], registry=_registry())


def marker_validator() -> Draft202012Validator:
    results = _schemas()[1]
    return Draft202012Validator({**results["$defs"]["marker"], "$defs": results["$defs"]},
                                registry=_registry())


def results_validator() -> Draft202012Validator:
    return Draft202012Validator(_schemas()[1], registry=_registry())


def describe(error: ValidationError) -> str:
    """'field: message', the field as a JSON path ('(record)' for the whole item)."""
    path = ".".join(str(p) for p in error.absolute_path) or "(record)"
    return f"{path}: {error.message}"


def validate_tree(root: str | os.PathLike[str]) -> list[str]:
    """Every schema error of every *.jsonl line under root, as 'file:line: field: message'."""
    errors: list[str] = []
    records, markers = record_validator(), marker_validator()
    for rel in core.find_files(str(root)):
        validator = markers if os.path.basename(rel) == core.PHASES_FILE else records
        try:
            text = Path(root, rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{rel}: cannot read: {exc}")
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                errors.append(f"{rel}:{n}: not JSON: {exc}")
                continue
            for error in sorted(validator.iter_errors(item), key=lambda e: list(e.path)):
                errors.append(f"{rel}:{n}: {describe(error)}")
    return errors


def validate_results(results: dict[str, Any]) -> list[str]:
    """Schema errors of a results.json document (empty when valid)."""
    return [describe(e) for e in results_validator().iter_errors(results)]
