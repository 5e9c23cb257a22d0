"""Kubernetes access for activities and the watcher, on the official ``kubernetes`` client.

Everything here blocks; callers run it in worker threads. Objects are handled as plain JSON
dicts (as the API returns them) and parsed into ``pushsecret.api`` models by the caller.
Secret contents are returned only by :meth:`Kube.read_secret_data`, whose result the caller
must keep inside the activity.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from pushsecret.api.pushsecret import GROUP, PUSHSECRET_PLURAL, PUSHSECRET_VERSION
from pushsecret.api.secretstore import CLUSTERSECRETSTORE_PLURAL, SECRETSTORE_PLURAL

STORE_VERSION = "v1"
Obj = dict[str, Any]


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """An ApiClient from ``kubeconfig`` (or ``$KUBECONFIG``/~/.kube/config), else in-cluster."""
    if (
        kubeconfig is None
        and os.environ.get("KUBERNETES_SERVICE_HOST")
        and not os.environ.get("KUBECONFIG")
    ):
        cfg = client.Configuration()
        config.load_incluster_config(client_configuration=cfg)
        return client.ApiClient(cfg)
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return client.ApiClient(cfg)


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, ApiException) and err.status == 404


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, ApiException) and err.status == 409


def api_message(err: ApiException) -> str:
    """The Status message of an API error (``secrets "db" not found``); never a body echo."""
    try:
        body = json.loads(err.body or "{}")
        msg = body.get("message")
        if isinstance(msg, str) and msg:
            return msg
    except (ValueError, TypeError):
        pass
    return f"{err.status} {err.reason}"


@dataclass(frozen=True)
class SecretMeta:
    """A Secret's identity and version, without its data."""

    name: str
    resource_version: str
    labels: dict[str, str]


