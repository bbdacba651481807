#!/usr/bin/python3
"""Copy OpenStack configuration files into a log folder with their secrets masked.

Usage:
  copy_configs.py DEST DIR [DIR ...]    copy each DIR that exists under DEST/<name of DIR>/
  copy_configs.py --mask-logs PATH ...  mask collected logs and listings in place

Each configuration file is copied as <file>.txt with the value of every option whose name says it
is secret (password, secret, token, key, credential, psk, ...) replaced by ***, commented-out
options too, and the password of every URL with credentials (transport_url, connection, ...)
replaced by ***; lines continuing a secret value and the body of a private key block are masked
as well. Key material is not copied at all: fernet and credential key repositories, private keys
and certificates stores, files that are not UTF-8 text, and symbolic links.

Logs (journals, OVN and OVS logs, listings) are masked in place with the rules that fit free
text: URL passwords, and name=value or name: value pairs whose name says secret, anywhere in a
line.

Prints one JSON line: what was copied, skipped, absent or masked (names only, never contents).
"""

from __future__ import annotations

import json
import os
import re
import sys

MASK = "***"

# Words that make an option name secret. "key" inside "keystone" does not count.
SECRET_WORD = re.compile(r"pass|secret|token|credential|psk|private|key(?!stone)", re.IGNORECASE)
# Names that contain one of the words above but hold no secret: shown as they are.
NOT_SECRET_NAME = re.compile(
    r"^(auth_type|auth_plugin|token_provider|token_expiration|max_active_keys|key_manager|"
    r"(?:[\w.-]*_)?(?:file|path|dir|repository|cert|certfile|keyfile|ca|cafile))$",
    re.IGNORECASE)

# An option line of an INI, YAML, JSON or shell file: optional comment mark, list dash, export
# and quotes around the name; the separator; a value that is not empty.
OPTION = re.compile(
    r"""^(?P<head>(?P<indent>\s*)(?:[#;]+\s*)?(?:-\s+)?(?:export\s+)?
         (?P<quote>["']?)(?P<name>[A-Za-z_][\w.-]*)(?P=quote)\s*[=:]\s*)
         (?P<value>\S.*)$""",
    re.VERBOSE)

# scheme://user:password@host -> scheme://user:***@host. Everything from the first user's ':' to
# the last '@' that is followed by a host is masked: a password with an '@' of its own (not
# percent-encoded) does not leak; with several hosts that each carry credentials
# (rabbit://a:b@h1:5672,c:d@h2:5672/) the hosts but the last are masked with it.
URL_PASSWORD = re.compile(
    r"(?P<user>://[^:/@\s,]*:)(?P<password>\S*)"
    r"(?P<at>@)(?=[\w.\[\]:%-]+(?:[/,?#;\s\"']|$))")

# ?password=...&token=... in a URL's query.
QUERY_SECRET = re.compile(r"(?P<head>[?&;][\w.-]+=)(?P<value>[^&\s#\"']+)")

# name=value or name: value anywhere in a log line, for names with a secret word (the pair is
# masked unless the whole name is one of NOT_SECRET_NAME).
LOG_PAIR = re.compile(
    r"(?P<name>[\w.-]*(?:" + SECRET_WORD.pattern + r")[\w.-]*)"
    r"""(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"',;&}\]]+)""", re.IGNORECASE)

PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")

SKIP_DIRS = {"fernet-keys", "credential-keys"}
SKIP_FILE = re.compile(r"\.(key|pem|p12|pfx|jks|keystore|db|sqlite|sqlite3)$|^id_[a-z0-9]+$",
                       re.IGNORECASE)
MAX_BYTES = 2_000_000


def is_secret_name(name: str) -> bool:
    """Whether an option called NAME holds a secret."""
    return bool(SECRET_WORD.search(name)) and not NOT_SECRET_NAME.match(name)


