"""The entries a PushSecret pushes to one store: ``data`` + expanded ``dataTo`` (pure, no I/O).

This is ESO's ``handlePushSecretDataForStore`` up to the provider call, on key names only:
values are never seen except by :func:`entry_payload` / :func:`check_marshallable`, whose
errors name keys, never values. Every error is an :class:`EntriesError` whose message is
ESO's full text (the caller adds ``set secret failed: `` where ESO does).

Map to the spec (``reference/eso-pushsecret-spec.md``); this module is the public face of
``pushsecret/entries_*.py`` and re-exports what they define:

- :class:`EntriesError`, :class:`ExpandedEntry` (:mod:`pushsecret.entries_base`).
- :func:`reverse_unicode`, :func:`reverse_key`, :func:`convert_keys`: §2.9 (``ReverseKeys``).
- :func:`validate_data_to_store_refs`, :func:`validate_data_to_matches_stores`: §2.8.1.
- :func:`filter_data_to`, :func:`data_to_targets_store`: §2.8.3.
- :func:`expand_data_to`: §2.8.4 (match, bundle vs per-key mode, rewrites, duplicates);
  regexps follow Go's RE2 via :mod:`pushsecret.entries_re2` (its docstring lists the
  RE2/Python differences handled).
- :func:`merge_entries`: §2.8.5 (explicit data wins, remote-location uniqueness).
- :func:`entry_payload`: §2.8.6 steps 1-3; :func:`check_marshallable`: §3.2's JSON case.

Typical use, in ESO's order (errors of the first two go to the status verbatim, the others
after ``set secret failed: ``)::

    msg = validate_data_to_store_refs(spec)                  # before reading the source
    msg = validate_data_to_matches_stores(spec, stores)      # after resolving the stores
    for source in sources:                                   # per source Secret (Q17)
        for kind, name, labels in stores:                    # per store, deterministic order
            entries = merge_entries(
                expand_data_to(spec.data_to, f"{kind}/{name}", kind, name, labels,
                               list(source), render),
                spec.data, list(source))
            for entry in entries:
                payload = entry_payload(entry, source)       # provider gets this + entry.data
                # entry.data is what status.syncedPushSecrets[kind/name][entry.status_ref] holds

Go iterates maps in random order where ESO reports "the first" offender (duplicate remote
keys, empty rewrite results, failing template keys); here the order is always the sorted
converted key order, so messages are deterministic (Q16's policy applied to messages).
Q17 (several label-selected source Secrets) is the caller's loop: each source Secret is
expanded on its own keys.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pushsecret.api.common import LabelSelector
from pushsecret.api.duration import go_quote
from pushsecret.api.pushsecret import (
    PushSecretData,
    PushSecretDataTo,
    PushSecretMatch,
    PushSecretRemoteRef,
    PushSecretRewrite,
    PushSecretSpec,
    PushSecretStoreRef,
)
from pushsecret.entries_base import (
    EntriesError,
    ExpandedEntry,
    check_marshallable,
    convert_keys,
    entry_payload,
    reverse_key,
    reverse_unicode,
)
from pushsecret.entries_re2 import RegexpError, compile_go_regexp

__all__ = [
    "BUNDLE_SOURCE_KEY",
    "MSG_REMOTE_KEY_AND_REWRITE",
    "EntriesError",
    "ExpandedEntry",
    "Renderer",
    "check_marshallable",
    "convert_keys",
    "data_to_targets_store",
    "entry_payload",
    "expand_data_to",
    "filter_data_to",
    "merge_entries",
    "reverse_key",
    "reverse_unicode",
    "validate_data_to_matches_stores",
    "validate_data_to_store_refs",
]

Renderer = Callable[[str, dict[str, Any]], str]
"""``render(template, data) -> str`` (Go text/template, :mod:`pushsecret.templating`).

It raises on failure; an exception class named ``TemplateParseError`` (or derived from one)
means the template does not parse (ESO: ``invalid template``), anything else is an
execution error (ESO: ``template exec``). Messages must not contain data values.
"""

BUNDLE_SOURCE_KEY = "(bundle)"
"""ESO's source-key marker of a bundle entry in duplicate remote key messages."""
MSG_REMOTE_KEY_AND_REWRITE = (
    "remoteKey and rewrite are mutually exclusive: rewrite is only supported in per-key "
    "mode (without remoteKey)"
)
_SECRET_STORE = "SecretStore"


