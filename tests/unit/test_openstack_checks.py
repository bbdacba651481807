"""OpenStack check functions (roles/validate-openstack/module_utils/crossgate_openstack.py),
table-driven: what the APIs, ovn-sbctl, udhcpc, ping and the metadata service answer in, one
record of layer openstack out, valid against the record schema. Each rule of a check has a row
that breaks it. The modules' DOCUMENTATION is checked against their argument_spec, as
test_module_docs.py does for crossgate-modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import modload

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "plugins/schemas/check-record.schema.json").read_text())
ROLE = "validate-openstack"

modload.module_util("crossgate_records")
osc = modload.module_util("crossgate_openstack", ROLE)
MODULES = sorted(p.stem for p in (ROOT / "roles" / ROLE / "library").glob("*.py"))

HOSTS = ["compute1", "compute2"]
PORT_ID = "5b3e9c1a-7f0d-4d3e-9a51-2f1b8c4d6e70"
CH1 = "1f6ad3a0-0000-4000-8000-000000000001"
CH2 = "1f6ad3a0-0000-4000-8000-000000000002"
# ovn-sbctl --format=json --columns=_uuid,name,hostname list Chassis
CHASSIS_JSON = json.dumps({"data": [[["uuid", CH1], "compute1", "compute1"],
                                    [["uuid", CH2], "compute2", "compute2"]],
                           "headings": ["_uuid", "name", "hostname"]})


def valid(rec: dict) -> dict:
    jsonschema.validate(rec, SCHEMA)
    assert rec["layer"] == "openstack"
    return rec


def binding_json(chassis: str | None, up: bool = True) -> str:
    """ovn-sbctl --format=json --columns=logical_port,chassis,up find Port_Binding ..."""
    cell = ["uuid", chassis] if chassis else ["set", []]
    return json.dumps({"data": [[PORT_ID, cell, up]],
                       "headings": ["logical_port", "chassis", "up"]})


# --- token and catalog, endpoints, image --------------------------------------------------------

CATALOG = [
    {"type": "identity", "name": "keystone", "endpoints": [
        {"interface": "public", "region": "RegionOne", "url": "http://10.0.0.1:5000/v3/"},
        {"interface": "internal", "region": "RegionOne", "url": "http://10.0.0.1:5000/v3"}]},
    {"type": "compute", "name": "nova", "endpoints": [
        {"interface": "public", "region": "RegionOne", "url": "http://10.0.0.1:8774/v2.1"}]},
]
ENDPOINTS = {"identity": "http://10.0.0.1:5000/v3", "compute": "http://10.0.0.1:8774/v2.1"}


@pytest.mark.parametrize(("catalog", "endpoints", "token_error", "why"), [
    (CATALOG, ENDPOINTS, None, None),
    (CATALOG, {**ENDPOINTS, "image": "http://10.0.0.1:9292"}, None,
     "image has no public endpoint in region RegionOne"),
    (CATALOG, {**ENDPOINTS, "compute": "http://10.0.0.9:8774/v2.1"}, None,
     "compute public endpoint is http://10.0.0.1:8774/v2.1, the contract says "
     "http://10.0.0.9:8774/v2.1"),
    ([], ENDPOINTS, "Unauthorized (HTTP 401)", "no token: Unauthorized (HTTP 401)"),
    (CATALOG, {}, None, "the contract lists no endpoints"),
])
def test_token_catalog(catalog: list, endpoints: dict, token_error: str | None,
                       why: str | None) -> None:
    rec = valid(osc.catalog_record("controller", catalog, endpoints, "RegionOne", 1000.0,
                                   token_error, 0.1))
    assert rec["check"] == "token-catalog"
    assert rec["status"] == ("fail" if why else "pass")
    if why:
        assert why in rec["reason"]


@pytest.mark.parametrize(("code", "error", "status", "why"), [
    (200, None, "pass", None),
    (300, None, "pass", None),  # a version list (Multiple Choices) is an answer
    (401, None, "pass", None),
    (503, None, "fail", "image at http://x:9292 answered HTTP 503"),
    (None, "Connection refused", "fail", "image at http://x:9292 did not answer: Connection"),
])
def test_endpoint(code: int | None, error: str | None, status: str, why: str | None) -> None:
    rec = valid(osc.endpoint_record("controller", "image", "http://x:9292", code, 1000.0, error,
                                    "{}", 0.1))
    assert (rec["check"], rec["status"]) == ("endpoint:image", status)
    if why:
        assert rec["reason"].startswith(why)


@pytest.mark.parametrize(("written", "read", "error", "why"), [
    ("a" * 64, "a" * 64, None, None),
    ("a" * 64, "b" * 64, None, "downloaded sha256 " + "b" * 64),
    ("a" * 64, None, "download failed: 404", "download failed: 404"),
])
def test_image_roundtrip(written: str, read: str | None, error: str | None,
                         why: str | None) -> None:
    rec = valid(osc.image_record("controller", written, read, 8192, 1000.0, [], error, 0.1))
    assert rec["status"] == ("fail" if why else "pass")
    if why:
        assert rec["reason"].startswith(why)


# --- tenant network ---------------------------------------------------------------------------

CONTRACT = {"tenant_network": "crossgate-private", "tenant_subnet": "crossgate-private-subnet",
            "tenant_cidr": "10.1.0.0/24", "router": "crossgate-router", "public_network": "public"}
NET = {"id": "n1", "name": "crossgate-private", "status": "ACTIVE", "mtu": 1442}
SUB = {"id": "s1", "name": "crossgate-private-subnet", "network_id": "n1",
       "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.1", "enable_dhcp": True}
ROUTER = {"id": "r1", "name": "crossgate-router", "status": "ACTIVE",
          "external_gateway_info": {"network_id": "pub"}}
RPORTS = [{"fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.1"}]}]
PUB = {"id": "pub", "name": "public"}


@pytest.mark.parametrize(("change", "why"), [
    ({}, None),
    ({"network": None}, "network crossgate-private not found"),
    ({"network": {**NET, "status": "DOWN"}}, "network crossgate-private is DOWN"),
    ({"subnet": {**SUB, "cidr": "10.2.0.0/24"}},
     "subnet crossgate-private-subnet has CIDR 10.2.0.0/24, the contract says 10.1.0.0/24"),
    ({"subnet": {**SUB, "network_id": "other"}},
     "subnet crossgate-private-subnet is not on network crossgate-private"),
    ({"subnet": {**SUB, "enable_dhcp": False}}, "has DHCP disabled"),
    ({"router": None}, "router crossgate-router not found"),
    ({"ports": []}, "router crossgate-router has no interface on subnet"),
    ({"router": {**ROUTER, "external_gateway_info": None}},
     "router crossgate-router's external gateway is None, not the public network public"),
    ({"public": None}, "public network public not found"),
])
def test_tenant_network(change: dict, why: str | None) -> None:
    args = {"network": NET, "subnet": SUB, "router": ROUTER, "ports": RPORTS, "public": PUB,
            **change}
    rec = valid(osc.network_record("controller", CONTRACT, args["network"], args["subnet"],
                                   args["router"], args["ports"], args["public"], 1000.0, 0.1))
    assert rec["check"] == "tenant-network"
    assert rec["status"] == ("fail" if why else "pass"), rec
    if why:
        assert why in rec["reason"]


# --- hypervisors and Placement ----------------------------------------------------------------

def hyp(name: str, state: str = "up", status: str = "enabled") -> dict:
    return {"name": name, "state": state, "status": status}


def svc(host: str, state: str = "up", status: str = "enabled",
        binary: str = "nova-compute") -> dict:
    return {"binary": binary, "host": host, "state": state, "status": status,
            "updated_at": "2026-12-02T19:00:00.000000"}


UP_H = [hyp("compute1"), hyp("compute2")]
UP_S = [svc("compute1"), svc("compute2"), svc("controller", binary="nova-conductor")]


@pytest.mark.parametrize(("hyps", "svcs", "why", "up"), [
    (UP_H, UP_S, None, HOSTS),
    # nova-compute stopped on compute2: the negative test of the job
    ([hyp("compute1"), hyp("compute2", "down")], [svc("compute1"), svc("compute2", "down")],
     "compute2: nova-compute is down (enabled); compute2: hypervisor state down, status "
     "enabled", ["compute1"]),
    (UP_H, [svc("compute1"), svc("compute2", status="disabled")],
     "compute2: nova-compute is up (disabled)", ["compute1"]),
    ([hyp("compute1")], [svc("compute1")],
     "compute2: no nova-compute service registered; compute2: no hypervisor", ["compute1"]),
    ([*UP_H, hyp("controller")], UP_S, "hypervisors not in the compute group: controller",
     HOSTS),
    ([hyp("compute1"), hyp("compute2", status="disabled")], UP_S,
     "compute2: hypervisor state up, status disabled", ["compute1"]),
])
def test_hypervisors(hyps: list, svcs: list, why: str | None, up: list) -> None:
    rec = valid(osc.hypervisors_record("controller", HOSTS, hyps, svcs, 1000.0, 0.1))
    assert rec["check"] == "hypervisors"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why
    assert osc.hosts_up(HOSTS, hyps, svcs) == up


def test_hypervisors_failure_says_how_long_it_waited() -> None:
    rec = osc.hypervisors_record("controller", HOSTS, [hyp("compute1"), hyp("compute2", "down")],
                                 [svc("compute1"), svc("compute2", "down")], 1000.0, 0.1,
                                 waited=60)
    assert rec["reason"].endswith("(after waiting up to 60 s)")
    assert {"host": "compute2", "state": "down", "status": "enabled",
            "updated_at": "2026-12-02T19:00:00.000000"} in rec["evidence"]["nova_compute"]


def test_no_compute_host_is_a_failure() -> None:
    rec = osc.hypervisors_record("controller", [], UP_H, UP_S, 1000.0, 0.1)
    assert rec["status"] == "fail"
    assert "the contract lists no compute hosts" in rec["reason"]


INV = {"VCPU": {"total": 2, "reserved": 0, "allocation_ratio": 16.0},
       "MEMORY_MB": {"total": 8192, "reserved": 512, "allocation_ratio": 1.5},
       "DISK_GB": {"total": 40, "reserved": 0, "allocation_ratio": 1.0}}
RP = [{"uuid": "rp1", "name": "compute1"}]


@pytest.mark.parametrize(("providers", "inventories", "why"), [
    (RP, INV, None),
    ([], {}, "compute1: no resource provider"),
    (RP * 2, INV, "compute1: 2 resource providers"),
    (RP, {k: v for k, v in INV.items() if k != "DISK_GB"}, "compute1: no DISK_GB inventory"),
    (RP, {**INV, "VCPU": {"total": 2, "reserved": 2}}, "compute1: VCPU total 2, reserved 2"),
])
def test_placement_inventory(providers: list, inventories: dict, why: str | None) -> None:
    rec = valid(osc.placement_record("controller", "compute1", providers, inventories, 1000.0,
                                     duration=0.1))
    assert rec["check"] == "placement-inventory:compute1"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why


# --- servers and OVN --------------------------------------------------------------------------

SERVER = {"id": "i1", "name": "crossgate-check-compute1", "status": "ACTIVE",
          "host": "compute1", "hostname": "crossgate-check-compute1"}


@pytest.mark.parametrize(("server", "error", "waited", "why"), [
    (SERVER, None, None, None),
    ({**SERVER, "status": "BUILD"}, None, 180,
     "server crossgate-check-compute1 is BUILD after waiting up to 180 s"),
    ({**SERVER, "status": "ERROR", "fault": {"message": "No valid host was found."}}, None, None,
     "server crossgate-check-compute1 is ERROR (No valid host was found.)"),
    ({**SERVER, "host": "compute2"}, None, None,
     "server crossgate-check-compute1 is on compute2, not compute1"),
    (None, None, None, "no server on compute1"),
])
def test_server_active(server: dict | None, error: str | None, waited: int | None,
                       why: str | None) -> None:
    rec = valid(osc.server_record("controller", "compute1", server, 1000.0, error, 0.1, waited))
    assert rec["check"] == "server-active:compute1"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why


@pytest.mark.parametrize(("cell", "decoded"), [
    (["uuid", CH1], CH1),
    (["set", []], []),
    (["set", ["a", "b"]], ["a", "b"]),
    (["map", [["iface-id", PORT_ID]]], {"iface-id": PORT_ID}),
    ("compute1", "compute1"),
    (True, True),
])
def test_decode_ovsdb(cell: Any, decoded: Any) -> None:
    assert osc.decode_ovsdb(cell) == decoded


def test_parse_ovsdb_json() -> None:
    assert osc.parse_ovsdb_json(CHASSIS_JSON) == [
        {"_uuid": CH1, "name": "compute1", "hostname": "compute1"},
        {"_uuid": CH2, "name": "compute2", "hostname": "compute2"}]
    assert osc.parse_ovsdb_json('{"data": [], "headings": ["logical_port"]}') == []


PORT = {"id": PORT_ID, "status": "ACTIVE", "binding_host_id": "compute1",
        "mac_address": "fa:16:3e:11:22:33"}


@pytest.mark.parametrize(("port", "binding", "why"), [
    (PORT, binding_json(CH1), None),
    ({**PORT, "binding_host_id": ""}, binding_json(CH1),
     f"port {PORT_ID} binding:host_id is '', not compute1"),
    ({**PORT, "status": "DOWN"}, binding_json(CH1), f"port {PORT_ID} is DOWN"),
    (PORT, binding_json(CH2),
     f"OVN southbound binds port {PORT_ID} to chassis 'compute2', not compute1 (compute1)"),
    (PORT, binding_json(None),
     f"OVN southbound binds port {PORT_ID} to chassis None, not compute1 (compute1)"),
    (PORT, '{"data": [], "headings": ["logical_port", "chassis", "up"]}',
     f"port {PORT_ID} has no Port_Binding in OVN southbound"),
    (None, '{"data": [], "headings": []}', "compute1: the server has no port"),
])
def test_port_bound_ovn(port: dict | None, binding: str, why: str | None) -> None:
    rec = valid(osc.port_bound_record("controller", "compute1", port, "compute1",
                                      osc.parse_ovsdb_json(binding),
                                      osc.parse_ovsdb_json(CHASSIS_JSON), 1000.0, 0.1))
    assert rec["check"] == "port-bound-ovn:compute1"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why
    if why is None:
        assert rec["evidence"]["sb_chassis"] == "compute1"


# --- the guest stand-in -----------------------------------------------------------------------

NPORT = {"id": PORT_ID, "mac_address": "fa:16:3e:11:22:33",
         "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.23"}]}
EXPECTED = {"ip": "10.1.0.23", "prefixlen": 24, "gateway": "10.1.0.1", "mtu": 1442,
            "mac": "fa:16:3e:11:22:33"}
# What udhcpc hands its script on "bound" (the module's script writes `env`)
LEASE_ENV = """interface=tap5b3e9c1a-7f
ip=10.1.0.23
siaddr=10.1.0.2
subnet=255.255.255.0
router=10.1.0.1
mtu=1442
staticroutes=169.254.169.254/32 10.1.0.2 0.0.0.0/0 10.1.0.1
lease=43200
serverid=10.1.0.1
"""


def test_expected_from_neutron() -> None:
    assert osc.expected_from_neutron(NPORT, SUB, NET) == EXPECTED


def test_parse_lease() -> None:
    assert osc.parse_lease(LEASE_ENV) == {
        "ip": "10.1.0.23", "prefixlen": 24, "router": "10.1.0.1", "mtu": 1442,
        "routes": [("169.254.169.254/32", "10.1.0.2"), ("0.0.0.0/0", "10.1.0.1")]}
    assert osc.parse_lease("") == {}
    assert osc.parse_lease("ip=10.1.0.5\n")["router"] is None


@pytest.mark.parametrize(("env", "error", "why"), [
    (LEASE_ENV, None, None),
    (LEASE_ENV.replace("ip=10.1.0.23", "ip=10.1.0.99"), None,
     "DHCP gave address 10.1.0.99, Neutron says 10.1.0.23"),
    (LEASE_ENV.replace("255.255.255.0", "255.255.0.0"), None,
     "DHCP gave prefix length 16, Neutron says 24"),
    (LEASE_ENV.replace("router=10.1.0.1", "router=10.1.0.254"), None,
     "DHCP gave gateway 10.1.0.254, Neutron says 10.1.0.1"),
    (LEASE_ENV.replace("mtu=1442", "mtu=1500"), None, "DHCP gave MTU 1500, Neutron says 1442"),
    (LEASE_ENV.replace("mtu=1442\n", ""), None, "DHCP gave MTU None, Neutron says 1442"),
    ("", None, "no DHCP lease"),
    ("", "OVS made no tap5b3e9c1a-7f device in 10 s", "OVS made no tap5b3e9c1a-7f device"),
])
def test_guest_dhcp(env: str, error: str | None, why: str | None) -> None:
    rec = valid(osc.dhcp_record("compute1", "compute1", EXPECTED, osc.parse_lease(env), 1000.0,
                                error, 0.1))
    assert rec["check"] == "guest-dhcp:compute1"
    assert rec["status"] == ("fail" if why else "pass")
    if why:
        assert rec["reason"].startswith(why)


PING_OK = """PING 10.1.0.31 (10.1.0.31) 56(84) bytes of data.
64 bytes from 10.1.0.31: icmp_seq=1 ttl=64 time=1.02 ms