class Kube:
    """The Kubernetes calls pushsecret makes. Thread-safe (the ApiClient pool is)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    # -- PushSecrets ------------------------------------------------------------------------

    def get_pushsecret(self, namespace: str, name: str) -> Obj | None:
        """GET the PushSecret; None when it does not exist."""
        try:
            obj: Obj = self.custom.get_namespaced_custom_object(
                GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return obj

    def list_pushsecrets(self, namespace: str | None = None) -> list[Obj]:
        if namespace:
            res = self.custom.list_namespaced_custom_object(
                GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL
            )
        else:
            res = self.custom.list_cluster_custom_object(
                GROUP, PUSHSECRET_VERSION, PUSHSECRET_PLURAL
            )
        items: list[Obj] = res.get("items", [])
        return items

    def replace_pushsecret_status(self, obj: Obj) -> Obj:
        """PUT /status with the object's resourceVersion (409 when it changed meanwhile)."""
        md = obj["metadata"]
        res: Obj = self.custom.replace_namespaced_custom_object_status(
            GROUP, PUSHSECRET_VERSION, md["namespace"], PUSHSECRET_PLURAL, md["name"], obj
        )
        return res

    def patch_pushsecret_finalizers(
        self, namespace: str, name: str, finalizers: list[str], resource_version: str
    ) -> Obj:
        """Set metadata.finalizers, guarded by resourceVersion (409 on a concurrent change)."""
        body = {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}}
        res: Obj = self.custom.patch_namespaced_custom_object(
            GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL, name, body
        )
        return res

    # -- Secrets ----------------------------------------------------------------------------

    def _read_secret(self, namespace: str, name: str) -> Any | None:
        try:
            return self.core.read_namespaced_secret(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    @staticmethod
    def _meta(s: Any) -> SecretMeta:
        return SecretMeta(
            name=s.metadata.name,
            resource_version=s.metadata.resource_version or "",
            labels=dict(s.metadata.labels or {}),
        )

    def get_secret_meta(self, namespace: str, name: str) -> SecretMeta | None:
        """The Secret's resourceVersion and labels (its data is read but dropped here)."""
        s = self._read_secret(namespace, name)
        return None if s is None else self._meta(s)

    def list_secret_meta(self, namespace: str, selector: str) -> list[SecretMeta]:
        """Names, versions and labels of the Secrets matching a label selector (no data kept)."""
        res = self.core.list_namespaced_secret(namespace, label_selector=selector)
        return [self._meta(s) for s in res.items]

    def read_secret_data(
        self, namespace: str, name: str
    ) -> tuple[SecretMeta, str, dict[str, bytes]] | None:
        """The Secret's metadata, type and decoded data; None when it does not exist.

        The returned values are secret: keep them inside the calling activity.
        """
        s = self._read_secret(namespace, name)
        if s is None:
            return None
        data = {k: base64.b64decode(v) for k, v in (s.data or {}).items()}
        return self._meta(s), s.type or "Opaque", data

    def read_secret_key(self, namespace: str, name: str, key: str) -> bytes | None:
        """One decoded value of a Secret (credentials); None when the Secret or key is missing."""
        got = self.read_secret_data(namespace, name)
        if got is None:
            return None
        return got[2].get(key)

    # -- stores -----------------------------------------------------------------------------

    def get_store(self, kind: str, namespace: str | None, name: str) -> Obj:
        """GET a SecretStore (in ``namespace``) or ClusterSecretStore; raises ApiException."""
        if kind == "ClusterSecretStore":
            obj: Obj = self.custom.get_cluster_custom_object(
                GROUP, STORE_VERSION, CLUSTERSECRETSTORE_PLURAL, name
            )
        else:
            obj = self.custom.get_namespaced_custom_object(
                GROUP, STORE_VERSION, namespace or "default", SECRETSTORE_PLURAL, name
            )
        return obj

    def list_stores(self, kind: str, namespace: str | None, selector: str) -> list[Obj]:
        if kind == "ClusterSecretStore":
            res = self.custom.list_cluster_custom_object(
                GROUP, STORE_VERSION, CLUSTERSECRETSTORE_PLURAL, label_selector=selector
            )
        else:
            res = self.custom.list_namespaced_custom_object(
                GROUP,
                STORE_VERSION,
                namespace or "default",
                SECRETSTORE_PLURAL,
                label_selector=selector,
            )
        items: list[Obj] = res.get("items", [])
        return items

    # -- service accounts -------------------------------------------------------------------

    def get_service_account(self, namespace: str, name: str) -> Obj | None:
        """The ServiceAccount as JSON (annotations carry workload-identity bindings)."""
        try:
            sa = self.core.read_namespaced_service_account(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        obj: Obj = self.api_client.sanitize_for_serialization(sa)
        return obj

    def service_account_token(
        self, namespace: str, name: str, audiences: list[str], seconds: int = 600
    ) -> str:
        """A fresh token for ServiceAccount ``namespace/name`` (TokenRequest API).

        The token is a credential: callers hand it to an identity provider and never log it.
        """
        body = {"spec": {"audiences": audiences, "expirationSeconds": seconds}}
        res = self.core.create_namespaced_service_account_token(name, namespace, body)
        token: str = res.status.token
        return token

    # -- events -----------------------------------------------------------------------------

    def emit_event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        """A core/v1 Event about ``obj`` from component ``pushsecret`` (as ESO's recorder).

        ``message`` must be safe to show: it is stored in the cluster as is.
        """
        md = obj["metadata"]
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "metadata": {"generateName": f"{md['name']}.", "namespace": md["namespace"]},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", f"{GROUP}/{PUSHSECRET_VERSION}"),
                "kind": obj.get("kind", "PushSecret"),
                "name": md["name"],
                "namespace": md["namespace"],
                "uid": md.get("uid"),
                "resourceVersion": md.get("resourceVersion"),
            },
            "type": event_type,
            "reason": reason,
            "message": message,
            "source": {"component": "pushsecret"},
            "reportingComponent": "pushsecret",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self.core.create_namespaced_event(md["namespace"], body)

    def namespace_labels(self, name: str) -> dict[str, str]:
        """A namespace's labels (raises ApiException, 404 included)."""
        ns = self.core.read_namespace(name)
        return dict(ns.metadata.labels or {})

    # -- ClusterPushSecrets -----------------------------------------------------------------

    def get_cluster_pushsecret(self, name: str) -> Obj | None:
        try:
            obj: Obj = self.custom.get_cluster_custom_object(
                GROUP, PUSHSECRET_VERSION, "clusterpushsecrets", name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return obj

    def replace_cluster_pushsecret_status(self, obj: Obj) -> Obj:
        res: Obj = self.custom.replace_cluster_custom_object_status(
            GROUP, PUSHSECRET_VERSION, "clusterpushsecrets", obj["metadata"]["name"], obj
        )
        return res

    def list_namespaces(self, selector: str) -> list[Obj]:
        res = self.core.list_namespace(label_selector=selector)
        items: list[Obj] = self.api_client.sanitize_for_serialization(res.items)
        return items

    def create_pushsecret(self, namespace: str, obj: Obj) -> Obj:
        res: Obj = self.custom.create_namespaced_custom_object(
            GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL, obj
        )
        return res

    def replace_pushsecret(self, namespace: str, obj: Obj) -> Obj:
        res: Obj = self.custom.replace_namespaced_custom_object(
            GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL, obj["metadata"]["name"], obj
        )
        return res

    def delete_pushsecret(self, namespace: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            GROUP, PUSHSECRET_VERSION, namespace, PUSHSECRET_PLURAL, name
        )

    def read_configmap_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's data (templateFrom sources); None when it does not exist."""
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return dict(cm.data or {})