# --- §2.8.1 validation of dataTo store references ---------------------------------------


def _kind(ref: PushSecretStoreRef) -> str:
    return ref.kind or _SECRET_STORE


def _selector_error(selector: LabelSelector) -> str | None:
    """Why ``metav1.LabelSelectorAsSelector`` would reject ``selector``, if it would."""
    try:
        selector.to_selector_string()
    except ValueError as exc:
        return str(exc)
    return None


def validate_data_to_store_refs(spec: PushSecretSpec) -> str | None:
    """ESO's ``validateDataToStoreRefs`` (before any store is read): the error, or None.

    A named ``dataTo[].storeRef`` must match, by name and kind, an entry of
    ``secretStoreRefs`` that has a name (label-selector-only entries never satisfy it; an
    entry with both name and selector does, even though the selector wins at resolution).
    """
    for i, item in enumerate(spec.data_to):
        ref = item.store_ref
        if ref is None:
            return f"dataTo[{i}]: storeRef is required"
        if not ref.name and ref.label_selector is None:
            return f"dataTo[{i}]: storeRef must have name or labelSelector"
        if ref.name and not any(
            listed.name == ref.name and _kind(listed) == _kind(ref)
            for listed in spec.secret_store_refs
            if listed.name
        ):
            return f"dataTo[{i}]: storeRef {go_quote(ref.name)} not found in secretStoreRefs"
    return None


def validate_data_to_matches_stores(
    spec: PushSecretSpec, stores: Sequence[tuple[str, str, Mapping[str, str]]]
) -> str | None:
    """ESO's ``validateDataToMatchesResolvedStores``: the error, or None.

    ``stores`` are the resolved, managed stores as ``(kind, name, labels)``. Every
    selector-only ``dataTo`` storeRef must select at least one of them (same kind).
    """
    for i, item in enumerate(spec.data_to):
        ref = item.store_ref
        if ref is None or ref.label_selector is None or ref.name:
            continue
        error = _selector_error(ref.label_selector)
        if error is not None:
            return f"dataTo[{i}]: invalid labelSelector: {error}"
        if not any(
            kind == _kind(ref) and ref.label_selector.matches(dict(labels))
            for kind, _, labels in stores
        ):
            return f"dataTo[{i}]: labelSelector does not match any store in secretStoreRefs"
    return None


# --- §2.8.3 filtering -------------------------------------------------------------------


def data_to_targets_store(
    item: PushSecretDataTo, store_kind: str, store_name: str, store_labels: Mapping[str, str]
) -> bool:
    """ESO's ``dataToMatchesStore``. A name wins over a selector (unlike secretStoreRefs).

    Raises :class:`EntriesError` ``storeRef is required`` / ``invalid labelSelector: ...``.
    """
    ref = item.store_ref
    if ref is None:
        raise EntriesError("storeRef is required")
    if ref.name:
        return ref.name == store_name and _kind(ref) == store_kind
    if ref.label_selector is None:
        return False
    error = _selector_error(ref.label_selector)
    if error is not None:
        raise EntriesError(f"invalid labelSelector: {error}")
    return _kind(ref) == store_kind and ref.label_selector.matches(dict(store_labels))


def filter_data_to(
    spec_data_to: Sequence[PushSecretDataTo],
    store_kind: str,
    store_name: str,
    store_labels: Mapping[str, str],
) -> list[PushSecretDataTo]:
    """The ``dataTo`` entries targeting one store, in spec order.

    Errors: ``failed to filter dataTo: dataTo[i]: ...`` (``i`` = spec index).
    """
    out: list[PushSecretDataTo] = []
    for i, item in enumerate(spec_data_to):
        try:
            if data_to_targets_store(item, store_kind, store_name, store_labels):
                out.append(item)
        except EntriesError as exc:
            raise EntriesError(f"failed to filter dataTo: dataTo[{i}]: {exc.message}") from exc
    return out


# --- §2.8.4 expansion -------------------------------------------------------------------


def _default_render() -> Renderer:
    """The project's template engine, imported only when a transform needs it."""
    module = importlib.import_module("pushsecret.templating")
    return cast(Renderer, module.render)