--- 10.1.0.31 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 1.020/1.020/1.020/0.000 ms
"""
PING_LOST = """PING 10.1.0.31 (10.1.0.31) 56(84) bytes of data.

--- 10.1.0.31 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2041ms
"""


@pytest.mark.parametrize(("output", "counts"), [
    (PING_OK, (1, 1)), (PING_LOST, (3, 0)),
    ("3 packets transmitted, 2 packets received, 33% packet loss", (3, 2)),  # busybox
    ("ping: connect: Network is unreachable", (0, 0)),
])
def test_parse_ping(output: str, counts: tuple[int, int]) -> None:
    assert osc.parse_ping(output) == counts


@pytest.mark.parametrize(("obs", "why"), [
    ({"received": 1, "transmitted": 1, "attempts": 2, "waited": 1.5}, None),
    ({"received": 0, "transmitted": 1, "attempts": 20, "waited": 30.1},
     "compute1 got no reply from compute2's guest at 10.1.0.31 across the tunnel (20 attempts "
     "in 30.1 s)"),
])
def test_guest_ping(obs: dict, why: str | None) -> None:
    rec = valid(osc.ping_record("compute1", "compute1", "compute2", "10.1.0.31", obs, 1000.0,
                                0.1))
    assert rec["check"] == "guest-ping:compute1->compute2"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why


BLOCKED = {"expect": "no-reply", "attempts": 2, "waited": 1.2, "transmitted": 3, "received": 0}
RESTORED = {"expect": "reply", "attempts": 1, "waited": 0.3, "transmitted": 1, "received": 1}
RULE = {"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"}


@pytest.mark.parametrize(("blocked", "restored", "why"), [
    (BLOCKED, RESTORED, None),
    ({**BLOCKED, "received": 3, "waited": 30}, RESTORED,
     "compute2's guest still answered compute1 with the ICMP rule removed (3 of 3 pings after "
     "waiting up to 30 s)"),
    (BLOCKED, {**RESTORED, "received": 0, "waited": 30},
     "compute2's guest did not answer compute1 again once the ICMP rule was restored (waited "
     "30 s)"),
    ({}, RESTORED, "no ping was tried with the rule removed"),
])
def test_security_group_icmp(blocked: dict, restored: dict, why: str | None) -> None:
    rec = valid(osc.security_group_record("compute1", "compute1", "compute2", "10.1.0.31", RULE,
                                          blocked, restored, 1000.0, None, 0.1))
    assert rec["check"] == "security-group-icmp:compute1->compute2"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why
    assert rec["evidence"]["rule"] == RULE


META = {"uuid": "i1", "hostname": "crossgate-check-compute1.novalocal",
        "name": "crossgate-check-compute1", "availability_zone": "nova"}


@pytest.mark.parametrize(("doc", "error", "why"), [
    (META, None, None),
    ({**META, "uuid": "i2"}, None, "metadata uuid is i2, the server is i1"),
    ({**META, "hostname": "other.novalocal"}, None,
     "metadata hostname is other.novalocal, the server's is crossgate-check-compute1"),
    (None, "http://169.254.169.254/... did not answer (after waiting up to 60 s)",
     "http://169.254.169.254/... did not answer (after waiting up to 60 s)"),
    (None, None, "no metadata document"),
])
def test_guest_metadata(doc: dict | None, error: str | None, why: str | None) -> None:
    rec = valid(osc.metadata_record("compute1", "compute1", "i1", "crossgate-check-compute1",
                                    doc, 1000.0, error, "http://169.254.169.254/", 0.1))
    assert rec["check"] == "guest-metadata:compute1"
    assert rec["status"] == ("fail" if why else "pass")
    assert rec.get("reason") == why


def test_skip_needs_its_reason() -> None:
    rec = valid(osc.skip_record("guest-metadata:compute1", "compute1", 1000.0,
                                "the contract says the cloud has no metadata service", None, 0.0))
    assert (rec["status"], rec["reason"]) == (
        "skip", "the contract says the cloud has no metadata service")


@pytest.mark.parametrize(("name", "host"), [
    ("crossgate-check-compute1", "crossgate-check-compute1"),
    ("My Server_1", "my-server-1"),
    ("a.b!c", "a.bc"),
])
def test_sanitize_hostname(name: str, host: str) -> None:
    assert osc.sanitize_hostname(name) == host


def test_names_as_os_vif_and_for_cleanup() -> None:
    assert osc.interface_name(PORT_ID) == "tap5b3e9c1a-7f"
    assert len(osc.interface_name(PORT_ID)) <= 15  # IFNAMSIZ - 1
    assert osc.netns_name(PORT_ID).startswith(osc.PREFIX)


# --- the modules ------------------------------------------------------------------------------

class _Spec(Exception):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__("argument_spec captured")
        self.spec = spec


def _argument_spec(name: str) -> dict[str, Any]:
    mod = modload.module(name, ROLE)

    def capture(argument_spec: dict[str, Any], **_: Any) -> None:
        raise _Spec(argument_spec)

    mod.AnsibleModule = capture
    with pytest.raises(_Spec) as caught:
        mod.main()
    return caught.value.spec


def _normal(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: option[k] for k in ("type", "required", "default", "choices", "elements")
           if option.get(k) not in (None, False)}
    out.setdefault("type", "str")
    return out


def test_the_three_modules() -> None:
    assert MODULES == ["crossgate_openstack_api", "crossgate_openstack_guest",
                       "crossgate_openstack_servers"]


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_matches_argument_spec(name: str) -> None:
    documented = yaml.safe_load(modload.module(name, ROLE).DOCUMENTATION)
    assert documented["module"] == name
    spec = _argument_spec(name)
    assert spec["node"] == {"type": "str", "required": True}
    docs = {k: _normal(v) for k, v in documented.get("options", {}).items()}
    code = {k: _normal(v) for k, v in spec.items()}
    assert sorted(docs) == sorted(code)
    for option, want in code.items():
        assert docs[option] == want, f"{name}: option {option!r}"


class _Image:
    id = "img-1"
    status = "active"


class _Catalog:
    def url_for(self, service_type: str, interface: str) -> str:
        assert (service_type, interface) == ("image", "public")
        return "http://controller:9292"


class _Session:
    """The session of an openstacksdk connection: its token's catalog names the image API."""

    def __init__(self) -> None:
        access = type("Access", (), {"service_catalog": _Catalog()})()
        self.auth = type("Auth", (), {"get_access": lambda _self, _session: access})()


