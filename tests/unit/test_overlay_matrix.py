"""The overlay matrix check module and the record contract, table-driven.

Ping outputs are the real ones of iputils on Debian bookworm nodes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import modload

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


records = modload.module_util("crossgate_records")
matrix = modload.module("crossgate_overlay_matrix")
SCHEMA = json.loads((PLUGINS / "schemas/check-record.schema.json").read_text())

OK = """PING 172.24.4.2 (172.24.4.2) 1422(1450) bytes of data.
1422 bytes from 172.24.4.2: icmp_seq=1 ttl=64 time=0.211 ms
1422 bytes from 172.24.4.2: icmp_seq=2 ttl=64 time=0.180 ms
1422 bytes from 172.24.4.2: icmp_seq=3 ttl=64 time=0.190 ms

--- 172.24.4.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 405ms
"""
LOST = """PING 172.24.4.3 (172.24.4.3) 1422(1450) bytes of data.

--- 172.24.4.3 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2040ms
"""
TOO_LONG = """PING 172.24.4.3 (172.24.4.3) 1472(1500) bytes of data.
ping: local error: message too long, mtu=1450
ping: local error: message too long, mtu=1450

--- 172.24.4.3 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2043ms
"""


@pytest.mark.parametrize(("mtu", "payload"), [(1450, 1422), (1500, 1472), (576, 548)])
def test_payload_fills_the_mtu(mtu: int, payload: int) -> None:
    assert matrix.payload_size(mtu) == payload
    cmd = matrix.ping_command("10.0.0.1", mtu, 3, 2)
    assert cmd[cmd.index("-M") + 1] == "do"
    assert cmd[cmd.index("-s") + 1] == str(payload)


@pytest.mark.parametrize(("output", "sent", "got"), [
    (OK, 3, 3), (LOST, 3, 0), (TOO_LONG, 3, 0), ("", 0, 0), ("garbage", 0, 0)])
def test_parse_ping(output: str, sent: int, got: int) -> None:
    assert matrix.parse_ping(output) == (sent, got)


@pytest.mark.parametrize(("rc", "output", "status", "why"), [
    (0, OK, "pass", None),
    (1, LOST, "fail", "0 of 3 replies"),
    (1, TOO_LONG, "fail", "local interface MTU is below"),
    (2, "", "fail", "ping could not send"),
])
def test_pair_record(rc: int, output: str, status: str, why: str | None) -> None:
    rec = matrix.pair_record("compute1", "compute2", "172.24.4.3", 1450, 3, rc, output,
                             1000.0, 0.5)
    jsonschema.validate(rec, SCHEMA)
    assert rec["status"] == status
    assert rec["check"] == "overlay-ping:compute1->compute2"
    assert rec["evidence"]["mtu"] == 1450
    if why:
        assert why in rec["reason"]
        assert "compute1 -> compute2 (172.24.4.3)" in rec["reason"]
        assert "MTU 1450" in rec["reason"]


@pytest.mark.parametrize(("change", "message"), [
    ({"layer": "storage"}, "layer 'storage'"),
    ({"check": "Bad Name"}, "check 'Bad Name'"),
    ({"status": "ok"}, "status 'ok'"),
    ({"status": "fail"}, "needs a non-empty 'reason'"),
    ({"duration": -1}, "duration -1"),
    ({"evidence": []}, "evidence must be a mapping"),
    ({"extra": 1}, "unknown field"),
])
def test_bad_records_are_rejected_naming_the_field(change: dict, message: str) -> None:
    rec = {"layer": "network", "check": "x", "status": "pass", "duration": 0, "started": 0,
           "node": "n", "evidence": {}}
    rec.update(change)
    with pytest.raises(records.RecordError, match=message):
        records.validate_record(rec)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rec, SCHEMA)


def test_write_and_read_records(tmp_path: Path) -> None:
    rec = records.make_record("network", "overlay-ping:a->b", "pass", "a", 1.0, {"k": 1},
                              duration=0.25)
    path = records.write_records([rec, rec], str(tmp_path), "matrix")
    assert records.read_records(path) == [rec, rec]
    Path(path).write_text('{"layer": "network"}\n')
    with pytest.raises(records.RecordError, match=r"matrix.jsonl:1: record is missing"):
        records.read_records(path)
