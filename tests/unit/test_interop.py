"""Interop guidelines (roles/validate-interop/module_utils/crossgate_interop.py): the test list
of a target from the shipped guideline files, broken files named at their place, and the
verdict of each capability from Tempest's results."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import modload

ROOT = Path(__file__).resolve().parents[2]
GUIDELINES = ROOT / "roles/validate-interop/files/guidelines"
records_util = modload.module_util("crossgate_records")
ci = modload.module_util("crossgate_interop", "validate-interop")

PLATFORM = "OpenStack Powered Platform"
VERSIONS = "6c0a0990-43b6-4529-9b61-5fd8daf7c55c"  # compute-list-api-versions' one test


@pytest.fixture(scope="module")
def g2020() -> dict:
    return ci.load((GUIDELINES / "2020.06.json").read_text(), "2020.06.json")


def test_targets_of_the_shipped_files(g2020: dict) -> None:
    assert ci.targets(g2020) == ["OpenStack Powered Compute", "OpenStack Powered Platform",
                                 "OpenStack Powered Storage"]
    dns = ci.load((GUIDELINES / "dns.2020.06.json").read_text())
    assert ci.targets(dns) == ["DNS"]
    heat = ci.load((GUIDELINES / "orchestration.2020.06.json").read_text())
    assert ci.targets(heat) == ["Orchestration"]


def test_the_platform_list_is_compute_and_storage_required_less_flagged(g2020: dict) -> None:
    out = ci.test_list(g2020, PLATFORM)
    compute = set(g2020["components"]["os_powered_compute"]["capabilities"]["required"])
    storage = set(g2020["components"]["os_powered_storage"]["capabilities"]["required"])
    assert set(out["capabilities"]) == compute | storage
    assert out["guideline"] == "2020.06" and out["target"] == PLATFORM
    every = {t["id"] for c in out["capabilities"].values() for t in c["tests"]}
    flagged = {t["id"] for c in out["capabilities"].values() for t in c["tests"] if t["flagged"]}
    assert flagged and len(out["excluded"]) >= len(flagged)
    assert sorted(out["include"]) == sorted(f"id-{u}" for u in every - flagged)
    assert f"id-{VERSIONS}" in out["include"]
    # a flagged test is left out with its reason
    resize = next(e for e in out["excluded"] if e["capability"] == "compute-servers-resize")
    assert "insecure mechanism" in resize["reason"]
    # compute alone is a subset, storage has the object store
    compute_only = ci.test_list(g2020, "OpenStack Powered Compute")
    assert set(compute_only["include"]) < set(out["include"])
    assert not any(c.startswith("objectstore-") for c in compute_only["capabilities"])


def test_add_on_ids_without_prefix_and_the_platform_they_need() -> None:
    dns = ci.load((GUIDELINES / "dns.2020.06.json").read_text(), "dns.2020.06.json")
    out = ci.test_list(dns, "DNS")
    assert set(out["capabilities"]) == {"dns-record-crud", "dns-zone-crud"}
    assert all(i.startswith("id-") and len(i) == 39 for i in out["include"])
    assert out["requires"][0]["name"] == "os_powered_compute"


def test_advisory_capabilities_on_request(g2020: dict) -> None:
    required = ci.test_list(g2020, PLATFORM)
    both = ci.test_list(g2020, PLATFORM, statuses=("required", "advisory"))
    assert set(required["capabilities"]) <= set(both["capabilities"])
    with pytest.raises(ci.GuidelineError, match=r"status 'mandatory' is not one of"):
        ci.test_list(g2020, PLATFORM, statuses=("mandatory",))


def broken(g: dict, change) -> dict:
    g = copy.deepcopy(g)
    change(g)
    return g


@pytest.mark.parametrize("change, message", [
    (lambda g: g["platforms"]["OpenStack Powered Platform"]["components"].append(
        {"name": "os_powered_dns"}),
     r"2020.06.json: platforms.OpenStack Powered Platform.components\[2\] names component "
     r"'os_powered_dns', which 'components' does not define"),
    (lambda g: g["capabilities"].pop("compute-flavors-list"),
     r"capabilities.compute-flavors-list is listed by a component but not defined"),
    (lambda g: g["capabilities"]["compute-flavors-list"]["tests"][
        next(iter(g["capabilities"]["compute-flavors-list"]["tests"]))].pop("idempotent_id"),
     r"capabilities.compute-flavors-list.tests.tempest\.api\.compute\.flavors\..*: "
     r"idempotent_id None is not 'id-<uuid>' or '<uuid>'"),
    (lambda g: g["capabilities"]["compute-flavors-list"].update(tests={}),
     r"capabilities.compute-flavors-list.tests must be a non-empty object"),
    (lambda g: g["components"]["os_powered_compute"]["capabilities"].update(required="x"),
     r"components.os_powered_compute.capabilities.required must be a list"),
    (lambda g: g["platforms"]["OpenStack Powered Platform"]["components"].insert(0, {}),
     r"platforms.OpenStack Powered Platform.components\[0\] has no name"),
    (lambda g: g["metadata"].pop("id"), r"metadata.id is missing"),
])
def test_a_broken_guideline_is_named_at_its_place(g2020: dict, change, message: str) -> None:
    with pytest.raises(ci.GuidelineError, match=message):
        ci.test_list(broken(g2020, change), PLATFORM, "2020.06.json")


def test_unknown_target_names_the_allowed_ones(g2020: dict) -> None:
    with pytest.raises(ci.GuidelineError) as err:
        ci.test_list(g2020, "OpenStack Powered Kitchen", "2020.06.json")
    assert str(err.value) == (
        "2020.06.json: target 'OpenStack Powered Kitchen' is not in its platforms; allowed: "
        "['OpenStack Powered Compute', 'OpenStack Powered Platform', 'OpenStack Powered Storage']")


@pytest.mark.parametrize("text, message", [
    ("{", r"x.json: not valid JSON: Expecting property name .*line 1 column 2"),
    ("[]", r"x.json: the top level must be an object, not list"),
    ('{"metadata": {}, "components": {}}', r"x.json: 'capabilities' is missing"),
    ('{"metadata": {}, "components": {}, "capabilities": {}}',
     r"x.json: neither 'platforms' nor 'add-ons' is an object"),
])
def test_a_malformed_file_is_refused(text: str, message: str) -> None:
    with pytest.raises(ci.GuidelineError, match=message):
        ci.load(text, "x.json")


def result(test: str, uuid: str, status: str, details: str = "") -> dict:
    return {"id": f"{test}[id-{uuid},smoke]", "status": status, "details": details}


def uuid(digit: str) -> str:
    return f"{digit * 8}-{digit * 4}-{digit * 4}-{digit * 4}-{digit * 12}"


U1, U2, U3, U4 = (uuid(d) for d in "1234")


def small_listing(per_capability: int = 0) -> dict:
    g = {"metadata": {"id": "t"}, "platforms": {"P": {"components": [{"name": "c"}]}},
         "components": {"c": {"capabilities": {"required": ["a", "b", "f"]}}},
         "capabilities": {
             "a": {"project": "nova", "tests": {
                 "t.A.test_one": {"idempotent_id": f"id-{U1}"},
                 "t.A.test_two": {"idempotent_id": U2}}},
             "b": {"project": "cinder", "tests": {
                 "t.B.test_three": {"idempotent_id": f"id-{U3}"}}},
             "f": {"project": "nova", "tests": {
                 "t.F.test_flagged": {"idempotent_id": f"id-{U4}",
                                      "flagged": {"reason": "needs two users"}}}}}}
    return ci.test_list(ci.load(json.dumps(g)), "P", per_capability=per_capability)


@pytest.mark.parametrize("results, verdicts, words", [
    ([result("t.A.test_one", U1, "success"), result("t.A.test_two", U2, "success"),
      result("t.B.test_three", U3, "success")], {"a": "pass", "b": "pass", "f": "skip"}, {}),
    ([result("t.A.test_one", U1, "success"), result("t.A.test_two", U2, "fail", "Traceback: boom"),
      result("t.B.test_three", U3, "skip", "Cinder backups are not enabled")],
     {"a": "fail", "b": "skip", "f": "skip"},
     {"a": "1 of 2 test(s) failed: test_two", "b": "test_three: Cinder backups are not enabled"}),
    ([result("t.A.test_one", U1, "success")], {"a": "fail", "b": "fail", "f": "skip"},
     {"a": "1 test(s) not run", "b": "not found in this Tempest"}),
    # a renamed test still counts by its id; a result without an id is ignored
    ([result("t.A2.test_one_renamed", U1, "success"), result("t.A.test_two", U2, "xfail"),
      result("t.B.test_three", U3, "success"), {"id": "t.X.test_other", "status": "fail"}],
     {"a": "pass", "b": "pass", "f": "skip"}, {}),
])
def test_capability_verdicts(results: list, verdicts: dict, words: dict) -> None:
    listing = small_listing()
    assert listing["include"] == [f"id-{U1}", f"id-{U2}", f"id-{U3}"]
    got = ci.capability_verdicts(listing, ci.outcomes(results))
    assert {k: v["status"] for k, v in got.items()} == verdicts
    for cap, word in words.items():
        assert word in got[cap]["reason"]
    assert got["f"]["reason"] == "every test of the capability is flagged"
    assert got["f"]["evidence"]["flagged"] == [{"test": "t.F.test_flagged",
                                                "reason": "needs two users"}]
    if verdicts["a"] == "fail" and got["a"]["evidence"]["failed"]:
        assert got["a"]["evidence"]["failed"][0]["traceback"] == "Traceback: boom"


def test_a_class_whose_set_up_was_skipped_or_failed_gives_its_tests_that_outcome() -> None:
    listing = small_listing()
    res = ci.outcomes([
        {"id": "setUpClass (t.A)", "status": "skip", "details": "Cinder is not available"},
        {"id": "setUpClass (t.B)", "status": "fail", "details": "Traceback: no quotas"}])
    got = ci.capability_verdicts(listing, res)
    assert got["a"]["status"] == "skip" and "Cinder is not available" in got["a"]["reason"]
    assert got["b"]["status"] == "fail"
    assert got["b"]["evidence"]["failed"] == [{"test": "t.B.test_three",
                                                "traceback": "Traceback: no quotas"}]
    assert ci.summary(listing, res) == {"tests": 3, "passed": 0, "failed": 1, "skipped": 2,
                                        "not_run": 0, "flagged": 1, "not_sampled": 0}


def test_summary_counts() -> None:
    listing = small_listing()
    res = ci.outcomes([result("t.A.test_one", U1, "success"),
                       result("t.A.test_two", U2, "fail", "x")])
    assert ci.summary(listing, res) == {"tests": 3, "passed": 1, "failed": 1, "skipped": 0,
                                        "not_run": 1, "flagged": 1, "not_sampled": 0}


def test_one_test_per_capability_runs_the_first_and_judges_by_it() -> None:
    listing = small_listing(per_capability=1)
    assert listing["include"] == [f"id-{U1}", f"id-{U3}"]
    res = ci.outcomes([result("t.A.test_one", U1, "success"),
                       result("t.B.test_three", U3, "success")])
    got = ci.capability_verdicts(listing, res)
    # test_two was not sampled: not a test "not run" that fails the capability
    assert {k: v["status"] for k, v in got.items()} == {"a": "pass", "b": "pass", "f": "skip"}
    assert got["a"]["evidence"]["not_sampled"] == ["t.A.test_two"]
    assert got["a"]["evidence"]["per_capability"] == 1
    assert "not_sampled" not in got["b"]["evidence"]
    assert ci.summary(listing, res) == {"tests": 2, "passed": 2, "failed": 0, "skipped": 0,
                                        "not_run": 0, "flagged": 1, "not_sampled": 1}


@pytest.mark.parametrize("bad", [-1, True, "1"])
def test_tests_per_capability_must_be_a_count(bad: object) -> None:
    with pytest.raises(ci.GuidelineError, match=r"tests per capability .* is not allowed; "
                                                r"allowed: 0 \(every test\) or more"):
        small_listing(per_capability=bad)  # type: ignore[arg-type]


tc = modload.module("crossgate_interop_tempest_conf", "validate-interop")
CONTRACT = {"region": "RegionOne", "public_network": "public", "compute_hosts": ["c1", "c2"],
            "endpoints": {"identity": "u", "compute": "u", "image": "u", "network": "u",
                          "block-storage": "u", "placement": "u"},
            "ceph": {"object_store": "http://ctl:8080/swift/v1/AUTH_%(project_id)s"}}
AUTH = {"username": "admin", "password": "s3cret", "project_name": "admin",
        "user_domain_name": "Default", "auth_url": "http://ctl:5000/v3/"}


def conf(contract: dict = CONTRACT, catalog: tuple = ()) -> dict:
    return tc.settings_for(contract, AUTH, {"image": "i1", "image-alt": "i2"},
                           {"nano": "f1", "micro": "f2"}, "net-1", "/w/locks", catalog)


def test_tempest_conf_from_the_contract() -> None:
    s = conf()
    assert s["service_available"] == {"nova": "true", "glance": "true", "neutron": "true",
                                      "cinder": "true", "swift": "true", "heat": "false",
                                      "designate": "false", "octavia": "false",
                                      "horizon": "false"}
    assert s["compute"]["min_compute_nodes"] == "2" and s["compute"]["flavor_ref_alt"] == "f2"
    assert s["volume"]["catalog_type"] == "block-storage"
    assert s["compute"]["max_microversion"] == "latest"
    assert s["identity"]["uri_v3"] == "http://ctl:5000/v3"
    assert s["network"]["public_network_id"] == "net-1"
    assert s["auth"]["use_dynamic_credentials"] == "true"
    # without the RGW there is no object store; a cloud the job did not build: its catalog
    assert conf({**CONTRACT, "ceph": {}})["service_available"]["swift"] == "false"
    ext = conf({"public_network": "public"}, catalog=("identity", "compute", "object-store"))
    assert ext["service_available"]["swift"] == "true"
    assert ext["service_available"]["cinder"] == "false"
    old = conf({"public_network": "public"}, catalog=("identity", "volumev3"))
    assert old["service_available"]["cinder"] == "true"
    assert old["volume"]["catalog_type"] == "volumev3"


def test_overrides_need_a_reason_and_win() -> None:
    s = tc.apply_overrides(conf(), [{"section": "validation", "option": "run_validation",
                                     "value": False, "reason": "no guest OS"}])
    assert s["validation"]["run_validation"] == "false"
    with pytest.raises(ValueError, match=r"overrides\[0\]: missing reason; each needs section"):
        tc.apply_overrides(conf(), [{"section": "a", "option": "b", "value": 1}])
    text = tc.render(s)
    assert "[validation]\nrun_validation = false\n" in text
    assert "admin_password = s3cret" in text  # only in the file, mode 0600 (the module)


rec = modload.module("crossgate_interop_records", "validate-interop")


def test_a_subunit_stream_becomes_records(tmp_path: Path) -> None:
    """A real subunit v2 stream, as stestr last --subunit writes it, through the module's
    reader and the verdicts into records of layer interop."""
    import subunit  # python-subunit, from test-requirements.txt
    stream = tmp_path / "results.subunit"
    with stream.open("wb") as f:
        out = subunit.StreamResultToBytes(f)
        for test, uuid, status, detail in (
                ("t.A.test_one", U1, "success", None),
                ("t.A.test_two", U2, "fail", ("traceback", b"Traceback: boom")),
                ("t.B.test_three", U3, "skip", ("reason", b"no backups here"))):
            tid = f"{test}[id-{uuid},smoke]"
            out.status(test_id=tid, test_status="inprogress")
            if detail:
                out.status(test_id=tid, file_name=detail[0], file_bytes=detail[1],
                           mime_type="text/plain;charset=utf8", eof=True)
            out.status(test_id=tid, test_status=status)
    raw = rec.read_subunit(str(stream))
    assert [(r["id"].split("[")[0], r["status"]) for r in raw] == [
        ("t.A.test_one", "success"), ("t.A.test_two", "fail"), ("t.B.test_three", "skip")]
    records = ci.capability_records(small_listing(), ci.outcomes(raw), "ctl", 1.0, 30.0,
                                    records_util.make_record)
    by = {r["check"]: r for r in records}
    assert {k: r["status"] for k, r in by.items()} == {"a": "fail", "b": "skip", "f": "skip"}
    assert by["a"]["layer"] == "interop" and by["a"]["duration"] == 10.0
    assert by["a"]["evidence"]["failed"] == [{"test": "t.A.test_two",
                                              "traceback": "Traceback: boom"}]
    assert "no backups here" in by["b"]["reason"]


def test_every_capability_of_the_platform_makes_a_valid_record(g2020: dict) -> None:
    """Check names are lower case: networks-l2-CRUD is recorded as networks-l2-crud, with the
    guideline's spelling in the evidence. No result at all: every capability fails, named."""
    listing = ci.test_list(g2020, PLATFORM)
    records = ci.capability_records(listing, {}, "ctl", 1.0, 78.0, records_util.make_record)
    assert len(records) == 78
    by = {r["check"]: r for r in records}
    assert by["networks-l2-crud"]["evidence"]["capability"] == "networks-l2-CRUD"
    flagged = {r["check"] for r in records
               if r["reason"] == "every test of the capability is flagged"}
    assert flagged == {"compute-servers-resize", "identity-v3-list-projects"}
    assert {r["status"] for r in records if r["check"] not in flagged} == {"fail"}
    assert all("not run" in r["reason"] for r in records if r["check"] not in flagged)


