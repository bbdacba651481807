#!/usr/bin/python
"""crossgate_openstack_api: the API checks of the OpenStack layer, through openstacksdk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: crossgate_openstack_api
short_description: Check an OpenStack cloud through its APIs against the layer's contract
description:
  - Runs on the node with the cloud's clouds.yaml, with a Python that has openstacksdk (the
    contract's C(client_python)). Records one check each (layer C(openstack)), C(token-catalog)
    (a token is issued and the catalog has the contract's public endpoints),
    C(endpoint:TYPE) (each public endpoint's root answers with an HTTP status below 500),
    C(image-roundtrip) (random bytes uploaded to Glance and downloaded with the same SHA-256,
    then deleted), C(tenant-network) (the contract's network, subnet and router),
    C(hypervisors) (the hypervisors are the contract's compute hosts, each one and its
    nova-compute up) and C(placement-inventory:HOST) (VCPU, MEMORY_MB and DISK_GB inventories
    for each compute host).
  - The hypervisors check looks again every O(delay) seconds for up to O(settle_timeout)
    seconds before it records a failure; the failure names each host and its service.
  - Records are written as JSON lines to O(results_dir) and returned, with the hosts whose
    hypervisor is up.
options:
  node:
    description: Inventory name of this node.
    type: str
    required: true
  cloud:
    description: The admin cloud of clouds.yaml.
    type: str
    default: crossgate-admin
  contract:
    description: The layer's contract (crossgate-contract.json).
    type: dict
    required: true
  checks:
    description: Which checks to run.
    type: list
    elements: str
    default: [token-catalog, endpoints, image-roundtrip, tenant-network, hypervisors, placement]
  image_size_kb:
    description: KiB of random data of the image round trip.
    type: int
    default: 8
  request_timeout:
    description: Seconds each API request may take.
    type: int
    default: 30
  settle_timeout:
    description: Seconds the hypervisors check waits for every host to be up.
    type: int
    default: 60
  delay:
    description: Seconds between two looks at the hypervisors.
    type: int
    default: 3
  results_dir:
    description: Folder on the node for the check records.
    type: path
    default: /var/lib/crossgate/results
author:
  - crossgate
"""

EXAMPLES = r"""
- name: API checks
  crossgate_openstack_api:
    node: "{{ inventory_hostname }}"
    contract: "{{ contract }}"
  vars:
    ansible_python_interpreter: "{{ contract.client_python }}"
"""

RETURN = r"""
records:
  description: The check records.
  returned: always
  type: list
hosts_up:
  description: Compute hosts whose hypervisor and nova-compute are up and enabled.
  returned: always
  type: list
results_file:
  description: The JSON lines file the records were appended to.
  returned: always
  type: str
"""

import hashlib
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.crossgate_openstack import (
    PREFIX,
    RESULTS_NAME,
    catalog_record,
    endpoint_record,
    hosts_up,
    hypervisors_record,
    image_record,
    network_record,
    placement_record,
)
from ansible.module_utils.crossgate_records import check_argument_spec, write_records

CHECKS = ["token-catalog", "endpoints", "image-roundtrip", "tenant-network", "hypervisors",
          "placement"]


def as_dict(obj):
    if obj is None:
        return None
    return obj.to_dict(computed=False) if hasattr(obj, "to_dict") else dict(obj)


def token_and_catalog(conn):
    access = conn.session.auth.get_access(conn.session)
    return access.service_catalog.catalog


def check_endpoint(conn, stype, url, timeout, node):
    started = time.time()
    try:
        resp = conn.session.get(url, authenticated=False, raise_exc=False, timeout=timeout,
                                endpoint_filter=None, connect_retries=1)
        return endpoint_record(node, stype, url, resp.status_code, started,
                               body=resp.text[:300])
    except Exception as exc:  # any transport error is what the check reports
        return endpoint_record(node, stype, url, None, started, error=str(exc)[:300])


def image_roundtrip(conn, size, node):
    started = time.time()
    data = os.urandom(size)
    written = hashlib.sha256(data).hexdigest()
    steps, read, error, image = [], None, None, None
    name = f"{PREFIX}-image-{os.getpid()}-{int(started)}"
    try:
        image = conn.image.create_image(name, data=data, disk_format="raw",
                                        container_format="bare", visibility="private",
                                        allow_duplicates=True, wait=True, timeout=120)
        steps.append({"step": "upload", "image": image.id, "status": image.status})
        got = conn.image.download_image(image)
        body = got if isinstance(got, bytes) else got.content
        read = hashlib.sha256(body).hexdigest()
        steps.append({"step": "download", "bytes": len(body)})
    except Exception as exc:
        step = "download" if steps else "upload"
        error = f"{step} failed at the image API {image_api(conn)}: {str(exc)[:300]}"
    finally:
        if image is not None:
            try:
                conn.image.delete_image(image, ignore_missing=True)
                steps.append({"step": "delete"})
            except Exception as exc:
                error = error or (f"delete failed at the image API {image_api(conn)}: "
                                  f"{str(exc)[:300]}")
    return image_record(node, written, read, size, started, steps, error)


