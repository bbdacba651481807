"""A catalogue of bad inputs across the roles and the CLI: each fails fast, before anything is
started, with a message naming the field, the value and what is allowed.

- CLI: ``crossgate`` subcommands with a bad option value (numbers out of range, words for
  numbers, unknown choices, malformed pairs): refused as the command line is parsed, or before
  a node, a mirror server or a build starts.
- files: a malformed or unreadable file handed to the CLI (YAML with a syntax error, a folder
  where a file belongs, a record that is not JSON) and unknown names in it (a job).
- role entry: a role given a wrong type, an unknown choice, an empty value or an empty group
  fails in its entry checks (argument specs or its first assert), before any task reaches a
  node.
- unknown variable: a variable with a role's prefix that the role does not know fails on entry
  with the closest names it takes ("did you mean ...").

Each CLI case runs the command in a subprocess with a timeout of FAST seconds: a hang or a
slow start fails the case (tests do not measure wall-clock time otherwise). The role cases run
in one ansible-playbook run (tests/unit/entrycheck.py run_cases), one play per case, against
hosts that point at a closed port: a case that got past the entry checks ends UNREACHABLE and
has no message."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from entrycheck import run_cases

ROOT = Path(__file__).resolve().parents[2]
FAST = 10  # seconds: every bad input fails within this
# A hang of a role case fails the whole (batched) run after this.
ROLES_TIMEOUT = 180

# (id, argv, words the message holds: the field, the value and what is allowed)
CLI = [
    ("nodes-boot-timeout-0", ["nodes", "up", "--boot-timeout", "0"],
     ["--boot-timeout", "'0'", "allowed: a number of seconds above 0"]),
    ("nodes-boot-timeout-negative", ["nodes", "up", "--boot-timeout", "-5"],
     ["--boot-timeout", "'-5'", "allowed: a number of seconds above 0"]),
    ("nodes-image-timeout-word", ["nodes", "up", "--image-timeout", "soon"],
     ["--image-timeout", "'soon'", "allowed: a number above 0"]),
    ("nodes-ssh-timeout-too-long", ["nodes", "up", "--ssh-timeout", "100000"],
     ["--ssh-timeout", "'100000'", "at most 86400"]),
    ("nodes-boot-timeout-nan", ["nodes", "up", "--boot-timeout", "nan"],
     ["--boot-timeout", "'nan'", "allowed: a number of seconds above 0"]),
    ("nodes-count-0", ["nodes", "up", "--count", "0"],
     ["--count", "'0'", "allowed: a number of nodes from 1 to 32"]),
    ("nodes-count-33", ["nodes", "up", "--count", "33"],
     ["--count", "'33'", "allowed: a number of nodes from 1 to 32"]),
    ("nodes-count-word", ["nodes", "up", "--count", "two"],
     ["--count", "'two'", "is not an integer", "allowed: a number of nodes from 1 to 32"]),
    ("nodes-provider-unknown", ["nodes", "up", "--provider", "cloud"],
     ["--provider", "'cloud'", "local", "inventory"]),
    ("nodes-pool-name", ["nodes", "up", "--pool", "Bad Pool!", "--count", "1"],
     ["--pool", "'Bad Pool!'", "allowed: 1-63 characters"]),
    ("nodes-link-mtu-low", ["nodes", "up", "--link-mtu", "node1=100"],
     ["--link-mtu", "'node1=100'", "allowed: an MTU from 576 to 9000"]),
    ("nodes-inventory-missing", ["nodes", "up", "--provider", "inventory"],
     ["--inventory", "None", "allowed: a YAML inventory file"]),
    ("nodes-down-grace-negative", ["nodes", "down", "--grace", "-1"],
     ["--grace", "'-1'", "allowed: a number of seconds above 0"]),
    ("nodes-down-kill-timeout-0", ["nodes", "down", "--kill-timeout", "0"],
     ["--kill-timeout", "'0'", "allowed: a number of seconds above 0"]),
    ("nodes-image-timeout-0", ["nodes", "image", "crossgate-ceph-bookworm", "--timeout", "0"],
     ["--timeout", "'0'", "allowed: a number of seconds above 0"]),
    ("nodes-list-format", ["nodes", "list", "--format", "xml"],
     ["--format", "'xml'", "text", "json"]),
    ("mirror-sync-timeout-0", ["mirror", "sync", "--package", "jq", "--timeout", "0"],
     ["--timeout", "'0'", "allowed: a number of seconds above 0"]),
    ("mirror-sync-lists-max-age-negative",
     ["mirror", "sync", "--package", "jq", "--lists-max-age", "-1"],
     ["--lists-max-age", "'-1'", "allowed: a number of seconds from 0 to"]),
    ("mirror-sync-nothing", ["mirror", "sync"],
     ["--package", "allowed: at least one --package, --requirement"]),
    ("mirror-sync-go-set-alone", ["mirror", "sync", "--go-set", "kubernetes-1.34"],
     ["--go-pins", "allowed: --go-pins FILE and --go-set NAME together"]),
    ("mirror-sync-package-name", ["mirror", "sync", "--package", "Bad!"],
     ["--package", "'Bad!'", "allowed:"]),
    ("mirror-serve-port-0", ["mirror", "serve", "--address", "127.0.0.1", "--port", "0"],
     ["--port", "'0'", "allowed: a TCP port from 1 to 65535"]),
    ("mirror-serve-port-high", ["mirror", "serve", "--address", "127.0.0.1", "--port", "70000"],
     ["--port", "'70000'", "allowed: a TCP port from 1 to 65535"]),
    ("mirror-serve-timeout-word", ["mirror", "serve", "--address", "127.0.0.1", "--timeout", "x"],
     ["--timeout", "'x'", "allowed: a number above 0"]),
    ("mirror-serve-address", ["mirror", "serve", "--address", "0.0.0.0"],
     ["--address", "'0.0.0.0'", "allowed:"]),
    ("mirror-stop-grace-0", ["mirror", "stop", "--address", "127.0.0.1", "--grace", "0"],
     ["--grace", "'0'", "allowed: a number of seconds above 0"]),
    ("run-boot-timeout-0", ["run", "some-job", "--boot-timeout", "0"],
     ["--boot-timeout", "'0'", "allowed: a number of seconds above 0"]),
    ("run-provider-unknown", ["run", "some-job", "--provider", "cloud"],
     ["--provider", "'cloud'", "local", "inventory"]),
    ("run-extra-var-name", ["run", "some-job", "-e", "1bad=x"],
     ["-e '1bad=x'", "expected VAR=VALUE with VAR a variable name"]),
    ("run-extra-var-yaml", ["run", "some-job", "-e", "a=[1"],
     ["-e 'a=[1'", "the value of a is not valid YAML", "allowed: a YAML value"]),
    ("run-label-pair", ["run", "some-job", "--label", "foo"],
     ["--label 'foo'", "expected LABEL=IMAGE"]),
    ("run-inventory-missing", ["run", "some-job", "--provider", "inventory"],
     ["--provider inventory needs --inventory FILE"]),
    ("run-link-mtu-high", ["run", "some-job", "--link-mtu", "node1=10000"],
     ["--link-mtu", "'node1=10000'", "allowed: an MTU from 576 to 9000"]),
    ("run-project-pair", ["run", "some-job", "--project", "nopath"],
     ["--project 'nopath'", "expected NAME=PATH with PATH a folder"]),
    ("check-format", ["check", "--format", "xml", "."],
     ["--format", "'xml'", "text", "json"]),
    ("report-format", ["report", "--format", "xml", "."],
     ["--format", "'xml'", "text", "json"]),
]


def crossgate(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `crossgate ARGV` from this tree in CWD; a run longer than FAST fails the test."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "plugins"))
    return subprocess.run([sys.executable, "-m", "crossgate.cli", *argv], capture_output=True,
                          text=True, timeout=FAST, env=env, cwd=cwd)


def assert_refused(proc: subprocess.CompletedProcess[str], words: list[str],
                   status: int = 2) -> None:
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == status, text
    for word in words:
        assert word in text, f"{word!r} not in: {text}"
    assert "Traceback" not in text


@pytest.mark.parametrize(("argv", "words"), [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_cli_refuses(argv: list[str], words: list[str], tmp_path: Path) -> None:
    # The state folders point into tmp_path: a case that got through finds no pool, no server.
    if argv[0] == "nodes" and argv[1] != "image":
        argv = [*argv, "--state-dir", str(tmp_path / "nodes")]
    if argv[0] == "mirror":
        argv = [*argv, "--dir", str(tmp_path / "mirror")] if argv[1] in ("sync", "serve") \
            else argv
        argv = [*argv, "--state-dir", str(tmp_path / "state")] if argv[1] != "sync" else argv
    assert_refused(crossgate(argv, tmp_path), words)


# -- files: malformed, unreadable, unknown names in them --------------------------------------

def _bad_zuul_tree(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "zuul.d").mkdir(parents=True)
    (tmp_path / "repo" / "zuul.d" / "jobs.yaml").write_text(
        "- job:\n    name: broken\n   run: [\n")
    return tmp_path / "repo"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _records(tmp_path: Path) -> Path:
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "checks.jsonl").write_text('{"check": "unterminated\n')
    return tmp_path / "records"


FILES = [
    # (id, make the input in tmp_path -> argv, exit status, words)
    ("check-yaml-syntax", lambda t: ["check", str(_bad_zuul_tree(t))], 1,
     ["zuul.d/jobs.yaml:3", "yaml-syntax", "not valid YAML"]),
    ("check-no-such-path", lambda t: ["check", str(t / "nope")], 2,
     ["nope", "is not a directory"]),
    ("check-tenant-config-missing", lambda t: ["check", "--tenant-config", str(t / "main.yaml"),
                                               str(t)], 2,
     ["main.yaml", "cannot be read", "No such file or directory"]),
    ("run-vars-file-malformed",
     lambda t: ["run", "x", "-e", f"@{_write(t / 'vars.yaml', 'a: [1' + chr(10))}"],
     2, ["-e @", "vars.yaml: not valid YAML at line 2",
         "allowed: a readable YAML file holding a mapping of variables"]),
    ("run-vars-file-missing", lambda t: ["run", "x", "-e", f"@{t}/none.yaml"], 2,
     ["none.yaml: cannot be read (No such file or directory)",
      "allowed: a readable YAML file holding a mapping of variables"]),
    ("run-vars-file-is-a-folder", lambda t: ["run", "x", "-e", f"@{t}"], 2,
     ["cannot be read (Is a directory)", "allowed: a readable YAML file"]),
    ("run-vars-file-not-a-mapping",
     lambda t: ["run", "x", "-e", f"@{_write(t / 'list.yaml', '- a' + chr(10))}"],
     2, ["list.yaml: the file holds a list, not a mapping", "allowed: a readable YAML file"]),
    ("run-zuul-config-malformed",
     lambda t: ["run", "broken", "--path", str(_bad_zuul_tree(t))], 2,
     ["zuul.d/jobs.yaml:3", "not valid YAML", "has errors; fix them first"]),
    ("run-unknown-job",
     lambda t: ["run", "no-such-job", "--path", str(ROOT), "--extra-config-path",
                "zuul-tests.d", "--build-root", str(t / "runs")], 2,
     ["job 'no-such-job' is not defined in", "allowed: a job those projects define"]),
    ("report-no-such-folder", lambda t: ["report", str(t / "nope")], 2,
     ["nope is not a folder"]),
    ("report-record-not-json", lambda t: ["report", str(_records(t))], 2,
     ["checks.jsonl:1", "not JSON"]),
]


@pytest.mark.parametrize(("make", "status", "words"), [c[1:] for c in FILES],
                         ids=[c[0] for c in FILES])
def test_files_refused(make: Callable[[Path], list[str]], status: int, words: list[str],
                       tmp_path: Path) -> None:
    argv = make(tmp_path)
    assert_refused(crossgate(argv, tmp_path), words, status)
    if argv[0] == "run":
        assert not (tmp_path / "runs").exists()  # no build started


# -- roles: bad values on entry ---------------------------------------------------------------

H = "@HOST@"  # the case's own host (entrycheck.run_cases)
CEPH = {"deploy_ceph_mon_group": f"{H}_mon", "deploy_ceph_osd_group": f"{H}_osd",
        "deploy_ceph_rgw_group": f"{H}_mon", "deploy_ceph_client_group": f"{H}_mon",
        "deploy_ceph_pool_size": 1}
CEPH_GROUPS = [f"{H}_mon", f"{H}_osd"]
CONTRACT = {"admin_node": H, "osd_count": 1, "pools": ["volumes", "images", "vms"],
            "clients": {"glance": "client.glance", "cinder": "client.cinder"},
            "rgw_endpoints": ["http://10.0.0.1:7480"]}
OVERLAY = {"configure_overlay_switch_group": f"{H}_switch"}

# (id, role, variables, groups of its host, words of the message)
ROLE_ENTRY = [
    ("deploy-ceph-pools-empty", "deploy-ceph", {**CEPH, "deploy_ceph_pools": []}, CEPH_GROUPS,
     ["deploy_ceph_pools=[] is empty", "allowed: a list of at least one pool"]),
    ("deploy-ceph-clients-empty", "deploy-ceph", {**CEPH, "deploy_ceph_clients": []},
     CEPH_GROUPS, ["deploy_ceph_clients=[] is empty", "allowed: a list of at least one client"]),
    ("deploy-ceph-pool-without-name", "deploy-ceph",
     {**CEPH, "deploy_ceph_pools": [{"application": "rbd"}]}, CEPH_GROUPS,
     ["missing required arguments: name found in deploy_ceph_pools"]),
    ("deploy-ceph-pool-application", "deploy-ceph",
     {**CEPH, "deploy_ceph_pools": [{"name": "x", "application": "nfs"}]}, CEPH_GROUPS,
     ["value of application must be one of: rbd, rgw, cephfs, got: nfs found in "
      "deploy_ceph_pools"]),
    ("deploy-ceph-client-without-caps", "deploy-ceph",
     {**CEPH, "deploy_ceph_clients": [{"name": "x"}]}, CEPH_GROUPS,
     ["missing required arguments: caps found in deploy_ceph_clients"]),
    ("deploy-ceph-empty-group", "deploy-ceph", {**CEPH, "deploy_ceph_mon_group": "empty"},
     CEPH_GROUPS, ["deploy_ceph_mon_group=empty names no node",
                   "allowed: a group with at least one node"]),
    ("deploy-ceph-type", "deploy-ceph", {**CEPH, "deploy_ceph_pool_size": "three"}, CEPH_GROUPS,
     ["deploy_ceph_pool_size", "three", "int"]),
    ("deploy-ceph-choice", "deploy-ceph", {**CEPH, "deploy_ceph_mode": "rook"}, CEPH_GROUPS,
     ["value of deploy_ceph_mode must be one of: packages, cephadm, got: rook"]),
    ("deploy-ceph-wait-timeout-0", "deploy-ceph", {**CEPH, "deploy_ceph_wait_timeout": 0},
     CEPH_GROUPS, ["deploy_ceph_wait_timeout=0", "1 or more seconds"]),
    ("deploy-ceph-cephadm-bootstrap-timeout-0", "deploy-ceph",
     {**CEPH, "deploy_ceph_cephadm_bootstrap_timeout": 0}, CEPH_GROUPS,
     ["deploy_ceph_cephadm_bootstrap_timeout=0", "allowed: 1 or more seconds"]),
    ("validate-ceph-contract-pools-empty", "validate-ceph",
     {"deploy_ceph_contract": {**CONTRACT, "pools": []}}, [],
     ["validate_ceph_rbd_pool=volumes is not a pool of the contract; allowed: none"]),
    ("validate-ceph-contract-clients-empty", "validate-ceph",
     {"deploy_ceph_contract": {**CONTRACT, "clients": {}}}, [],
     ["validate_ceph_rbd_client=cinder is not a client of the contract; allowed: none"]),
    ("validate-ceph-type", "validate-ceph",
     {"deploy_ceph_contract": CONTRACT, "validate_ceph_settle_timeout": "soon"}, [],
     ["validate_ceph_settle_timeout", "soon", "int"]),
    ("validate-ceph-settle-timeout-0", "validate-ceph",
     {"deploy_ceph_contract": CONTRACT, "validate_ceph_settle_timeout": 0}, [],
     ["validate_ceph_settle_timeout=0 is not allowed; allowed: 1 or more"]),
    ("validate-ceph-command-timeout-0", "validate-ceph",
     {"deploy_ceph_contract": CONTRACT, "validate_ceph_command_timeout": 0}, [],
     ["validate_ceph_command_timeout=0 is not allowed; allowed: 1 or more"]),
    ("validate-ceph-io-size-0", "validate-ceph",
     {"deploy_ceph_contract": CONTRACT, "validate_ceph_io_size_kb": 0}, [],
     ["validate_ceph_io_size_kb=0 is not allowed; allowed: 1 or more"]),
    ("validate-ceph-contract-missing", "validate-ceph", {}, [],
     ["needs the contract of deploy-ceph (the fact deploy_ceph_contract)"]),
    ("validate-network-ping-timeout-0", "validate-network",
     {"configure_overlay_addresses": {H: "172.24.4.1", "other": "172.24.4.2"},
      "validate_network_ping_timeout": 0}, [],
     ["validate_network_ping_timeout=0 is not allowed; allowed: 1 to 60 seconds"]),
    ("configure-overlay-vxlan-id-0", "configure-overlay",
     {**OVERLAY, "configure_overlay_vxlan_id": 0}, [f"{H}_switch"],
     ["configure_overlay_vxlan_id", "0"]),
    ("configure-overlay-cidr", "configure-overlay",
     {**OVERLAY, "configure_overlay_cidr": "10.0.0.0/16"}, [f"{H}_switch"],
     ["configure_overlay_cidr", "10.0.0.0/16"]),
    ("configure-overlay-empty-switch-group", "configure-overlay",
     {"configure_overlay_switch_group": "empty"}, [],
     ["configure_overlay_switch_group=empty has 0 node(s) (exactly 1)"]),
    ("configure-overlay-firewall-port-0", "configure-overlay-firewall",
     {"configure_overlay_firewall_port": 0}, [], ["configure_overlay_firewall_port", "0"]),
    ("configure-mirrors-url-scheme", "configure-mirrors",
     {"configure_mirrors_apt_url": "ftp://mirror/debian"}, [],
     ["configure_mirrors_apt_url", "ftp://mirror/debian"]),
    ("configure-mirrors-no-url", "configure-mirrors", {}, [], ["configure_mirrors_apt_url"]),
    ("deploy-kubernetes-choice", "deploy-kubernetes", {"deploy_kubernetes_mode": "k3s"}, [],
     ["deploy_kubernetes_mode", "k3s", "systemd", "kubeadm"]),
    ("deploy-kubernetes-version", "deploy-kubernetes", {"deploy_kubernetes_version": "2.0"}, [],
     ["deploy_kubernetes_version", "2.0"]),
    ("deploy-kubernetes-wait-timeout-0", "deploy-kubernetes",
     {"deploy_kubernetes_wait_timeout": 0}, [], ["deploy_kubernetes_wait_timeout", "0"]),
    ("deploy-openstack-release", "deploy-openstack", {"deploy_openstack_release": "2025.1"}, [],
     ["value of deploy_openstack_release must be one of", "got: 2025.1"]),
    ("deploy-openstack-empty-group", "deploy-openstack",
     {"deploy_openstack_controller_group": "empty"}, [],
     ["deploy_openstack_controller_group=empty", "allowed: exactly one node"]),
    ("deploy-openstack-hash-rounds-3", "deploy-openstack",
     {"deploy_openstack_keystone_bcrypt_rounds": 3}, [],
     ["deploy_openstack_keystone_bcrypt_rounds=3", "allowed: 4 to 31 (bcrypt)"]),
    ("provision-node-servers-empty-group", "provision-node-servers",
     {"provision_node_servers_group": "empty"}, [], ["provision_node_servers_group", "empty"]),
    ("provision-node-servers-wait-timeout-0", "provision-node-servers",
     {"provision_node_servers_wait_timeout": 0}, [],
     ["provision_node_servers_wait_timeout", "0"]),
    ("record-phase-missing", "record-phase", {}, [],
     ["missing required arguments: record_phase_phase"]),
    ("record-phase-choice", "record-phase",
     {"record_phase_phase": "deploy", "record_phase_event": "later"}, [],
     ["record_phase_event", "later"]),
    ("report-results-node", "report-results",
     {"report_results_node": "ghost", "zuul": {"executor": {"log_root": "/nonexistent"}}}, [],
     ["report_results_node ghost is not a reachable host of this play"]),
    ("run-preflight-ping-count-0", "run-preflight", {"run_preflight_ping_count": 0}, [],
     ["run_preflight_ping_count", "0"]),
    ("run-preflight-disk-negative", "run-preflight", {"run_preflight_min_free_disk_mb": -1}, [],
     ["run_preflight_min_free_disk_mb", "-1"]),
    ("validate-interop-concurrency-0", "validate-interop", {"validate_interop_concurrency": 0},
     [], ["validate_interop_concurrency", "0"]),
    ("validate-interop-statuses", "validate-interop", {"validate_interop_statuses": ["bogus"]},
     [], ["validate_interop_statuses", "bogus"]),
    ("validate-kubernetes-memory-0", "validate-kubernetes",
     {"validate_kubernetes_memory_limit_mb": 0}, [], ["validate_kubernetes_memory_limit_mb"]),
    ("validate-openstack-api-checks", "validate-openstack",
     {"validate_openstack_api_checks": ["bogus"]}, [], ["validate_openstack_api_checks", "bogus"]),
    ("validate-openstack-ceph-image-size-0", "validate-openstack-ceph",
     {"validate_openstack_ceph_image_size_kb": 0}, [],
     ["validate_openstack_ceph_image_size_kb", "0"]),
    ("write-hosts-file-empty-group", "write-hosts-file", {"write_hosts_file_groups": ["empty"]},
     [], ["write_hosts_file_groups=empty names no node",
          "allowed: groups of the inventory with at least one node"]),
    ("write-hosts-file-unknown-group", "write-hosts-file", {"write_hosts_file_groups": ["ghosts"]},
     [], ["write_hosts_file_groups=ghosts names ghosts, not a group of the inventory"]),
    ("collect-node-logs-journal-lines", "collect-node-logs",
     {"collect_node_logs_journal_lines": -1}, [],
     ["collect_node_logs_journal_lines=-1 is not allowed; allowed: 1 or more"]),
    ("collect-ceph-logs-command-timeout-0", "collect-ceph-logs",
     {"collect_ceph_logs_command_timeout": 0}, [],
     ["collect_ceph_logs_command_timeout=0 is not allowed; allowed: 1 or more"]),
    ("collect-kubernetes-logs-command-timeout-0", "collect-kubernetes-logs",
     {"collect_kubernetes_logs_command_timeout": 0}, [],
     ["collect_kubernetes_logs_command_timeout=0 is not allowed; allowed: 1 or more"]),
    ("collect-openstack-logs-command-timeout-0", "collect-openstack-logs",
     {"collect_openstack_logs_command_timeout": 0}, [],
     ["collect_openstack_logs_command_timeout=0 is not allowed; allowed: 1 or more"]),
    ("crossgate-modules-min-python", "crossgate-modules",
     {"crossgate_modules_min_python": "three"}, [],
     ["crossgate_modules_min_python=three is not a version; allowed: numbers separated by dots"]),
]

# (id, role, the misspelled variable, the variable the message suggests)
UNKNOWN = [
    ("validate-ceph", "validate_ceph_pool", "validate_ceph_rbd_pool"),
    ("validate-ceph-plural", "validate_ceph_rbd_pools", "validate_ceph_rbd_pool"),
    ("deploy-ceph", "deploy_ceph_pool", "deploy_ceph_pools"),
    ("deploy-ceph-typo", "deploy_ceph_osd_cuont", "deploy_ceph_osd_count"),
    ("deploy-openstack", "deploy_openstack_service", "deploy_openstack_services"),
    ("deploy-kubernetes", "deploy_kubernetes_versions", "deploy_kubernetes_version"),
    ("configure-overlay", "configure_overlay_vxlanid", "configure_overlay_vxlan_id"),
    ("configure-overlay-firewall", "configure_overlay_firewall_ports",
     "configure_overlay_firewall_port"),
    ("configure-mirrors", "configure_mirrors_apt", "configure_mirrors_apt_url"),
    ("collect-ceph-logs", "collect_ceph_logs_journal_line", "collect_ceph_logs_journal_lines"),
    ("collect-interop-logs", "collect_interop_logs_dirs", "collect_interop_logs_dir"),
    ("collect-kubernetes-logs", "collect_kubernetes_logs_kube_config",
     "collect_kubernetes_logs_kubeconfig"),
    ("collect-node-logs", "collect_node_logs_mask_pattern", "collect_node_logs_mask_patterns"),
    ("collect-openstack-logs", "collect_openstack_logs_unit", "collect_openstack_logs_units"),
    ("crossgate-modules", "crossgate_modules_python", "crossgate_modules_min_python"),
    ("provision-node-servers", "provision_node_servers_groups", "provision_node_servers_group"),
    ("record-phase", "record_phase_events", "record_phase_event"),
    ("report-results", "report_results_nodes", "report_results_node"),
    ("run-preflight", "run_preflight_ping_counts", "run_preflight_ping_count"),
    ("validate-interop", "validate_interop_status", "validate_interop_statuses"),
    ("validate-kubernetes", "validate_kubernetes_name_space", "validate_kubernetes_namespace"),
    ("validate-network", "validate_network_node", "validate_network_nodes"),
    ("validate-openstack", "validate_openstack_api_check", "validate_openstack_api_checks"),
    ("validate-openstack-ceph", "validate_openstack_ceph_write_kib",
     "validate_openstack_ceph_write_kb"),
    ("write-hosts-file", "write_hosts_file_group", "write_hosts_file_groups"),
    ("write-known-hosts", "write_known_hosts_paths", "write_known_hosts_path"),
]

# Variables a role requires, so that its unknown-variable check is reached.
REQUIRED = {"record-phase": {"record_phase_phase": "deploy"}}

CASES = ([(c[0], c[1], c[2], c[3], c[4]) for c in ROLE_ENTRY]
         + [(f"unknown-{c[0]}", c[0].rsplit("-plural", 1)[0].rsplit("-typo", 1)[0],
             {c[1]: "x", **REQUIRED.get(c[0], {})}, [],
             [f"{c[1]} is set but", f"has no variable {c[1]}", f"did you mean {c[2]}"])
            for c in UNKNOWN])


@pytest.fixture(scope="module")
def role_messages(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str | None], str]:
    return run_cases(tmp_path_factory.mktemp("roles"), [(c[1], c[2], c[3]) for c in CASES],
                     timeout=ROLES_TIMEOUT)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_role_refuses_on_entry(index: int, role_messages: tuple[list[str | None], str]) -> None:
    messages, out = role_messages
    message = messages[index]
    assert message is not None, f"case c{index} got past the entry checks:\n{out[-6000:]}"
    text = " ".join(message.split())
    for word in CASES[index][4]:
        assert word in text, f"{word!r} not in: {text}"


def test_catalogue_size() -> None:
    sizes = {"CLI": len(CLI), "file": len(FILES), "role entry": len(ROLE_ENTRY),
             "unknown variable": len(UNKNOWN)}
    print("bad inputs in the catalogue:", sizes, "total", sum(sizes.values()))
    assert all(sizes.values())
