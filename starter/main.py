"""Watcher process wiring."""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client

from pushsecret.codec import data_converter, load_codec
from pushsecret.config import Settings
from pushsecret.kube import Kube, load_api_client
from starter.watcher import Watcher

log = logging.getLogger("pushsecret.starter")


async def run(settings: Settings) -> None:
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(load_codec()),
    )
    watcher = Watcher(settings, Kube(load_api_client()), client)
    task = asyncio.create_task(watcher.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    log.info("watcher started (namespaces: %s)", ",".join(settings.watch_namespaces) or "all")
    try:
        await task
    except asyncio.CancelledError:
        log.info("watcher stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(Settings.from_env()))
