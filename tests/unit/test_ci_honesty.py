"""CI runs the whole suite: no stage, file or test is left out by what the environment says."""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def marker_of(path: Path) -> str:
    """The module's `pytestmark = pytest.mark.NAME`, or ''."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            value = node.value
            if isinstance(value, ast.Attribute):
                return value.attr
    return ""


def tox_commands(env: str) -> str:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    return cfg[f"testenv:{env}"]["commands"] if env != "py3" else cfg["testenv"]["commands"]


@pytest.mark.parametrize("path", sorted((ROOT / "tests/e2e").glob("test_*.py")),
                         ids=lambda p: p.name)
def test_every_e2e_file_is_in_the_e2e_stage(path: Path) -> None:
    # the stage selects -m e2e: a file without the marker would silently not run
    assert marker_of(path) == "e2e", f"{path} needs pytestmark = pytest.mark.e2e"


@pytest.mark.parametrize("path", sorted((ROOT / "tests/zuul").glob("test_*.py")),
                         ids=lambda p: p.name)
def test_tests_of_zuul_without_a_zuul_run_in_py3(path: Path) -> None:
    py3 = tox_commands("py3")
    if marker_of(path) == "zuul":
        assert "-m zuul" in tox_commands("zuul")
    else:
        assert f"tests/zuul/{path.name}" in py3, (
            f"{path} needs no Zuul (no pytestmark = pytest.mark.zuul): py3 must run it")


@pytest.mark.parametrize(("env", "value"), [("TOX_ENVS", "py3"), ("CROSSGATE_TEST_ZUUL", "0")])
def test_ci_runs_every_stage_whatever_the_environment_says(tmp_path: Path, env: str,
                                                           value: str) -> None:
    (tmp_path / ".ci").mkdir()
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / ".ci/run", tmp_path / ".ci/run")
    # the test command, as .ci/run starts it: it shows what it was given
    (tmp_path / "tools/test.sh").write_text(
        'echo "TOX_ENVS=${TOX_ENVS-unset} CROSSGATE_TEST_ZUUL=${CROSSGATE_TEST_ZUUL-unset}"\n')
    proc = subprocess.run(["bash", str(tmp_path / ".ci/run")], capture_output=True, text=True,
                          env={**os.environ, env: value}, timeout=30, check=True)
    assert proc.stdout.strip() == "TOX_ENVS=unset CROSSGATE_TEST_ZUUL=unset"
    assert f"ignoring {env}={value}: CI runs every stage" in proc.stderr
