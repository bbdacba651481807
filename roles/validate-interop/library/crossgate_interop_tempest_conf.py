"""crossgate_interop_tempest_conf: tempest.conf for the cloud of the OpenStack layer's contract."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_interop_tempest_conf
short_description: Write tempest.conf for the cloud an OpenStack layer published
description:
  - Reads the OpenStack layer's contract (clouds.yaml, its admin cloud, the catalog's
    services, the public network, the compute hosts), makes what Tempest needs from the cloud
    when it is missing (two images and two flavors named O(prefix)-...), and writes
    tempest.conf (mode 0600: it holds the admin password) with dynamic credentials, the
    services the catalog has, the object store's APIs as its /info lists them (Tempest skips
    the tests of middleware it does not list), and O(overrides) (each a section, option, value
    and the reason the deployment needs it).
  - Runs with the contract's client Python (openstacksdk). Returns what it wrote without the
    password.
options:
  contract:
    description: The OpenStack layer's contract.
    type: dict
    required: true
  cloud:
    description: Admin cloud of clouds.yaml; empty takes the contract's admin_cloud.
    type: str
    default: ""
  dest:
    description: Path of tempest.conf.
    type: path
    required: true
  lock_path:
    description: Folder for Tempest's locks.
    type: path
    required: true
  prefix:
    description: Name prefix of the images and flavors made for Tempest.
    type: str
    default: crossgate-interop
  overrides:
    description: Settings the deployment needs, each a mapping of section, option, value and reason.
    type: list
    elements: dict
    default: []
  request_timeout:
    description: Seconds each API request may take.
    type: int
    default: 60
author:
  - crossgate
"""

EXAMPLES = r"""
- name: tempest.conf for the job's cloud
  crossgate_interop_tempest_conf:
    contract: "{{ contract }}"
    dest: /opt/crossgate/interop/etc/tempest.conf
    lock_path: /opt/crossgate/interop/locks
  vars:
    ansible_python_interpreter: "{{ contract.client_python }}"
  no_log: true
"""

RETURN = r"""
settings:
  description: The sections and options written, the admin password replaced by '***'.
  returned: always
  type: dict
made:
  description: Images and flavors this call made (empty when they were there).
  returned: always
  type: list
overrides:
  description: The overrides applied, with their reasons.
  returned: always
  type: list
object_store_apis:
  description: >-
    The APIs the object store lists in its /info (Tempest's discoverable_apis: the tests of
    the others are skipped), or None without an object store.
  returned: always
  type: list
"""

import configparser
import io
import os

from ansible.module_utils.basic import AnsibleModule

# catalog type -> Tempest's service_available option
SERVICES = {"compute": "nova", "image": "glance", "network": "neutron",
            "block-storage": "cinder", "volumev3": "cinder", "object-store": "swift",
            "orchestration": "heat", "dns": "designate", "load-balancer": "octavia"}
IMAGE_BYTES = 1024 * 1024


def ensure_resources(conn, prefix):
    made = []
    images = {}
    for suffix in ("image", "image-alt"):
        name = f"{prefix}-{suffix}"
        image = conn.image.find_image(name)
        if image is None:
            image = conn.image.create_image(
                name=name, disk_format="raw", container_format="bare", visibility="public",
                data=io.BytesIO(b"\0" * IMAGE_BYTES), validate_checksum=False)
            made.append(f"image {name}")
        images[suffix] = image.id
    flavors = {}
    for suffix, ram, disk in (("nano", 128, 1), ("micro", 192, 2)):
        name = f"{prefix}-{suffix}"
        flavor = conn.compute.find_flavor(name)
        if flavor is None:
            flavor = conn.compute.create_flavor(name=name, ram=ram, vcpus=1, disk=disk)
            made.append(f"flavor {name}")
        flavors[suffix] = flavor.id
    return images, flavors, made


def settings_for(contract, auth, images, flavors, public_id, lock_path, catalog=()):
    """The sections of tempest.conf (without the overrides). The services are the contract's
    endpoints, or else the catalog's service types (a cloud the job did not build)."""
    types = set(contract.get("endpoints") or {}) or set(catalog)
    if (contract.get("ceph") or {}).get("object_store"):
        types.add("object-store")
    available = {}
    for t, opt in SERVICES.items():
        available[opt] = "true" if t in types or available.get(opt) == "true" else "false"
    available["horizon"] = "false"
    # Cinder's catalog type: block-storage (its official type) or the older volumev3
    volume_type = "volumev3" if "volumev3" in types and "block-storage" not in types \
        else "block-storage"
    computes = contract.get("compute_hosts") or []
    return {
        "DEFAULT": {"log_file": "tempest.log", "use_stderr": "false"},
        "oslo_concurrency": {"lock_path": lock_path},
        "auth": {"use_dynamic_credentials": "true", "admin_username": auth["username"],
                 "admin_password": auth["password"], "admin_project_name": auth["project_name"],
                 "admin_domain_name": auth.get("user_domain_name", "Default"),
                 "default_credentials_domain_name": auth.get("user_domain_name", "Default")},
        "identity": {"uri_v3": auth["auth_url"].rstrip("/"), "auth_version": "v3",
                     "region": contract.get("region", "RegionOne"), "v3_endpoint_type": "public"},
        "identity-feature-enabled": {"api_v2": "false"},
        # every microversion the cloud offers (Tempest's own default tests none above the base)
        "compute": {"image_ref": images["image"], "image_ref_alt": images["image-alt"],
                    "flavor_ref": flavors["nano"], "flavor_ref_alt": flavors["micro"],
                    "min_compute_nodes": str(max(len(computes), 1)),
                    "min_microversion": "2.1", "max_microversion": "latest",
                    "region": contract.get("region", "RegionOne")},
        "network": {"public_network_id": public_id,
                    "floating_network_name": contract.get("public_network", ""),
                    "region": contract.get("region", "RegionOne")},
        "image": {"region": contract.get("region", "RegionOne")},
        "volume": {"catalog_type": volume_type, "storage_protocol": "ceph",
                   "min_microversion": "3.0", "max_microversion": "latest",
                   "vendor_name": "Open Source", "region": contract.get("region", "RegionOne")},
        "object-storage": {"region": contract.get("region", "RegionOne")},
        "service_available": available,
    }


