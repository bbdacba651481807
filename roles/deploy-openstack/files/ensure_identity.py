"""Make the identity objects and the networks of a crossgate OpenStack cloud, idempotently.

    ensure_identity.py SECRETS_FILE identity|networks < SPEC_JSON

Run on the controller with the services' venv Python (openstacksdk). Reads the passwords from
the build's secrets file (never from its arguments) and a JSON spec on stdin. identity:

    {"auth_url": ..., "region": ..., "demo_project": ..., "services": {name: {"type": ...,
     "url": ...}}, "service_users": [...], "timeout": seconds}

Looks before it makes: projects service and the demo project, the demo user (member of the
demo project), one user per service (admin and service in project service), one catalog
service and its public, internal and admin endpoints per service. An existing user keeps its
password.

networks: {"auth_url", "region", "timeout", "demo_project", "public": {"name", "cidr",
"physnet"}, "tenant": {"network", "subnet", "cidr"}, "router"}: the public network (flat,
external, shared by the cloud, its subnet without DHCP), the demo project's tenant network and
subnet (DHCP from OVN) and a router between them with its gateway on the public network.

Prints {"changed": [what was made]} as JSON; exits non-zero naming what failed.
"""
import json
import sys

import openstack


def ensure(made, kind, name, find, create):
    obj = find()
    if obj is None:
        obj = create()
        made.append(f"{kind} {name}")
    return obj


def connect(secrets, spec):
    return openstack.connect(
        auth_url=spec["auth_url"], username="admin", password=secrets["admin"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name=spec["region"], identity_api_version="3", api_timeout=spec["timeout"])


def networks(conn, spec) -> list[str]:
    net = conn.network
    made: list[str] = []
    project = conn.identity.find_project(spec["demo_project"], domain_id="default",
                                         ignore_missing=False)
    pub = spec["public"]
    public = ensure(made, "network", pub["name"], lambda: net.find_network(pub["name"]),
                    lambda: net.create_network(
                        name=pub["name"], is_router_external=True, is_shared=False,
                        provider_network_type="flat",
                        provider_physical_network=pub["physnet"]))
    public_subnet = ensure(
        made, "subnet", pub["name"] + "-subnet",
        lambda: net.find_subnet(pub["name"] + "-subnet", network_id=public.id),
        lambda: net.create_subnet(name=pub["name"] + "-subnet", network_id=public.id,
                                  ip_version=4, cidr=pub["cidr"], is_dhcp_enabled=False))
    ten = spec["tenant"]
    tenant = ensure(made, "network", ten["network"],
                    lambda: net.find_network(ten["network"], project_id=project.id),
                    lambda: net.create_network(name=ten["network"], project_id=project.id))
    subnet = ensure(made, "subnet", ten["subnet"],
                    lambda: net.find_subnet(ten["subnet"], network_id=tenant.id),
                    lambda: net.create_subnet(name=ten["subnet"], network_id=tenant.id,
                                              project_id=project.id, ip_version=4,
                                              cidr=ten["cidr"], is_dhcp_enabled=True))
    router = ensure(made, "router", spec["router"],
                    lambda: net.find_router(spec["router"], project_id=project.id),
                    lambda: net.create_router(
                        name=spec["router"], project_id=project.id,
                        external_gateway_info={"network_id": public.id}))
    if not (router.external_gateway_info or {}).get("network_id"):
        net.update_router(router, external_gateway_info={"network_id": public.id})
        made.append(f"gateway of router {spec['router']}")
    ports = net.ports(device_id=router.id, network_id=tenant.id)
    if not any(ip.get("subnet_id") == subnet.id for p in ports for ip in p.fixed_ips or []):
        net.add_interface_to_router(router, subnet_id=subnet.id)
        made.append(f"interface of router {spec['router']} on {ten['subnet']}")
    del public_subnet
    return made


def main() -> int:
    secrets_path, what = sys.argv[1], sys.argv[2]
    with open(secrets_path, encoding="utf-8") as f:
        secrets = {k.removesuffix("_password"): v for k, v in json.load(f).items()}
    spec = json.load(sys.stdin)
    conn = connect(secrets, spec)
    if what == "networks":
        print(json.dumps({"changed": networks(conn, spec)}))
        return 0
    if what != "identity":
        raise ValueError(f"action {what!r}: allowed: identity, networks")
    ident = conn.identity
    made: list[str] = []
    domain = ident.find_domain("default", ignore_missing=False)
    admin_role = ident.find_role("admin", ignore_missing=False)
    member_role = ensure(made, "role", "member", lambda: ident.find_role("member"),
                         lambda: ident.create_role(name="member"))
    projects = {}
    for name in ("service", spec["demo_project"]):
        projects[name] = ensure(
            made, "project", name,
            lambda n=name: ident.find_project(n, domain_id=domain.id),
            lambda n=name: ident.create_project(name=n, domain_id=domain.id,
                                                description=f"crossgate {n} project"))
    # Service users hold admin and service in project service: the APIs require the service
    # role of the tokens services send on behalf of users (service_token_roles_required).
    service_role = ensure(made, "role", "service", lambda: ident.find_role("service"),
                          lambda: ident.create_role(name="service"))
    if "swift" in spec["services"]:
        # the role of the object store's reseller admins (Swift's account quotas are set by
        # them), which Tempest and Swift clients expect to exist
        ensure(made, "role", "ResellerAdmin", lambda: ident.find_role("ResellerAdmin"),
               lambda: ident.create_role(name="ResellerAdmin"))
    users = [("demo", spec["demo_project"], member_role)]
    users += [(u, "service", r) for u in spec["service_users"] for r in (admin_role, service_role)]
    for name, project_name, role in users:
        user = ensure(made, "user", name,
                      lambda n=name: ident.find_user(n, domain_id=domain.id),
                      lambda n=name: ident.create_user(name=n, domain_id=domain.id,
                                                       password=secrets[n]))
        project = projects[project_name]
        if not ident.validate_user_has_project_role(project, user, role):
            ident.assign_project_role_to_user(project, user, role)
            made.append(f"role {role.name} of {name} in {project_name}")
    for name, svc in spec["services"].items():
        service = ensure(made, "service", name,
                         lambda n=name, t=svc["type"]: next(
                             (s for s in ident.services(type=t) if s.name == n), None),
                         lambda n=name, t=svc["type"]: ident.create_service(
                             name=n, type=t, description=f"OpenStack {n}"))
        present = {e.interface: e for e in ident.endpoints(service_id=service.id)
                   if e.region_id == spec["region"]}
        for interface in ("public", "internal", "admin"):
            endpoint = present.get(interface)
            if endpoint is None:
                ident.create_endpoint(service_id=service.id, interface=interface,
                                      url=svc["url"], region_id=spec["region"])
                made.append(f"endpoint {interface} of {name}")
            elif endpoint.url != svc["url"]:
                ident.update_endpoint(endpoint, url=svc["url"])
                made.append(f"endpoint {interface} of {name} (url)")
    print(json.dumps({"changed": made}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # one line naming what failed, for the task's message
        print(f"ensure_identity: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
