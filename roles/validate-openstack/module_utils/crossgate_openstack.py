"""OpenStack checks as pure functions: what the APIs, ovn-sbctl, ovs-vsctl, the DHCP client,
ping and the metadata service answered in, check records (layer ``openstack``) out. The modules
crossgate_openstack_api, crossgate_openstack_servers and crossgate_openstack_guest make the
calls on a node and hand the answers to these functions; tests/unit/test_openstack_checks.py
feeds them tables.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible.module_utils.crossgate_records import make_record

LAYER = "openstack"
RESULTS_NAME = "openstack"
REQUIRED_INVENTORY = ("VCPU", "MEMORY_MB", "DISK_GB")
# Everything the checks create carries this prefix, so a cleanup finds leftovers of a run that
# was killed.
PREFIX = "crossgate-check"
PING_RE = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


def record(check, status, node, started, evidence=None, reason=None, duration=None):
    return make_record(LAYER, check, status, node, started, evidence, reason, duration)


def skip_record(check, node, started, reason, evidence=None, duration=None):
    return record(check, "skip", node, started, evidence, reason, duration)


def norm_url(url):
    return (url or "").rstrip("/")


# --- API ---------------------------------------------------------------------------------------

def catalog_record(node, catalog, expected_endpoints, region, started, token_error=None,
                   duration=None):
    """`catalog` is the token's catalog (list of {type, name, endpoints: [{interface, region,
    url}]}); `expected_endpoints` the contract's {service type: public URL}. Passes when a token
    was issued and every contract service type has that public URL in `region`."""
    public = {}
    for service in catalog or []:
        for ep in service.get("endpoints") or []:
            if ep.get("interface") == "public" and ep.get("region", region) in (region, None):
                public.setdefault(service.get("type"), []).append(norm_url(ep.get("url")))
    problems = []
    if token_error:
        problems.append(f"no token: {token_error}")
    for stype, url in sorted((expected_endpoints or {}).items()):
        urls = public.get(stype)
        if not urls:
            problems.append(f"{stype} has no public endpoint in region {region}")
        elif norm_url(url) not in urls:
            problems.append(f"{stype} public endpoint is {', '.join(urls)}, "
                            f"the contract says {url}")
    if not token_error and not expected_endpoints:
        problems.append("the contract lists no endpoints")
    evidence = {"region": region, "catalog_public": {k: v for k, v in sorted(public.items())},
                "contract_endpoints": dict(sorted((expected_endpoints or {}).items()))}
    return record("token-catalog", "fail" if problems else "pass", node, started, evidence,
                  "; ".join(problems) or None, duration)


def endpoint_record(node, service_type, url, status_code, started, error=None, body=None,
                    duration=None):
    """An endpoint answers when its root (version document) returns an HTTP status below 500."""
    evidence = {"url": url, "status_code": status_code, "body": (body or "")[:300]}
    if error is not None or status_code is None:
        reason = f"{service_type} at {url} did not answer: {error}"
        return record(f"endpoint:{service_type}", "fail", node, started, evidence, reason,
                      duration)
    ok = int(status_code) < 500
    reason = None if ok else f"{service_type} at {url} answered HTTP {status_code}"
    return record(f"endpoint:{service_type}", "pass" if ok else "fail", node, started,
                  evidence, reason, duration)


def image_record(node, written, read, size, started, steps, error=None, duration=None):
    """Upload and download of one image: passes when the SHA-256 of both match."""
    evidence = {"bytes": size, "sha256_uploaded": written, "sha256_downloaded": read,
                "steps": steps}
    ok = error is None and written is not None and written == read
    reason = None
    if not ok:
        reason = error or f"downloaded sha256 {read} differs from uploaded {written}"
    return record("image-roundtrip", "pass" if ok else "fail", node, started, evidence, reason,
                  duration)


def network_record(node, contract, network, subnet, router, router_ports, public,
                   started, duration=None):
    """The tenant network, subnet and router of the contract. `network`, `subnet`, `router`,
    `public` are the API's objects as dicts (or None when not found); `router_ports` the ports
    whose device is the router."""
    problems = []
    name_net = contract.get("tenant_network")
    name_sub = contract.get("tenant_subnet")
    name_router = contract.get("router")
    if not network:
        problems.append(f"network {name_net} not found")
    elif network.get("status") != "ACTIVE":
        problems.append(f"network {name_net} is {network.get('status')}")
    if not subnet:
        problems.append(f"subnet {name_sub} not found")
    else:
        if network and subnet.get("network_id") != network.get("id"):
            problems.append(f"subnet {name_sub} is not on network {name_net}")
        if contract.get("tenant_cidr") and subnet.get("cidr") != contract["tenant_cidr"]:
            problems.append(f"subnet {name_sub} has CIDR {subnet.get('cidr')}, the contract "
                            f"says {contract['tenant_cidr']}")
        if not subnet.get("enable_dhcp", True):
            problems.append(f"subnet {name_sub} has DHCP disabled")
    if not router:
        problems.append(f"router {name_router} not found")
    else:
        on_subnet = [p for p in router_ports or []
                     if subnet and any(ip.get("subnet_id") == subnet.get("id")
                                       for ip in p.get("fixed_ips") or [])]
        if subnet and not on_subnet:
            problems.append(f"router {name_router} has no interface on subnet {name_sub}")
        gateway = (router.get("external_gateway_info") or {}).get("network_id")
        if contract.get("public_network"):
            if not public:
                problems.append(f"public network {contract['public_network']} not found")
            elif gateway != public.get("id"):
                problems.append(f"router {name_router}'s external gateway is {gateway}, not the "
                                f"public network {contract['public_network']}")
    evidence = {
        "network": _pick(network, "id", "name", "status", "mtu"),
        "subnet": _pick(subnet, "id", "name", "cidr", "gateway_ip", "enable_dhcp"),
        "router": _pick(router, "id", "name", "status", "external_gateway_info"),
        "router_interfaces": [ip.get("ip_address") for p in router_ports or []
                              for ip in p.get("fixed_ips") or []],
        "public_network": _pick(public, "id", "name"),
    }
    return record("tenant-network", "fail" if problems else "pass", node, started, evidence,
                  "; ".join(problems) or None, duration)


def _pick(obj, *keys):
    if not obj:
        return None
    return {k: obj.get(k) for k in keys}


def hypervisors_record(node, expected_hosts, hypervisors, services, started, duration=None,
                       waited=None):
    """`hypervisors`: [{name, state, status}]; `services`: compute services [{binary, host,
    state, status}]. Passes when the hypervisors are exactly `expected_hosts` (the contract's
    compute_hosts), each up and enabled, and each host's nova-compute service up and
    enabled. The reason names the host and the service."""
    by_name = {h.get("name"): h for h in hypervisors or []}
    computes = {s.get("host"): s for s in services or [] if s.get("binary") == "nova-compute"}
    problems = []
    for host in expected_hosts:
        hyp = by_name.get(host)
        svc = computes.get(host)
        if svc is None:
            problems.append(f"{host}: no nova-compute service registered")
        elif svc.get("state") != "up" or svc.get("status") != "enabled":
            problems.append(f"{host}: nova-compute is {svc.get('state')} "
                            f"({svc.get('status')})")
        if hyp is None:
            problems.append(f"{host}: no hypervisor")
        elif hyp.get("state") != "up" or hyp.get("status") != "enabled":
            problems.append(f"{host}: hypervisor state {hyp.get('state')}, status "
                            f"{hyp.get('status')}")
    extra = sorted(set(by_name) - set(expected_hosts))
    if extra:
        problems.append(f"hypervisors not in the compute group: {', '.join(extra)}")
    if not expected_hosts:
        problems.append("the contract lists no compute hosts")
    evidence = {"expected": list(expected_hosts),
                "hypervisors": [_pick(h, "name", "state", "status") for h in hypervisors or []],
                "nova_compute": [_pick(s, "host", "state", "status", "updated_at")
                                 for s in computes.values()]}
    reason = "; ".join(problems) or None
    if reason and waited:
        reason += f" (after waiting up to {waited} s)"
    return record("hypervisors", "fail" if problems else "pass", node, started, evidence,
                  reason, duration)


def hosts_up(expected_hosts, hypervisors, services):
    """The hosts of `expected_hosts` whose hypervisor and nova-compute are up and enabled."""
    ok_h = {h.get("name") for h in hypervisors or []
            if h.get("state") == "up" and h.get("status") == "enabled"}
    ok_s = {s.get("host") for s in services or []
            if s.get("binary") == "nova-compute" and s.get("state") == "up"
            and s.get("status") == "enabled"}
    return [h for h in expected_hosts if h in ok_h and h in ok_s]


def placement_record(node, host, providers, inventories, started, required=REQUIRED_INVENTORY,
                     duration=None):
    """`providers`: resource providers named `host` [{uuid, name}]; `inventories`:
    {resource class: {total, reserved, allocation_ratio}} of that provider. Passes when there is
    one provider and every class of `required` has capacity (total - reserved > 0)."""
    problems = []
    if not providers:
        problems.append(f"{host}: no resource provider")
    elif len(providers) > 1:
        problems.append(f"{host}: {len(providers)} resource providers")
    else:
        for rc in required:
            inv = (inventories or {}).get(rc)
            if inv is None:
                problems.append(f"{host}: no {rc} inventory")
            elif int(inv.get("total", 0)) - int(inv.get("reserved", 0)) <= 0:
                problems.append(f"{host}: {rc} total {inv.get('total')}, reserved "
                                f"{inv.get('reserved')}")
    evidence = {"providers": [_pick(p, "uuid", "name") for p in providers or []],
                "inventories": {rc: _pick(v, "total", "reserved", "allocation_ratio")
                                for rc, v in sorted((inventories or {}).items())},
                "required": list(required)}
    return record(f"placement-inventory:{host}", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


# --- servers and OVN ---------------------------------------------------------------------------

def server_record(node, host, server, started, error=None, duration=None, waited=None):
    """`server` as a dict: {id, name, status, host (OS-EXT-SRV-ATTR:host), fault}. Passes when
    it is ACTIVE on `host`."""
    problems = []
    if error:
        problems.append(error)
    if server:
        if server.get("status") != "ACTIVE":
            fault = (server.get("fault") or {}).get("message")
            problems.append(f"server {server.get('name')} is {server.get('status')}"
                            + (f" ({fault})" if fault else "")
                            + (f" after waiting up to {waited} s" if waited else ""))
        if server.get("host") != host:
            problems.append(f"server {server.get('name')} is on {server.get('host')}, not {host}")
    elif not error:
        problems.append(f"no server on {host}")
    evidence = {"server": _pick(server, "id", "name", "status", "host", "hypervisor_hostname",
                                "availability_zone")}
    return record(f"server-active:{host}", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def decode_ovsdb(value):
    """One cell of ovs-vsctl/ovn-sbctl --format=json: atoms stay, ["uuid", x] is x, ["set",
    [...]] a list, ["map", [[k, v], ...]] a dict."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, inner = value
        if kind in ("uuid", "named-uuid"):
            return inner
        if kind == "set":
            return [decode_ovsdb(v) for v in inner]
        if kind == "map":
            return {decode_ovsdb(k): decode_ovsdb(v) for k, v in inner}
    return value


