"""Node images: built once with debootstrap, cached by recipe hash, shared read-only by nodes.

Layout under the cache directory (default /var/cache/crossgate/images)::

    <image>/<hash>/rootfs        the root file system, used as overlayfs lower layer
    <image>/<hash>/stamp.json    the recipe that built it, written last
    <image>/.build-<hash>-<pid>  a build in progress (removed on failure, renamed on success)
    <image>.lock                 serialises builds of one image
    debs/                        debootstrap's package cache

A changed recipe gives a new hash and so a new directory: nodes still running on the old
image keep their lower layer until they are torn down.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from crossgate.locks import LockTimeout, acquire

from . import system
from .labels import RECIPES, Recipe
from .model import NodeFailure, WaitTimeout

DEFAULT_CACHE = Path("/var/cache/crossgate/images")
DEFAULT_MIRROR = "http://deb.debian.org/debian"

SSHD_CONFIG = """\
# crossgate node: key-only root login, one ed25519 host key per node.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

# Units that cost boot time or would try to reach the network in a node.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "man-db.timer",
    "dpkg-db-backup.timer",
    "console-getty.service",
    "getty@tty1.service",
    "systemd-networkd-wait-online.service",
    "systemd-timesyncd.service",
)


class ImageError(NodeFailure):
    """An image could not be built."""


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def parse_sources_list(text: str) -> list[AptSource]:
    """Parse one-line ``deb URI SUITE COMPONENT...`` entries (``deb-src`` and comments skipped)."""
    out: list[AptSource] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 2:
            out.append(AptSource(words[0], (words[1],), tuple(words[2:])))
    return out


def parse_deb822_sources(text: str) -> list[AptSource]:
    """Parse deb822 ``.sources`` stanzas of type ``deb`` that are not disabled."""
    out: list[AptSource] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0].isspace() and key:
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                )
            )
    return out


def host_apt_sources(root: Path = Path("/")) -> list[AptSource]:
    """The apt sources the host uses (files apt itself reads; disabled files are ignored)."""
    etc = root / "etc/apt"
    sources: list[AptSource] = []
    main = etc / "sources.list"
    if main.is_file():
        sources += parse_sources_list(main.read_text())
    parts = etc / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_sources_list(path.read_text())
            elif path.suffix == ".sources":
                sources += parse_deb822_sources(path.read_text())
    return sources


def pick_mirror(sources: list[AptSource], suite: str) -> str:
    """The first source that serves ``suite`` itself with component main."""
    for src in sources:
        if suite in src.suites and "main" in src.components:
            return src.uri
    return DEFAULT_MIRROR


def recipe_hash(recipe: Recipe) -> str:
    data = json.dumps(asdict(recipe), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:12]


@dataclass(frozen=True)
class Image:
    name: str
    rootfs: Path
    hash: str
    built: bool  # True when this call built it, False when it came from the cache
    seconds: float


def image_dir(cache: Path, recipe: Recipe) -> Path:
    return cache / recipe.name / recipe_hash(recipe)


def cached_image(recipe: Recipe, cache: Path = DEFAULT_CACHE) -> Path | None:
    """The rootfs of a complete cached build of ``recipe``, or None."""
    d = image_dir(cache, recipe)
    stamp = d / "stamp.json"
    if stamp.is_file() and (d / "rootfs/usr/lib/systemd/systemd").exists():
        try:
            if json.loads(stamp.read_text()).get("hash") == recipe_hash(recipe):
                return d / "rootfs"
        except ValueError:
            return None
    return None


def _lock(path: Path, timeout: float, what: str) -> int:
    try:
        return acquire(path, timeout)
    except LockTimeout:
        raise WaitTimeout(
            f"timed out after {timeout:.0f}s waiting for the lock {path} ({what}); "
            "last state: held by another process"
        ) from None


def ensure_image(
    name: str,
    cache: Path = DEFAULT_CACHE,
    mirror: str | None = None,
    timeout: float = 900.0,
    recipes: dict[str, Recipe] | None = None,
) -> Image:
    """Return the cached image ``name``, building it first if absent or stale.

    Safe to call concurrently: builds of one image are serialised by a lock file and a build
    only becomes visible (renamed into place) once complete.
    """
    table = RECIPES if recipes is None else recipes
    recipe = table[name]
    start = time.monotonic()
    found = cached_image(recipe, cache)
    if found:
        return Image(name, found, recipe_hash(recipe), False, time.monotonic() - start)
    fd = _lock(cache / f"{name}.lock", timeout, f"build of image {name}")
    try:
        found = cached_image(recipe, cache)
        if found:
            return Image(name, found, recipe_hash(recipe), False, time.monotonic() - start)
        rootfs = _build(recipe, cache, mirror, timeout)
        return Image(name, rootfs, recipe_hash(recipe), True, time.monotonic() - start)
    finally:
        os.close(fd)