def _is_parse_error(exc: BaseException) -> bool:
    """Whether the engine says the template does not parse.

    :mod:`pushsecret.templating` raises ``TemplateParseError`` (vs ``TemplateExecError``);
    matched by class name so that this module does not import the engine.
    """
    return any(cls.__name__ == "TemplateParseError" for cls in type(exc).__mro__)


def _compile_rewrite(
    j: int, op: PushSecretRewrite, render: Renderer | None
) -> Callable[[str], str]:
    """ESO's ``compileRewrite``: one step as a function of the key (errors ``rewrite[j]...``)."""
    if op.regexp is not None:  # regexp wins if both are set, as in ESO's switch
        source, target = op.regexp.source, op.regexp.target
        try:
            rx = compile_go_regexp(source)
        except RegexpError as exc:
            raise EntriesError(f"rewrite[{j}]: invalid regexp {go_quote(source)}: {exc}") from exc
        return lambda key: rx.replace_all_string(key, target)
    if op.transform is not None:
        template = op.transform.template
        engine = render if render is not None else _default_render()

        def apply(key: str) -> str:
            try:
                return engine(template, {"value": key})
            except Exception as exc:  # whatever the engine raises is the template's failure
                # ESO parses once before the keys; a parse error here is on the first key
                # and would have been raised for any key, so the outcome is the same.
                if _is_parse_error(exc):
                    raise EntriesError(f"rewrite[{j}]: invalid template: {exc}") from exc
                raise EntriesError(
                    f"rewrite[{j}] on key {go_quote(key)}: template exec: {exc}"
                ) from exc

        return apply
    return lambda key: key


def _rewrite_keys(
    rewrites: Sequence[PushSecretRewrite], keys: Sequence[str], render: Renderer | None
) -> dict[str, str]:
    """ESO's ``rewriteWithKeyMapping``: converted key -> rewritten key, step by step."""
    mapping = {key: key for key in keys}
    for j, op in enumerate(rewrites):
        apply = _compile_rewrite(j, op, render)
        mapping = {key: apply(current) for key, current in mapping.items()}
    return mapping


def _entry(secret_key: str, remote_key: str, item: PushSecretDataTo) -> PushSecretData:
    return PushSecretData(
        match=PushSecretMatch(
            secret_key=secret_key, remote_ref=PushSecretRemoteRef(remote_key=remote_key)
        ),
        # Each entry owns its metadata: a caller mutating one must not change the others.
        metadata=copy.deepcopy(item.metadata),
        conversion_strategy="None",
    )


def _expand_one(
    item: PushSecretDataTo, source_keys: Sequence[str], render: Renderer | None
) -> tuple[list[ExpandedEntry], list[tuple[str, str]]]:
    """ESO's ``expandSingleDataTo``: entries and their (source marker, remote key) pairs."""
    remote_key = item.remote_key or ""
    if remote_key and item.rewrite:
        raise EntriesError(MSG_REMOTE_KEY_AND_REWRITE)
    try:
        original = convert_keys(item.conversion_strategy, {key: key for key in source_keys})
    except EntriesError as exc:
        raise EntriesError(f"conversion failed: {exc.message}") from exc
    keys = sorted(original)  # code point order == Go's byte order of UTF-8
    pattern = item.match.regexp if item.match is not None else None
    if pattern:
        try:
            rx = compile_go_regexp(pattern)
        except RegexpError as exc:
            raise EntriesError(
                f"match failed: failed to compile regexp pattern {go_quote(pattern)}: {exc}"
            ) from exc
        keys = [key for key in keys if rx.match_string(key)]
    if not keys:  # ESO logs "dataTo entry matched no keys": not an error
        return [], []
    if remote_key:
        bundle = ExpandedEntry(
            data=_entry("", remote_key, item), bundle_keys={key: original[key] for key in keys}
        )
        return [bundle], [(BUNDLE_SOURCE_KEY, remote_key)]
    try:
        mapping = _rewrite_keys(item.rewrite, keys, render)
    except EntriesError as exc:
        raise EntriesError(f"rewrite failed: {exc.message}") from exc
    for key in keys:
        if not mapping[key]:
            raise EntriesError(f"empty remote key produced for source key {go_quote(key)}")
    entries = [ExpandedEntry(data=_entry(original[key], mapping[key], item)) for key in keys]
    return entries, [(key, mapping[key]) for key in keys]


