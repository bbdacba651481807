"""Pure logic of crossgate.nodes: addressing, labels, state, parsing, CLI input errors."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from crossgate.nodes import images, inventory, labels, network, state, system
from crossgate.nodes.cli import main as nodes_main
from crossgate.nodes.model import (
    MAX_NODES,
    InvalidInput,
    Node,
    NodeFailure,
    NodeSpec,
    parse_link_mtus,
    parse_node_arg,
    specs_for_count,
    validate_specs,
)

# -- network -------------------------------------------------------------------------------


def test_pool_net_is_stable_and_inside_the_supernet() -> None:
    a = network.choose_pool_net("/var/lib/crossgate/pools", "default", set(), [])
    b = network.choose_pool_net("/var/lib/crossgate/pools", "default", set(), [])
    assert a == b
    assert a.bridge == "cg-" + a.pool_id and len(a.bridge) <= 15
    subnet = ipaddress.IPv4Network(a.subnet)
    assert subnet.prefixlen == 24 and subnet.subnet_of(network.SUPERNET)
    assert a.host_address == str(subnet.network_address + 1)


def test_pool_net_differs_by_pool_and_state_root() -> None:
    nets = {
        network.choose_pool_net(root, pool, set(), [])
        for root in ("/a", "/b")
        for pool in ("default", "other")
    }
    assert len({n.bridge for n in nets}) == 4
    assert len({n.subnet for n in nets}) == 4


@pytest.mark.parametrize("taken", ["bridge", "subnet", "overlap"])
def test_pool_net_skips_taken_bridges_and_subnets(taken: str) -> None:
    first = network.candidate("/r", "p", 0)
    links = {first.bridge} if taken == "bridge" else set()
    subnets = {"bridge": [], "subnet": [first.subnet], "overlap": ["10.240.0.0/12"]}[taken]
    if taken == "overlap":
        with pytest.raises(RuntimeError, match="no free bridge/subnet for pool p"):
            network.choose_pool_net("/r", "p", links, subnets)
        return
    chosen = network.choose_pool_net("/r", "p", links, subnets)
    assert chosen == network.candidate("/r", "p", 1)


@pytest.mark.parametrize(
    ("index", "address", "mac"),
    [
        (0, "10.250.3.10", "02:ab:cd:ef:00:00"),
        (1, "10.250.3.11", "02:ab:cd:ef:00:01"),
        (31, "10.250.3.41", "02:ab:cd:ef:00:1f"),
    ],
)
def test_node_address_and_mac(index: int, address: str, mac: str) -> None:
    assert network.node_address("10.250.3.0/24", index) == address
    assert network.node_mac("abcdef", index) == mac


def test_bridge_mac_is_outside_the_node_range() -> None:
    assert network.bridge_mac("abcdef") == "02:ab:cd:ef:ff:ff"
    macs = {network.node_mac("abcdef", i) for i in range(MAX_NODES)}
    assert network.bridge_mac("abcdef") not in macs


def test_node_index_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        network.node_address("10.250.3.0/24", 250)


def test_machine_and_veth_names_fit_interface_names() -> None:
    machine = network.machine_name("abcdef", MAX_NODES - 1)
    assert network.host_veth(machine) == "vb-" + machine
    assert len(network.host_veth(machine)) <= 15


def test_hosts_file_lists_host_and_nodes() -> None:
    text = network.hosts_file([("a", "10.0.0.10"), ("b", "10.0.0.11")], ("10.0.0.1", "h"))
    assert "127.0.0.1\tlocalhost" in text
    assert text.endswith("10.0.0.1\th\n10.0.0.10\ta\n10.0.0.11\tb\n")


def test_networkd_file_has_static_address_and_no_ipv6_autoconf() -> None:
    text = network.networkd_file("02:00:00:00:00:01", "10.0.0.10", 24)
    assert "Address=10.0.0.10/24" in text
    assert "IPv6AcceptRA=no" in text and "LinkLocalAddressing=no" in text
    assert "[Match]\nName=host0\n" in text and "MACAddress=02:00:00:00:00:01" in text
    assert "\nGateway=" not in text and "\nDNS=" not in text


# -- labels and specs ----------------------------------------------------------------------


def test_labels_map_to_images() -> None:
    assert labels.image_for_label("debian-bookworm") == "debian-bookworm"
    assert labels.image_for_label("ubuntu-noble") == "debian-bookworm"
    assert labels.image_for_label("x", {"x": "/srv/rootfs"}) == "/srv/rootfs"
    from crossgate.nodes.bake import BAKES
    for image in set(labels.LABELS.values()):
        assert image in labels.RECIPES or BAKES[image].base in labels.RECIPES


def test_unknown_label_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as info:
        labels.image_for_label("centos-9")
    assert "centos-9" in str(info.value) and "ubuntu-noble" in str(info.value)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("web", NodeSpec("web", "debian-bookworm")),
        ("db:ubuntu-jammy", NodeSpec("db", "ubuntu-jammy")),
    ],
)
def test_parse_node_arg(text: str, spec: NodeSpec) -> None:
    assert parse_node_arg(text, "debian-bookworm") == spec


@pytest.mark.parametrize("name", ["", "Web", "1node", "a_b", "x" * 40, "node-"])
def test_bad_node_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="--node"):
        parse_node_arg(name, "debian-bookworm")


def test_specs_for_count_and_limits() -> None:
    assert [s.name for s in specs_for_count(3, "debian")] == ["node1", "node2", "node3"]
    for bad in (0, -1, MAX_NODES + 1):
        with pytest.raises(InvalidInput, match=f"--count: invalid value {bad}"):
            specs_for_count(bad, "debian")


def test_validate_specs_rejects_duplicates_and_unknown_labels() -> None:
    with pytest.raises(InvalidInput, match="each node name once"):
        validate_specs([NodeSpec("a"), NodeSpec("a")])
    with pytest.raises(InvalidInput, match="'a:nope'"):
        validate_specs([NodeSpec("a", "nope")], ["debian"])


def test_parse_link_mtus() -> None:
    assert parse_link_mtus([]) == {}
    assert parse_link_mtus(["peer1=1400", "peer2=576", "peer1=9000"]) == {
        "peer1": 9000, "peer2": 576}


@pytest.mark.parametrize(
    "item, allowed",
    [
        ("peer1", "NODE=MTU"),
        ("peer1=", "an MTU from 576 to 9000"),
        ("peer1=big", "an MTU from 576 to 9000"),
        ("peer1=575", "an MTU from 576 to 9000"),
        ("peer1=9001", "an MTU from 576 to 9000"),
        ("Peer1=1400", "lower-case letters"),
    ],
)
def test_parse_link_mtus_names_option_value_and_allowed(item: str, allowed: str) -> None:
    with pytest.raises(InvalidInput, match=r"^--link-mtu: invalid value") as exc:
        parse_link_mtus([item])
    assert allowed in exc.value.allowed
    assert item.partition("=")[0] in str(exc.value.value)


def test_link_mtu_for_an_unknown_node_is_refused_before_anything_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crossgate.nodes.local import LocalPool

    pool = LocalPool("p", state_root=tmp_path, link_mtus={"ghost": 1400})
    with pytest.raises(InvalidInput, match=r"'ghost=1400'; allowed: a node of the pool: a, b"):
        pool.up([NodeSpec("a"), NodeSpec("b")])
    assert list(tmp_path.iterdir()) == []


def test_nodes_up_refuses_link_mtu_with_the_inventory_provider(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    inv = tmp_path / "inv.yaml"
    inv.write_text("all: {hosts: {}}\n")
    rc = nodes_main(["nodes", "up", "--provider", "inventory", "--inventory", str(inv),
                     "--link-mtu", "a=1400"])
    assert rc == 2
    assert "--link-mtu" in capsys.readouterr().err


# -- state ---------------------------------------------------------------------------------


def _state() -> state.PoolState:
    s = state.PoolState("p", "abcdef", "cg-abcdef", "10.250.3.0/24", "10.250.3.1")
    s.nodes["a"] = state.NodeState(
        name="a",
        index=0,
        label="debian",
        image="/img",
        address="10.250.3.10",
        mac="02:ab:cd:ef:00:00",
        machine="cgabcdefn0",
        dir="/d/a",
        root="/d/a/root",
        veth="vb-cgabcdefn0",
        cgroups=["crossgate-abcdef-a"],
        cgroup_dirs=["/sys/fs/cgroup/memory/job/crossgate-abcdef-a"],
        features=["containers"],
        pid=123,
        pid_start=456,
        status="up",
    )
    return s


def test_state_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "state.json"
    state.save_state(path, _state())
    assert state.load_state(path) == _state()
    assert state.load_state(tmp_path / "missing.json") is None
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "state is not JSON"),
        ('{"version": 99}', "unsupported state version: 99"),
        ('{"version": 1, "pool": "p"}', "bad state fields"),
    ],
)
def test_bad_state(text: str, message: str) -> None:
    with pytest.raises(state.StateError, match=message):
        state.parse_state(text)


def test_state_json_keeps_what_cleanup_needs() -> None:
    data = json.loads(_state().to_json())
    node = data["nodes"]["a"]
    for key in ("pid", "pid_start", "cgroups", "cgroup_dirs", "root", "veth", "mounted"):
        assert key in node
    assert data["bridge"] == "cg-abcdef"


# -- apt sources and iptables --------------------------------------------------------------

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
"""


