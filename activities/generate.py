"""Run a PushSecret's generator: one value per rotation."""

from __future__ import annotations

import base64

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.errors import from_kube, from_provider, permanent
from pushsecret.api.generators import GENERATOR_PLURALS, GENERATORS_GROUP, GENERATORS_VERSION
from pushsecret.api.workflow import (
    ACT_DISABLE_VERSIONS,
    ACT_GENERATE,
    DisableInput,
    Generated,
    GenerateInput,
)
from pushsecret.generators import GeneratorError, generate
from pushsecret.providers.base import ProviderError, RemoteRef

MSG_NEEDS_CODEC = (
    "generators need payload encryption: configure PUSHSECRET_CODEC_KEYS_FILE (or "
    "PUSHSECRET_CODEC_KEYS / PUSHSECRET_CODEC_KEYS_SECRET) on the worker and its clients"
)


class GenerateActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_GENERATE)
    def generate_values(self, inp: GenerateInput) -> Generated:
        """Read the generator (namespaced, or a ClusterGenerator) and generate a value.

        Reads the generator object; writes nothing. The value is returned to the workflow,
        which keeps it (encrypted by the payload codec) until every store holds it, so a
        failing store is retried with the same value; for that reason this refuses to run
        without the codec. NOT idempotent by nature (each call is a new value): the workflow
        calls it once per rotation id. Errors: a missing generator or bad spec is permanent
        (the workflow retries later or on a change); Kubernetes 5xx retry.
        """
        if not self._d.values_encrypted:
            raise permanent(MSG_NEEDS_CODEC, "CodecRequired")
        ref = inp.generator
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        where = f"could not resolve secret from generator ref {kind}/{name}: "
        api_version = str(ref.get("apiVersion") or f"{GENERATORS_GROUP}/{GENERATORS_VERSION}")
        group = api_version.split("/", 1)[0]
        if group != GENERATORS_GROUP:
            raise permanent(
                where + f"generatorRef may only reference the generators group, but got {group}",
                "InvalidGenerator",
            )
        plural = GENERATOR_PLURALS.get(kind)
        if plural is None:
            raise permanent(where + f"generator kind {kind} is not supported", "InvalidGenerator")
        custom = self._d.kube.custom
        try:
            if kind == "ClusterGenerator":
                obj = custom.get_cluster_custom_object(
                    GENERATORS_GROUP, GENERATORS_VERSION, plural, name
                )
            else:
                obj = custom.get_namespaced_custom_object(
                    GENERATORS_GROUP, GENERATORS_VERSION, inp.ref.namespace, plural, name
                )
        except ApiException as err:
            if err.status == 404:
                raise permanent(
                    where + f"unable to get generator: {kind} {name} not found", "GeneratorNotFound"
                ) from None
            raise from_kube(err, where + "unable to get generator") from None
        try:
            values = generate(kind, obj.get("spec"))
        except GeneratorError as err:
            raise permanent(where + err.message, "GeneratorError") from None
        activity.logger.info(
            "generated rotation %s with %s (%d keys)", inp.rotation, kind, len(values)
        )
        return Generated(values={k: base64.b64encode(v).decode() for k, v in values.items()})


class DisableActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_DISABLE_VERSIONS)
    def disable_versions(self, inp: DisableInput) -> None:
        """Disable the earlier versions a rotation replaced, once its grace period is over.

        Reads the store (live, else its snapshot); writes version states only. Idempotent
        (disabling a disabled or missing version is a no-op). Transient errors retry.
        """
        try:
            provider = self._d.providers.for_store(inp.store, inp.ref.namespace)
        except ProviderError as err:
            raise from_provider(
                err, f"could not get secrets client for store {inp.store.name}: "
            ) from None
        try:
            for key in inp.keys:
                if key.version:
                    provider.disable_version(RemoteRef(key.remote_key, key.property), key.version)
        except ProviderError as err:
            raise from_provider(err, "could not disable an earlier version: ") from None
        finally:
            provider.close()