def test_object_store_apis_come_from_its_info() -> None:
    assert tc.info_url("http://ctl:8080/swift/v1/AUTH_%(project_id)s") == "http://ctl:8080/swift/info"
    s = conf()
    apis = tc.object_store_apis(s, {"swift": {"version": "x"}, "tempurl": {}, "slo": {},
                                    "bulk_delete": {}})
    assert apis == ["bulk_delete", "slo", "tempurl"]
    assert s["object-storage-feature-enabled"]["discoverable_apis"] == "bulk_delete, slo, tempurl"
    # an object store that lists no digests (RGW) verifies HMAC-SHA1 temporary URLs only
    assert s["object-storage-feature-enabled"]["tempurl_digest_hashlib"] == "sha1"


@pytest.mark.parametrize(("tempurl", "digest"), [
    ({}, "sha1"),
    ({"methods": ["GET", "PUT"]}, "sha1"),
    ({"allowed_digests": ["sha1", "sha256", "sha512"]}, "sha256"),
    ({"allowed_digests": ["sha512", "sha1"]}, "sha512"),
    ({"allowed_digests": ["sha1"]}, "sha1"),
])
def test_temporary_urls_are_signed_with_a_digest_the_object_store_allows(
        tempurl: dict, digest: str) -> None:
    assert tc.tempurl_digest(tempurl) == digest
    s = conf()
    tc.object_store_apis(s, {"tempurl": tempurl})
    assert s["object-storage-feature-enabled"]["tempurl_digest_hashlib"] == digest


def test_without_temporary_urls_no_digest_is_set() -> None:
    s = conf()
    tc.object_store_apis(s, {"slo": {}})
    assert "tempurl_digest_hashlib" not in s["object-storage-feature-enabled"]
