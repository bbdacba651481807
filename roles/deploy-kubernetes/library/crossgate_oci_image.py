#!/usr/bin/python3
"""Build a one-layer OCI image archive from files of the node (no registry, no builder)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_oci_image
short_description: Build a one-layer OCI image archive from files of the node
description:
  - Writes an OCI image layout as a tar archive (C(oci-layout), C(index.json), blobs) holding one
    uncompressed layer made of the given files and symbolic links, with the entrypoint and
    command given. The archive is byte-for-byte the same for the same input (times, owners and
    order fixed), so a second run changes nothing.
  - The index names the image with the C(io.containerd.image.name) annotation, which
    C(ctr images import) uses as the image's name.
options:
  path:
    description: Where the archive is written.
    type: path
    required: true
  name:
    description: Image name, for example C(registry.k8s.io/pause:3.10).
    type: str
    required: true
  files:
    description:
      - Files of the node copied into the image (C(src) on the node, C(dest) relative in the image).
    type: list
    elements: dict
    required: true
  links:
    description: Symbolic links in the image, path relative in the image to its target.
    type: dict
    default: {}
  entrypoint:
    description: The image's entrypoint.
    type: list
    elements: str
    default: []
  cmd:
    description: The image's command.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: A pause image from busybox-static
  crossgate_oci_image:
    path: /var/lib/images/pause.tar
    name: registry.k8s.io/pause:3.10
    files: [{src: /bin/busybox, dest: bin/busybox}]
    links: {bin/sh: busybox, bin/sleep: busybox}
    entrypoint: [/bin/sh, -c, "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]
"""

RETURN = r"""
digest:
  description: Digest of the image manifest (what C(ctr images ls) shows for the image).
  type: str
  returned: always
size:
  description: Size of the archive in bytes.
  type: int
  returned: always
"""

import hashlib
import io
import json
import os
import platform
import tarfile

from ansible.module_utils.basic import AnsibleModule

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}
DIRS = ("bin", "dev", "etc", "proc", "sys", "tmp")


def _info(name: str, kind: bytes, size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def layer(files: dict[str, tuple[bytes, int]], links: dict[str, str]) -> bytes:
    """An uncompressed layer: the base directories, ``files`` (path -> (data, mode)) and
    ``links`` (path -> target), in sorted order."""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    dirs = set(DIRS)
    for path in [*files, *links]:
        parts = path.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for d in sorted(dirs):
        members.append((_info(d + "/", tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755),
                        None))
    for path in sorted(files):
        data, mode = files[path]
        members.append((_info(path, tarfile.REGTYPE, len(data), mode), data))
    for path in sorted(links):
        info = _info(path, tarfile.SYMTYPE, mode=0o777)
        info.linkname = links[path]
        members.append((info, None))
    return _tar(members)


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def archive(name: str, layer_tar: bytes, entrypoint: list[str], cmd: list[str],
            arch: str) -> tuple[bytes, str]:
    """The OCI layout archive of a one-layer image, and its manifest's digest."""
    layer_digest, _ = _blob(layer_tar)
    config = _json({
        "architecture": arch,
        "os": "linux",
        "config": {"Entrypoint": entrypoint or None, "Cmd": cmd or None, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    })
    config_digest, _ = _blob(config)
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": len(layer_tar)}],
    })
    manifest_digest, _ = _blob(manifest)
    tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else "latest"
    index = _json({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": tag},
        }],
    })
    members: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_info("blobs/", tarfile.DIRTYPE, mode=0o755), None),
        (_info("blobs/sha256/", tarfile.DIRTYPE, mode=0o755), None),
    ]
    for data in (config, layer_tar, manifest):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        members.append((_info("blobs/sha256/" + digest[7:], tarfile.REGTYPE, len(data)), data))
    layout = _json({"imageLayoutVersion": "1.0.0"})
    members.append((_info("oci-layout", tarfile.REGTYPE, len(layout)), layout))
    members.append((_info("index.json", tarfile.REGTYPE, len(index)), index))
    return _tar(members), manifest_digest


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "links": {"type": "dict", "default": {}},
            "entrypoint": {"type": "list", "elements": "str", "default": []},
            "cmd": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    files: dict[str, tuple[bytes, int]] = {}
    for i, entry in enumerate(p["files"]):
        src, dest = entry.get("src"), entry.get("dest")
        if not src or not dest or str(dest).startswith("/") or ".." in str(dest).split("/"):
            module.fail_json(msg=f"files[{i}]: {entry!r}: allowed: a mapping with src (a file of "
                                 "the node) and dest (a relative path in the image)")
        try:
            with open(src, "rb") as f:
                files[dest] = (f.read(), 0o755 if os.access(src, os.X_OK) else 0o644)
        except OSError as exc:
            module.fail_json(msg=f"files[{i}].src: {src}: {exc.strerror}")
    arch = ARCHES.get(platform.machine(), platform.machine())
    data, digest = archive(p["name"], layer(files, {str(k): str(v) for k, v in
                                                    p["links"].items()}),
                           p["entrypoint"], p["cmd"], arch)
    try:
        with open(p["path"], "rb") as f:
            changed = f.read() != data
    except OSError:
        changed = True
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(p["path"]) or ".", exist_ok=True)
        tmp = p["path"] + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p["path"])
    module.exit_json(changed=changed, digest=digest, size=len(data), name=p["name"])


if __name__ == "__main__":
    main()