def parse_ovsdb_json(text):
    """Rows of `ovn-sbctl --format=json ... list/find TABLE` as dicts."""
    doc = json.loads(text or "{}")
    headings = doc.get("headings") or []
    return [{h: decode_ovsdb(row[i]) for i, h in enumerate(headings) if i < len(row)}
            for row in doc.get("data") or []]


def single(value):
    """An optional reference column: [] is None, [x] or x is x."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def port_bound_record(node, host, port, chassis_name, bindings, chassis_rows, started,
                      duration=None, waited=None):
    """`port`: Neutron's port {id, status, binding_host_id, mac_address}; `chassis_name` the
    contract's chassis of `host`; `bindings`: Port_Binding rows of the port (logical_port,
    chassis, up); `chassis_rows`: Chassis rows (_uuid, name, hostname). Passes when Neutron binds
    the port to `host`, it is ACTIVE, and OVN's southbound binds it to that host's chassis."""
    problems = []
    pid = (port or {}).get("id")
    if not port:
        problems.append(f"{host}: the server has no port")
    else:
        if port.get("binding_host_id") != host:
            problems.append(f"port {pid} binding:host_id is {port.get('binding_host_id')!r}, "
                            f"not {host}")
        if port.get("status") != "ACTIVE":
            problems.append(f"port {pid} is {port.get('status')}")
    names = {row.get("_uuid"): row.get("name") for row in chassis_rows or []}
    bound = None
    if port and not bindings:
        problems.append(f"port {pid} has no Port_Binding in OVN southbound")
    for b in bindings or []:
        bound = names.get(single(b.get("chassis")), single(b.get("chassis")))
        if bound != chassis_name:
            problems.append(f"OVN southbound binds port {pid} to chassis {bound!r}, not "
                            f"{chassis_name} ({host})")
    reason = "; ".join(problems) or None
    if reason and waited:
        reason += f" (after waiting up to {waited} s)"
    evidence = {"port": _pick(port, "id", "status", "binding_host_id", "mac_address"),
                "expected_chassis": chassis_name, "sb_chassis": bound,
                "port_binding": [{"logical_port": b.get("logical_port"),
                                  "chassis": names.get(single(b.get("chassis")),
                                                       single(b.get("chassis"))),
                                  "up": single(b.get("up"))} for b in bindings or []]}
    return record(f"port-bound-ovn:{host}", "fail" if problems else "pass", node, started,
                  evidence, reason, duration)


# --- the guest stand-in ------------------------------------------------------------------------

def expected_from_neutron(port, subnet, network):
    """What a guest on `port` must get by DHCP: its IPv4 address, prefix length, gateway and
    MTU, from Neutron's port, subnet and network (dicts)."""
    ip = None
    for fixed in port.get("fixed_ips") or []:
        if fixed.get("subnet_id") == subnet.get("id"):
            ip = fixed.get("ip_address")
    return {"ip": ip, "prefixlen": ipaddress.ip_network(subnet["cidr"]).prefixlen,
            "gateway": subnet.get("gateway_ip"), "mtu": network.get("mtu"),
            "mac": port.get("mac_address")}