class _ImageAPI:
    """The image proxy of an openstacksdk connection, failing at one step."""

    def __init__(self, fail_at: str | None) -> None:
        self.fail_at = fail_at
        self.data = b""

    def get_endpoint(self) -> str:  # what the API's version discovery gives: not used
        raise ConnectionError("The image service exists but does not have any supported "
                              "versions.")

    def create_image(self, name: str, data: bytes, **_: Any) -> _Image:
        if self.fail_at == "upload":
            raise ConnectionError("Connection aborted.")
        self.data = data
        return _Image()

    def download_image(self, image: _Image) -> bytes:
        if self.fail_at == "download":
            raise ConnectionError("Connection refused")
        return self.data

    def delete_image(self, image: _Image, ignore_missing: bool) -> None:
        if self.fail_at == "delete":
            raise ConnectionError("Connection refused")


@pytest.mark.parametrize(("fail_at", "why"), [
    (None, None),
    ("upload", "upload failed at the image API http://controller:9292: Connection aborted."),
    ("download", "download failed at the image API http://controller:9292: Connection refused"),
    ("delete", "delete failed at the image API http://controller:9292: Connection refused"),
])
def test_image_roundtrip_names_the_image_api_and_the_step_that_failed(
        fail_at: str | None, why: str | None) -> None:
    api = modload.module("crossgate_openstack_api", ROLE)
    conn = type("Conn", (), {"image": _ImageAPI(fail_at), "session": _Session()})()
    rec = api.image_roundtrip(conn, 64, "controller")
    assert (rec["status"], rec.get("reason")) == ("pass" if why is None else "fail", why)
