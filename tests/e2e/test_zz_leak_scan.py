"""No secret value in Temporal history, logs, CR status or events.

Named to run last in the e2e package: it scans everything the session did, so every value
any earlier test wrote into a Secret (the Cluster helper records them) is looked for, in raw
histories fetched without any codec, in the worker's and watcher's logs, and in every
PushSecret's status and every Event.
"""

from __future__ import annotations

import base64
import json

import aiohttp
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client

from emulators.stack import LocalStack
from tests.e2e.conftest import Cluster

LEAK_VALUE = "leak-canary-7f3a9c1e"


def _forms(value: str) -> set[str]:
    raw = value.encode()
    # A value can hide in history as text, or base64 inside a JSON payload.
    return {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(json.dumps(value).encode()).decode(),
    }


async def test_no_fixture_value_anywhere(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": LEAK_VALUE})
    cluster.pushsecret(ns, "app", secret="db")
    cluster.wait_ready(ns, "app")
    # A failing path too: a missing key makes an error message in history and status.
    cluster.pushsecret(
        ns,
        "bad",
        secret="db",
        data=[{"match": {"secretKey": "nope", "remoteRef": {"remoteKey": f"{ns}-bad"}}}],
    )
    cluster.wait_ready(ns, "bad", status="False")

    values = set(cluster.values) | {LEAK_VALUE}
    needles = set().union(*(_forms(v) for v in values))
    raw_client = await Client.connect(stack.temporal_address)  # no codec, no pydantic
    scanned = 0
    async for wf in raw_client.list_workflows():
        history = await raw_client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        text = history.to_json()
        scanned += 1
        for needle in needles:
            assert needle not in text, f"a fixture value is in the history of {wf.id}"
    assert scanned >= 10

    for name in ("worker", "watcher"):
        log = stack.read_log(name)
        for needle in needles:
            assert needle not in log, f"a fixture value is in the {name} log"

    statuses = cluster.custom.list_cluster_custom_object(
        "external-secrets.io", "v1alpha1", "pushsecrets"
    )
    events = cluster.core.list_event_for_all_namespaces()
    dumped = json.dumps(statuses) + json.dumps(
        cluster.core.api_client.sanitize_for_serialization(events)
    )
    for needle in needles:
        assert needle not in dumped, "a fixture value is in a PushSecret status or an Event"


async def test_histories_are_encrypted_and_the_codec_decodes_them(
    cluster: Cluster, stack: LocalStack
) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "encrypted-in-history"})
    cluster.pushsecret(ns, "app", secret="db")
    cluster.wait_ready(ns, "app")
    wf = f"pushsecret/{ns}/app/{cluster.get_ps(ns, 'app')['metadata']['uid']}"
    raw_client = await Client.connect(stack.temporal_address)
    history = await raw_client.get_workflow_handle(wf).fetch_history()
    payloads = [
        p
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        for p in e.activity_task_completed_event_attributes.result.payloads
    ]
    assert payloads and all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads)
    assert all(ns.encode() not in p.data for p in payloads)  # not even names in clear
    decoded = await stack._require_codec().decode(payloads)
    assert any(ns.encode() in p.data for p in decoded)
    # The codec server the UI uses decodes the same payloads.
    async with aiohttp.ClientSession() as http:
        body = json_format.MessageToJson(Payloads(payloads=payloads[:1]))
        async with http.post(f"{stack.codec_endpoint}/decode", data=body) as resp:
            assert resp.status == 200
            out = Payloads()
            json_format.Parse(await resp.text(), out)
    assert out.payloads[0].metadata["encoding"] == b"json/plain"
