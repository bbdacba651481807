"""Programs built from Go modules into the mirror: the pin file, the module made for each
group (its replace directives repeated), and a real `go build` from a module proxy folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from crossgate.mirror import cli, gobuild, httpd
from crossgate.mirror.model import InvalidInput, SyncFailure

KUBERNETES_GOMOD = """module k8s.io/kubernetes

go 1.24.0

require (
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go // the staging copy
)
"""

PROVIDER_GOMOD = """module k8s.io/cloud-provider-openstack

go 1.25.1

require k8s.io/kubernetes v1.34.1

replace k8s.io/kube-proxy => k8s.io/kube-proxy v0.34.1
replace (
	k8s.io/endpointslice => k8s.io/endpointslice v0.34.1
)
"""

ETCD_GOMOD = """module go.etcd.io/etcd/server/v3

go 1.24

replace (
	go.etcd.io/etcd/api/v3 => ../api
	go.etcd.io/etcd/server/v3 => ./
)

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
"""


def group(**kw: object) -> gobuild.Group:
    base: dict = {"name": "g", "module": "k8s.io/kubernetes", "version": "v1.34.4",
                  "programs": {"kubelet": "cmd/kubelet"}, "local_replaces": "v0.34.4"}
    base.update(kw)
    return gobuild.Group(**base)


def test_replaces_reads_blocks_single_lines_and_comments() -> None:
    assert gobuild.replaces(KUBERNETES_GOMOD) == [
        ("k8s.io/api", "./staging/src/k8s.io/api", ""),
        ("k8s.io/client-go", "./staging/src/k8s.io/client-go", "")]
    assert gobuild.replaces(PROVIDER_GOMOD) == [
        ("k8s.io/kube-proxy", "k8s.io/kube-proxy", "v0.34.1"),
        ("k8s.io/endpointslice", "k8s.io/endpointslice", "v0.34.1")]


def test_staging_modules_become_their_released_versions() -> None:
    text = gobuild.module_file(group(name="kubernetes"), KUBERNETES_GOMOD)
    assert "module crossgate.invalid/build/kubernetes" in text
    assert "\ngo 1.24.0\n" in text
    assert "require k8s.io/kubernetes v1.34.4" in text
    assert "\tk8s.io/api => k8s.io/api v0.34.4" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.34.4" in text
    assert "tool (\n\tk8s.io/kubernetes/cmd/kubelet\n)" in text


def test_a_replacement_by_another_module_is_repeated_as_it_is() -> None:
    g = group(module="k8s.io/cloud-provider-openstack", version="v1.34.1",
              local_replaces="v1.34.1",
              programs={"occm": "cmd/openstack-cloud-controller-manager"})
    text = gobuild.module_file(g, PROVIDER_GOMOD)
    assert "\tk8s.io/kube-proxy => k8s.io/kube-proxy v0.34.1" in text
    assert "\tk8s.io/endpointslice => k8s.io/endpointslice v0.34.1" in text
    assert "\ngo 1.25.1\n" in text


def test_sibling_modules_take_the_group_version_and_forbidden_ones_are_left_out() -> None:
    g = group(module="go.etcd.io/etcd/server/v3", version="v3.6.6", local_replaces="v3.6.6",
              programs={"etcd": "."})
    text = gobuild.module_file(g, ETCD_GOMOD)
    assert "\tgo.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.6" in text
    assert "FORBIDDEN" not in text and "server/v3 =>" not in text
    assert "tool (\n\tgo.etcd.io/etcd/server/v3\n)" in text


SIDECAR_GOMOD = """module github.com/kubernetes-csi/external-attacher/v4

go 1.24.0

replace k8s.io/api => k8s.io/api v0.34.0

replace k8s.io/client-go => k8s.io/client-go v0.34.0

