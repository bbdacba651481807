"""``crossgate nodes up|down|list``: start, stop and show a pool of nodes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from crossgate.cliargs import integer, seconds

from . import PROVIDERS, open_pool
from .images import DEFAULT_CACHE
from .labels import DEFAULT_LABEL
from .local import DEFAULT_STATE_ROOT, LocalPool
from .model import (
    MAX_NODES,
    InvalidInput,
    Node,
    NodeFailure,
    NodesError,
    NodeSpec,
    parse_link_mtus,
    parse_node_arg,
    specs_for_count,
    validate_pool_name,
)
from .provider import Provider

EXIT_INPUT = 2
EXIT_FAILURE = 1


def add_parser(subparsers: Any) -> None:
    """Add ``nodes`` with ``up``, ``down`` and ``list`` to a ``crossgate`` subparsers object."""
    nodes = subparsers.add_parser(
        "nodes",
        help="start, stop and list local nodes (systemd-nspawn) or inventory machines",
        description="Pools of nodes for local job runs. See docs/nodes.rst.",
    )
    sub = nodes.add_subparsers(dest="nodes_command", metavar="ACTION")
    nodes.set_defaults(func=lambda args: _usage(nodes))

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--pool", default="default", help="pool name (default: %(default)s)")
    common.add_argument(
        "--provider", choices=PROVIDERS, default="local", help="node provider (default: local)"
    )
    common.add_argument("--inventory", type=Path, help="YAML inventory for --provider inventory")
    common.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_ROOT,
        help="directory holding one folder per pool (default: %(default)s)",
    )
    common.add_argument("--format", choices=("text", "json"), default="text")

    up = sub.add_parser("up", parents=[common], help="bring nodes up (replaces a stale pool)")
    up.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="NAME[:LABEL]",
        help="a node to start; repeatable",
    )
    up.add_argument("--count", type=integer(1, MAX_NODES, "a number of nodes"),
                    help=f"start node1..nodeN (1-{MAX_NODES})")
    up.add_argument(
        "--label",
        default=None,
        help=f"label for --count and bare --node (default: {DEFAULT_LABEL})",
    )
    up.add_argument(
        "--boot-timeout", type=seconds, default=60.0, help="seconds per node until SSH (default 60)"
    )
    up.add_argument("--image-timeout", type=seconds, default=900.0,
                    help="seconds for an image build")
    up.add_argument("--image-cache", type=Path, default=DEFAULT_CACHE)
    up.add_argument(
        "--link-mtu",
        action="append",
        default=[],
        metavar="NODE=MTU",
        help="local: the MTU the node's link to the bridge carries, below its interface's 1500 "
        "(as a cloud network with a smaller path MTU); repeatable",
    )
    up.add_argument(
        "--ssh-timeout", type=seconds, default=30.0, help="inventory: seconds per machine for SSH"
    )
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", parents=[common], help="stop the pool and remove what it made")
    down.add_argument(
        "--grace",
        type=seconds,
        default=10.0,
        help="seconds a node may take to power off before it is killed (default 10)",
    )
    down.add_argument("--kill-timeout", type=seconds, default=10.0)
    down.set_defaults(func=cmd_down)

    lst = sub.add_parser("list", parents=[common], help="show the nodes of a pool")
    lst.set_defaults(func=cmd_list)

    image = sub.add_parser(
        "image",
        help="build the baked image of a label (its layers' packages installed)",
        description="Build the image a baked label boots (crossgate-ceph-bookworm, "
        "crossgate-openstack-ceph-bookworm): the base image with the layers' packages, "
        "installed by playbooks/image/install.yaml in a one-node crossgate run, kept as a "
        "cached layer. Nothing is built when the cached image's key (a hash of what the install "
        "steps take) is current. See docs/images.rst.",
    )
    image.add_argument("label", help="a baked label or image name")
    image.add_argument("--image-cache", type=Path, default=DEFAULT_CACHE)
    image.add_argument("--mirror-dir", type=Path, default=Path("/var/cache/crossgate/mirror"),
                       help="host mirror synced and served to the build's node "
                       "(default: %(default)s)")
    image.add_argument("--build-root", type=Path, default=Path("build/images"),
                       help="where the build's run goes (default: %(default)s)")
    image.add_argument("--timeout", type=seconds, default=1800.0,
                       help="seconds the install job may take (default: 1800)")
    image.add_argument("--key", action="store_true",
                       help="print the image's key and whether it is built; build nothing")
    image.add_argument("--format", choices=("text", "json"), default="text")
    image.set_defaults(func=cmd_image)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_INPUT


def _pool(args: argparse.Namespace, **local: Any) -> Provider:
    validate_pool_name(args.pool)
    if args.provider == "inventory":
        if local.get("link_mtus"):
            raise InvalidInput(
                "--link-mtu", getattr(args, "link_mtu", None), "only with --provider local"
            )
        if args.inventory is None:
            raise InvalidInput(
                "--inventory", None, "a YAML inventory file with --provider inventory"
            )
        extra = {"ssh_timeout": args.ssh_timeout} if hasattr(args, "ssh_timeout") else {}
        return open_pool("inventory", args.pool, inventory=args.inventory, **extra)
    return open_pool("local", args.pool, state_root=args.state_dir, **local)


def _specs(args: argparse.Namespace, pool: Provider) -> list[NodeSpec]:
    if args.node and args.count is not None:
        raise InvalidInput("--count", args.count, "either --node or --count, not both")
    known = pool.labels()
    default = args.label
    if default is not None and known is not None and default not in known:
        raise InvalidInput("--label", default, "one of " + ", ".join(known))
    if args.node:
        if args.provider == "inventory" and default is None:
            # A bare name asks for the inventory machine of that name.
            specs = [parse_node_arg(text, text.partition(":")[0]) for text in args.node]
        else:
            specs = [parse_node_arg(text, default or DEFAULT_LABEL) for text in args.node]
        return specs
    count = 1 if args.count is None else args.count
    return specs_for_count(count, default or DEFAULT_LABEL)


def _print_nodes(nodes: list[Node] | list[dict[str, Any]], fmt: str) -> None:
    rows = [n.to_dict() if isinstance(n, Node) else n for n in nodes]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no nodes")
        return
    print(f"{'NAME':<16} {'ADDRESS':<15} {'USER':<6} {'LABELS':<20} {'STATUS':<8} KEY")
    for r in rows:
        status = r.get("status", "up")
        if r.get("running") is False:
            status = "dead"
        labels = ",".join(r["labels"])
        print(
            f"{r['name']:<16} {r['address']:<15} {r['user']:<6} {labels:<20} {status:<8} "
            f"{r['key_path']}"
        )


def _guard(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except InvalidInput as exc:
            print(f"crossgate nodes: error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        except NodeFailure as exc:
            print(f"crossgate nodes: NODE_FAILURE: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        except NodesError as exc:
            print(f"crossgate nodes: error: {exc}", file=sys.stderr)
            return EXIT_FAILURE

    wrapper.__name__ = func.__name__
    return wrapper


@_guard
def cmd_up(args: argparse.Namespace) -> int:
    pool = _pool(
        args,
        boot_timeout=args.boot_timeout,
        image_timeout=args.image_timeout,
        image_cache=args.image_cache,
        link_mtus=parse_link_mtus(args.link_mtu),
    )
    specs = _specs(args, pool)
    nodes = pool.up(specs)
    _print_nodes(nodes, args.format)
    return 0


@_guard
def cmd_down(args: argparse.Namespace) -> int:
    pool = _pool(args, grace=args.grace, kill_timeout=args.kill_timeout)
    pool.down()
    if args.format == "json":
        print(json.dumps({"pool": args.pool, "down": True}))
    else:
        print(f"pool {args.pool}: down")
    return 0


@_guard
def cmd_list(args: argparse.Namespace) -> int:
    pool = _pool(args)
    if isinstance(pool, LocalPool):
        _print_nodes(pool.status(), args.format)
    else:
        _print_nodes(pool.list(), args.format)
    return 0


@_guard
def cmd_image(args: argparse.Namespace) -> int:
    from .bake import bake_key, cached_bake, ensure_baked, get_bake
    from .labels import LABELS

    name = LABELS.get(args.label, args.label)
    bake = get_bake(name)
    if args.key:
        key = bake_key(bake)
        layer = cached_bake(bake, args.image_cache, key)
        row = {"image": name, "key": key, "built": layer is not None,
               "layer": str(layer) if layer else None}
        if args.format == "json":
            print(json.dumps(row))
        else:
            print(f"image {name}: key {key}: " + (f"built ({layer})" if layer else "not built"))
        return 0
    img = ensure_baked(name, args.image_cache, args.mirror_dir, args.build_root,
                       timeout=int(args.timeout))
    row = {"image": img.name, "key": img.key, "built": img.built, "layer": str(img.layer),
           "lowerdir": img.lowerdir, "seconds": round(img.seconds, 1),
           "build_dir": str(img.build_dir) if img.build_dir else None}
    if args.format == "json":
        print(json.dumps(row))
    else:
        print(f"image {img.name}: key {img.key}: "
              + ("built" if img.built else "cached") + f" ({img.layer}, {img.seconds:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``python -m crossgate.nodes.cli nodes up ...``."""
    parser = argparse.ArgumentParser(prog="crossgate")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_parser(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
