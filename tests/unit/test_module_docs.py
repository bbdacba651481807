"""Every module of roles/crossgate-modules documents exactly the options it takes:
the DOCUMENTATION block and the argument_spec given to AnsibleModule agree on
names, types, defaults, required, choices and list elements."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

import modload

for _util in ("crossgate_records", "crossgate_ceph", "crossgate_report"):
    modload.module_util(_util)
NAMES = sorted(p.stem for p in (modload.MODULES / "library").glob("*.py"))
KEYS = ("type", "required", "default", "choices", "elements")


class _Spec(Exception):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__("argument_spec captured")
        self.spec = spec


def _argument_spec(name: str) -> dict[str, Any]:
    mod = modload.module(name)

    def capture(argument_spec: dict[str, Any], **_: Any) -> None:
        raise _Spec(argument_spec)

    mod.AnsibleModule = capture
    with pytest.raises(_Spec) as caught:
        mod.main()
    return caught.value.spec


def _normal(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: option[k] for k in KEYS if option.get(k) not in (None, False)}
    out.setdefault("type", "str")
    return out


def test_every_module_is_covered() -> None:
    assert len(NAMES) >= 5, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_documentation_matches_argument_spec(name: str) -> None:
    documented = yaml.safe_load(modload.module(name).DOCUMENTATION)
    assert documented["module"] == name
    spec = _argument_spec(name)
    docs = {k: _normal(v) for k, v in documented.get("options", {}).items()}
    code = {k: _normal(v) for k, v in spec.items()}
    assert sorted(docs) == sorted(code), f"{name}: documented vs argument_spec option names"
    for option, want in code.items():
        assert docs[option] == want, f"{name}: option {option!r}"


def test_check_modules_share_node_and_results_dir() -> None:
    records = modload.module_util("crossgate_records")
    for name in NAMES:
        if name == "crossgate_report":
            continue
        spec = _argument_spec(name)
        assert spec["node"] == {"type": "str", "required": True}, name
        assert spec["results_dir"]["default"] == records.DEFAULT_RESULTS_DIR, name
