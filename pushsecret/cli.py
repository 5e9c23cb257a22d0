"""The ``pushsecret`` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def _local_up(args: argparse.Namespace) -> int:
    from emulators.stack import LocalStack

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with LocalStack(args.state_dir, persist=args.persist) as stack:
        print(f"Temporal:   {stack.temporal_address} (UI http://127.0.0.1:{stack.ui_port})")
        print(f"Kubernetes: {stack.kube_url} (kubeconfig {stack.kubeconfig})")
        print(f"GCP SM:     {stack.gcp_address}")
        print(f"Azure KV:   {stack.azure.vault_url} (CA {stack.azure.ca_cert_path})")
        print(f"Endpoints:  {stack.state_dir / 'endpoints.json'}")
        print("Press Ctrl-C to stop.", flush=True)
        stop.wait()
        print("stopping...", flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from emulators.demo import run_demo

    return run_demo(args.state_dir, once=args.once)


def _codec_server(args: argparse.Namespace) -> int:
    from aiohttp import web

    from pushsecret.codec import load_codec
    from pushsecret.codec_server import build_app

    codec = load_codec()
    if codec is None:
        print("no codec keys configured: set PUSHSECRET_CODEC_KEYS_FILE", file=sys.stderr)
        return 2
    web.run_app(
        build_app(codec, origins=args.origin, token=args.token), host=args.host, port=args.port
    )
    return 0


def _history(args: argparse.Namespace) -> int:
    import asyncio

    from pushsecret.history import history_text

    try:
        print(asyncio.run(history_text(args.target)), end="")
    except (LookupError, ValueError) as err:
        print(f"pushsecret history: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pushsecret", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    local = sub.add_parser("local", help="the local stack (Temporal, emulators, worker, watcher)")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    up = local_sub.add_parser("up", help="start the local stack in the foreground")
    up.add_argument(
        "--state-dir", required=True, help="where kubeconfig, endpoints.json and logs go"
    )
    up.add_argument("--persist", action="store_true", help="keep Temporal's database in state-dir")
    up.set_defaults(func=_local_up)

    demo = sub.add_parser("demo", help="the local stack plus an example PushSecret")
    demo.add_argument("--state-dir", default=".pushsecret-demo")
    demo.add_argument("--once", action="store_true", help="exit after the demo instead of waiting")
    demo.set_defaults(func=_demo)

    codec = sub.add_parser("codec-server", help="decode payloads for the Temporal UI and CLI")
    codec.add_argument("--host", default="127.0.0.1")
    codec.add_argument("--port", type=int, default=8081)
    codec.add_argument(
        "--origin",
        action="append",
        default=[],
        help="allowed CORS origin (the UI's URL); repeatable",
    )
    codec.add_argument("--token", help="require Authorization: Bearer TOKEN")
    codec.set_defaults(func=_codec_server)

    hist = sub.add_parser("history", help="a PushSecret's rotations (ids, stores, versions)")
    hist.add_argument("target", metavar="NAMESPACE/NAME")
    hist.set_defaults(func=_history)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
