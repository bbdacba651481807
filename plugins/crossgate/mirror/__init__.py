"""The host mirror: apt packages and Python wheels served to nodes over HTTP.

from crossgate.mirror import sync_apt, sync_wheels, start_server, stop_server, mirror_urls

sync_apt(["jq"], root)                      # .deb closure into root/apt, indexed (flat repo)
sync_wheels(["six"], root)                  # wheels into root/wheels, simple index
state = start_server(root, "10.240.3.1", 8780)   # the node bridge's host address
urls = mirror_urls(state.address, state.port)    # {"apt": ..., "wheels": ..., "pypi": ...}
stop_server(state.address, state.port)

Nodes use ``deb [trusted=yes] <apt url> ./`` and pip's ``index-url = <pypi url>`` with
``trusted-host``; roles/configure-mirrors writes both from variables.
"""

from __future__ import annotations

from .apt import sources_line, sync_apt
from .model import (
    DEFAULT_DIR,
    DEFAULT_PORT,
    DEFAULT_STATE_DIR,
    AptReport,
    InvalidInput,
    Layout,
    MirrorError,
    ServerFailure,
    SyncFailure,
    WheelReport,
)
from .server import ServerState, mirror_urls, site_vars
from .server import start as start_server
from .server import status as server_status
from .server import stop as stop_server
from .wheels import pip_conf, sync_wheels

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_PORT",
    "DEFAULT_STATE_DIR",
    "AptReport",
    "InvalidInput",
    "Layout",
    "MirrorError",
    "ServerFailure",
    "ServerState",
    "SyncFailure",
    "WheelReport",
    "mirror_urls",
    "pip_conf",
    "server_status",
    "site_vars",
    "sources_line",
    "start_server",
    "stop_server",
    "sync_apt",
    "sync_wheels",
]