def mask_urls(line: str) -> str:
    """Mask the password of every URL with credentials, and secret query parameters."""
    line = URL_PASSWORD.sub(lambda m: m["user"] + MASK + m["at"], line)

    def query(m: re.Match[str]) -> str:
        name = m["head"][1:-1]
        return m["head"] + MASK if is_secret_name(name) else m[0]

    return QUERY_SECRET.sub(query, line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def mask_config(text: str) -> str:
    """TEXT of a configuration file with its secrets masked."""
    out: list[str] = []
    secret_indent: int | None = None  # indentation of the secret option being continued
    in_pem = False
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        end = raw[len(body):]
        if in_pem:
            if PEM_END.search(body):
                in_pem = False
                out.append(raw)
            else:
                out.append(body[:_indent(body)] + MASK + end if body.strip() else raw)
            continue
        if PEM_BEGIN.search(body):
            in_pem = True
            secret_indent = None
            out.append(raw)
            continue
        # A line more indented than a secret option continues its value (an INI continuation
        # line, a YAML block scalar).
        if secret_indent is not None:
            if body.strip() and _indent(body) > secret_indent:
                out.append(body[:_indent(body)] + MASK + end)
                continue
            secret_indent = None
        m = OPTION.match(body)
        if m and is_secret_name(m["name"]):
            out.append(m["head"] + MASK + end)
            secret_indent = len(m["indent"])
            continue
        # Any other line: URL passwords and secret pairs inside it ({"password": "..."}).
        out.append(mask_log(body) + end)
    return "".join(out)


def mask_log(text: str) -> str:
    """TEXT of a log or a command's output with URL passwords and secret pairs masked."""

    def pair(m: re.Match[str]) -> str:
        if is_secret_name(m["name"]):
            return m["name"] + m["sep"] + MASK
        # Not a secret itself; its value may still hold a pair ({psk=...}).
        return m["name"] + m["sep"] + LOG_PAIR.sub(pair, m["value"])

    lines = []
    for line in text.splitlines(keepends=True):
        lines.append(LOG_PAIR.sub(pair, mask_urls(line)))
    return "".join(lines)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(MAX_BYTES)
    except (OSError, UnicodeDecodeError):
        return None


def copy_tree(src: str, dest: str, out: dict[str, list[str]]) -> None:
    """Copy the configuration folder SRC under DEST/<name of SRC>/, masked."""
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        out["skipped"].extend(os.path.relpath(os.path.join(root, d), os.path.dirname(src))
                              for d in SKIP_DIRS if os.path.isdir(os.path.join(root, d)))
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, os.path.dirname(src))
            text = None
            if not SKIP_FILE.search(name) and not os.path.islink(path):
                text = _read(path)
            if text is None or "\0" in text:
                out["skipped"].append(rel)
                continue
            target = os.path.join(dest, rel + ".txt")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as f:
                f.write(mask_config(text))
            out["copied"].append(rel)


def mask_logs_in_place(paths: list[str], out: dict[str, list[str]]) -> None:
    """Mask every file of PATHS (files or folders, recursively) in place."""
    for top in paths:
        files = [top] if os.path.isfile(top) else sorted(
            os.path.join(root, name) for root, _, names in os.walk(top) for name in names)
        for path in files:
            if os.path.islink(path):
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                with open(path, "w", encoding="utf-8") as f:
                    f.write(mask_log(text))
            except OSError:
                out["skipped"].append(path)
                continue
            out["masked"].append(path)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[1] == "--mask-logs":
        out: dict[str, list[str]] = {"masked": [], "skipped": []}
        mask_logs_in_place(argv[2:], out)
    elif len(argv) >= 2:
        dest, dirs = argv[1], argv[2:]
        out = {"copied": [], "skipped": [], "absent": []}
        for src in dirs:
            src = src.rstrip("/")
            if os.path.isdir(src):
                copy_tree(src, dest, out)
            else:
                out["absent"].append(src)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