def test_deb822_sources_and_mirror_choice() -> None:
    sources = images.parse_deb822_sources(DEB822)
    assert [s.uri for s in sources] == [
        "http://mirror.example/debian",
        "http://mirror.example/debian-security",
    ]
    assert images.pick_mirror(sources, "bookworm") == "http://mirror.example/debian"
    assert images.pick_mirror([], "bookworm") == images.DEFAULT_MIRROR


def test_one_line_sources() -> None:
    text = (
        "# comment\ndeb-src http://s/ bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm main contrib\n"
    )
    (src,) = images.parse_sources_list(text)
    assert src == images.AptSource("http://m/debian", ("bookworm",), ("main", "contrib"))


def test_recipe_hash_changes_with_the_recipe() -> None:
    base = labels.BOOKWORM
    assert images.recipe_hash(base) == images.recipe_hash(base)
    changed = labels.Recipe(**{**base.__dict__, "packages": (*base.packages, "vim")})
    assert images.recipe_hash(changed) != images.recipe_hash(base)


def test_rules_with_comment() -> None:
    listing = (
        "-P FORWARD ACCEPT\n"
        '-A FORWARD -i cg-1 -o cg-1 -m comment --comment "crossgate:1" -j ACCEPT\n'
        '-A INPUT -i cg-2 -m comment --comment "crossgate:2" -j ACCEPT\n'
        "-A INPUT -i eth0 -j DROP\n"
    )
    assert system.rules_with_comment(listing, "crossgate:1") == [
        [
            "FORWARD",
            "-i",
            "cg-1",
            "-o",
            "cg-1",
            "-m",
            "comment",
            "--comment",
            "crossgate:1",
            "-j",
            "ACCEPT",
        ]
    ]


