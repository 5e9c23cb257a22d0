"""The commands a user runs: ``pushsecret local up`` and ``pushsecret demo``, as processes."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from emulators.stack import LocalStack
from tests.e2e.conftest import Cluster, poll
from tests.e2e.test_kubectl import GCP_MANIFESTS

PUSHSECRET = [sys.executable, "-m", "pushsecret.cli"]


def test_local_up_serves_kubectl_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [*PUSHSECRET, "local", "up", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoints = state / "endpoints.json"
        poll(
            lambda: endpoints.exists() and (state / "kubeconfig").exists(),
            90,
            "endpoints.json and kubeconfig",
        )
        ep = json.loads(endpoints.read_text())
        assert set(ep) >= {"temporal", "kubernetes", "gcp_secret_manager"}
        assert set(ep["temporal"]) >= {"address", "namespace", "ui"}
        assert ep["kubernetes"]["server"].startswith("http://127.0.0.1:")
        assert ep["gcp_secret_manager"]["address"].startswith("127.0.0.1:")
        kubectl = shutil.which("kubectl")
        if kubectl is not None:
            manifest = tmp_path / "m.yaml"
            manifest.write_text(GCP_MANIFESTS)
            out = subprocess.run(
                [kubectl, "--kubeconfig", str(state / "kubeconfig"), "apply", "-f", str(manifest)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
            assert "pushsecret.external-secrets.io/pushsecret-example created" in out.stdout
            got = poll(
                lambda: (
                    (
                        r := subprocess.run(
                            [
                                kubectl,
                                "--kubeconfig",
                                str(state / "kubeconfig"),
                                "get",
                                "ps",
                                "-n",
                                "demo",
                            ],
                            capture_output=True,
                            text=True,
                            timeout=30,
                        )
                    ).returncode
                    == 0
                    and "Synced" in r.stdout
                    and r.stdout
                ),
                60,
                "kubectl to show Synced",
            )
            assert "pushsecret-example" in got
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, out
    assert "stopping" in out
    # Every child went away with it: nothing listens on the Temporal port any more.
    port = int(ep["temporal"]["address"].rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_demo_once_runs_as_a_new_user_would(tmp_path: Path) -> None:
    res = subprocess.run(
        [*PUSHSECRET, "demo", "--once", "--state-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Ready=True reason=Synced message='PushSecret synced successfully'" in res.stdout
    assert "without waiting for refreshInterval" in res.stdout
    assert "demo-password" not in res.stdout  # the demo shows digests, not values


def test_watch_namespaces_limits_what_is_synced(tmp_path: Path) -> None:
    env = {"PUSHSECRET_WATCH_NAMESPACES": "watched"}
    with LocalStack(tmp_path / "s", ui=False, extra_env=env) as stack:
        c = Cluster(stack)
        for ns in ("watched", "ignored"):
            c.core.create_namespace({"metadata": {"name": ns}})
            c.store(ns)
            c.secret(ns, "db", {"password": f"only-{ns}"})
            c.pushsecret(ns, "app", secret="db")
        c.wait_ready("watched", "app")
        assert c.remote("watched-app") == b"only-watched"
        # Give the ignored one the same chance, then check nobody touched it.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert c.ready("ignored", "app") is None
            time.sleep(0.2)
        assert not c.remote_exists("ignored-app")
