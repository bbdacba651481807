"""Baked images: a base image plus the layers' packages, installed by the layers' own steps.

A baked image is what a nodepool or zuul-launcher image build makes: the base image with the
packages a job would otherwise install on every run. Here it is made by running
playbooks/image/install.yaml (the deploy roles' tasks/install.yaml, for every part a node can
have) as a one-node job with ``crossgate run`` on the base image, and keeping what the node
changed: its overlayfs upper layer. Nodes then boot with two lower layers, the baked layer over
the base root file system.

Its key hashes what the install steps take: the base image's recipe, the playbook, the layers'
install task files, package lists, defaults and constraints (``INPUTS``). Changing any of them
gives a new key, so a stale image is never used; the deploy roles on a bare image still
install everything, and on a baked one find it there.

Layout under the image cache (default /var/cache/crossgate/images)::

    <name>/<key>/layer          the node's upper layer, cleaned of per-node files
    <name>/<key>/stamp.json     the key, its inputs, the build's figures (written last)
    <name>/.build-<key>-<pid>/  a build in progress
    <name>.lock                 serialises builds of one image
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crossgate.resources import data_root

from .images import (
    DEFAULT_CACHE,
    _lock,
    cached_image,
    ensure_image,
    lower_in_use,
    publish,
    recipe_hash,
)
from .labels import RECIPES
from .model import InvalidInput, NodeFailure

# The playbook every bake runs (shipped as package data beside the roles).
PLAYBOOK = "playbooks/image/install.yaml"
# What the install steps take, relative to the data root: files or folders, hashed by content.
COMMON_INPUTS = (PLAYBOOK, "roles/configure-mirrors/tasks", "roles/configure-mirrors/defaults")
INPUTS: dict[str, tuple[str, ...]] = {
    "ceph": ("roles/deploy-ceph/tasks/install.yaml", "roles/deploy-ceph/vars/main.yaml"),
    "openstack": (
        "roles/deploy-openstack/tasks/install.yaml",
        "roles/deploy-openstack/vars/main.yaml",
        "roles/deploy-openstack/defaults/main.yaml",
        "roles/deploy-openstack/files/constraints",
    ),
}
# Written into every node by the local provider or by the job's base, or left by the build:
# removed from the layer so that the base image's version (or nothing) shows through.
PER_NODE = (
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/machine-id",
    "etc/systemd/network/10-crossgate.network",
    "etc/ssh/ssh_host_ed25519_key",
    "etc/ssh/ssh_host_ed25519_key.pub",
    "root/.ssh",
    "root/.ansible",
    "root/.cache",
    "root/src",
    "root/zuul-output",
    "var/lib/dbus/machine-id",
    "var/lib/systemd/random-seed",
    "var/log/journal",
    "var/lib/rabbitmq/mnesia",
    "etc/openvswitch/conf.db",
    "etc/openvswitch/.conf.db.~lock~",
    "etc/openvswitch/system-id.conf",
    # the build's own mirror settings (configure-mirrors): the base image's show again, and
    # a job's base points the node at its own mirror
    "etc/apt/sources.list",
    "etc/apt/sources.list.disabled-by-crossgate",
    "etc/apt/sources.list.d/crossgate-mirror.list",
    "etc/pip.conf",
    "var/lib/apt/lists",
)
EMPTIED = ("tmp", "var/tmp", "var/cache/apt/archives")
BUILD_PROJECT = "crossgate/image-build"
# Wheels the nodes need that a wheel sync resolved for the host's Python may leave out: a
# dependency's marker on the Python patch release (the nodes run Debian 12's 3.11.2), as the
# OpenStack jobs' own mirror lists carry them.
NODE_EXTRA_REQUIREMENTS = ("async-timeout",)


@dataclass(frozen=True)
class Bake:
    """A baked image: ``layers`` installed on the image of recipe ``base``."""

    name: str
    base: str
    layers: tuple[str, ...]
    # Bump when the way a bake is made changes (the job below) and needs a rebuild.
    revision: int = 1


BAKES: dict[str, Bake] = {
    b.name: b
    for b in (
        Bake("crossgate-ceph-bookworm", "debian-bookworm", ("ceph",)),
        Bake("crossgate-openstack-ceph-bookworm", "debian-bookworm", ("ceph", "openstack")),
    )
}


@dataclass(frozen=True)
class BakedImage:
    name: str
    key: str
    layer: Path
    base: Path
    built: bool  # True when this call built it
    seconds: float
    build_dir: Path | None = None

    @property
    def lowerdir(self) -> str:
        """The overlayfs lowerdir of a node on this image: the layer over the base."""
        return f"{self.layer}:{self.base}"


class BakeError(NodeFailure):
    """A baked image could not be built."""


def get_bake(name: str, bakes: dict[str, Bake] | None = None) -> Bake:
    table = BAKES if bakes is None else bakes
    try:
        return table[name]
    except KeyError:
        raise InvalidInput("image", name, "one of " + ", ".join(sorted(table))) from None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [path]


def bake_inputs(bake: Bake, root: Path | None = None) -> list[str]:
    """The input paths of ``bake`` (relative to the data root), in hashing order."""
    base = data_root() if root is None else root
    rels = list(COMMON_INPUTS)
    for layer in bake.layers:
        rels += INPUTS[layer]
    out: list[str] = []
    for rel in rels:
        path = base / rel
        if not path.exists():
            raise BakeError(f"image {bake.name}: its install input {path} is missing")
        out += [str(f.relative_to(base)) for f in _files(path)]
    return out


def bake_key(bake: Bake, root: Path | None = None,
             recipes: dict[str, Any] | None = None) -> str:
    """A hash of everything the bake's install steps take."""
    base = data_root() if root is None else root
    table = RECIPES if recipes is None else recipes
    h = hashlib.sha256()
    head = {"name": bake.name, "layers": list(bake.layers), "revision": bake.revision,
            "base": bake.base, "base_hash": recipe_hash(table[bake.base]),
            "per_node": PER_NODE, "emptied": EMPTIED}
    h.update(json.dumps(head, sort_keys=True).encode())
    for rel in bake_inputs(bake, base):
        data = (base / rel).read_bytes()
        h.update(f"\0{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:12]


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise BakeError(f"{path}: expected a mapping of variables")
    return data


def mirror_lists(bake: Bake, root: Path | None = None) -> dict[str, Any]:
    """What the bake's host mirror must hold, read from the roles' own package lists:
    crossgate_mirror_packages, crossgate_mirror_requirements, crossgate_mirror_constraints."""
    base = data_root() if root is None else root
    packages: list[str] = []
    requirements: list[str] = []
    constraints = None
    if "ceph" in bake.layers:
        ceph = _yaml(base / "roles/deploy-ceph/vars/main.yaml")
        for names in ceph["deploy_ceph_daemon_packages"].values():
            packages += names
    if "openstack" in bake.layers:
        ovars = _yaml(base / "roles/deploy-openstack/vars/main.yaml")
        odefaults = _yaml(base / "roles/deploy-openstack/defaults/main.yaml")
        for key in ("deploy_openstack_controller_packages", "deploy_openstack_compute_packages",
                    "deploy_openstack_cinder_packages"):
            packages += ovars[key]
        if "ceph" in bake.layers:
            packages += ovars["deploy_openstack_ceph_packages"]
        release = str(odefaults["deploy_openstack_release"])
        requirements += ovars["deploy_openstack_common_requirements"]
        requirements += NODE_EXTRA_REQUIREMENTS
        for dists in ovars["deploy_openstack_release_packages"][release].values():
            requirements += dists
        constraints = f"roles/deploy-openstack/files/constraints/{release}.txt"
    out: dict[str, Any] = {
        "crossgate_mirror_packages": sorted(set(packages)),
        "crossgate_mirror_requirements": list(dict.fromkeys(requirements)),
    }
    if constraints:
        out["crossgate_mirror_constraints"] = constraints
    return out


def image_dir(cache: Path, bake: Bake, key: str) -> Path:
    return cache / bake.name / key


def cached_bake(bake: Bake, cache: Path = DEFAULT_CACHE, key: str | None = None) -> Path | None:
    """The layer of a complete build of ``bake`` with the current key, or None."""
    key = key or bake_key(bake)
    d = image_dir(cache, bake, key)
    try:
        stamp = json.loads((d / "stamp.json").read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("key") == key and (d / "layer").is_dir():
        return d / "layer"
    return None


def baked_lowerdir(name: str, cache: Path = DEFAULT_CACHE) -> str:
    """The lowerdir of a node on baked image ``name``; NodeFailure when it is not built."""
    bake = get_bake(name)
    key = bake_key(bake)
    layer = cached_bake(bake, cache, key)
    base = _base_rootfs(bake, cache, build=False)
    if layer is None or base is None:
        raise NodeFailure(
            f"image {name} (key {key}) is not built: crossgate nodes image {name} builds it "
            "(crossgate run builds it first when a job's label boots from it)")
    return f"{layer}:{base}"


def _base_rootfs(bake: Bake, cache: Path, build: bool = True,
                 timeout: float = 900.0) -> Path | None:
    if build:
        return ensure_image(bake.base, cache, None, timeout).rootfs
    return cached_image(RECIPES[bake.base], cache)


def build_job(bake: Bake, label: str, timeout: int, root: Path | None = None) -> dict[str, Any]:
    """The one-node job that runs the install playbook on the base image."""
    return {
        "job": {
            "name": f"image-{bake.name}",
            "description": f"Install the layers {', '.join(bake.layers)} into an image.",
            "nodeset": {"nodes": [{"name": "image", "label": label}]},
            "run": PLAYBOOK,
            "timeout": timeout,
            "vars": {"crossgate_image_layers": list(bake.layers), **mirror_lists(bake, root)},
        }
    }


def clean_layer(layer: Path) -> None:
    """Remove from a node's upper layer what belongs to that node, not to an image."""
    for rel in PER_NODE:
        path = layer / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for rel in EMPTIED:
        d = layer / rel
        if d.is_dir() and not d.is_symlink():
            for child in d.iterdir():
                if child.name == "partial":
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def du(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
    return total


def ensure_baked(
    name: str,
    cache: Path = DEFAULT_CACHE,
    mirror_dir: Path | None = None,
    build_root: Path = Path("build/images"),
    timeout: int = 1800,
    lock_timeout: float = 3600.0,
    say: Callable[[str], None] = print,
) -> BakedImage:
    """The baked image ``name``, built first when it is absent or its key changed.

    A build runs playbooks/image/install.yaml as a one-node job through crossgate run (the
    host mirror synced with the roles' package lists and served to the node, as for a job),
    then keeps the node's upper layer. Safe to call concurrently: one build at a time per
    image, and a build becomes visible only once complete."""
    bake = get_bake(name)
    start = time.monotonic()
    key = bake_key(bake)
    layer = cached_bake(bake, cache, key)
    base = _base_rootfs(bake, cache)
    assert base is not None
    if layer is not None:
        return BakedImage(name, key, layer, base, False, time.monotonic() - start)
    fd = _lock(cache / f"{name}.lock", lock_timeout, f"build of image {name}")
    try:
        layer = cached_bake(bake, cache, key)
        if layer is not None:
            return BakedImage(name, key, layer, base, False, time.monotonic() - start)
        say(f"IMAGE: building {name} (key {key}): layers {', '.join(bake.layers)} on "
            f"{bake.base}")
        return _build(bake, key, base, cache, mirror_dir, Path(build_root), timeout, say,
                      start)
    finally:
        os.close(fd)


# Builds of one image kept in the cache: the new one and the one before it, which nodes booted
# before the rebuild may still have as their lower layer (as nodepool keeps two builds).
KEEP_BUILDS = 2


def prune_builds(parent: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest complete builds under ``parent``; return the removed.
    An older build still the lower layer of a running node stays (as publish leaves it)."""
    builds = sorted((d for d in parent.iterdir()
                     if d.is_dir() and not d.name.startswith(".") and (d / "stamp.json").is_file()),
                    key=lambda d: (d / "stamp.json").stat().st_mtime, reverse=True)
    removed = [old for old in builds[keep:] if not lower_in_use(old)]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return removed


def _base_label(bake: Bake) -> str:
    from .labels import LABELS

    for label, image in LABELS.items():
        if image == bake.base:
            return label
    raise BakeError(f"image {bake.name}: no label boots its base image {bake.base}")


def _build(bake: Bake, key: str, base: Path, cache: Path, mirror_dir: Path | None,
           build_root: Path, timeout: int, say: Callable[[str], None],
           start: float) -> BakedImage:
    from crossgate.runner import cli as run_cli

    parent = cache / bake.name
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = parent / f".build-{key}-{os.getpid()}"
    work.mkdir()
    try:
        build_root.mkdir(parents=True, exist_ok=True)
        project = work / "project"
        (project / "playbooks/image").mkdir(parents=True)
        shutil.copy(data_root() / PLAYBOOK, project / PLAYBOOK)
        (project / "roles").symlink_to(data_root() / "roles")
        job = build_job(bake, _base_label(bake), timeout)
        (project / "zuul.yaml").write_text(yaml.safe_dump([job], sort_keys=False))
        parser = argparse.ArgumentParser(prog="crossgate")
        run_cli.add_parser(parser.add_subparsers())
        argv = ["run", job["job"]["name"], "--path", str(project), "--name", BUILD_PROJECT,
                "--branch", "master", "--build-root", str(build_root),
                "--pool", f"image-{key[:8]}-{os.getpid()}"]
        if mirror_dir is not None:
            argv += ["--mirror-dir", str(mirror_dir)]
        args = parser.parse_args(argv)
        # the node boots from the same cache the image goes to, and powers off cleanly before its
        # upper layer is kept (a finished build's nodes are otherwise killed outright)
        rc = run_cli.run(args, pool_options={"keep": {"image": work / "layer"},
                                             "image_cache": cache, "grace": 30.0})
        builds = sorted(build_root.glob(f"*-{job['job']['name']}"), key=os.path.getmtime)
        build_dir = builds[-1] if builds else None
        if rc != 0 or not (work / "layer").is_dir():
            console = build_dir / "job-output.txt" if build_dir else build_root
            raise BakeError(f"image {bake.name}: the install job failed (exit {rc}); "
                            f"console log: {console}")
        clean_layer(work / "layer")
        seconds = time.monotonic() - start
        (work / "stamp.json").write_text(json.dumps({
            "key": key,
            "name": bake.name,
            "base": bake.base,
            "base_rootfs": str(base),
            "layers": list(bake.layers),
            "inputs": bake_inputs(bake),
            "build_seconds": round(seconds, 1),
            "layer_bytes": du(work / "layer"),
            "build_dir": str(build_dir) if build_dir else None,
        }, indent=2))
        shutil.rmtree(project)
        final = publish(work, image_dir(cache, bake, key))
        for old in prune_builds(parent, KEEP_BUILDS):
            say(f"IMAGE: removed the older build {old.name} of {bake.name}")
        say(f"IMAGE: built {bake.name} (key {key}) in {seconds:.1f} s")
        return BakedImage(bake.name, key, final / "layer", base, True, seconds, build_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