# -- inventory -----------------------------------------------------------------------------


def _inv() -> list[Node]:
    return inventory.parse_inventory(
        {
            "nodes": [
                {"name": "m1", "address": "192.0.2.10", "key": "/k", "labels": ["noble"]},
                {
                    "name": "m2",
                    "address": "192.0.2.11",
                    "key": "/k",
                    "labels": "noble",
                    "user": "zuul",
                    "port": 2222,
                },
            ]
        }
    )


def test_parse_inventory() -> None:
    m1, m2 = _inv()
    assert (m1.user, m1.port, m1.labels) == ("root", 22, ["noble"])
    assert (m2.user, m2.port, m2.labels) == ("zuul", 2222, ["noble"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "a YAML file with a non-empty 'nodes' list"),
        ({"nodes": [{"name": "a", "address": "x"}]}, "missing key"),
        ({"nodes": [{"name": "a", "address": "x", "key": "k", "pw": 1}]}, "'pw'"),
        ({"nodes": [{"name": "a", "address": "x", "key": "k"}] * 2}, "duplicate names"),
    ],
)
def test_bad_inventory(data: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        inventory.parse_inventory(data)


def test_assign_by_name_then_label() -> None:
    nodes = inventory.assign(_inv(), [NodeSpec("m2", "m2"), NodeSpec("controller", "noble")])
    assert [(n.name, n.address) for n in nodes] == [
        ("m2", "192.0.2.11"),
        ("controller", "192.0.2.10"),
    ]
    with pytest.raises(NodeFailure, match="no free machine for node c3 with label noble"):
        inventory.assign(
            _inv(), [NodeSpec("a", "noble"), NodeSpec("b", "noble"), NodeSpec("c3", "noble")]
        )


# -- CLI input errors (exit 2, nothing started) --------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--node", "Bad"], "--node: invalid value 'Bad'"),
        (["--node", "a:centos"], "--node: invalid value 'a:centos'; allowed: a known label"),
        (["--count", "2", "--label", "nope"], "--label: invalid value 'nope'"),
        (["--node", "a", "--count", "2"], "either --node or --count"),
        (["--pool", "../x"], "--pool: invalid value '../x'"),
        (["--provider", "inventory", "--node", "a"], "--inventory: invalid value None"),
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], message: str, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = nodes_main(["nodes", "up", "--state-dir", str(tmp_path), *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "message"), [
    ("0", "argument --count: '0' is out of range; allowed: a number of nodes from 1 to 32"),
    ("33", "argument --count: '33' is out of range"),
    ("two", "argument --count: 'two' is not an integer; allowed: a number of nodes from 1"),
])
def test_count_refused_as_parsed(value: str, message: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        nodes_main(["nodes", "up", "--state-dir", str(tmp_path), "--count", value])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_debootstrap_is_a_node_failure(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A host without debootstrap: a NodeFailure naming the tool and its fix (the
    runner reports NODE_FAILURE), not a traceback."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    recipe = images.RECIPES["debian-bookworm"]
    with pytest.raises(images.ImageError, match="debootstrap is not installed"):
        images.ensure_image("debian-bookworm", tmp_path / "cache", mirror="http://m/debian",
                            timeout=5)
    assert isinstance(images.ImageError("x"), images.NodeFailure)
    assert images.cached_image(recipe, tmp_path / "cache") is None


@pytest.mark.parametrize("argv", [
    ["nodes", "up", "--pool", "p", "--count", "1", "--boot-timeout", "0"],
    ["nodes", "up", "--pool", "p", "--count", "1", "--boot-timeout", "-5"],
    ["nodes", "up", "--pool", "p", "--count", "1", "--image-timeout", "soon"],
    ["nodes", "down", "--pool", "p", "--grace", "0"],
    ["run", "some-job", "--boot-timeout", "0"],
])
def test_bounds_must_be_positive_seconds(argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from crossgate.cli import main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    flag = next(a for a in argv if a.endswith(("-timeout", "--grace")))
    assert f"argument {flag}" in err and "allowed: a number" in err


# -- nodes that run containers -------------------------------------------------------------

HYBRID_MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
cgroup /mnt/other\\040place/memory cgroup rw,relatime,memory 0 0
"""
HYBRID_SELF = """\
5:name=systemd:/user.slice
4:pids:/
3:memory:/job/42
2:cpu,cpuacct:/
0::/user.slice
"""


@pytest.mark.parametrize(
    ("mounts", "self_cgroup", "expected"),
    [
        # one directory per v1 hierarchy, beside this process's own; co-mounted controllers
        # are one hierarchy; name=systemd and v2 are left to CGROUP_ROOTS; a second mount of a
        # hierarchy does not count twice
        (HYBRID_MOUNTS, HYBRID_SELF, ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory/job/42",
                                      "/sys/fs/cgroup/pids"]),
        # a pure v2 host has no v1 hierarchy
        ("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", "0::/init.scope\n", []),
        # a controller mounted but not listed for the process is not used
        ("cgroup /sys/fs/cgroup/rdma cgroup rw,rdma 0 0\n", "0::/\n", []),
    ],
)
def test_v1_cgroup_parents(mounts: str, self_cgroup: str, expected: list[str]) -> None:
    assert [str(p) for p in system.v1_cgroup_parents(mounts, self_cgroup)] == expected


def test_container_features_belong_to_their_labels_only() -> None:
    from crossgate.nodes.labels import LABEL_FEATURES, LABELS, features_for_label

    assert features_for_label("crossgate-kubernetes-bookworm") == ["containers"]
    assert set(LABEL_FEATURES) <= set(LABELS)
    for label in ("debian-bookworm", "crossgate-openstack-ceph-bookworm", "ubuntu-noble"):
        assert features_for_label(label) == []
    with pytest.raises(InvalidInput, match=r"features of label x: invalid value 'gpu'; "
                                           r"allowed: one of containers"):
        features_for_label("x", {"x": ("gpu",)})


def test_only_container_nodes_get_the_container_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crossgate.nodes import local

    pool = local.LocalPool("p", state_root=tmp_path)
    ordinary = _state().nodes["a"]
    ordinary.features = []
    ordinary.root = str(tmp_path / "root")
    (tmp_path / "ssh/hostkeys").mkdir(parents=True)
    for f in ("ssh/id_ed25519.pub", "ssh/hostkeys/a", "ssh/hostkeys/a.pub"):
        (tmp_path / f).write_text("ssh-ed25519 AAAA x\n")
    pool.dir = tmp_path
    pool._write_node_files(_state(), ordinary)
    assert not (tmp_path / "root/etc/systemd/system" / local.CGROUP_RW_UNIT).exists()
    ordinary.features = ["containers"]
    pool._write_node_files(_state(), ordinary)
    wants = tmp_path / "root/etc/systemd/system/sysinit.target.wants" / local.CGROUP_RW_UNIT
    assert wants.resolve() == tmp_path / "root/etc/systemd/system" / local.CGROUP_RW_UNIT
    assert "remount,bind,rw" in wants.read_text()
    pool._write_node_files(_state(), ordinary)  # again: the same files, no error


def test_host_commands_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system.HOST_COMMAND_TIMEOUT_VAR, "0.3")
    with pytest.raises(system.HostCommandTimeout,
                       match=r"host command 'sleep 5' did not finish within 0.3 s "
                             r"\(CROSSGATE_HOST_COMMAND_TIMEOUT\); it was killed"):
        system.run(["sleep", "5"])
    # a caller that tolerates failure (teardown) gets a failed result that says why
    proc = system.run(["sleep", "5"], check=False)
    assert proc.returncode == 124 and "did not finish within 0.3 s" in proc.stderr
    assert system.run(["true"]).returncode == 0


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_host_command_bound_must_be_positive_seconds(monkeypatch: pytest.MonkeyPatch,
                                                     raw: str) -> None:
    monkeypatch.setenv(system.HOST_COMMAND_TIMEOUT_VAR, raw)
    with pytest.raises(InvalidInput, match=rf"CROSSGATE_HOST_COMMAND_TIMEOUT: invalid value "
                                           rf"'{raw}'; allowed: a number of seconds greater "
                                           r"than 0"):
        system.run(["true"])
