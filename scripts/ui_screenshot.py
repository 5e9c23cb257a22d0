"""Take docs/temporal-ui-rotation.png: the Temporal UI showing one PushSecret's rotations.

Needs Debian's chromium and playwright-core from npm (no browser download):
    apt-get install -y --no-install-recommends chromium
    (cd /tmp && npm install playwright-core@1) && NODE_PATH=/tmp/node_modules \
        .venv/bin/python scripts/ui_screenshot.py
"""

import asyncio
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from temporalio.client import Client

from emulators.stack import LocalStack
from tests.e2e.conftest import Cluster

with LocalStack(tempfile.mkdtemp(), ui=True) as st:
    c = Cluster(st)
    ns = "demo"
    c.core.create_namespace({"metadata": {"name": ns}})
    c.store(ns, "gcp-store")
    c.store(ns, "gcp-backup", project="backup-project")
    c.custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "db-password"},
            "spec": {"length": 24},
        },
    )
    c.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "db-password"},
            "spec": {
                "refreshInterval": "6h",
                "secretStoreRefs": [{"name": "gcp-store"}, {"name": "gcp-backup"}],
                "selector": {"generatorRef": {"kind": "Password", "name": "db-password"}},
                "data": [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db-password"}}}
                ],
            },
        },
    )
    c.wait_ready(ns, "db-password")
    uid = c.get_ps(ns, "db-password")["metadata"]["uid"]
    wf = f"pushsecret/{ns}/db-password/{uid}"

    async def main():
        cl = await Client.connect(st.temporal_address, data_converter=st.data_converter())
        await cl.get_workflow_handle(wf).signal("rotate")
        await asyncio.sleep(2)
        return (await cl.get_workflow_handle(wf).describe()).run_id

    run_id = asyncio.run(main())
    # wait for the UI api
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{st.ui_port}/api/v1/namespaces", timeout=2)
            break
        except Exception:
            time.sleep(0.2)
    quoted = urllib.parse.quote(wf, safe="")
    url = f"http://127.0.0.1:{st.ui_port}/namespaces/default/workflows/{quoted}/{run_id}/history"
    print(url)
    r = subprocess.run(
        [
            "node",
            str(Path(__file__).with_name("ui_screenshot.js")),
            url,
            str(Path(__file__).resolve().parent.parent / "docs" / "temporal-ui-rotation.png"),
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )
    print(r.returncode, r.stdout[-300:], r.stderr[-500:])