def info_url(object_store_url):
    """The Swift /info address of an object-store endpoint (.../v1/AUTH_... -> .../info)."""
    base = object_store_url.split("/v1/", 1)[0] if "/v1/" in object_store_url \
        else object_store_url.rstrip("/")
    return base + "/info"


def object_store_apis(settings, info):
    """Tempest runs the object store's middleware tests (account quotas, temp URLs, ...) for
    the APIs in discoverable_apis: the ones the object store lists in its /info."""
    apis = sorted(k for k in info if k != "swift")
    features = settings.setdefault("object-storage-feature-enabled", {})
    features["discoverable_apis"] = ", ".join(apis)
    if "tempurl" in info:
        features["tempurl_digest_hashlib"] = tempurl_digest(info["tempurl"])
    return apis


def tempurl_digest(tempurl):
    """The digest Tempest signs temporary URLs with: SHA-256 when the object store allows it,
    else the strongest it lists. An object store that lists no allowed_digests (RGW, Swift
    before 2.22) verifies HMAC-SHA1 only."""
    allowed = (tempurl or {}).get("allowed_digests") if isinstance(tempurl, dict) else None
    if not allowed:
        return "sha1"
    for digest in ("sha256", "sha512", "sha1"):
        if digest in allowed:
            return digest
    return str(allowed[0])


def apply_overrides(settings, overrides):
    """Overrides on top of the settings; ValueError naming a malformed one."""
    for i, o in enumerate(overrides):
        missing = [k for k in ("section", "option", "value", "reason") if k not in o]
        if missing:
            raise ValueError(f"overrides[{i}]: missing {', '.join(missing)}; each needs section, "
                             "option, value and reason")
        value = o["value"]
        if isinstance(value, bool):
            value = str(value).lower()
        settings.setdefault(str(o["section"]), {})[str(o["option"])] = str(value)
    return settings


def render(settings):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    for section, options in settings.items():
        if section != "DEFAULT":
            parser.add_section(section)
        for k, v in options.items():
            parser.set(section, k, v)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            contract=dict(type="dict", required=True),
            cloud=dict(type="str", default=""),
            dest=dict(type="path", required=True),
            lock_path=dict(type="path", required=True),
            prefix=dict(type="str", default="crossgate-interop"),
            overrides=dict(type="list", elements="dict", default=[]),
            request_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=False,
    )
    p = module.params
    contract = p["contract"]
    for field in ("clouds_yaml", "admin_cloud", "public_network"):
        if not contract.get(field):
            module.fail_json(msg=f"contract: {field!r} is missing; the OpenStack layer's contract "
                                 "(deploy-openstack) publishes it")
    if p["request_timeout"] < 1:
        module.fail_json(msg=f"request_timeout: {p['request_timeout']} is not allowed; "
                             "give 1 or more")
    try:
        import openstack
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable: {exc}; run the module with the "
                             "contract's client_python")
    os.environ["OS_CLIENT_CONFIG_FILE"] = contract["clouds_yaml"]
    cloud = p["cloud"] or contract["admin_cloud"]
    try:
        conn = openstack.connect(cloud=cloud, api_timeout=p["request_timeout"])
        auth = dict(conn.config.config["auth"])
        images, flavors, made = ensure_resources(conn, p["prefix"])
        public = conn.network.find_network(contract["public_network"])
        if public is None:
            module.fail_json(msg=f"the contract's public network {contract['public_network']!r} "
                                 "is not in Neutron")
        catalog = () if contract.get("endpoints") else {
            e.get("type") for e in conn.service_catalog or [] if isinstance(e, dict)}
        settings = settings_for(contract, auth, images, flavors, public.id, p["lock_path"],
                                catalog)
        apis = None
        if settings["service_available"]["swift"] == "true":
            url = conn.object_store.get_endpoint()
            response = conn.session.get(info_url(url), authenticated=False)
            apis = object_store_apis(settings, response.json())
        apply_overrides(settings, p["overrides"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {str(exc)[:600]}")
    text = render(settings)
    os.makedirs(os.path.dirname(p["dest"]), mode=0o755, exist_ok=True)
    os.makedirs(p["lock_path"], mode=0o755, exist_ok=True)
    changed = True
    try:
        with open(p["dest"], encoding="utf-8") as f:
            changed = f.read() != text
    except OSError:
        pass
    if changed:
        fd = os.open(p["dest"] + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(p["dest"] + ".new", p["dest"])
    shown = {s: dict(o) for s, o in settings.items()}
    shown["auth"]["admin_password"] = "***"
    module.exit_json(changed=changed or bool(made), settings=shown, made=made,
                     overrides=p["overrides"], object_store_apis=apis)


if __name__ == "__main__":
    main()
