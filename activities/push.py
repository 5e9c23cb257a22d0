"""Push to one store, and delete from one store."""

from __future__ import annotations

import base64
from dataclasses import replace

from kubernetes.client.exceptions import ApiException
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import Deps
from activities.errors import from_kube, from_provider, permanent
from pushsecret.api.pushsecret import PushSecretData
from pushsecret.api.workflow import (
    ACT_DELETE_REMOTE,
    ACT_PUSH_STORE,
    MSG_NO_SOURCE,
    DeleteInput,
    EntryRecord,
    PushInput,
    StoreOutcome,
)
from pushsecret.entries import (
    EntriesError,
    ExpandedEntry,
    check_marshallable,
    entry_payload,
    expand_data_to,
    merge_entries,
)
from pushsecret.providers.base import (
    Provider,
    ProviderError,
    PushEntry,
    RemoteRef,
    SourceSecret,
)
from pushsecret.providers.payload import whole_secret_json
from pushsecret.templating import TemplateError, render_secret_template


def _entry(data: PushSecretData) -> PushEntry:
    ref = data.match.remote_ref
    return PushEntry(
        remote=RemoteRef(ref.remote_key, ref.property),
        secret_key=data.match.secret_key,
        metadata=data.metadata,
    )


class PushActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_PUSH_STORE)
    def push_to_store(self, inp: PushInput) -> StoreOutcome:
        """Push every entry of ``inp`` to one store; return digests and remote versions.

        Reads the source Secret and the store (and its credential Secret) inside the activity;
        values never leave it. Writes to the store only what differs: an entry whose digest and
        store fingerprint match ``inp.known`` is skipped outright unless ``verify_remote``, and
        the provider itself adds no version for an unchanged payload. Idempotent.
        Errors: provider UNAVAILABLE / 429 / 5xx and Kubernetes 5xx retry; a missing source
        Secret or key, a store we cannot use, a remote secret we do not manage and bad metadata
        are permanent, reported with ESO's messages and the entries pushed before the failure.
        """
        ns = inp.ref.namespace
        sources = self._read_sources(inp)
        try:
            provider = self._d.providers.for_store(inp.store, ns)
        except ProviderError as err:
            raise from_provider(
                err, f"could not get secrets client for store {inp.store.name}: "
            ) from None
        out = StoreOutcome(store_key=inp.store.key, ok=True)
        try:
            # Several label-selected Secrets may map to one remote key; ESO writes each in
            # turn (last wins, and the store gets a version per Secret per refresh). The same
            # final state is reached by writing only the last one, in name order.
            prepared: dict[str, tuple[PushSecretData, SourceSecret, bytes]] = {}
            for source in sources:
                for expanded in self._entries(inp, list(source.data)):
                    prepared[expanded.status_ref] = self._prepare(expanded, source)
            for entry, view, payload in prepared.values():
                activity.heartbeat()  # no details: they are payloads, and progress is cheap to redo
                self._push_entry(inp, provider, entry, view, payload, out)
        except _EntryFailed as err:
            raise err.with_partial(out) from None
        finally:
            provider.close()
        return out

    def _read_sources(self, inp: PushInput) -> list[SourceSecret]:
        """The source Secrets (one named, or every label-selected one, by name), with data."""
        ns = inp.ref.namespace
        if inp.generated is not None:
            # ESO's in-memory Secret for generator output.
            gen = SourceSecret(
                name="___generated-secret",
                namespace=ns,
                data={k: base64.b64decode(v) for k, v in inp.generated.values.items()},
            )
            return [self._template(inp, gen) if inp.template else gen]
        names = inp.source_secrets if inp.source_selected else [inp.source_secret]
        sources = []
        for name in names:
            try:
                got = self._d.kube.read_secret_data(ns, name)
            except ApiException as err:
                raise from_kube(err, MSG_NO_SOURCE) from None
            if got is None:
                if inp.source_selected:
                    continue  # deleted since the plan listed it: no longer selected
                raise permanent(MSG_NO_SOURCE, "SourceNotFound")
            meta, stype, data = got
            source = SourceSecret(
                name=meta.name, namespace=ns, data=data, type=stype, labels=meta.labels
            )
            sources.append(self._template(inp, source) if inp.template else source)
        return sources

    def _template(self, inp: PushInput, source: SourceSecret) -> SourceSecret:
        """ESO's in-memory templating of one source Secret (never written back).

        Reads the templateFrom ConfigMaps / Secrets of the PushSecret's namespace. A template
        error is permanent and reported as Ready=False (ESO only logs it: Q5); its message
        never contains values. Kubernetes API errors while reading them retry.
        """
        assert inp.template is not None
        kube, ns = self._d.kube, inp.ref.namespace

        def secret_data(name: str) -> dict[str, bytes] | None:
            got = kube.read_secret_data(ns, name)
            return None if got is None else got[2]

        try:
            rendered = render_secret_template(
                inp.template,
                source.data,
                configmaps=lambda name: kube.read_configmap_data(ns, name),
                secrets=secret_data,
                source_labels=source.labels,
                source_annotations=source.annotations,
            )
        except TemplateError as err:
            raise permanent(str(err), "TemplateError") from None
        except ApiException as err:
            raise from_kube(err, "error fetching templateFrom data") from None
        return SourceSecret(
            name=source.name,
            namespace=ns,
            data=rendered.data,
            type=rendered.type,
            labels=dict(rendered.labels),
            annotations=dict(rendered.annotations),
        )

    @staticmethod
    def _entries(inp: PushInput, source_keys: list[str]) -> list[ExpandedEntry]:
        """This store's entries: dataTo expanded on the source keys, merged with data[]."""
        store = inp.store
        try:
            expanded = expand_data_to(
                inp.data_to, store.key, store.kind, store.name, store.labels, source_keys
            )
            return merge_entries(expanded, inp.entries, source_keys)
        except EntriesError as err:
            raise _EntryFailed(permanent(err.message, "InvalidEntries")) from None

    @staticmethod
    def _prepare(
        expanded: ExpandedEntry, source: SourceSecret
    ) -> tuple[PushSecretData, SourceSecret, bytes]:
        """The entry, the provider's view of the Secret for it, and the payload it pushes."""
        entry = expanded.data
        key = entry.match.secret_key
        try:
            got = entry_payload(expanded, source.data)
            if isinstance(got, dict):
                check_marshallable(got)
        except EntriesError as err:
            raise _EntryFailed(permanent(err.message, "InvalidEntries")) from None
        # The provider sees the entry's own view of the Secret: converted key names, or only
        # a bundle's keys, with the templated Secret's type, labels and annotations.
        view = replace(source, data=dict(got) if isinstance(got, dict) else {key: got})
        payload = got if isinstance(got, bytes) else whole_secret_json(got)
        return entry, view, payload

    def _push_entry(
        self,
        inp: PushInput,
        provider: Provider,
        entry: PushSecretData,
        secret: SourceSecret,
        payload: bytes,
        out: StoreOutcome,
    ) -> None:
        key = entry.match.secret_key
        digest = self._d.digester.digest(entry.model_dump_json(by_alias=True), payload)
        ref = entry.status_ref
        known = inp.known.get(ref)
        if (
            not inp.verify_remote
            and known is not None
            and known.digest == digest
            and known.store_fingerprint == inp.store.fingerprint
        ):
            out.entries[ref] = known
            return
        record = EntryRecord(data=entry, digest=digest, store_fingerprint=inp.store.fingerprint)
        pe = _entry(entry)
        if inp.update_policy == "IfNotExists":
            try:
                exists = provider.exists(pe.remote)
            except ProviderError as err:
                raise _EntryFailed(
                    from_provider(err, "could not verify if secret exists in store: ")
                ) from None
            if exists:
                record.remote_version = known.remote_version if known else None
                out.entries[ref] = record
                return
        try:
            result = provider.push(secret, pe)
        except ProviderError as err:
            raise _EntryFailed(
                from_provider(
                    err,
                    f"could not write remote ref {key} to target secretstore {inp.store.name}: ",
                )
            ) from None
        record.remote_version = result.remote_version
        out.entries[ref] = record
        if result.written:
            out.written.append(ref)
            activity.logger.info(
                "pushed %s to %s (version %s)", ref, inp.store.key, result.remote_version
            )

    @activity.defn(name=ACT_DELETE_REMOTE)
    def delete_remote_refs(self, inp: DeleteInput) -> StoreOutcome:
        """Delete each recorded entry from one store.

        Reads the store (its live spec, else the snapshot recorded at push time) and its
        credentials; deletes remote secrets. Missing remote secrets and secrets we do not
        manage count as deleted (the provider skips them), so it is idempotent. Errors:
        transient provider failures retry; a store that cannot be used is permanent.
        """
        try:
            provider = self._d.providers.for_store(inp.store, inp.ref.namespace)
        except ProviderError as err:
            raise from_provider(
                err, f"could not get secrets client for store {inp.store.key}: "
            ) from None
        out = StoreOutcome(store_key=inp.store.key, ok=True)
        try:
            for ref, record in sorted(inp.entries.items()):
                activity.heartbeat()
                remote = record.data.match.remote_ref
                try:
                    provider.delete(RemoteRef(remote.remote_key, remote.property))
                except ProviderError as err:
                    raise from_provider(err, "") from None
                out.entries[ref] = record
        finally:
            provider.close()
        return out


class _EntryFailed(Exception):
    """An entry failed; carries the ApplicationError until the partial outcome is attached."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(error.message)
        self.error = error

    def with_partial(self, out: StoreOutcome) -> ApplicationError:
        # Entries pushed before the failure travel in the error's details, so the workflow
        # keeps them recorded even though the activity failed.
        partial = StoreOutcome(store_key=out.store_key, ok=False, entries=out.entries)
        return ApplicationError(
            self.error.message,
            partial.model_dump(mode="json"),
            type=self.error.type,
            non_retryable=self.error.non_retryable,
            next_retry_delay=self.error.next_retry_delay,
        )
