"""Unit tests of crossgate.mirror's pure logic: input checks, apt output parsing, index keys,
the PEP 503 index, pip output parsing, URLs and the CLI's input errors."""

from __future__ import annotations

import http.client
import threading
from pathlib import Path

import pytest

from crossgate.mirror import apt, cli, httpd, server, wheels
from crossgate.mirror.model import InvalidInput, Layout, SyncFailure


@pytest.mark.parametrize(
    "name",
    ["jq", "python3-venv", "libstdc++6", "g++", "libc6:amd64", "jq=1.6-2.1", "ceph/bookworm"],
)
def test_valid_package_names(name: str) -> None:
    assert apt.validate_packages([name]) == [name]


@pytest.mark.parametrize("name", ["", "-o", "Jq", "jq;rm", "a b", "../x", "jq=", "--print-uris"])
def test_invalid_package_names(name: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        apt.validate_packages([name])
    assert exc.value.option == "--package"
    assert exc.value.value == name
    assert "Debian package name" in exc.value.allowed


def test_no_packages() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        apt.validate_packages([])


PRINT_URIS = """\
Reading package lists...
'http://deb.debian.org/debian/pool/main/g/gcc-12/gcc-12-base_12.2.0-14%2bdeb12u1_amd64.deb' \
gcc-12-base_12.2.0-14+deb12u1_amd64.deb 37596 MD5Sum:8e7e741807b1e1939df8f58323affdcb
'http://deb.debian.org/debian/pool/main/j/jq/jq_1.6-2.1_amd64.deb' jq_1.6-2.1_amd64.deb 64412 \
SHA256:abc
'http://example.org/x/foo_1%3a2.0_all.deb' foo_1%3a2.0_all.deb 10
'http://example.org/dists/InRelease' x_InRelease 0
"""


def test_parse_print_uris() -> None:
    got = apt.parse_print_uris(PRINT_URIS)
    assert [(f.filename, f.size) for f in got] == [
        ("gcc-12-base_12.2.0-14+deb12u1_amd64.deb", 37596),
        ("jq_1.6-2.1_amd64.deb", 64412),
        ("foo_1%3a2.0_all.deb", 10),
    ]
    assert got[1].uri.endswith("/jq_1.6-2.1_amd64.deb")


def test_parse_print_uris_nothing_to_fetch() -> None:
    assert apt.parse_print_uris("Reading package lists...\nBuilding dependency tree...\n") == []


def test_apt_options_isolate_state(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    opts = apt.apt_options(layout)
    pairs = dict(o.split("=", 1) for o in opts[1::2])
    assert all(flag == "-o" for flag in opts[::2])
    assert pairs["Dir::State::status"] == f"{tmp_path}/.state/apt/status"
    assert pairs["Dir::Cache::archives"] == f"{tmp_path}/apt/"
    assert pairs["APT::Install-Recommends"] == "false"
    assert pairs["Dir::Cache::pkgcache"] == "pkgcache.bin"
    # The host's sources and keyrings stay in use: no Dir::Etc override.
    assert not any(k.startswith("Dir::Etc") for k in pairs)
    assert (
        dict(o.split("=", 1) for o in apt.apt_options(layout, True)[1::2])[
            "APT::Install-Recommends"
        ]
        == "true"
    )


def test_index_key_order_independent_and_sensitive() -> None:
    a = [("a.deb", 1, 5), ("b.deb", 2, 6)]
    assert apt.index_key(a) == apt.index_key(list(reversed(a)))
    assert apt.index_key(a) != apt.index_key([("a.deb", 1, 5), ("b.deb", 3, 6)])
    assert apt.index_key(a) != apt.index_key(a[:1])


def test_sources_line() -> None:
    want = "deb [trusted=yes] http://10.0.0.1:8780/apt/ ./"
    assert apt.sources_line("http://10.0.0.1:8780/apt") == want
    assert apt.sources_line("http://10.0.0.1:8780/apt/") == want


def test_layout(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert layout.apt == tmp_path / "apt"
    assert layout.simple == tmp_path / "wheels" / "simple"
    assert layout.apt_state.parent.name == ".state"


# -- wheels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["six", "six==1.17.0", "oslo.config>=9", "requests[socks]<3"])
def test_valid_requirements(spec: str) -> None:
    assert wheels.validate_requirements([f" {spec} "]) == [spec]


@pytest.mark.parametrize("spec", ["", "-r x.txt", "--index-url=http://x", "six==", "a b c"])
def test_invalid_requirements(spec: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        wheels.validate_requirements([spec])
    assert exc.value.option == "--requirement"
    assert "PEP 508" in exc.value.allowed


@pytest.mark.parametrize(
    ("name", "want"),
    [("Oslo.Config", "oslo-config"), ("zope_interface", "zope-interface"), ("a--b__c", "a-b-c")],
)
def test_normalize(name: str, want: str) -> None:
    assert wheels.normalize(name) == want


def test_wheel_project() -> None:
    assert wheels.wheel_project("oslo.config-9.0.0-py3-none-any.whl") == "oslo-config"
    assert wheels.wheel_project("Foo_Bar-1.0-cp311-cp311-manylinux_2_17_x86_64.whl") == "foo-bar"
    with pytest.raises(ValueError):
        wheels.wheel_project("six-1.0.tar.gz")


def test_simple_index() -> None:
    pages = wheels.simple_index(
        {
            "six-1.17.0-py2.py3-none-any.whl": "aa",
            "oslo.config-9.0.0-py3-none-any.whl": "bb",
            "oslo_config-9.1.0-py3-none-any.whl": "cc",
        }
    )
    assert sorted(pages) == ["index.html", "oslo-config/index.html", "six/index.html"]
    assert '<a href="oslo-config/">' in pages["index.html"]
    osl = pages["oslo-config/index.html"]
    assert 'href="../../oslo.config-9.0.0-py3-none-any.whl#sha256=bb"' in osl
    assert 'href="../../oslo_config-9.1.0-py3-none-any.whl#sha256=cc"' in osl
    assert "six" not in osl


def test_parse_pip_wheel_output() -> None:
    text = """\
Processing ./wh/six-1.17.0-py2.py3-none-any.whl
  File was already downloaded /tmp/wh/six-1.17.0-py2.py3-none-any.whl
Collecting idna
Saved ./wh/idna-3.20-py3-none-any.whl
Saved ./wh/idna-3.20-py3-none-any.whl
Saved ./wh/foo-1.0.tar.gz
"""
    assert wheels.parse_pip_wheel_output(text) == [
        "six-1.17.0-py2.py3-none-any.whl",
        "idna-3.20-py3-none-any.whl",
    ]


def test_pip_conf() -> None:
    text = wheels.pip_conf("http://h:1/wheels/simple/", "http://h:1/wheels/", ["h"])
    assert text == (
        "[global]\nindex-url = http://h:1/wheels/simple/\nfind-links = http://h:1/wheels/\n"
        "trusted-host = h\n"
    )
    assert wheels.pip_conf(None, None, []) == "[global]\n"


def test_pick_python_rejects_other_version(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    with pytest.raises(InvalidInput) as exc:
        wheels.pick_python(str(fake))
    assert exc.value.option == "--python"
    assert "3.11" in exc.value.allowed and "found 3.9" in exc.value.allowed


def test_pick_python_missing() -> None:
    with pytest.raises(InvalidInput, match="--python"):
        wheels.pick_python("/nonexistent/python")


# -- server ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "localhost", "10.0.0.300", ""])
def test_invalid_addresses(address: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        server.validate_address(address)
    assert exc.value.option == "--address"


def test_valid_addresses() -> None:
    assert server.validate_address("127.0.0.1") == "127.0.0.1"
    assert server.validate_address("::1") == "::1"


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_invalid_ports(port: int) -> None:
    with pytest.raises(InvalidInput, match="--port"):
        server.validate_port(port)


def test_urls() -> None:
    assert server.mirror_urls("10.240.1.1", 8780) == {
        "apt": "http://10.240.1.1:8780/apt/",
        "wheels": "http://10.240.1.1:8780/wheels/",
        "pypi": "http://10.240.1.1:8780/wheels/simple/",
        "go": "http://10.240.1.1:8780/go/",
    }
    assert server.base_url("::1", 80) == "http://[::1]:80"


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/", True),
        ("/apt/", True),
        ("/apt/Packages.gz", True),
        ("/wheels/simple/six/", True),
        ("/.state/apt/status", False),
        ("/apt/.hidden", False),
        ("/apt/%2e%2e/.state/x", False),
        ("/etc/passwd", False),
        ("/apt/../.state", False),
        ("/apt/./Packages", True),
        ("/apt/../wheels/x.whl", True),
        ("/wheels/../../etc/passwd", False),
        ("/go/kubernetes-1.34-0123456789ab/bin/kubelet", True),
        ("/go/../.state/go/mod", False),
        ("/gopher", False),
    ],
)
def test_allowed_path(path: str, ok: bool) -> None:
    assert httpd.allowed_path(path) is ok


def test_httpd_serves_only_the_mirror(tmp_path: Path) -> None:
    (tmp_path / "apt").mkdir()
    (tmp_path / "apt" / "Packages").write_text("Package: x\n")
    (tmp_path / ".state").mkdir()
    (tmp_path / ".state" / "secret").write_text("no")
    srv = httpd.make_server("127.0.0.1", 0, str(tmp_path))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
        conn.request("GET", "/apt/Packages")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"Package: x\n")
        # HTTP/1.1 keep-alive: a second request on the same connection.
        conn.request("GET", "/.state/secret")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404
    finally:
        srv.shutdown()
        srv.server_close()


def test_httpd_refuses_unspecified_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unspecified"):
        httpd.make_server("0.0.0.0", 0, str(tmp_path))


def test_server_state_file_names(tmp_path: Path) -> None:
    assert server.state_path(tmp_path, "127.0.0.1", 8780).name == "server-127.0.0.1-8780.json"
    assert server.status(tmp_path / "none") == []


def test_stop_without_server(tmp_path: Path) -> None:
    assert server.stop("127.0.0.1", 8780, tmp_path) is False


# -- CLI ------------------------------------------------------------------------------------------


def test_split_names() -> None:
    assert cli.split_names(["jq,curl", "python3-venv  git"]) == [
        "jq",
        "curl",
        "python3-venv",
        "git",
    ]


def test_format_bytes() -> None:
    assert cli.format_bytes(10) == "10 B"
    assert cli.format_bytes(2048) == "2.0 KiB"
    assert cli.format_bytes(5 * 2**20) == "5.0 MiB"
    assert cli.format_bytes(3 * 2**30) == "3.00 GiB"


@pytest.mark.parametrize(
    ("argv", "option", "value"),
    [
        (["sync"], "--package", "''"),
        (["sync", "--package", "Bad!"], "--package", "'Bad!'"),
        (["sync", "--requirement", "-e ."], "--requirement", "'-e .'"),
        (["serve", "--address", "0.0.0.0"], "--address", "'0.0.0.0'"),
        (["stop", "--address", "example.org"], "--address", "'example.org'"),
    ],
)
def test_cli_input_errors(
    argv: list[str], option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*argv, "--dir", str(tmp_path)] if argv[0] in ("sync", "serve") else argv
    if argv[0] in ("serve", "stop"):
        argv += ["--state-dir", str(tmp_path / "st")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{option}: invalid value {value}" in err
    assert "allowed:" in err


@pytest.mark.parametrize(
    ("argv", "option", "value", "allowed"),
    [
        (["sync", "--package", "jq", "--timeout", "0"], "--timeout", "'0'",
         "a number of seconds above 0"),
        (["sync", "--package", "jq", "--lists-max-age", "-1"], "--lists-max-age", "'-1'",
         "a number of seconds from 0 to"),
        (["serve", "--address", "127.0.0.1", "--port", "70000"], "--port", "'70000'",
         "a TCP port from 1 to 65535"),
        (["stop", "--address", "127.0.0.1", "--grace", "soon"], "--grace", "'soon'",
         "a number above 0"),
    ],
)
def test_cli_numbers_refused_as_parsed(argv: list[str], option: str, value: str, allowed: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {value} is " in err and f"allowed: {allowed}" in err


def test_cli_serve_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(
        [
            "serve",
            "--address",
            "127.0.0.1",
            "--dir",
            str(tmp_path / "nope"),
            "--state-dir",
            str(tmp_path / "st"),
        ]
    )
    assert rc == 2
    assert "--dir: invalid value" in capsys.readouterr().err


def test_cli_without_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "sync" in capsys.readouterr().err


# -- server process on loopback -------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_start_stop_by_pid(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "apt").mkdir(parents=True)
    (mirror / "apt" / "Packages").write_text("")
    port = _free_port()
    state = server.start(mirror, "127.0.0.1", port, tmp_path / "st", timeout=10)
    try:
        assert server.alive(state.pid, state.pid_start)
        assert server.probe(f"{state.url}/apt/Packages") is None
        # Starting again for the same folder returns the running server.
        again = server.start(mirror, "127.0.0.1", port, tmp_path / "st", timeout=10)
        assert again.pid == state.pid
        # Another folder on the same address and port is refused.
        other = tmp_path / "other"
        other.mkdir()
        with pytest.raises(server.ServerFailure, match="already serves"):
            server.start(other, "127.0.0.1", port, tmp_path / "st", timeout=10)
        assert [r["running"] for r in server.status(tmp_path / "st")] == [True]
    finally:
        assert server.stop("127.0.0.1", port, tmp_path / "st") is True
    assert not server.alive(state.pid, state.pid_start)
    assert server.status(tmp_path / "st") == []


def test_server_that_cannot_bind_names_its_log(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    # 192.0.2.1 (TEST-NET-1) is not an address of this host: bind fails, the process exits.
    with pytest.raises(server.ServerFailure) as exc:
        server.start(tmp_path / "mirror", "192.0.2.1", _free_port(), tmp_path / "st", timeout=5)
    text = str(exc.value)
    assert "exited with status" in text and "log: " + str(tmp_path / "st") in text
    assert server.status(tmp_path / "st") == []


def test_server_start_timeout_names_url_state_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = tmp_path / "silent.py"
    silent.write_text("import sys, time\nprint('starting', flush=True)\ntime.sleep(60)\n")
    monkeypatch.setattr(server, "HTTPD", silent)
    (tmp_path / "mirror").mkdir()
    port = _free_port()
    with pytest.raises(server.ServerFailure) as exc:
        server.start(tmp_path / "mirror", "127.0.0.1", port, tmp_path / "st", timeout=0.5)
    text = str(exc.value)
    assert f"waiting for the mirror server to answer GET http://127.0.0.1:{port}/" in text
    assert "last state: " in text and "log: " in text and "| starting" in text
    assert server.status(tmp_path / "st") == []


def test_shown_drops_apt_options() -> None:
    argv = ["apt-get", "-o", "Dir::State=/x/", "-o", "quiet=1", "install", "--print-uris", "jq"]
    assert apt.shown(argv) == "apt-get install --print-uris jq"


def test_unknown_package_and_distribution() -> None:
    text = "Reading package lists...\nE: Unable to locate package no-such-pkg\n"
    assert apt.unknown_package(text) == "no-such-pkg"
    assert apt.unknown_package("E: Could not get lock /x/lock") is None
    pip_text = "ERROR: No matching distribution found for nosuch==1.0\n"
    assert wheels.unknown_distribution(pip_text) == "nosuch==1.0"
    assert wheels.unknown_distribution("ERROR: something else") is None


APT_CONFLICT = """Reading package lists...
The following packages have unmet dependencies:
 busybox : Conflicts: busybox-static but 1:1.35.0-4+deb12u1+b1 is to be installed
 busybox-static : Conflicts: busybox
 foo : Depends: bar but it is not going to be installed
       Breaks: baz (< 2)
E: Unable to correct problems, you have held broken packages.
"""


def test_conflicting_packages_are_named() -> None:
    assert apt.conflicts(APT_CONFLICT) == [("busybox", "busybox-static"), ("foo", "baz")]
    assert apt.conflicts("E: Unable to locate package jq\n") == []
    failure = SyncFailure("apt-get --print-uris failed (exit 100): apt-get install ...\n"
                          + APT_CONFLICT)
    with pytest.raises(InvalidInput) as exc:
        apt._raise_unknown(failure)
    text = str(exc.value)
    assert "--package: invalid value 'baz, busybox, busybox-static, foo'" in text
    assert "busybox conflicts with busybox-static; foo conflicts with baz" in text
    assert "keep one of each pair" in text


def test_site_vars_name_only_the_parts_that_hold_something(tmp_path: Path) -> None:
    urls = server.mirror_urls("10.0.0.1", 8080)
    assert server.site_vars(tmp_path, urls) == {}
    (tmp_path / "go").mkdir()
    assert server.site_vars(tmp_path, urls) == {"crossgate_mirror_go_url": urls["go"]}
    (tmp_path / "apt").mkdir()
    (tmp_path / "apt" / "Packages").write_text("")
    (tmp_path / "wheels" / "simple").mkdir(parents=True)
    assert server.site_vars(tmp_path, urls) == {
        "crossgate_mirror_apt_url": "http://10.0.0.1:8080/apt/",
        "crossgate_mirror_pypi_url": "http://10.0.0.1:8080/wheels/simple/",
        "crossgate_mirror_wheels_url": "http://10.0.0.1:8080/wheels/",
        "crossgate_mirror_go_url": "http://10.0.0.1:8080/go/",
    }
