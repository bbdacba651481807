"""Nodeset labels and the images they run on.

A label is what a Zuul nodeset asks for; an image is what the local provider boots. Several
labels may share one image: only Debian bookworm is built here (the host reaches only its own
Debian mirror), so the common Ubuntu labels run on the bookworm image. Jobs that need something
truly Ubuntu-specific must run on real machines through the inventory provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import InvalidInput


@dataclass(frozen=True)
class Recipe:
    """How to build an image with debootstrap. Its hash decides when a cached image is stale."""

    name: str
    suite: str
    variant: str
    packages: tuple[str, ...]
    # Bump when the customisation steps in images.py change in a way that needs a rebuild.
    revision: int = 1


BOOKWORM = Recipe(
    name="debian-bookworm",
    suite="bookworm",
    variant="minbase",
    packages=(
        "systemd",
        "systemd-sysv",
        "dbus",
        "libpam-systemd",
        "openssh-server",
        "python3",
        "python3-apt",
        "iproute2",
        "iputils-ping",
        "sudo",
        "ca-certificates",
        "procps",
        "netbase",
        "less",
        "rsync",
        "git",
        "curl",
    ),
)

RECIPES: dict[str, Recipe] = {BOOKWORM.name: BOOKWORM}

# label -> image (recipe) name.
LABELS: dict[str, str] = {
    "debian-bookworm": "debian-bookworm",
    "debian": "debian-bookworm",
    # Nodepool-style Ubuntu labels run on bookworm: same kernel, systemd and Python 3 layout;
    # no Ubuntu mirror is reachable from this host to build a real Ubuntu image.
    "ubuntu-noble": "debian-bookworm",
    "ubuntu-jammy": "debian-bookworm",
    "ubuntu-focal": "debian-bookworm",
    # Baked labels (crossgate.nodes.bake): bookworm with the layers' packages installed by
    # their own install steps, as a nodepool image build would bake them.
    "crossgate-ceph-bookworm": "crossgate-ceph-bookworm",
    "crossgate-openstack-ceph-bookworm": "crossgate-openstack-ceph-bookworm",
    # Nodes that run containers (a Kubernetes node: containerd, runc, a kubelet).
    "crossgate-kubernetes-bookworm": "debian-bookworm",
}

# What the nodes of a label may do beyond an ordinary node, which stays as locked down as
# systemd-nspawn makes it. "containers": a container runtime can run in the node (see
# crossgate.nodes.local: the node's own cgroup in every v1 controller hierarchy, those
# controllers writable, keyring system calls, all of the host's capabilities, /dev/kmsg,
# and /var/lib/containerd outside the overlay root).
FEATURES = ("containers",)
LABEL_FEATURES: dict[str, tuple[str, ...]] = {
    "crossgate-kubernetes-bookworm": ("containers",),
}

DEFAULT_LABEL = "debian-bookworm"


def image_for_label(label: str, labels: dict[str, str] | None = None) -> str:
    """The image name (or rootfs path) for ``label``; InvalidInput naming the choices if unknown."""
    table = LABELS if labels is None else labels
    try:
        return table[label]
    except KeyError:
        raise InvalidInput("label", label, "one of " + ", ".join(sorted(table))) from None


def features_for_label(label: str, features: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The features of ``label``'s nodes (none for a label the table does not name)."""
    table = LABEL_FEATURES if features is None else features
    found = list(table.get(label, ()))
    for feature in found:
        if feature not in FEATURES:
            allowed = "one of " + ", ".join(FEATURES)
            raise InvalidInput(f"features of label {label}", feature, allowed)
    return found
