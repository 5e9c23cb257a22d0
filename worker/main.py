"""Worker wiring: Temporal client, activities' dependencies and the thread pool they run in."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities import Deps, build_activities
from pushsecret.codec import data_converter, load_codec
from pushsecret.config import Settings
from pushsecret.digest import Digester, load_digest_key
from pushsecret.kube import Kube, load_api_client
from pushsecret.stores import ProviderFactory
from workflows.clusterpushsecret import ClusterPushSecretWorkflow
from workflows.pushsecret import PushSecretWorkflow

log = logging.getLogger("pushsecret.worker")


def build_worker(
    client: Client, settings: Settings, deps: Deps, executor: ThreadPoolExecutor
) -> Worker:
    """A Worker for the PushSecret task queue; activities run in ``executor``, off the loop."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PushSecretWorkflow, ClusterPushSecretWorkflow],
        activities=build_activities(deps),
        activity_executor=executor,
        max_concurrent_activities=settings.activity_threads,
    )


def default_deps(settings: Settings, *, values_encrypted: bool) -> Deps:
    kube = Kube(load_api_client())
    return Deps(
        kube=kube,
        digester=Digester(load_digest_key()),
        providers=ProviderFactory(kube),
        controller_class=settings.controller_class,
        values_encrypted=values_encrypted,
    )


async def run(settings: Settings) -> None:
    codec = load_codec()
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(codec),
    )
    deps = default_deps(settings, values_encrypted=codec is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=settings.activity_threads) as executor:
        worker = build_worker(client, settings, deps, executor)
        async with worker:
            log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
            log.info("worker stopping")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(Settings.from_env()))