def parse_lease(text):
    """The environment udhcpc hands its script (`env` output: key=value lines) as a lease:
    {ip, prefixlen, router, mtu, routes: [(destination, gateway)]}."""
    env = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key.strip()] = value.strip()
    if not env.get("ip"):
        return {}
    routers = (env.get("router") or "").split()
    lease = {"ip": env["ip"], "router": routers[0] if routers else None}
    lease["prefixlen"] = (ipaddress.ip_network(f"0.0.0.0/{env['subnet']}").prefixlen
                          if env.get("subnet") else None)
    lease["mtu"] = int(env["mtu"]) if env.get("mtu", "").isdigit() else None
    words = (env.get("staticroutes") or "").split()
    lease["routes"] = [(words[i], words[i + 1]) for i in range(0, len(words) - 1, 2)]
    return lease


def dhcp_record(node, host, expected, lease, started, error=None, duration=None, steps=None):
    """Passes when the stand-in's DHCP lease has Neutron's address, prefix, gateway and MTU."""
    problems = []
    if error:
        problems.append(error)
    elif not lease:
        problems.append("no DHCP lease")
    else:
        for key, name in (("ip", "address"), ("prefixlen", "prefix length"),
                          ("router", "gateway"), ("mtu", "MTU")):
            want = expected.get("gateway" if key == "router" else key)
            got = lease.get(key)
            if want is not None and got != want:
                problems.append(f"DHCP gave {name} {got}, Neutron says {want}")
    evidence = {"expected": expected, "lease": lease, "steps": steps or []}
    return record(f"guest-dhcp:{host}", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def parse_ping(output):
    """(transmitted, received) from ping's summary line, (0, 0) when there is none."""
    m = PING_RE.search(output or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def ping_record(node, src, dst, target, observation, started, duration=None):
    """`observation`: {transmitted, received, attempts, waited, output} of pings until one got
    a reply or the wait ended. Passes when a reply came."""
    ok = observation.get("received", 0) > 0
    reason = None
    if not ok:
        reason = (f"{src} got no reply from {dst}'s guest at {target} across the tunnel "
                  f"({observation.get('attempts')} attempts in {observation.get('waited')} s)")
    return record(f"guest-ping:{src}->{dst}", "pass" if ok else "fail", node, started,
                  dict(observation, target=target), reason, duration)


def security_group_record(node, src, dst, target, rule, blocked, restored, started,
                          error=None, duration=None):
    """`blocked`: the pings while the ICMP ingress rule was removed; `restored`: after it was
    put back. Passes when the first got no reply and the second did."""
    problems = []
    if error:
        problems.append(error)
    if not blocked:
        problems.append("no ping was tried with the rule removed")
    elif blocked.get("received", 0) > 0:
        problems.append(f"{dst}'s guest still answered {src} with the ICMP rule removed "
                        f"({blocked.get('received')} of {blocked.get('transmitted')} pings "
                        f"after waiting up to {blocked.get('waited')} s)")
    if not restored:
        problems.append("no ping was tried with the rule restored")
    elif restored.get("received", 0) == 0:
        problems.append(f"{dst}'s guest did not answer {src} again once the ICMP rule was "
                        f"restored (waited {restored.get('waited')} s)")
    evidence = {"target": target, "rule": rule, "removed": blocked, "restored": restored}
    return record(f"security-group-icmp:{src}->{dst}", "fail" if problems else "pass", node,
                  started, evidence, "; ".join(problems) or None, duration)


def sanitize_hostname(name):
    """Nova's hostname of a server from its display name (nova.utils.sanitize_hostname)."""
    host = re.sub(r"[ _]", "-", name.lower())
    host = re.sub(r"[^\w.-]+", "", host, flags=re.ASCII)
    return host.strip(".-")[:63]


def metadata_record(node, host, server_id, hostname, doc, started, error=None, url=None,
                    duration=None):
    """`doc`: meta_data.json as the guest read it. Passes when its uuid is the server's id and
    its hostname (first label) the server's hostname."""
    problems = []
    if error:
        problems.append(error)
    elif not doc:
        problems.append("no metadata document")
    else:
        if doc.get("uuid") != server_id:
            problems.append(f"metadata uuid is {doc.get('uuid')}, the server is {server_id}")
        got = (doc.get("hostname") or "").split(".")[0]
        if got != hostname:
            problems.append(f"metadata hostname is {doc.get('hostname')}, the server's is "
                            f"{hostname}")
    evidence = {"url": url, "server_id": server_id, "hostname": hostname,
                "document": {k: doc.get(k) for k in ("uuid", "hostname", "name",
                                                      "availability_zone")} if doc else None}
    return record(f"guest-metadata:{host}", "fail" if problems else "pass", node, started,
                  evidence, "; ".join(problems) or None, duration)


def interface_name(port_id):
    """The tap name os-vif gives a VM's port: tap + the first 11 characters of its id."""
    return f"tap{port_id[:11]}"


def netns_name(port_id):
    return f"{PREFIX}-{port_id[:8]}"


def mask(text, secrets):
    """`text` with every non-empty secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
