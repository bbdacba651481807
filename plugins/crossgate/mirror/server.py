"""Start, stop and list the mirror's HTTP servers, by PID, with one state file per server.

``<state dir>/server-<address>-<port>.json`` records the PID (and its start time, so a reused
PID is never taken for ours), the folder served and the log file. ``start`` waits until the
server answers; ``stop`` sends SIGTERM, then SIGKILL after a grace period, and removes the file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from crossgate.procs import alive, proc_start_time

from .model import DEFAULT_PORT, DEFAULT_STATE_DIR, InvalidInput, Layout, ServerFailure

HTTPD = Path(__file__).with_name("httpd.py")


@dataclass
class ServerState:
    pid: int
    pid_start: int | None
    address: str
    port: int
    directory: str
    log: str
    started: float

    @property
    def url(self) -> str:
        return base_url(self.address, self.port)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["url"] = self.url
        return d


def validate_address(address: str, option: str = "--address") -> str:
    """An IP address of this host to bind; never the unspecified address (0.0.0.0, ::)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidInput(
            option, address, "an IP address of this host, e.g. the node bridge's or 127.0.0.1"
        ) from None
    if ip.is_unspecified:
        raise InvalidInput(
            option, address, "a specific address (the node bridge's or 127.0.0.1), not all"
        )
    return str(ip)


def validate_port(port: int, option: str = "--port") -> int:
    if not 1 <= port <= 65535:
        raise InvalidInput(option, port, "a TCP port from 1 to 65535")
    return port


def base_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def mirror_urls(address: str, port: int) -> dict[str, str]:
    """The URLs nodes use: apt repository, wheel links, simple index and Go programs."""
    base = base_url(address, port)
    return {
        "apt": f"{base}/apt/",
        "wheels": f"{base}/wheels/",
        "pypi": f"{base}/wheels/simple/",
        "go": f"{base}/go/",
    }


def site_vars(root: Path, urls: dict[str, str]) -> dict[str, str]:
    """The site variables a CI site gives its jobs for the parts of the mirror at ``root`` that
    hold something: crossgate_mirror_apt_url, _pypi_url and _wheels_url, _go_url."""
    out: dict[str, str] = {}
    if (root / "apt" / "Packages").exists():
        out["crossgate_mirror_apt_url"] = urls["apt"]
    if (root / "wheels" / "simple").is_dir():
        out["crossgate_mirror_pypi_url"] = urls["pypi"]
        out["crossgate_mirror_wheels_url"] = urls["wheels"]
    if (root / "go").is_dir():
        out["crossgate_mirror_go_url"] = urls["go"]
    return out


def state_path(state_dir: Path, address: str, port: int) -> Path:
    return Path(state_dir) / f"server-{address}-{port}.json"


def log_path(state_dir: Path, address: str, port: int) -> Path:
    return Path(state_dir) / f"server-{address}-{port}.log"


def load(path: Path) -> ServerState | None:
    try:
        data = json.loads(path.read_text())
        return ServerState(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ServerFailure(f"cannot read the server state file {path}: {exc}") from None


def _tail(path: Path, lines: int = 10) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("  | " + line for line in text[-lines:])


def probe(url: str, timeout: float = 2.0) -> str | None:
    """None when ``url`` answers 200, else a short description of what happened."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return None if resp.status == 200 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason)


def start(
    directory: Path,
    address: str,
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    timeout: float = 10.0,
) -> ServerState:
    """Serve ``directory`` on ``address``:``port`` and wait until it answers.

    A server already running for the same address, port and folder is returned as it is; one
    serving another folder there is an error. On timeout the process is stopped and
    ServerFailure names the URL awaited, the last answer and the log."""
    address = validate_address(address)
    port = validate_port(port)
    directory = Path(directory).resolve()
    layout = Layout(directory)
    if not directory.is_dir():
        raise InvalidInput("--dir", str(directory), "an existing mirror folder (run sync first)")
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    spath = state_path(state_dir, address, port)
    old = load(spath)
    if old is not None and alive(old.pid, old.pid_start):
        if Path(old.directory) == directory:
            return old
        raise ServerFailure(
            f"a mirror server (pid {old.pid}) already serves {old.directory} on {old.url}; "
            f"stop it first (crossgate mirror stop --address {address} --port {port})"
        )
    spath.unlink(missing_ok=True)
    for sub in (layout.apt, layout.wheels):
        sub.mkdir(parents=True, exist_ok=True)
    log = log_path(state_dir, address, port)
    argv = [sys.executable, str(HTTPD), "--address", address, "--port", str(port)]
    argv += ["--directory", str(directory)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    state = ServerState(
        pid=proc.pid,
        pid_start=proc_start_time(proc.pid),
        address=address,
        port=port,
        directory=str(directory),
        log=str(log),
        started=time.time(),
    )
    spath.write_text(json.dumps(asdict(state), indent=2) + "\n")
    url = state.url + "/"
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if proc.poll() is not None:
            spath.unlink(missing_ok=True)
            raise ServerFailure(
                f"mirror server on {url} exited with status {proc.returncode} before it "
                f"answered; log: {log}\n{_tail(log)}"
            )
        last = probe(url, timeout=1.0) or ""
        if not last:
            return state
        if time.monotonic() >= deadline:
            _kill(state, grace=2.0)
            spath.unlink(missing_ok=True)
            raise ServerFailure(
                f"timed out after {timeout:.0f}s waiting for the mirror server to answer "
                f"GET {url}; last state: {last}; log: {log}\n{_tail(log)}"
            )
        time.sleep(0.05)


def _kill(state: ServerState, grace: float) -> bool:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; True when the process is gone."""
    if not alive(state.pid, state.pid_start):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(state.pid, state.pid_start):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(state.pid, state.pid_start):
            return True
        time.sleep(0.05)
    return False


def stop(
    address: str,
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    grace: float = 5.0,
) -> bool:
    """Stop the server recorded for ``address``:``port``. True if one was running."""
    address = validate_address(address)
    port = validate_port(port)
    spath = state_path(Path(state_dir), address, port)
    state = load(spath)
    if state is None:
        return False
    was_alive = alive(state.pid, state.pid_start)
    if not _kill(state, grace):
        raise ServerFailure(
            f"mirror server pid {state.pid} on {state.url} still runs after SIGKILL; "
            f"log: {state.log}"
        )
    spath.unlink(missing_ok=True)
    return was_alive


def status(state_dir: Path = DEFAULT_STATE_DIR) -> list[dict[str, object]]:
    """Every recorded server with ``running`` telling whether its process still lives."""
    out = []
    state_dir = Path(state_dir)
    if not state_dir.is_dir():
        return out
    for path in sorted(state_dir.glob("server-*.json")):
        state = load(path)
        if state is None:
            continue
        d = state.to_dict()
        d["running"] = alive(state.pid, state.pid_start)
        out.append(d)
    return out
