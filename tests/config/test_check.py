"""Every broken tree fails with its rule at the right file:line; good trees pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossgate.cli import main

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    rc = main(["check", "--format", "json", *args])
    out = capsys.readouterr().out
    return rc, json.loads(out)["findings"] if out.strip() else []


def errors(findings: list[dict]) -> list[tuple[str, str, int]]:
    return sorted((f["rule"], str(Path(f["path"])), f["line"])
                  for f in findings if f["severity"] == "error")


def rel(case: str, path: str) -> str:
    return str((HERE / case / path).relative_to(Path.cwd()) if (HERE / case).is_relative_to(
        Path.cwd()) else HERE / case / path)


# case, expected exit code, expected (rule, file relative to the case, line)
BROKEN = [
    ("yaml-syntax", 1, [("yaml-syntax", "zuul.d/jobs.yaml", 4)]),
    ("duplicate-key", 1, [("yaml-syntax", "zuul.yaml", 4)]),
    ("unknown-key", 1, [("unknown-key", "zuul.d/jobs.yaml", 5)]),
    ("unknown-stanza", 1, [("zuul-syntax", "zuul.yaml", 5)]),
    # a value of the wrong type: the line of its key, and nothing that follows from it
    ("parent-not-a-name", 1, [("zuul-syntax", "zuul.yaml", 7), ("zuul-syntax", "zuul.yaml", 13),
                              ("zuul-syntax", "zuul.yaml", 18)]),
    # a near miss of a defined name is an error; a name defined nowhere here is external
    ("missing-parent", 1, [("missing-parent", "zuul.d/jobs.yaml", 7)]),
    ("parent-cycle", 1, [("parent-cycle", "zuul.d/jobs.yaml", 3)]),
    ("missing-nodeset", 1, [("missing-nodeset", "zuul.d/jobs.yaml", 8)]),
    ("missing-playbook", 1, [("missing-playbook", "zuul.d/jobs.yaml", 6)]),
    ("missing-role", 1, [("missing-role", "playbooks/run.yaml", 4)]),
    ("missing-semaphore", 1, [("missing-semaphore", "zuul.d/jobs.yaml", 8)]),
    ("missing-template", 1, [("missing-template", "zuul.yaml", 8)]),
    ("missing-job", 1, [("missing-job", "zuul.yaml", 13)]),
    ("missing-dependency", 1, [("missing-dependency", "zuul.yaml", 10)]),
    ("duplicate-job", 1, [("duplicate-job", "zuul.d/jobs.yaml", 6)]),
    ("empty-file", 1, [("empty-file", "zuul.d/empty.yaml", 1)]),
    ("multiple-roots", 1, [("multiple-config-roots", ".zuul.yaml", 1)]),
    ("undocumented-rolevar", 1,
     [("undocumented-rolevar", "roles/demo/meta/argument_specs.yaml", 9)]),
    ("rolevar-mismatch", 1, [("rolevar-mismatch", "roles/demo/README.rst", 7),
                             ("rolevar-mismatch", "roles/demo/defaults/main.yaml", 1)]),
    ("readme-default-mismatch", 1, [("rolevar-mismatch", "roles/demo/README.rst", 12)]),
    ("readme-unknown-rolevar", 1, [("rolevar-mismatch", "roles/demo/README.rst", 16)]),
    ("defaults-unknown-var", 1, [("rolevar-mismatch", "roles/demo/defaults/main.yaml", 3)]),
    ("undocumented-role", 1, [("undocumented-role", "roles/demo", 0)]),
    ("missing-argument-specs", 1, [("missing-argument-specs", "roles/demo", 0)]),
    ("job-description", 1, [("job-description", "zuul.d/jobs.yaml", 1)]),
    ("secret-in-library", 1, [("secret-in-library", "zuul.d/jobs.yaml", 12),
                              ("secret-in-library", "zuul.d/jobs.yaml", 15)]),
    # only where Zuul reads its config: roles/demo/tasks/extra.yml is not reported
    ("yaml-extension", 1, [("yaml-extension", "zuul.d/more-jobs.yml", 1)]),
    ("not-a-zuul-repo", 2, [("not-a-zuul-repo", ".", 0)]),
]
# Trees checked with the library rules (--library); good-library says so itself.
LIBRARY = {"undocumented-rolevar", "rolevar-mismatch", "readme-default-mismatch",
           "readme-unknown-rolevar", "defaults-unknown-var", "undocumented-role",
           "missing-argument-specs", "job-description", "secret-in-library", "yaml-extension"}
# The external reference each near-miss tree also holds: an info line, not an error.
EXTERNAL = {
    "missing-parent": ("external-parent", 11),
    "missing-nodeset": ("external-nodeset", 13),
    "missing-job": ("external-job", 9),
    "missing-dependency": ("external-dependency", 11),
    "missing-semaphore": ("external-semaphore", 8),
    "missing-template": ("external-template", 9),
}


@pytest.mark.parametrize(("case", "code", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_tree(capsys: pytest.CaptureFixture[str], case: str, code: int,
                     expected: list[tuple[str, str, int]]) -> None:
    args = ["--library"] if case in LIBRARY else []
    rc, findings = run_check(capsys, *args, str(HERE / case))
    want = sorted((rule, str(Path(rel(case, path))), line) for rule, path, line in expected)
    assert errors(findings) == want
    assert rc == code
    if case in EXTERNAL:
        infos = {(f["rule"], f["line"]) for f in findings if f["severity"] == "info"}
        assert EXTERNAL[case] in infos


def test_near_miss_says_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    _, findings = run_check(capsys, str(HERE / "missing-job"))
    (msg,) = [f["message"] for f in findings if f["severity"] == "error"]
    assert "'unitests'" in msg and "did you mean 'unittests'" in msg


def test_library_rules_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    # zuul.d/ and roles/ alone do not make a library: no marker, no --library
    rc, findings = run_check(capsys, str(HERE / "missing-argument-specs"))
    assert errors(findings) == [] and rc == 0
    rc, findings = run_check(capsys, "--no-library", str(HERE / "good-library"))
    assert rc == 0


@pytest.mark.parametrize(("text", "wanted"), [
    ("library: yes-please\n", "is not a boolean"),
    ("libary: true\n", "unknown key 'libary'"),
    ("- library\n", "expected a mapping"),
])
def test_bad_library_marker(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                            wanted: str) -> None:
    (tmp_path / "zuul.yaml").write_text("- job:\n    name: j\n    parent: null\n")
    (tmp_path / ".crossgate.yaml").write_text(text)
    assert main(["check", str(tmp_path)]) == 2
    assert wanted in capsys.readouterr().err


def test_tenant_makes_missing_references_errors(capsys: pytest.CaptureFixture[str]) -> None:
    tenant = HERE / "tenant"
    rc, findings = run_check(capsys, str(tenant / "app"))
    assert rc == 0 and errors(findings) == []
    rc, findings = run_check(capsys, "--tenant-config", str(tenant / "main.yaml"),
                             "--name", "example/app", str(tenant / "app"),
                             "--project", f"example/config={tenant / 'config'}")
    app = rel("tenant", "app/zuul.yaml")
    # base and one-node come from the config project, app-docs from the tenant's
    # extra-config-paths of example/app; tempest-full-py3 and ubuntu-noble from nowhere.
    assert errors(findings) == [("missing-nodeset", app, 9), ("missing-parent", app, 8)]
    assert rc == 1


@pytest.mark.parametrize(("extra", "wanted"), [
    ([], "loads project 'example/config'"),
    (["--project", f"example/config={HERE / 'tenant' / 'config'}",
      "--project", f"example/other={HERE / 'good-library'}"], "does not load example/other"),
])
def test_tenant_needs_exactly_its_projects(capsys: pytest.CaptureFixture[str],
                                           extra: list[str], wanted: str) -> None:
    rc = main(["check", "--tenant-config", str(HERE / "tenant" / "main.yaml"), "--name",
               "example/app", str(HERE / "tenant" / "app"), *extra])
    assert rc == 2
    assert wanted in capsys.readouterr().err


@pytest.mark.parametrize(("text", "wanted"), [
    ("- tenant:\n    nme: x\n", "Zuul's tenant schema says"),
    ("- tenant:\n    name: a\n- tenant:\n    name: b\n", "choose one with --tenant"),
    ("- tennant:\n    name: a\n", "unknown kind 'tennant'"),
    ("tenant: a\n", "a tenant file is a list"),
])
def test_bad_tenant_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                         wanted: str) -> None:
    (tmp_path / "main.yaml").write_text(text)
    assert main(["check", "--tenant-config", str(tmp_path / "main.yaml"),
                 str(HERE / "good-library")]) == 2
    assert wanted in capsys.readouterr().err


def test_unreadable_folder_exits_2(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "zuul.d" / "locked").mkdir(parents=True)
    (repo / "zuul.d" / "jobs.yaml").write_text("- job:\n    name: j\n    parent: null\n")
    (repo / "zuul.d" / "locked").chmod(0)
    cmd = [sys.executable, "-m", "crossgate.cli", "check", str(repo)]
    if os.geteuid() == 0:  # root reads anything: check without its override capabilities
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        (repo / "zuul.d" / "locked").chmod(0o755)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unreadable-input" in proc.stderr and "locked" in proc.stderr


def test_every_broken_tree_is_tested() -> None:
    cases = {p.name for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    tested = {c[0] for c in BROKEN} | {"good-library", "good-consumer", "tenant"}
    assert cases == tested


def test_messages_say_what_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    _, findings = run_check(capsys, str(HERE / "unknown-key"))
    (msg,) = [f["message"] for f in findings if f["rule"] == "unknown-key"]
    assert "'pre_run'" in msg
    assert "did you mean 'pre-run'" in msg
    assert "allowed keys of a job are" in msg


def test_good_library_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    rc, findings = run_check(capsys, str(HERE / "good-library"))
    assert errors(findings) == []
    assert rc == 0


def test_external_references_are_info_until_supplied(capsys: pytest.CaptureFixture[str]) -> None:
    rc, findings = run_check(capsys, str(HERE / "good-consumer"))
    assert rc == 0
    assert errors(findings) == []
    assert {"external-role", "external-parent"} <= {f["rule"] for f in findings
                                                    if f["severity"] == "info"}
    rc, findings = run_check(
        capsys, "--project", f"example/good-library={HERE / 'good-library'}",
        str(HERE / "good-consumer"))
    assert errors(findings) == []
    assert "external-role" not in {f["rule"] for f in findings}
    assert rc == 0


def test_supplied_project_roles_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    # Supplying a project that lacks the role turns the reference into an error.
    rc, findings = run_check(
        capsys, "--project", f"example/good-library={HERE / 'missing-role'}",
        "--project", f"example/lib={HERE / 'good-library'}", str(HERE / "good-consumer"))
    assert rc == 1
    assert [f["rule"] for f in errors_full(findings)] == ["missing-role"]


def errors_full(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["severity"] == "error"]


def test_bad_project_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--project", "no-equals-sign", str(HERE / "good-library")]) == 2
    assert "expected NAME=PATH" in capsys.readouterr().err


def test_crossgate_library_is_clean() -> None:
    """The repository itself, through the installed command, as CI runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "crossgate.cli", "check", "--extra-config-path", "zuul-tests.d",
         "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 error(s)" in proc.stderr
