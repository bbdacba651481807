"""crossgate's ansible-lint rules (tools/lint/rules): each catches what it is for, and only that.

Two layers. The rules' pure functions, table-tested (a shell script's simple commands, a bound
from a variable, a secret name, no_log inherited from blocks). And one real ansible-lint run,
with the project's .ansible-lint, over the fixtures of tests/unit/fixtures/lint: every task named
``Bad: ...`` is reported by the rule its file is about, once, at its line; no ``Good: ...`` task
is. The run takes about 10 s, once per session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "tools" / "lint" / "rules"
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "lint"
WAIT = "crossgate-wait-bound-from-variable"
SECRET = "crossgate-no-log-secret"
RULE_OF_FILE = {
    "roles/lintfixture/tasks/wait.yaml": WAIT,
    "roles/lintfixture/tasks/secrets.yaml": SECRET,
    "playbooks/secrets-play.yaml": SECRET,
}

sys.path.insert(0, str(RULES))
import crossgate_lint_common as common  # noqa: E402
import crossgate_no_log_secret as secret  # noqa: E402
import crossgate_wait_bound as wait  # noqa: E402

sys.path.remove(str(RULES))


def test_the_project_runs_the_rules_beside_the_default_ones() -> None:
    config = yaml.safe_load((ROOT / ".ansible-lint").read_text())
    assert config["rulesdir"] == ["tools/lint/rules"]
    assert config["use_default_rules"] is True
    # the production profile unloads a rule it does not list, unless enabled
    assert {WAIT, SECRET} <= set(config["enable_list"])
    assert not {WAIT, SECRET} & set(config.get("skip_list", []) + config.get("warn_list", []))


# --- the pure functions ---------------------------------------------------------------------

@pytest.mark.parametrize(("script", "commands"), [
    ("ceph status", [["ceph", "status"]]),
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ('echo "x; ceph status" | cat', [["echo", "x; ceph status"], ["cat"]]),
    ("# ceph status\nls # ceph", [["ls"]]),
    ("a \\\n  --b", [["a", "--b"]]),
    ("cat <<EOF > f\nceph status\nEOF\nls", [["cat", "<<EOF", ">", "f"], ["ls"]]),
    ("a 2>&1 >&2 &>f & b", [["a", "2>&1", ">&2", "&>f"], ["b"]]),
    ("read x <<<word\nceph status", [["read", "x", "<<<word"], ["ceph", "status"]]),
    ("x=(timeout $t ceph)", [["x="], ["timeout", "$t", "ceph"]]),
    ("{% for p in ps %}\nceph {{ p }}\n{% endfor %}", [["ceph", wait.VAR]]),
    ("sleep {{ 3 }}", [["sleep", wait.LIT]]),
    ("echo {{ a | default('x;y') }}", [["echo", wait.VAR]]),
])
def test_shell_commands(script: str, commands: list[list[str]]) -> None:
    assert wait.shell_commands(script) == commands


@pytest.mark.parametrize(("line", "why"), [
    ("ceph status", "`ceph` has no --connect-timeout"),
    ("ceph --connect-timeout 5 status", "`ceph` has a literal --connect-timeout (5)"),
    ("ceph --connect-timeout {{ x }} status", None),
    ("ceph --connect-timeout=$t status", None),
    ("timeout $t ceph status", None),
    ("timeout -k 5 {{ t }} ceph status", None),
    ("timeout 30 ceph status", "`ceph` has no --connect-timeout (its `timeout 30` wrapper"),
    ("sudo -E env A=1 /usr/bin/ceph -s", "`ceph` has no --connect-timeout"),
    ("ceph daemon osd.0 perf dump", None),
    ("ceph --admin-daemon /run/ceph/x.asok status", None),
    ("ceph-volume lvm list", None),
    ("rbd pool init rbd", "`rbd pool init` (it waits for the pool's placement groups) has no"),
    ("timeout 9 rbd pool init rbd", "`rbd pool init` (it waits"),
    ("timeout {{ t }} rbd pool init rbd", None),
    ("rbd ls", None),
    ("kubectl wait node --all", "`kubectl wait` has no --timeout"),
    ("kubectl --kubeconfig k -n x wait pod/a --for=delete --timeout={{ t }}s", None),
    ("kubectl wait pod/a --timeout=30s", "`kubectl wait` has a literal --timeout (30s)"),
    ("timeout {{ t }} kubectl wait pod/a", "`kubectl wait` has no --timeout (a `timeout` wrapper"),
    ("kubectl rollout status ds/x", "`kubectl rollout status` has no --timeout"),
    ("kubectl get pods -l app=wait", None),
    ("curl http://x/", "`curl` has no --max-time"),
    ("curl -m {{ t }} http://x/", None),
    ("timeout $t curl http://x/", None),
    ("echo ceph status", None),
    ("x=1", None),
])
def test_check_command(line: str, why: str | None) -> None:
    found = wait.check_command(wait.shell_commands(line)[0])
    if why is None:
        assert found is None
    else:
        assert found is not None and found.startswith(why), found


@pytest.mark.parametrize(("value", "expected"), [
    ("{{ x_retries }}", True),
    ("{{ (a | int / b | int) | round(0, 'ceil') | int }}", True),
    ("{{ 60 }}", False),
    (60, False),
    ("60", False),
    (None, False),
])
def test_from_variable(value: Any, expected: bool) -> None:
    assert common.from_variable(value) is expected


@pytest.mark.parametrize(("task", "module", "args", "count"), [
    ({"until": "x", "retries": "{{ r }}", "delay": "{{ d }}"}, "command", {}, 0),
    ({"until": "x", "retries": 2, "delay": "{{ d }}"}, "apt", {}, 1),
    ({"retries": "{{ r }}"}, "command", {}, 1),  # retries without until loops too; no delay
    ({"until": "x"}, "command", {}, 2),
    ({}, "uri", {"url": "u"}, 1),
    ({}, "get_url", {"timeout": "{{ t }}"}, 0),
    ({}, "wait_for_connection", {"timeout": 5}, 1),
    ({}, "crossgate_ceph_io", {"command_timeout": 5, "timeout": "{{ t }}", "name": 1}, 1),
    ({}, "copy", {"timeout": 5}, 0),
    ({}, "command", {"argv": ["kubectl", "wait", "x", "--timeout={{ t }}s"]}, 0),
    ({}, "command", {"argv": ["kubectl", "wait", "x"]}, 1),
    ({}, "command", {"argv": "{{ cli + ['status'] }}"}, 0),
    ({}, "command", {"_raw_params": "ceph status; echo"}, 1),
    ({}, "shell", {"cmd": "ceph status; kubectl wait x"}, 2),
])
def test_wait_problems(task: dict[str, Any], module: str, args: dict[str, Any],
                       count: int) -> None:
    assert len(wait.problems(task, module, args)) == count


@pytest.mark.parametrize(("name", "expected"), [
    ("deploy_openstack_admin_password", True),
    ("deploy_openstack_secrets", True),
    ("deploy_openstack_secrets_raw", True),
    ("api_token", True),
    ("x_passwd", True),
    ("ssh_private_key", True),
    ("deploy_ceph_client_keys", True),
    ("apikey", True),
    ("Password", True),
    ("key", False),
    ("keys", False),
    ("deploy_openstack_secrets_path", False),
    ("deploy_openstack_ceph_secret_uuid", False),
    ("ssh_host_key_checking", False),
    ("x_key_file", True),  # a path, or a slurped file's content: the rule cannot tell
    ("deploy_openstack_secrets_file", True),
    ("verify_secret_files", False),
    ("key_name", False),
    ("write_known_hosts_keys", False),
    ("x_ssh_pub_key", False),
    ("x_public_key", False),
    ("deploy_ceph_keyring_path", False),
    ("deploy_openstack_ceph_keyrings", False),
    ("keystone_url", False),
    ("monkey", False),
    ("tokenizer", False),
    ("passive", False),
])
def test_is_secret_name(name: str, expected: bool) -> None:
    assert secret.is_secret_name(name) is expected


@pytest.mark.parametrize(("task", "module", "args", "names"), [
    ({}, "debug", {"msg": "{{ a_password }}"}, ["a_password"]),
    ({}, "debug", {"msg": "a_password"}, []),  # a literal, not a reference
    ({}, "debug", {"var": "a_token"}, ["a_token"]),
    ({}, "assert", {"that": ["a_secret | length > 0"]}, ["a_secret"]),
    ({"when": "item.password is defined", "loop": "{{ users }}"}, "debug", {}, ["password"]),
    ({"loop": "{{ x | dict2items }}"}, "debug", {"msg": "{{ item.key }}"}, []),
    ({"register": "x_api_token"}, "command", {}, ["x_api_token"]),
    ({}, "set_fact", {"x_passwd": "{{ lookup('pipe', 'pwgen') }}"}, ["x_passwd"]),
    ({}, "mysql_user", {"password": "{{ lookup('file', 'f') }}"}, ["password"]),
    ({}, "user", {"update_password": "on_create"}, []),
    ({"environment": {"K": "{{ h[n]['x_key'] }}"}}, "command", {}, ["x_key"]),
    ({}, "copy", {"content": "{{ rs | map(attribute='secret') | list }}"}, ["secret"]),
    ({"name": "{{ a_password }}"}, "debug", {}, []),
])
def test_secret_names(task: dict[str, Any], module: str, args: dict[str, Any],
                      names: list[str]) -> None:
    assert secret.secret_names(task, module, args) == names


def test_no_log_nearest_wins() -> None:
    off, on, own = {"name": "t"}, {"name": "u"}, {"name": "v", "no_log": "{{ hide }}"}
    tasks = [{"block": [off], "no_log": False}, {"block": [on]}, own]
    play = {"hosts": "all", "no_log": True, "tasks": tasks}
    data = [play]
    assert common.ancestors(data, ".[0].tasks[0].block[0]") == [play, tasks[0]]
    assert secret.hidden(off, common.ancestors(data, ".[0].tasks[0].block[0]")) is False
    assert secret.hidden(on, common.ancestors(data, ".[0].tasks[1].block[0]")) is True
    assert secret.hidden(own, common.ancestors(data, ".[0].tasks[2]")) is True
    assert secret.hidden({"name": "w"}, []) is False
    assert secret.hidden({"no_log": "yes"}, []) is True
    assert common.ancestors([{"name": "x"}], ".[0]") == []
    assert common.ancestors([], ".[3].block[0]") == []


# --- one real ansible-lint run over the fixtures --------------------------------------------

def expected_reports() -> tuple[Counter[tuple[str, int, str]], set[tuple[str, int]]]:
    """((file, line, rule) of every Bad task, (file, line) of every Good task) of the fixtures."""
    bad: Counter[tuple[str, int, str]] = Counter()
    good: set[tuple[str, int]] = set()
    for relative, rule in RULE_OF_FILE.items():
        for number, line in enumerate((FIXTURES / relative).read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith('- name: "Bad:'):
                bad[(relative, number, rule)] += 1
            elif stripped.startswith('- name: "Good:'):
                good.add((relative, number))
    return bad, good


@pytest.fixture(scope="module")
def lint_reports(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    work = tmp_path_factory.mktemp("lint")
    shutil.copytree(FIXTURES, work, dirs_exist_ok=True)
    config = yaml.safe_load((ROOT / ".ansible-lint").read_text())
    config["rulesdir"] = [str(RULES)]
    config["mock_modules"] = [*config.get("mock_modules", []), "crossgate_fixture_probe"]
    config["exclude_paths"] = ["README.rst"]
    (work / ".ansible-lint").write_text(yaml.safe_dump(config))
    linter = Path(sys.executable).with_name("ansible-lint")
    run = subprocess.run([str(linter), "--offline", "-f", "json", "-c", ".ansible-lint"],
                         cwd=work, capture_output=True, text=True, timeout=180, check=False)
    assert run.stdout.strip().startswith("["), run.stderr[-2000:]
    return json.loads(run.stdout)


def test_the_rules_report_every_bad_task_and_no_good_one(
        lint_reports: list[dict[str, Any]]) -> None:
    bad, good = expected_reports()
    assert len(bad) > 20 and len(good) > 8
    reported: Counter[tuple[str, int, str]] = Counter()
    for report in lint_reports:
        rule = report["check_name"]
        if rule.startswith("crossgate-"):
            line = report["location"]["lines"]["begin"]
            line = line if isinstance(line, int) else line["line"]
            reported[(report["location"]["path"], line, rule)] += 1
    missing = sorted(set(bad) - set(reported))
    unexpected = sorted(set(reported) - set(bad))
    assert not missing, f"not reported: {missing}"
    assert not unexpected, f"reported, not a Bad task: {unexpected}"
    # one report per Bad task, or one per literal bound for a task with several
    assert all(reported[key] >= 1 for key in bad)


def test_a_report_says_what_to_do(lint_reports: list[dict[str, Any]]) -> None:
    texts = {r["check_name"]: r["description"] for r in lint_reports
             if r["check_name"].startswith("crossgate-")}
    assert "defaults/main.yaml, meta/argument_specs.yaml and README.rst" in texts[WAIT]
    assert "add `no_log: true`" in texts[SECRET]
