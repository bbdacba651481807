"""Baked images (crossgate.nodes.bake): the key, the mirror lists read from the roles, the
layer cleaning, and the agreement between the image playbook, the roles and the jobs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from crossgate.nodes import InvalidInput, NodeFailure
from crossgate.nodes import bake as bk
from crossgate.nodes.images import resolve_image
from crossgate.nodes.labels import LABELS

REPO = Path(__file__).resolve().parents[2]
CEPH = bk.BAKES["crossgate-ceph-bookworm"]
OPENSTACK = bk.BAKES["crossgate-openstack-ceph-bookworm"]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of what the bakes hash, to change one file at a time."""
    for rel in ["playbooks/image", "roles/configure-mirrors", "roles/deploy-ceph",
                "roles/deploy-openstack"]:
        shutil.copytree(REPO / rel, tmp_path / rel,
                        ignore=shutil.ignore_patterns("molecule", "__pycache__"))
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_key_is_stable_for_the_same_inputs(tree: Path) -> None:
    assert bk.bake_key(CEPH, tree) == bk.bake_key(CEPH, tree)
    assert bk.bake_key(CEPH, tree) == bk.bake_key(CEPH, REPO)
    assert bk.bake_key(CEPH, tree) != bk.bake_key(OPENSTACK, tree)


def test_changing_a_package_list_changes_the_key(tree: Path) -> None:
    before = {b.name: bk.bake_key(b, tree) for b in (CEPH, OPENSTACK)}
    edit(tree / "roles/deploy-ceph/vars/main.yaml", "osd: [ceph-osd]", "osd: [ceph-osd, jq]")
    after = {b.name: bk.bake_key(b, tree) for b in (CEPH, OPENSTACK)}
    assert before[CEPH.name] != after[CEPH.name]
    assert before[OPENSTACK.name] != after[OPENSTACK.name]


def test_openstack_inputs_change_only_the_openstack_image(tree: Path) -> None:
    ceph, openstack = bk.bake_key(CEPH, tree), bk.bake_key(OPENSTACK, tree)
    constraints = tree / "roles/deploy-openstack/files/constraints/2026.2.txt"
    constraints.write_text(constraints.read_text() + "jq===1.0\n")
    assert bk.bake_key(CEPH, tree) == ceph
    assert bk.bake_key(OPENSTACK, tree) != openstack
    openstack = bk.bake_key(OPENSTACK, tree)
    edit(tree / "roles/deploy-openstack/vars/main.yaml", "  - haproxy\n", "  - haproxy\n  - jq\n")
    assert bk.bake_key(OPENSTACK, tree) != openstack


def test_install_steps_and_the_playbook_are_inputs(tree: Path) -> None:
    for rel in ("roles/deploy-ceph/tasks/install.yaml", bk.PLAYBOOK):
        key = bk.bake_key(CEPH, tree)
        (tree / rel).write_text((tree / rel).read_text() + "# changed\n")
        assert bk.bake_key(CEPH, tree) != key, rel


def test_what_the_install_does_not_take_leaves_the_key(tree: Path) -> None:
    key = bk.bake_key(OPENSTACK, tree)
    for rel in ("roles/deploy-ceph/tasks/main.yaml", "roles/deploy-openstack/tasks/controller.yaml",
                "roles/deploy-ceph/README.rst"):
        (tree / rel).write_text((tree / rel).read_text() + "# changed\n")
    assert bk.bake_key(OPENSTACK, tree) == key


def test_a_missing_input_is_named(tree: Path) -> None:
    (tree / "roles/deploy-ceph/vars/main.yaml").unlink()
    with pytest.raises(bk.BakeError, match=r"roles/deploy-ceph/vars/main\.yaml is missing"):
        bk.bake_key(CEPH, tree)


