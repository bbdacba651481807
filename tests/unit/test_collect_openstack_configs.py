"""Masking of roles/collect-openstack-logs/files/copy_configs.py, table-driven: configuration
text in, masked text out; then a copy of a fake /etc tree, and the in-place masking of logs."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

SCRIPT = (Path(__file__).resolve().parents[2]
          / "roles/collect-openstack-logs/files/copy_configs.py")


def _load() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("copy_configs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["copy_configs"] = module
    spec.loader.exec_module(module)
    return module


cc = _load()

# (case, configuration text, masked text)
CONFIG_CASES = [
    ("password option",
     "[keystone_authtoken]\npassword = KsPw-1\n",
     "[keystone_authtoken]\npassword = ***\n"),
    ("password without spaces",
     "password=KsPw-1\n",
     "password=***\n"),
    ("*_password options",
     "[DEFAULT]\nrabbit_password = R-1\nadmin_password=A-1\n",
     "[DEFAULT]\nrabbit_password = ***\nadmin_password=***\n"),
    # The case that leaks without URL_PASSWORD: transport_url's name says nothing secret.
    ("transport_url keeps user and host, loses the password",
     "transport_url = rabbit://nova:RabbitPw-1@ctl1:5672/\n",
     "transport_url = rabbit://nova:***@ctl1:5672/\n"),
    ("transport_url with several hosts",
     "transport_url = rabbit://nova:RabbitPw-1@ctl1:5672,nova:RabbitPw-1@ctl2:5672/\n",
     "transport_url = rabbit://nova:***@ctl2:5672/\n"),
    ("transport_url password with an unencoded '@' and ','",
     "transport_url = rabbit://nova:p@ss,w/rd@ctl1:5672/\n",
     "transport_url = rabbit://nova:***@ctl1:5672/\n"),
    ("percent-encoded password",
     "transport_url = rabbit://nova:p%40ss@ctl1:5672/nova\n",
     "transport_url = rabbit://nova:***@ctl1:5672/nova\n"),
    ("database connection",
     "[database]\nconnection = mysql+pymysql://nova:DbPw-1@ctl1/nova?charset=utf8\n",
     "[database]\nconnection = mysql+pymysql://nova:***@ctl1/nova?charset=utf8\n"),
    ("connection without spaces",
     "connection=mysql+pymysql://nova:DbPw-1@10.0.0.1:3306/nova\n",
     "connection=mysql+pymysql://nova:***@10.0.0.1:3306/nova\n"),
    ("URL with an empty user and a password in the query",
     "backend_argument = url:redis://:RedisPw-1@ctl1:6379?db=0&password=Q-1\n",
     "backend_argument = url:redis://:***@ctl1:6379?db=0&password=***\n"),
    ("memcache_secret_key",
     "memcache_secret_key = Mem-1\n",
     "memcache_secret_key = ***\n"),
    ("secret, token and key options",
     "metadata_proxy_shared_secret = S-1\nadmin_token = T-1\nsecret = S-2\n"
     "encryption_key = K-1\nkey = K-2\napi_key: K-3\n",
     "metadata_proxy_shared_secret = ***\nadmin_token = ***\nsecret = ***\n"
     "encryption_key = ***\nkey = ***\napi_key: ***\n"),
    ("commented-out secrets are masked too",
     "#password = Old-1\n; admin_token = Old-2\n",
     "#password = ***\n; admin_token = ***\n"),
    ("a continuation line of a secret value",
     "secret = S-1\n  S-1-continued\nnext = 1\n",
     "secret = ***\n  ***\nnext = 1\n"),
    ("names that only look secret stay as they are",
     "auth_type = password\nkeystone_url = http://ctl1:5000\nuse_keystone_limits = true\n"
     "token_provider = fernet\nmax_active_keys = 3\nkey_repository = /etc/keystone/fernet-keys\n"
     "ssl_key_file = /etc/ssl/private/nova.key\n[keystone_authtoken]\n",
     "auth_type = password\nkeystone_url = http://ctl1:5000\nuse_keystone_limits = true\n"
     "token_provider = fernet\nmax_active_keys = 3\nkey_repository = /etc/keystone/fernet-keys\n"
     "ssl_key_file = /etc/ssl/private/nova.key\n[keystone_authtoken]\n"),
    ("URL without credentials",
     "auth_url = http://ctl1:5000/v3\nwww_authenticate_uri = http://ctl1:5000\n",
     "auth_url = http://ctl1:5000/v3\nwww_authenticate_uri = http://ctl1:5000\n"),
    ("empty values stay empty",
     "password =\npassword = \n",
     "password =\npassword = \n"),
    ("clouds.yaml",
     "clouds:\n  crossgate-admin:\n    auth:\n      auth_url: http://ctl1:5000/v3\n"
     "      username: admin\n      password: \"CloudPw-1\"\n"
     "      application_credential_secret: ACS-1\n    region_name: RegionOne\n",
     "clouds:\n  crossgate-admin:\n    auth:\n      auth_url: http://ctl1:5000/v3\n"
     "      username: admin\n      password: ***\n"
     "      application_credential_secret: ***\n    region_name: RegionOne\n"),
    ("YAML block scalar",
     "auth:\n  password: |\n    Block-1\n    Block-2\n  username: admin\n",
     "auth:\n  password: ***\n    ***\n    ***\n  username: admin\n"),
    ("JSON on one line",
     '{"password": "J-1", "user": "u"}\n',
     '{"password": "***", "user": "u"}\n'),
    ("shell export",
     "export OS_PASSWORD=Env-1\nexport OS_USERNAME=admin\n",
     "export OS_PASSWORD=***\nexport OS_USERNAME=admin\n"),
    ("private key block",
     "ca: /etc/ssl/ca.pem\n-----BEGIN RSA PRIVATE KEY-----\nPem-1\nPem-2\n"
     "-----END RSA PRIVATE KEY-----\n",
     "ca: /etc/ssl/ca.pem\n-----BEGIN RSA PRIVATE KEY-----\n***\n***\n"
     "-----END RSA PRIVATE KEY-----\n"),
    ("CRLF line ends are kept",
     "password = W-1\r\nuser = nova\r\n",
     "password = ***\r\nuser = nova\r\n"),
]


@pytest.mark.parametrize(("case", "text", "masked"), CONFIG_CASES,
                         ids=[c[0] for c in CONFIG_CASES])
def test_mask_config(case: str, text: str, masked: str) -> None:
    assert cc.mask_config(text) == masked


@pytest.mark.parametrize(("case", "text", "masked"), CONFIG_CASES,
                         ids=[c[0] for c in CONFIG_CASES])
def test_no_secret_value_survives(case: str, text: str, masked: str) -> None:
    """Every value the table marks as secret (NAME-1, NAME-2, ...) is gone."""
    out = cc.mask_config(text)
    for word in ("KsPw", "RabbitPw", "DbPw", "RedisPw", "CloudPw", "Mem-1", "Pem-1", "Env-1",
                 "p@ss", "ss,w/rd", "p%40ss", "Block-1", "ACS-1", "Old-1", "Old-2", "W-1"):
        assert word not in out, f"{case}: {word!r} leaked in {out!r}"


# (case, log text, masked text)
LOG_CASES = [
    ("journal line with a URL password",
     "Dec 02 12:00:00 ctl1 nova-api[12]: connecting to rabbit://nova:RabbitPw-1@ctl1:5672/\n",
     "Dec 02 12:00:00 ctl1 nova-api[12]: connecting to rabbit://nova:***@ctl1:5672/\n"),
    ("header and pairs",
     "REQ: X-Auth-Token: gAAAA-1 password=P-1 user=nova\n",
     "REQ: X-Auth-Token: *** password=*** user=nova\n"),
    ("a secret inside a value that is not one",
     "options: {key=flow, psk=Psk-1, remote_ip=10.0.0.2}\n",
     "options: {key=***, psk=***, remote_ip=10.0.0.2}\n"),
    ("not secret",
     "token_provider=fernet max_active_keys=3 auth_type=password\n",
     "token_provider=fernet max_active_keys=3 auth_type=password\n"),
]


@pytest.mark.parametrize(("case", "text", "masked"), LOG_CASES, ids=[c[0] for c in LOG_CASES])
def test_mask_log(case: str, text: str, masked: str) -> None:
    assert cc.mask_log(text) == masked


def test_copy_tree_masks_and_leaves_key_material(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    etc = tmp_path / "etc"
    (etc / "nova").mkdir(parents=True)
    (etc / "nova" / "nova.conf").write_text(
        "[DEFAULT]\ntransport_url = rabbit://nova:RabbitPw-1@ctl1:5672/\n"
        "[keystone_authtoken]\npassword = KsPw-1\n")
    (etc / "nova" / "nova.key").write_text("-----BEGIN PRIVATE KEY-----\nPem-1\n")
    (etc / "nova" / "blob.bin").write_bytes(b"\x00\x01Bin-1")
    (etc / "keystone" / "fernet-keys").mkdir(parents=True)
    (etc / "keystone" / "fernet-keys" / "0").write_text("Fernet-1")
    (etc / "keystone" / "keystone.conf").write_text("[token]\nprovider = fernet\n")
    (etc / "nova" / "link.conf").symlink_to(etc / "nova" / "nova.conf")
    dest = tmp_path / "logs" / "config"

    assert cc.main(["copy_configs.py", str(dest), str(etc / "nova"), str(etc / "keystone") + "/",
                    str(etc / "glance")]) == 0

    out = json.loads(capsys.readouterr().out)
    assert out == {
        "copied": ["nova/nova.conf", "keystone/keystone.conf"],
        "skipped": ["nova/blob.bin", "nova/link.conf", "nova/nova.key", "keystone/fernet-keys"],
        "absent": [str(etc / "glance")],
    }
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "keystone/keystone.conf.txt", "nova/nova.conf.txt"]
    assert (dest / "nova" / "nova.conf.txt").read_text() == (
        "[DEFAULT]\ntransport_url = rabbit://nova:***@ctl1:5672/\n"
        "[keystone_authtoken]\npassword = ***\n")
    every = "".join(p.read_text() for p in dest.rglob("*.txt"))
    for secret in ("RabbitPw-1", "KsPw-1", "Pem-1", "Bin-1", "Fernet-1"):
        assert secret not in every


def test_mask_logs_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "journal").mkdir()
    journal = tmp_path / "journal" / "nova-api.txt"
    journal.write_text("nova-api[1]: rabbit://nova:RabbitPw-1@ctl1:5672/ started\n")
    listing = tmp_path / "port-list.txt"
    listing.write_text("| id | name |\n")

    assert cc.main(["copy_configs.py", "--mask-logs", str(tmp_path / "journal"), str(listing),
                    str(tmp_path / "absent")]) == 0

    assert json.loads(capsys.readouterr().out) == {
        "masked": [str(journal), str(listing)], "skipped": []}
    assert journal.read_text() == "nova-api[1]: rabbit://nova:***@ctl1:5672/ started\n"
    assert listing.read_text() == "| id | name |\n"


def test_usage_without_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert cc.main(["copy_configs.py"]) == 2
    assert "Usage" in capsys.readouterr().err