def image_api(conn):
    """The image API's URL in the catalog, for a failure to name the service it hit (read from
    the token's catalog: asking the API itself for its versions fails when it is down)."""
    try:
        catalog = conn.session.auth.get_access(conn.session).service_catalog
        return catalog.url_for(service_type="image", interface="public")
    except Exception as exc:  # the catalog itself may be what failed
        return f"(its URL unknown: {str(exc)[:100]})"


def check_network(conn, contract, node):
    started = time.time()
    net = conn.network.find_network(contract.get("tenant_network"))
    sub = conn.network.find_subnet(contract.get("tenant_subnet"))
    router = conn.network.find_router(contract.get("router"))
    public = (conn.network.find_network(contract["public_network"])
              if contract.get("public_network") else None)
    ports = [as_dict(p) for p in conn.network.ports(device_id=router.id)] if router else []
    return network_record(node, contract, as_dict(net), as_dict(sub), as_dict(router), ports,
                          as_dict(public), started)


def compute_state(conn):
    hyps = [{"name": h.name, "state": h.state, "status": h.status}
            for h in conn.compute.hypervisors(details=True)]
    svcs = [{"binary": s.binary, "host": s.host, "state": s.state, "status": s.status,
             "updated_at": s.updated_at} for s in conn.compute.services()]
    return hyps, svcs


def check_hypervisors(conn, hosts, timeout, delay, node):
    started = time.time()
    deadline = started + timeout
    while True:
        hyps, svcs = compute_state(conn)
        rec = hypervisors_record(node, hosts, hyps, svcs, started)
        if rec["status"] == "pass" or time.time() + delay > deadline:
            break
        time.sleep(delay)
    if rec["status"] != "pass":
        rec = hypervisors_record(node, hosts, hyps, svcs, started, waited=timeout)
    return rec, hosts_up(hosts, hyps, svcs)


def check_placement(conn, host, node):
    started = time.time()
    providers = [p for p in conn.placement.resource_providers(name=host)]
    inventories = {}
    if len(providers) == 1:
        for inv in conn.placement.resource_provider_inventories(providers[0]):
            inventories[inv.resource_class] = {"total": inv.total, "reserved": inv.reserved,
                                               "allocation_ratio": inv.allocation_ratio}
    return placement_record(node, host, [{"uuid": p.id, "name": p.name} for p in providers],
                            inventories, started)


def main():
    module = AnsibleModule(
        argument_spec=check_argument_spec(
            cloud=dict(type="str", default="crossgate-admin"),
            contract=dict(type="dict", required=True),
            checks=dict(type="list", elements="str", default=list(CHECKS)),
            image_size_kb=dict(type="int", default=8),
            request_timeout=dict(type="int", default=30),
            settle_timeout=dict(type="int", default=60),
            delay=dict(type="int", default=3),
        ),
        supports_check_mode=False,
    )
    p = module.params
    unknown = sorted(set(p["checks"]) - set(CHECKS))
    if unknown:
        module.fail_json(msg=f"checks: {', '.join(unknown)} not allowed; allowed: "
                             f"{', '.join(CHECKS)}")
    try:
        import openstack
    except ImportError as exc:
        module.fail_json(msg=f"openstacksdk is not importable by {os.sys.executable}: {exc}; "
                             "run the module with the contract's client_python")
    contract, node, region = p["contract"], p["node"], p["contract"].get("region", "RegionOne")
    records, up = [], list(contract.get("compute_hosts") or [])
    started = time.time()
    try:
        conn = openstack.connect(cloud=p["cloud"], api_timeout=p["request_timeout"])
        catalog = token_and_catalog(conn)
    except Exception as exc:
        rec = catalog_record(node, [], contract.get("endpoints") or {}, region, started,
                             token_error=str(exc)[:300])
        path = write_records([rec], p["results_dir"], RESULTS_NAME)
        module.exit_json(changed=False, records=[rec], hosts_up=[], results_file=path)
    if "token-catalog" in p["checks"]:
        records.append(catalog_record(node, catalog, contract.get("endpoints") or {}, region,
                                      started))
    if "endpoints" in p["checks"]:
        for service in catalog:
            for ep in service.get("endpoints") or []:
                if ep.get("interface") == "public":
                    records.append(check_endpoint(conn, service.get("type"), ep.get("url"),
                                                  p["request_timeout"], node))
    if "image-roundtrip" in p["checks"]:
        records.append(image_roundtrip(conn, p["image_size_kb"] * 1024, node))
    if "tenant-network" in p["checks"]:
        records.append(check_network(conn, contract, node))
    if "hypervisors" in p["checks"]:
        rec, up = check_hypervisors(conn, list(contract.get("compute_hosts") or []),
                                    p["settle_timeout"], p["delay"], node)
        records.append(rec)
    if "placement" in p["checks"]:
        for host in contract.get("compute_hosts") or []:
            records.append(check_placement(conn, host, node))
    path = write_records(records, p["results_dir"], RESULTS_NAME)
    module.exit_json(changed=False, records=records, hosts_up=up, results_file=path)


if __name__ == "__main__":
    main()
