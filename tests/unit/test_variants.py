"""The version variants of crossgate-kubernetes-openstack (crossgate.config.variants): the file
in zuul.d/ is what the module makes of the tree (a stale file fails here), and the module's
rules on a tree of two Kubernetes minors and two OpenStack releases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crossgate.config import variants

ROOT = Path(__file__).resolve().parents[2]


def test_the_variants_file_is_current() -> None:
    assert (ROOT / variants.OUTPUT).read_text() == variants.generate(ROOT), (
        f"{variants.OUTPUT} is stale: run python -m crossgate.config.variants --write")


def tree(tmp_path: Path, base: list[str] | None = None) -> Path:
    pins = {"kubernetes-1.33": {}, "kubernetes-1.34": {}, "kubernetes-1.34-openstack": {},
            "kubernetes-1.35": {}, "kubernetes-1.35-openstack": {}, "other": {}}
    packages = {"2026.2": {"nova": ["nova==34.0.0"], "cinder": ["cinder==29.0.0"]},
                "2027.1": {"nova": ["nova==35.0.0"], "cinder": ["cinder==30.0.0"],
                           "octavia": ["octavia==17.0.0"]},
                "2025.2": {"nova": ["nova==32.0.0"]}}  # no constraints file: left out
    job = {"job": {"name": "crossgate-openstack-ceph", "vars": {
        "crossgate_mirror_requirements": base if base is not None else
        ["nova==34.0.0", "cinder==29.0.0", "openstacksdk"]}}}
    files = {variants.PINS: pins, variants.OPENSTACK_VARS: {
        "deploy_openstack_release_packages": packages}, variants.REQUIREMENTS_FROM[0]: [job]}
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(yaml.safe_dump(data))
    (tmp_path / variants.CONSTRAINTS).mkdir(parents=True)
    for release in ("2026.2", "2027.1"):
        (tmp_path / variants.CONSTRAINTS / f"{release}.txt").write_text("")
    return tmp_path


def test_one_job_per_minor_with_both_sets_and_release_with_constraints(tmp_path: Path) -> None:
    jobs = [item["job"] for item in yaml.safe_load(variants.generate(tree(tmp_path)))]
    assert [j["name"] for j in jobs] == [
        "crossgate-kubernetes-openstack-1.34-2026.2", "crossgate-kubernetes-openstack-1.34-2027.1",
        "crossgate-kubernetes-openstack-1.35-2026.2", "crossgate-kubernetes-openstack-1.35-2027.1"]
    last = jobs[-1]["vars"]
    assert last["deploy_kubernetes_version"] == "1.35"
    assert last["crossgate_mirror_go_sets"] == ["kubernetes-1.35", "kubernetes-1.35-openstack"]
    assert last["crossgate_mirror_constraints"].endswith("constraints/2027.1.txt")
    # the services pinned as the release pins them; what the release adds comes last
    assert last["crossgate_mirror_requirements"] == [
        "nova==35.0.0", "cinder==30.0.0", "openstacksdk", "octavia==17.0.0"]
    assert jobs[0]["vars"]["crossgate_mirror_requirements"] == [
        "nova==34.0.0", "cinder==29.0.0", "openstacksdk"]
    assert {j["parent"] for j in jobs} == {"crossgate-kubernetes-openstack"}


def test_minors_sort_as_versions() -> None:
    pins = {f"kubernetes-1.{n}": {} for n in (9, 10, 34)}
    pins.update({f"kubernetes-1.{n}-openstack": {} for n in (9, 10, 34)})
    assert variants.minors(pins) == ["1.9", "1.10", "1.34"]


def test_a_tree_without_requirements_is_refused_naming_the_file(tmp_path: Path) -> None:
    root = tree(tmp_path, base=[])
    with pytest.raises(variants.VariantError) as exc:
        variants.generate(root)
    assert str(exc.value) == ("zuul.d/openstack-ceph.yaml: job crossgate-openstack-ceph has no "
                              "crossgate_mirror_requirements")
    assert variants.main([str(root)]) == 2
