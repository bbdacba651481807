"""SSH helpers shared by the providers: keys, a banner probe and a bounded wait for login."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from . import system
from .model import Node, WaitTimeout


def ensure_keypair(path: Path, comment: str) -> Path:
    """Create an ed25519 key pair at ``path`` once; later calls reuse it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".pub").unlink(missing_ok=True)
        system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(tmp)])
        tmp.with_name(tmp.name + ".pub").rename(path.with_name(path.name + ".pub"))
        tmp.rename(path)
    return path


def probe_banner(address: str, port: int, timeout: float) -> str:
    """``"ok"`` when an SSH server answers with its banner, else a short description of why not."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(64)
    except ConnectionRefusedError:
        return f"{address}:{port} connection refused"
    except TimeoutError:
        return f"{address}:{port} no answer within {timeout:.1f}s"
    except OSError as exc:
        return f"{address}:{port} {exc.strerror or exc}"
    if data.startswith(b"SSH-"):
        return "ok"
    return f"{address}:{port} answered without an SSH banner: {data[:30]!r}"


def try_login(node: Node, timeout: float) -> tuple[bool, str]:
    """Run ``true`` on the node; (True, "") on success, else (False, what ssh said)."""
    argv = node.ssh_command("true")
    argv[1:1] = ["-o", f"ConnectTimeout={max(1, int(timeout))}"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"ssh login did not finish within {timeout:.1f}s"
    if proc.returncode == 0:
        return True, ""
    return False, f"ssh login failed (exit {proc.returncode}): {proc.stderr.strip()[-200:]}"


def wait_for_ssh(
    node: Node,
    timeout: float,
    log_hint: str,
    check: Callable[[], None] | None = None,
    interval: float = 0.02,
    probe_timeout: float = 0.1,
) -> float:
    """Wait until ``node`` accepts an SSH login; return the seconds waited.

    ``check`` is called before every probe and may raise to stop early (e.g. when the node's
    process died). On timeout, WaitTimeout names the node, what was awaited, the last state and
    ``log_hint``.
    """
    start = time.monotonic()
    deadline = start + timeout
    last = "not probed yet"
    while True:
        if check:
            check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"node {node.name}: timed out after {timeout:.0f}s waiting for an SSH login on "
                f"{node.address}:{node.port}; last state: {last}; log: {log_hint}",
                node=node.name,
            )
        last = probe_banner(node.address, node.port, min(probe_timeout, remaining))
        if last == "ok":
            ok, why = try_login(node, max(1.0, deadline - time.monotonic()))
            if ok:
                return time.monotonic() - start
            last = why
        time.sleep(interval)