def _build(recipe: Recipe, cache: Path, mirror: str | None, timeout: float) -> Path:
    digest = recipe_hash(recipe)
    parent = cache / recipe.name
    parent.mkdir(parents=True, exist_ok=True)
    # Under the lock, any leftover build directory is from a crashed build.
    for stale in parent.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = parent / f".build-{digest}-{os.getpid()}"
    rootfs = work / "rootfs"
    log = parent / f"build-{digest}.log"
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    mirror = mirror or pick_mirror(host_apt_sources(), recipe.suite)
    started = time.monotonic()
    argv = [
        "debootstrap",
        f"--variant={recipe.variant}",
        f"--include={','.join(recipe.packages)}",
        f"--cache-dir={debs}",
        recipe.suite,
        str(rootfs),
        mirror,
    ]
    try:
        work.mkdir()
        with log.open("w") as out:
            out.write("$ " + " ".join(argv) + "\n")
            out.flush()
            try:
                proc = subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                raise WaitTimeout(
                    f"timed out after {timeout:.0f}s waiting for debootstrap of image "
                    f"{recipe.name}; log: {log}"
                ) from None
            except FileNotFoundError:
                raise ImageError(
                    f"cannot build image {recipe.name}: debootstrap is not installed on "
                    "this host (bash tools/install-node-deps.sh installs what local nodes "
                    "need)"
                ) from None
        if proc.returncode != 0:
            tail = _tail(log)
            raise ImageError(
                f"debootstrap of image {recipe.name} failed (exit {proc.returncode}); "
                f"log: {log}\n{tail}"
            )
        customise(rootfs, mirror, recipe)
        (work / "stamp.json").write_text(
            json.dumps(
                {
                    "hash": digest,
                    "recipe": asdict(recipe),
                    "mirror": mirror,
                    "build_seconds": round(time.monotonic() - started, 1),
                },
                indent=2,
            )
        )
        final = publish(work, parent / digest)
        return final / "rootfs"
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def customise(rootfs: Path, mirror: str, recipe: Recipe) -> None:
    """Turn a debootstrap tree into a node image (no per-node data is written here)."""
    etc = rootfs / "etc"
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    (etc / "ssh/sshd_config.d").mkdir(exist_ok=True)
    (etc / "ssh/sshd_config.d/crossgate.conf").write_text(SSHD_CONFIG)
    (etc / "apt/sources.list").write_text(f"deb {mirror} {recipe.suite} main\n")
    (etc / "hostname").unlink(missing_ok=True)
    (etc / "machine-id").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    system.run(
        ["systemctl", f"--root={rootfs}", "enable", "systemd-networkd.service", "ssh.service"]
    )
    system.run(["systemctl", f"--root={rootfs}", "mask", *MASKED_UNITS])
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def publish(work: Path, final: Path) -> Path:
    """Rename a complete build ``work`` into place as ``final`` and return ``final``.

    An earlier directory there is an incomplete or damaged build of the same key. Nodes may
    still run on it (as their overlay lower layer): it is moved aside instead of deleted then.
    """
    if final.exists():
        if lower_in_use(final):
            final.rename(final.parent / f".old-{final.name}-{os.getpid()}-{int(time.time())}")
        else:
            shutil.rmtree(final)
    work.rename(final)
    return final


def lower_in_use(path: Path) -> bool:
    """True when an overlay mount of this host uses a directory below ``path`` as lower layer."""
    prefix = str(path).rstrip("/") + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return True
    for line in lines:
        if " - overlay " not in line:
            continue
        for opt in line.rsplit(" ", 1)[-1].split(","):
            lowers = opt[len("lowerdir=") :].split(":") if opt.startswith("lowerdir=") else []
            if any((d.rstrip("/") + "/").startswith(prefix) for d in lowers):
                return True
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def resolve_image(ref: str, cache: Path, mirror: str | None, timeout: float) -> str:
    """The overlayfs lowerdir of a node on image ``ref``: a recipe name (built here when
    missing), a baked image's name (crossgate.nodes.bake; built beforehand, with the host
    mirror) or an absolute path to a ready root file system."""
    from .bake import BAKES, baked_lowerdir

    if ref.startswith("/"):
        path = Path(ref)
        if not path.is_dir():
            raise NodeFailure(f"image {ref} is not a directory")
        return str(path)
    if ref in BAKES:
        return baked_lowerdir(ref, cache)
    if ref not in RECIPES:
        known = sorted([*RECIPES, *BAKES])
        raise NodeFailure(f"no recipe for image {ref!r}; known: {', '.join(known)}")
    return str(ensure_image(ref, cache, mirror, timeout).rootfs)