def test_mirror_lists_come_from_the_roles() -> None:
    ceph_vars = yaml.safe_load((REPO / "roles/deploy-ceph/vars/main.yaml").read_text())
    os_vars = yaml.safe_load((REPO / "roles/deploy-openstack/vars/main.yaml").read_text())
    lists = bk.mirror_lists(OPENSTACK, REPO)
    for names in ceph_vars["deploy_ceph_daemon_packages"].values():
        assert set(names) <= set(lists["crossgate_mirror_packages"])
    for key in ("deploy_openstack_controller_packages", "deploy_openstack_compute_packages",
                "deploy_openstack_cinder_packages", "deploy_openstack_ceph_packages"):
        assert set(os_vars[key]) <= set(lists["crossgate_mirror_packages"]), key
    for dists in os_vars["deploy_openstack_release_packages"]["2026.2"].values():
        assert set(dists) <= set(lists["crossgate_mirror_requirements"])
    assert (REPO / lists["crossgate_mirror_constraints"]).is_file()
    ceph_only = bk.mirror_lists(CEPH, REPO)
    assert "mariadb-server" not in ceph_only["crossgate_mirror_packages"]
    assert ceph_only["crossgate_mirror_requirements"] == []
    assert "crossgate_mirror_constraints" not in ceph_only


def _job_vars(name: str) -> dict:
    for path in sorted((REPO / "zuul.d").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()) or []:
            job = item.get("job") if isinstance(item, dict) else None
            if job and job["name"] == name:
                return job.get("vars", {})
    raise AssertionError(f"no job {name}")


@pytest.mark.parametrize(("job", "bake"), [("crossgate-ceph", CEPH),
                                           ("crossgate-openstack-ceph", OPENSTACK),
                                           ("crossgate-image-install", OPENSTACK)])
def test_a_jobs_mirror_holds_what_its_baked_image_installs(job: str, bake: bk.Bake) -> None:
    """A job run on a bare image installs what its image bakes in: its own mirror lists must
    hold all of it (else the bare path fails offline while the baked one passes)."""
    jv = _job_vars(job)
    lists = bk.mirror_lists(bake, REPO)
    missing = set(lists["crossgate_mirror_packages"]) - set(jv["crossgate_mirror_packages"])
    assert not missing, f"{job}: crossgate_mirror_packages lacks {sorted(missing)}"
    missing = (set(lists["crossgate_mirror_requirements"])
               - set(jv.get("crossgate_mirror_requirements", [])))
    assert not missing, f"{job}: crossgate_mirror_requirements lacks {sorted(missing)}"


def test_the_build_job_is_one_node_on_the_base_label() -> None:
    job = bk.build_job(OPENSTACK, "debian-bookworm", 1200, REPO)["job"]
    assert job["nodeset"] == {"nodes": [{"name": "image", "label": "debian-bookworm"}]}
    assert job["run"] == bk.PLAYBOOK
    assert job["timeout"] == 1200
    assert job["vars"]["crossgate_image_layers"] == ["ceph", "openstack"]
    assert (REPO / job["run"]).is_file()


def test_the_playbook_runs_the_roles_install_steps() -> None:
    plays = yaml.safe_load((REPO / bk.PLAYBOOK).read_text())
    included = [t["ansible.builtin.include_role"] for t in plays[0]["tasks"]
                if "ansible.builtin.include_role" in t]
    assert {(i["name"], i["tasks_from"]) for i in included} == {
        ("deploy-ceph", "install"), ("deploy-openstack", "install")}
    for i in included:
        assert (REPO / "roles" / i["name"] / "tasks" / f"{i['tasks_from']}.yaml").is_file()
    # the deploys include the same files
    for rel in ("deploy-ceph/tasks/packages.yaml", "deploy-openstack/tasks/main.yaml"):
        assert "include_tasks: install.yaml" in (REPO / "roles" / rel).read_text(), rel