replace github.com/example/own => github.com/example/own v1.2.3
"""


def test_a_follower_takes_the_staging_modules_of_the_group_it_follows() -> None:
    kube = group(name="kubernetes")
    followed = gobuild.module_file(kube, KUBERNETES_GOMOD)
    sidecar = group(name="attacher", module="github.com/kubernetes-csi/external-attacher/v4",
                    version="v4.12.0", local_replaces="v4.12.0",
                    programs={"csi-attacher": "cmd/csi-attacher"}, follow="kubernetes")
    text = gobuild.module_file(sidecar, SIDECAR_GOMOD, followed, kube)
    assert "\tk8s.io/api => k8s.io/api v0.34.4" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.34.4" in text
    assert "v0.34.0" not in text
    # its own replacements of other modules stay, and the followed module is at its version
    assert "\tgithub.com/example/own => github.com/example/own v1.2.3" in text
    assert "\tk8s.io/kubernetes => k8s.io/kubernetes v1.34.4" in text
    # without following, the sidecar keeps its own staging versions
    alone = gobuild.module_file(sidecar, SIDECAR_GOMOD)
    assert "\tk8s.io/api => k8s.io/api v0.34.0" in alone


@pytest.mark.parametrize(("package", "name"), [
    ("k8s.io/kubernetes/cmd/kubelet", "kubelet"),
    ("go.etcd.io/etcd/server/v3", "server"),
    ("github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher", "csi-attacher"),
])
def test_binary_names_are_go_builds(package: str, name: str) -> None:
    assert gobuild.binary_name(package) == name


def test_version_ldflags_stamp_the_components() -> None:
    flags = gobuild.ldflags(group(version_ldflags=True))
    assert "-X k8s.io/component-base/version.gitVersion=v1.34.4" in flags
    assert "-X k8s.io/component-base/version.gitMinor=34" in flags
    assert gobuild.ldflags(group()) == "-s -w"
    # a release's own version variables (main.version of a CSI sidecar)
    sidecar = group(version="v4.12.0", version_variables=("main.version",))
    assert gobuild.ldflags(sidecar) == "-s -w -X main.version=v4.12.0"


GOOD = {"set-a": {"one": {"module": "example.com/hello", "version": "v1.0.0",
                          "programs": {"hello": "cmd/hello"}}}}


@pytest.mark.parametrize(("mutate", "where", "allowed"), [
    (lambda d: d["set-a"]["one"].update(colour="red"), "set-a.one.colour", "one of the keys"),
    (lambda d: d["set-a"]["one"].pop("module"), "set-a.one.module", "are required"),
    (lambda d: d["set-a"]["one"].update(version="1.0"), "set-a.one.version",
     "a semantic version"),
    (lambda d: d["set-a"]["one"].update(module="not a module"), "set-a.one.module",
     "a Go module path"),
    (lambda d: d["set-a"]["one"].update(programs={"hello": "../x"}),
     "set-a.one.programs.hello", "a package folder inside the module"),
    (lambda d: d["set-a"]["one"].update(programs=[]), "set-a.one.programs", "a mapping"),
    # no programs: only in a group another group follows
    (lambda d: d["set-a"]["one"].update(programs={}), "set-a.one.programs",
     "empty only in a group another group follows"),
    (lambda d: d["set-a"]["one"].update({"local-replaces": "latest"}),
     "set-a.one.local-replaces", "a semantic version"),
    (lambda d: d["set-a"]["one"].update({"version-ldflags": "yes"}),
     "set-a.one.version-ldflags", "true or false"),
    (lambda d: d["set-a"].update(two={"module": "example.com/b", "version": "v1.0.0",
                                      "programs": {"hello": "."}}),
     "set-a.programs", "unique within a set"),
    (lambda d: d.update({"Bad Name": {}}), "Bad Name", "a set name"),
    (lambda d: d["set-a"]["one"].update(files=["crds.yaml"]), "set-a.one.files",
     "a mapping of file names to files of a module"),
    (lambda d: d["set-a"]["one"].update(files={"Crds.yaml": "example.com/hello/crds.yaml"}),
     "set-a.one.files", "a file name of lower-case letters"),
    (lambda d: d["set-a"]["one"].update(files={"crds.yaml": "crds.yaml"}),
     "set-a.one.files.crds.yaml", "a module path followed by a file's path"),
    (lambda d: d["set-a"]["one"].update(files={"crds.yaml": "example.com/hello/../x.yaml"}),
     "set-a.one.files.crds.yaml", "a module path followed by a file's path"),
    (lambda d: (d["set-a"]["one"].update(files={"a.yaml": "example.com/hello/a.yaml"}),
                d["set-a"].update(two={"module": "example.com/b", "version": "v1.0.0",
                                       "programs": {"b": "."},
                                       "files": {"a.yaml": "example.com/b/a.yaml"}})),
     "set-a.files", "file names unique within a set"),
    (lambda d: (d["set-a"]["one"].update(follow="two"), d["set-a"].update(
        two={"module": "example.com/b", "version": "v1.0.0", "programs": {},
             "files": {"a.yaml": "example.com/b/a.yaml"}})),
     "set-a.two.files", "files only in a group that builds programs"),
    (lambda d: d["set-a"]["one"].update({"version-variables": ["main"]}),
     "set-a.one.version-variables", "a list of Go string variables"),
    (lambda d: d["set-a"]["one"].update({"version-variables": "main.version"}),
     "set-a.one.version-variables", "a list of Go string variables"),
    (lambda d: d["set-a"]["one"].update(follow="nobody"), "set-a.one.follow",
     "another group of the set"),
    (lambda d: d["set-a"]["one"].update(follow="one"), "set-a.one.follow",
     "another group of the set"),
    (lambda d: (d["set-a"]["one"].update(follow="two"), d["set-a"].update(
        two={"module": "example.com/b", "version": "v1.0.0", "programs": {"b": "."},
             "follow": "one"})), "set-a.one.follow", "a group that follows no other group"),
])
def test_a_bad_pin_is_refused_naming_its_place(tmp_path: Path, mutate, where: str,
                                               allowed: str) -> None:
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    pins = tmp_path / "pins.yaml"
    pins.write_text(json.dumps(data))
    with pytest.raises(InvalidInput) as err:
        gobuild.load_sets(pins)
    assert f"{pins}: {where}" in str(err.value) and allowed in str(err.value), str(err.value)


def test_a_group_that_only_leads_may_have_no_programs(tmp_path: Path) -> None:
    data = json.loads(json.dumps(GOOD))
    data["set-a"]["one"]["programs"] = {}
    data["set-a"]["two"] = {"module": "example.com/b", "version": "v1.0.0",
                            "programs": {"b": "."}, "follow": "one"}
    pins = tmp_path / "pins.yaml"
    pins.write_text(json.dumps(data))
    one, two = gobuild.load_sets(pins)["set-a"]
    assert one.programs == {} and two.follow == "one"


def test_a_build_waits_for_another_build_of_the_mirror(tmp_path: Path) -> None:
    from crossgate.locks import acquire

    lines: list[str] = []
    builder = gobuild.GoBuilder(tmp_path / "mirror", go="no-such-go", timeout=5,
                                progress=lines.append, lock_timeout=0.5)
    held = acquire(builder.state / "build.lock", 1)
    try:
        with pytest.raises(SyncFailure, match=r"timed out after 0 s waiting for another Go "
                                              r"build of this mirror \(lock .*build.lock\)"):
            builder.build("set-a", [])
    finally:
        os.close(held)
    assert lines and "waiting for another Go build" in lines[0]
    # the lock free, the build goes on (and here fails on the missing go command)
    with pytest.raises(SyncFailure, match="is not installed"):
        builder.build("set-a", [])


def test_a_malformed_or_missing_pin_file(tmp_path: Path) -> None:
    bad = tmp_path / "pins.yaml"
    bad.write_text("set: [unclosed")
    with pytest.raises(InvalidInput, match="valid YAML"):
        gobuild.load_sets(bad)
    with pytest.raises(InvalidInput, match="a readable YAML file"):
        gobuild.load_sets(tmp_path / "missing.yaml")


def test_the_go_folder_is_served() -> None:
    assert httpd.allowed_path("/go/set-a-0123456789ab/bin/hello")
    assert not httpd.allowed_path("/go/.state/x")


def test_the_cli_refuses_a_set_the_file_does_not_have(tmp_path: Path, capsys) -> None:
    pins = tmp_path / "pins.yaml"
    pins.write_text(json.dumps(GOOD))
    rc = cli.main(["sync", "--dir", str(tmp_path / "m"), "--go-pins", str(pins),
                   "--go-set", "set-b"])
    assert rc == cli.EXIT_INPUT
    assert "--go-set: invalid value 'set-b'; allowed: one of set-a" in capsys.readouterr().err
    rc = cli.main(["sync", "--dir", str(tmp_path / "m"), "--go-set", "set-a"])
    assert rc == cli.EXIT_INPUT
    assert "--go-pins FILE and --go-set NAME together" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


# --- a real go build, from a module proxy folder (GOPROXY=file://...) ---------------------

HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from %s") }\n'


def proxy_module(proxy: Path, module: str, version: str, files: dict[str, str]) -> None:
    """A module version in the layout a Go module proxy serves."""
    d = proxy / module / "@v"
    d.mkdir(parents=True, exist_ok=True)
    gomod = files["go.mod"]
    (d / f"{version}.mod").write_text(gomod)
    (d / f"{version}.info").write_text(json.dumps({"Version": version,
                                                   "Time": "2026-01-01T00:00:00Z"}))
    with zipfile.ZipFile(d / f"{version}.zip", "w") as z:
        for name, text in files.items():
            z.writestr(f"{module}@{version}/{name}", text)
    with (d / "list").open("a") as f:
        f.write(version + "\n")


@pytest.fixture
def go_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("go") is None:
        pytest.skip("the go command is not installed on this machine")
    proxy = tmp_path / "proxy"
    for version in ("v1.0.0", "v1.1.0"):
        proxy_module(proxy, "example.com/hello", version, {
            "go.mod": "module example.com/hello\n\ngo 1.22\n",
            "cmd/hello/main.go": HELLO % version})
    monkeypatch.setenv("GOPROXY", f"file://{proxy}")
    monkeypatch.setenv("GOSUMDB", "off")
    monkeypatch.setenv("GONOSUMDB", "example.com")
    return proxy


def pins_for(tmp_path: Path, version: str) -> Path:
    pins = tmp_path / f"pins-{version}.yaml"
    pins.write_text(json.dumps({"hello-set": {"hello": {
        "module": "example.com/hello", "version": version,
        "programs": {"hello": "cmd/hello"}}}}))
    return pins


def test_a_set_is_built_once_per_version_set(tmp_path: Path, go_env: Path) -> None:
    root = tmp_path / "mirror"
    lines: list[str] = []
    first = gobuild.sync_go(pins_for(tmp_path, "v1.0.0"), "hello-set", root,
                            progress=lines.append)
    assert first.built and set(first.programs) == {"hello"}
    binary = Path(first.bin_dir) / "hello"
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "hello from v1.0.0"
    manifest = json.loads((Path(first.bin_dir).parent / "manifest.json").read_text())
    assert manifest["programs"]["hello"]["sha256"] == first.programs["hello"]["sha256"]
    assert "require example.com/hello v1.0.0" in manifest["modules"]["hello"]
    assert json.loads((root / "go" / "hello-set.json").read_text())["path"] == \
        f"hello-set-{first.key}/bin"
    assert any("building hello" in line for line in lines)
    # the same pins again: nothing is built
    again = gobuild.sync_go(pins_for(tmp_path, "v1.0.0"), "hello-set", root)
    assert not again.built and again.key == first.key and again.programs == first.programs
    # a new pin: a new build beside the first, and the set's index points at it
    newer = gobuild.sync_go(pins_for(tmp_path, "v1.1.0"), "hello-set", root)
    assert newer.built and newer.key != first.key
    out = subprocess.run([str(Path(newer.bin_dir) / "hello")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "hello from v1.1.0"
    assert binary.is_file()
    assert json.loads((root / "go" / "hello-set.json").read_text())["path"] == \
        f"hello-set-{newer.key}/bin"


def test_a_set_built_before_is_found_while_another_build_holds_the_lock(
        tmp_path: Path, go_env: Path) -> None:
    from crossgate.locks import acquire

    root = tmp_path / "mirror"
    first = gobuild.sync_go(pins_for(tmp_path, "v1.0.0"), "hello-set", root)
    (root / "go" / "hello-set.json").unlink()  # as crossgate run withdraws it
    held = acquire(root / ".state" / "go" / "build.lock", 1)
    try:
        lines: list[str] = []
        again = gobuild.sync_go(pins_for(tmp_path, "v1.0.0"), "hello-set", root,
                                progress=lines.append, lock_timeout=0.5)
        assert not again.built and again.key == first.key
        assert not any("waiting for another Go build" in line for line in lines), lines
        assert json.loads((root / "go" / "hello-set.json").read_text())["path"] == \
            f"hello-set-{first.key}/bin"
        # new pins need the build, so they wait for the lock (and here time out)
        with pytest.raises(SyncFailure, match="waiting for another Go build"):
            gobuild.sync_go(pins_for(tmp_path, "v1.1.0"), "hello-set", root, lock_timeout=0.5)
    finally:
        os.close(held)


def local_pins(tmp_path: Path, greeting: str) -> Path:
    """A pin file with a group built from a module in a folder beside it."""
    folder = tmp_path / "pins" / "greeter"
    (folder / "cmd/greeter").mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text("module example.com/greeter\n\ngo 1.22\n")
    (folder / "cmd/greeter/main.go").write_text(HELLO.replace("hello from %s", greeting))
    pins = tmp_path / "pins" / "pins.yaml"
    pins.write_text(json.dumps({"s": {"greeter": {
        "module": "example.com/greeter", "version": "v0.1.0", "path": "greeter",
        "programs": {"greeter": "cmd/greeter"}}}}))
    return pins


def test_a_group_from_a_folder_beside_the_pins(tmp_path: Path, go_env: Path) -> None:
    root = tmp_path / "mirror"
    first = gobuild.sync_go(local_pins(tmp_path, "hello from the folder"), "s", root)
    assert first.built
    out = subprocess.run([str(Path(first.bin_dir) / "greeter")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "hello from the folder"
    manifest = json.loads((Path(first.bin_dir).parent / "manifest.json").read_text())
    assert f"example.com/greeter => {tmp_path / 'pins/greeter'}" in manifest["modules"]["greeter"]
    # the same source: built before; a changed source: built anew
    assert not gobuild.sync_go(local_pins(tmp_path, "hello from the folder"), "s", root).built
    changed = gobuild.sync_go(local_pins(tmp_path, "hello again"), "s", root)
    assert changed.built and changed.key != first.key
    # the folder's place is not part of the key: another checkout finds the same build
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "pins", moved)
    assert gobuild.sync_go(moved / "pins.yaml", "s", root).key == changed.key


def test_a_bad_folder_group_is_refused_naming_its_place(tmp_path: Path) -> None:
    pins = local_pins(tmp_path, "x")
    data = json.loads(pins.read_text())
    for path, allowed in (("../greeter", "a folder beside the pin file"),
                          ("missing", "a folder with a go.mod")):
        data["s"]["greeter"]["path"] = path
        pins.write_text(json.dumps(data))
        with pytest.raises(InvalidInput, match=f"s.greeter.path: .*{allowed}"):
            gobuild.load_sets(pins)
    data["s"]["greeter"].update(path="greeter", module="example.com/other")
    pins.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match=r"s.greeter.module: invalid value 'example.com/other'"
                                           r".*declares \(example.com/greeter\)"):
        gobuild.load_sets(pins)


def test_a_failed_build_says_which_group_and_why(tmp_path: Path, go_env: Path) -> None:
    proxy_module(go_env, "example.com/broken", "v1.0.0", {
        "go.mod": "module example.com/broken\n\ngo 1.22\n",
        "cmd/broken/main.go": "package main\n\nfunc main() { undefinedCall() }\n"})
    pins = tmp_path / "pins.yaml"
    pins.write_text(json.dumps({"s": {"broken": {
        "module": "example.com/broken", "version": "v1.0.0",
        "programs": {"broken": "cmd/broken"}}}}))
    with pytest.raises(SyncFailure) as err:
        gobuild.sync_go(pins, "s", tmp_path / "mirror")
    msg = str(err.value)
    assert msg.startswith("group broken: go build: 'go build"), msg
    assert "undefined: undefinedCall" in msg, msg
    assert not list((tmp_path / "mirror" / "go").glob("s-*/manifest.json"))


def files_pins(tmp_path: Path, files: dict[str, str]) -> Path:
    pins = tmp_path / "files-pins.yaml"
    pins.write_text(json.dumps({"s": {"tool": {
        "module": "example.com/tool", "version": "v1.0.0",
        "programs": {"tool": "cmd/tool"}, "files": files}}}))
    return pins


def test_files_come_from_the_modules_a_group_builds_with(tmp_path: Path, go_env: Path) -> None:
    # example.com/tool uses example.com/api, which also holds definitions a cluster needs
    for version, kind in (("v1.0.0", "Thing"), ("v1.2.0", "NewerThing")):
        proxy_module(go_env, "example.com/api", version, {
            "go.mod": "module example.com/api\n\ngo 1.22\n",
            "api.go": 'package api\n\nconst Name = "api"\n',
            "config/crd/things.yaml": f"kind: {kind}\n"})
    proxy_module(go_env, "example.com/tool", "v1.0.0", {
        "go.mod": "module example.com/tool\n\ngo 1.22\n\nrequire example.com/api v1.0.0\n",
        "cmd/tool/main.go": 'package main\n\nimport "example.com/api"\n\n'
                            'func main() { println(api.Name) }\n',
        "deploy/tool.yaml": "kind: Deployment\n"})
    root = tmp_path / "mirror"
    report = gobuild.sync_go(files_pins(tmp_path, {
        "things.yaml": "example.com/api/config/crd/things.yaml",
        "tool.yaml": "example.com/tool/deploy/tool.yaml"}), "s", root)
    files = Path(report.bin_dir).parent / "files"
    # the version the group's build selected (the tool's requirement), not the newest
    assert (files / "things.yaml").read_text() == "kind: Thing\n"
    assert (files / "tool.yaml").read_text() == "kind: Deployment\n"
    assert report.files["things.yaml"]["module"] == "example.com/api"
    assert report.files["things.yaml"]["version"] == "v1.0.0"
    manifest = json.loads((Path(report.bin_dir).parent / "manifest.json").read_text())
    assert manifest["files"]["things.yaml"]["sha256"] == \
        hashlib.sha256(b"kind: Thing\n").hexdigest()
    # found built: the same files reported
    again = gobuild.sync_go(files_pins(tmp_path, {
        "things.yaml": "example.com/api/config/crd/things.yaml",
        "tool.yaml": "example.com/tool/deploy/tool.yaml"}), "s", root)
    assert not again.built and again.files == report.files
    # a file the module does not have, and one in no module of the build
    for ref, says in (("example.com/api/config/crd/missing.yaml",
                       "file x.yaml: example.com/api@v1.0.0 has no file config/crd/missing.yaml"),
                      ("example.org/other/x.yaml",
                       "file x.yaml: example.org/other/x.yaml is in no module of the group's")):
        with pytest.raises(SyncFailure) as err:
            gobuild.sync_go(files_pins(tmp_path, {"x.yaml": ref}), "s", root)
        assert says in str(err.value), str(err.value)


def test_the_kubernetes_pins_name_every_program_of_the_layer() -> None:
    sets = gobuild.load_sets(Path(__file__).resolve().parents[2]
                             / "roles/deploy-kubernetes/files/programs.yaml")
    programs = {p: g for g in sets["kubernetes-1.34"] for p in g.programs}
    assert set(programs) == {
        "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubeadm",
        "kubectl", "etcd"}
    cloud = {p: g for g in sets["kubernetes-1.34-openstack"] for p in g.programs}
    assert set(cloud) == {
        "openstack-cloud-controller-manager", "cinder-csi-plugin", "csi-provisioner",
        "csi-attacher", "csi-resizer", "csi-snapshotter", "snapshot-controller",
        "csi-registrar"}
    # crossgate's own registrar, from the role's folder, with the release's kubelet API
    registrar = cloud["csi-registrar"]
    assert registrar.path.endswith("roles/deploy-kubernetes/files/csi-registrar")
    assert registrar.follow == "kubernetes"
    kube = programs["kubelet"]
    # the staging modules at the release of the same minor and patch
    assert kube.version == "v1.34.4" and kube.local_replaces == "v0.34.4"
    assert kube.version_ldflags
    # the cloud set follows the same Kubernetes release, whose programs it does not build again
    leader = next(g for g in sets["kubernetes-1.34-openstack"] if g.name == "kubernetes")
    assert (leader.module, leader.version, leader.local_replaces, leader.programs) == (
        kube.module, kube.version, kube.local_replaces, {})
    occm = cloud["openstack-cloud-controller-manager"]
    assert occm.version.startswith("v1.34.") and occm.follow == "kubernetes"
    assert "k8s.io/cloud-provider-openstack/pkg/version.Version" in occm.version_variables
    assert all(cloud[p].version_variables == ("main.version",)
               for p in ("csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter"))
    # the snapshot API's definitions come from the client module external-snapshotter builds
    # with, and are the files deploy-kubernetes declares
    role = Path(__file__).resolve().parents[2] / "roles/deploy-kubernetes"
    declared = yaml.safe_load((role / "vars/main.yaml").read_text())[
        "deploy_kubernetes_snapshot_crds"]
    files = dict(cloud["csi-snapshotter"].files)
    assert sorted(files) == sorted(declared)
    assert all(ref.startswith("github.com/kubernetes-csi/external-snapshotter/client/v8/config/"
                              "crd/snapshot.storage.k8s.io_") for ref in files.values())


def test_a_cancelled_build_stops_its_go_processes(tmp_path: Path) -> None:
    import threading
    import time

    pidfile = tmp_path / "child.pid"
    fake = tmp_path / "go"
    # a go that answers its version, then hangs in a download (with a child of its own)
    fake.write_text(f'#!/bin/sh\ncase "$1" in env) echo go1.26.0;; *) sleep 300 & '
                    f'echo $! > {pidfile}; wait;; esac\n')
    fake.chmod(0o755)
    pins = pins_for(tmp_path, "v1.0.0")
    cancel = threading.Event()
    errors: list[BaseException] = []

    def build() -> None:
        try:
            gobuild.sync_go(pins, "hello-set", tmp_path / "mirror", go=str(fake), cancel=cancel)
        except SyncFailure as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    child = int(pidfile.read_text())
    cancel.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors and "cancelled" in str(errors[0]), errors
    # the go command's own child is stopped too (gone, or a zombie its new parent reaps)
    # (the signal reaches it at once; on a busy machine it may take a moment to act on it)
    status = Path(f"/proc/{child}/status")
    for _ in range(100):
        try:
            state = status.read_text().split("State:")[1].split()[0]
        except (OSError, IndexError):
            state = "gone"
        if state in ("gone", "Z", "X"):
            break
        time.sleep(0.1)
    assert state in ("gone", "Z", "X"), state