def expand_data_to(
    spec_data_to: Sequence[PushSecretDataTo],
    store_key: str,
    store_kind: str,
    store_name: str,
    store_labels: Mapping[str, str],
    source_keys: Sequence[str],
    render: Renderer | None = None,
) -> list[ExpandedEntry]:
    """ESO's ``filterDataToForStore`` + ``expandDataTo`` for one store and one source Secret.

    ``source_keys`` are the (templated) source Secret's key names. ``store_key`` is
    ``"<Kind>/<Name>"`` and must agree with ``store_kind`` / ``store_name``. ``render`` runs
    ``rewrite[].transform.template`` with ``{"value": key}`` (default: the project's
    engine, imported lazily on first use).

    Returns the entries in dataTo order, each entry's keys sorted. Raises
    :class:`EntriesError`: ``failed to filter dataTo: dataTo[i]: ...`` or
    ``failed to expand dataTo: dataTo[i]: ...`` where ``i`` indexes the entries filtered
    for this store (as in ESO), including ``duplicate remote key "<rk>" from source key
    "<sk>" (conflicts with dataTo[j]:<sk2>)``.
    """
    if store_key != f"{store_kind}/{store_name}":
        raise ValueError(f"store_key {store_key!r} is not {store_kind}/{store_name}")
    filtered = filter_data_to(spec_data_to, store_kind, store_name, store_labels)
    out: list[ExpandedEntry] = []
    seen: dict[str, str] = {}  # remote key -> "dataTo[i]:<source key>"
    for i, item in enumerate(filtered):
        try:
            entries, pairs = _expand_one(item, source_keys, render)
        except EntriesError as exc:
            raise EntriesError(f"failed to expand dataTo: dataTo[{i}]: {exc.message}") from exc
        for source, remote in pairs:
            if remote in seen:
                raise EntriesError(
                    f"failed to expand dataTo: dataTo[{i}]: duplicate remote key "
                    f"{go_quote(remote)} from source key {go_quote(source)} "
                    f"(conflicts with {seen[remote]})"
                )
            seen[remote] = f"dataTo[{i}]:{source}"
        out.extend(entries)
    return out


# --- §2.8.5 merge with explicit data ----------------------------------------------------


def _original_key(entry: PushSecretData, source_keys: Sequence[str]) -> str:
    """ESO's ``resolveOriginalKey``: the raw source key an explicit entry refers to."""
    key = entry.match.secret_key
    if entry.conversion_strategy == "None":
        return key
    return next(
        (raw for raw in source_keys if reverse_key(entry.conversion_strategy, raw) == key), key
    )


def merge_entries(
    expanded: Sequence[ExpandedEntry],
    explicit: Sequence[PushSecretData],
    source_keys: Sequence[str],
) -> list[ExpandedEntry]:
    """ESO's ``mergeDataEntries``: the final, ordered list of entries for one store.

    A ``dataTo`` entry is dropped when an explicit entry names the same original source
    key (explicit wins). Bundles have secretKey ``""``: an explicit key stays inside the
    bundle and is also pushed on its own (§8.2), and an explicit whole-secret entry drops
    every bundle (Q8, replicated). As in ESO an explicit entry whose ``remoteKey[/property]``
    equals a bundle's remote key inherits that bundle's key set (ESO looks the bundle data
    up by status ref). Result: remaining dataTo entries, then explicit entries in spec order.

    Raises :class:`EntriesError` ``failed to merge data entries: duplicate remote key ...``
    when two entries share (remoteKey, property).
    """
    explicit_keys = {_original_key(entry, source_keys) for entry in explicit}
    bundles = {e.status_ref: e.bundle_keys for e in expanded if e.bundle_keys is not None}
    merged = [e for e in expanded if e.data.match.secret_key not in explicit_keys]
    merged += [
        ExpandedEntry(data=entry.model_copy(deep=True), bundle_keys=bundles.get(entry.status_ref))
        for entry in explicit
    ]
    seen: dict[tuple[str, str], str] = {}
    for entry in merged:
        ref = entry.data.match.remote_ref
        location = (ref.remote_key, ref.property)
        source = entry.data.match.secret_key
        if location in seen:
            prop = f" with property {go_quote(ref.property)}" if ref.property else ""
            raise EntriesError(
                f"failed to merge data entries: duplicate remote key {go_quote(ref.remote_key)}"
                f"{prop}: source keys {go_quote(seen[location])} and {go_quote(source)} both "
                "map to the same destination"
            )
        seen[location] = source
    return merged