def test_clean_layer_drops_what_belongs_to_the_node(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    for rel in ("etc/hostname", "etc/ssh/ssh_host_ed25519_key", "root/.ssh/authorized_keys",
                "root/src/x/y", "var/log/journal/abc/system.journal", "tmp/build.tmp",
                "etc/apt/sources.list.d/crossgate-mirror.list", "etc/pip.conf",
                "var/cache/apt/archives/ceph_1.deb", "etc/ceph/keep.conf",
                "opt/crossgate/openstack/bin/python", "usr/bin/ceph"):
        (layer / rel).parent.mkdir(parents=True, exist_ok=True)
        (layer / rel).write_text("x")
    (layer / "var/cache/apt/archives/partial").mkdir()
    bk.clean_layer(layer)
    left = sorted(str(p.relative_to(layer)) for p in layer.rglob("*") if p.is_file())
    assert left == ["etc/ceph/keep.conf", "opt/crossgate/openstack/bin/python", "usr/bin/ceph"]
    assert (layer / "tmp").is_dir() and not any((layer / "tmp").iterdir())
    assert (layer / "var/cache/apt/archives/partial").is_dir()


def test_unknown_image_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as err:
        bk.get_bake("crossgate-kubernetes-bookworm")
    assert err.value.option == "image"
    assert "crossgate-ceph-bookworm" in err.value.allowed


def test_baked_labels_boot_baked_images() -> None:
    for name in bk.BAKES:
        assert LABELS[name] == name


def test_an_image_not_yet_built_fails_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(NodeFailure, match="crossgate nodes image crossgate-ceph-bookworm"):
        resolve_image("crossgate-ceph-bookworm", tmp_path, None, 1)


def test_lowerdir_stacks_the_layer_over_the_base(tmp_path: Path) -> None:
    img = bk.BakedImage("x", "k", tmp_path / "layer", tmp_path / "rootfs", False, 0.0)
    assert img.lowerdir == f"{tmp_path / 'layer'}:{tmp_path / 'rootfs'}"


def test_the_image_job_runs_what_crossgate_nodes_image_runs() -> None:
    made = bk.build_job(OPENSTACK, "debian-bookworm", 1800, REPO)["job"]
    jv = _job_vars("crossgate-image-install")
    assert jv["crossgate_image_layers"] == made["vars"]["crossgate_image_layers"]
    assert jv["crossgate_mirror_constraints"] == made["vars"]["crossgate_mirror_constraints"]
    for path in sorted((REPO / "zuul.d").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()) or []:
            job = item.get("job", {}) if isinstance(item, dict) else {}
            if job.get("name") == "crossgate-image-install":
                assert job["run"] == made["run"]


def test_a_changed_package_list_rebuilds_the_image(tree: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """ensure_baked (what crossgate run and crossgate nodes image call) uses a built image while
    its inputs are unchanged, and builds a new one once a role's package list changes. The
    install job itself is replaced here by one that records its call and leaves a layer; the
    e2e tests build real images."""
    from crossgate.runner import cli as run_cli

    builds: list[str] = []

    def install_job(args: object, pool_options: dict) -> int:
        layer = pool_options["keep"]["image"]
        (layer / "usr/bin").mkdir(parents=True)
        (layer / "usr/bin/installed").write_text(str(len(builds)))
        builds.append(str(layer))
        return 0

    base = tmp_path / "base-rootfs"
    base.mkdir()
    cache = tmp_path / "cache"
    monkeypatch.setattr(bk, "data_root", lambda: tree)
    monkeypatch.setattr(bk, "_base_rootfs", lambda *a, **k: base)
    monkeypatch.setattr(run_cli, "run", install_job)

    def ensure() -> bk.BakedImage:
        return bk.ensure_baked(CEPH.name, cache, build_root=tmp_path / "builds",
                               say=lambda line: None)

    first = ensure()
    assert first.built and len(builds) == 1
    again = ensure()
    assert not again.built and again.key == first.key and again.layer == first.layer
    assert len(builds) == 1
    edit(tree / "roles/deploy-ceph/vars/main.yaml", "osd: [ceph-osd]", "osd: [ceph-osd, jq]")
    changed = ensure()
    assert changed.built and len(builds) == 2
    assert changed.key != first.key and changed.layer != first.layer
    assert (changed.layer / "usr/bin/installed").read_text() == "1"
    assert bk.cached_bake(CEPH, cache, first.key) == first.layer  # the build before stays
    edit(tree / "roles/deploy-ceph/vars/main.yaml", "osd: [ceph-osd, jq]", "osd: [ceph-osd, file]")
    third = ensure()
    assert third.built and len(builds) == 3
    # two builds are kept: the newest and the one before it
    assert bk.cached_bake(CEPH, cache, first.key) is None and not first.layer.exists()
    assert bk.cached_bake(CEPH, cache, changed.key) == changed.layer


def test_pruning_keeps_the_newest_builds_and_any_build_in_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    now = time.time()
    for age, name in enumerate(["new", "previous", "in-use", "old"]):
        (tmp_path / name / "layer").mkdir(parents=True)
        stamp = tmp_path / name / "stamp.json"
        stamp.write_text("{}")
        os.utime(stamp, (now - age, now - age))
    (tmp_path / ".build-x").mkdir()
    monkeypatch.setattr(bk, "lower_in_use", lambda path: path.name == "in-use")
    assert bk.prune_builds(tmp_path, 2) == [tmp_path / "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".build-x", "in-use", "new", "previous"]
