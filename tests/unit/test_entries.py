"""pushsecret.entries: dataTo expansion, merge with data, conversion, payloads (spec §2.8-§2.9).

Expected messages are ESO's texts (pkg/controllers/pushsecret/pushsecret_controller.go);
examples come from ESO's docs/guides/pushsecret-datato.md and controller tests.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from pushsecret.api.pushsecret import PushSecretData, PushSecretDataTo, PushSecretSpec
from pushsecret.entries import (
    BUNDLE_SOURCE_KEY,
    EntriesError,
    ExpandedEntry,
    check_marshallable,
    convert_keys,
    data_to_targets_store,
    entry_payload,
    expand_data_to,
    filter_data_to,
    merge_entries,
    reverse_key,
    reverse_unicode,
    validate_data_to_matches_stores,
    validate_data_to_store_refs,
)
from pushsecret.entries_re2 import RegexpError, compile_go_regexp

STORE = {"name": "store"}
META = {
    "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
    "kind": "PushSecretMetadata",
    "spec": {"secretPushFormat": "string"},
}


class TemplateParseError(Exception):
    """Named like pushsecret.templating's, which is how entries recognises parse errors."""


class TemplateExecError(Exception):
    pass


_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def fake_render(template: str, data: dict[str, Any]) -> str:
    """A stand-in for Go text/template: ``{{ .field }}``, ``| upper``, ``| lower``, ``fail``."""

    def action(m: re.Match[str]) -> str:
        parts = [p.strip() for p in m.group(1).split("|")]
        if parts[0].startswith("fail "):
            raise TemplateExecError('template: t:1:3: executing "t" at <fail>: boom')
        value = str(data.get(parts[0].removeprefix("."), "<no value>"))
        for fn in parts[1:]:
            if fn not in ("upper", "lower"):
                raise TemplateParseError(f'template: t:1: function "{fn}" not defined')
            value = value.upper() if fn == "upper" else value.lower()
        return value

    out = _ACTION.sub(action, template)
    if "{{" in out:
        raise TemplateParseError("template: t:1: unclosed action")
    return out


def data_to(**fields: Any) -> PushSecretDataTo:
    return PushSecretDataTo.model_validate({"storeRef": STORE, **fields})


def explicit(secret_key: str, remote_key: str, **fields: Any) -> PushSecretData:
    match = {"secretKey": secret_key, "remoteRef": {"remoteKey": remote_key, **fields}}
    return PushSecretData.model_validate({"match": match})


def expand(
    items: list[PushSecretDataTo],
    keys: list[str],
    kind: str = "SecretStore",
    name: str = "store",
    labels: dict[str, str] | None = None,
) -> list[ExpandedEntry]:
    return expand_data_to(items, f"{kind}/{name}", kind, name, labels or {}, keys, fake_render)


def refs(entries: list[ExpandedEntry]) -> list[tuple[str, str]]:
    return [(e.data.match.secret_key, e.status_ref) for e in entries]


def error_of(fn: Any, *args: Any) -> str:
    with pytest.raises(EntriesError) as info:
        fn(*args)
    return info.value.message


def spec(**fields: Any) -> PushSecretSpec:
    base: dict[str, Any] = {"secretStoreRefs": [STORE], "selector": {"secret": {"name": "s"}}}
    return PushSecretSpec.model_validate({**base, **fields})


# --- 1. conversion strategy (§2.9) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("some-array_U005b_0_U005d_.entity", "some-array[0].entity"),  # spec example
        ("some_U002D_key", "some-key"),  # upper-case hex (ESO controller test)
        ("_U1F600_", "\U0001f600"),  # five digits
        ("_U0041__U0042_", "AB"),  # adjacent escapes
        ("a_Ud800_b", "a\ufffdb"),  # surrogate: Go's %c writes U+FFFD
        ("_U12_", "_U12_"),  # too short: untouched
        ("_U0041", "_U0041"),  # no closing underscore
        ("plain", "plain"),
    ],
)
def test_reverse_unicode(key: str, expected: str) -> None:
    assert reverse_unicode(key) == expected
    assert reverse_key("ReverseUnicode", key) == expected
    assert reverse_key("None", key) == key


def test_convert_keys_keeps_values_and_order() -> None:
    data = {"a_U002e_b": b"1", "c": b"2"}
    assert convert_keys("ReverseUnicode", data) == {"a.b": b"1", "c": b"2"}
    assert convert_keys("None", data) == data


def test_convert_keys_collision_names_the_converted_key() -> None:
    message = error_of(convert_keys, "ReverseUnicode", {"a-b": b"x", "a_U002d_b": b"y"})
    assert message == "secret name collision during conversion: a-b"


# --- 2. expansion (§2.8.3-2.8.4) --------------------------------------------------------------


def test_per_key_basic_regexp_sorted_with_metadata() -> None:
    items = [data_to(match={"regexp": "^APP_"}, metadata=META)]
    entries = expand(items, ["APP_TOKEN", "DB_HOST", "APP_ENV"])
    assert refs(entries) == [("APP_ENV", "APP_ENV"), ("APP_TOKEN", "APP_TOKEN")]
    for entry in entries:
        assert entry.bundle_keys is None
        assert entry.data.conversion_strategy == "None"
        assert entry.data.metadata == META
    assert entries[0].data.metadata is not entries[1].data.metadata


def test_no_match_selects_all_keys_and_match_is_unanchored() -> None:
    assert refs(expand([data_to()], ["b", "a"])) == [("a", "a"), ("b", "b")]
    assert refs(expand([data_to(match={"regexp": "HOST"})], ["DB_HOST", "x"])) == [
        ("DB_HOST", "DB_HOST")
    ]


def test_matching_nothing_is_not_an_error_and_skips_rewrites() -> None:
    items = [
        data_to(match={"regexp": "^nope"}, rewrite=[{"regexp": {"source": "(", "target": ""}}])
    ]
    assert expand(items, ["a"]) == []


def test_bundle_mode_docs_example() -> None:
    items = [data_to(remoteKey="my-app/db-config", match={"regexp": "^DB_"}, metadata=META)]
    (entry,) = expand(items, ["DB_HOST", "DB_USER", "DB_PASS", "API_KEY"])
    assert refs([entry]) == [("", "my-app/db-config")]
    assert entry.data.metadata == META
    assert entry.bundle_keys == {"DB_HOST": "DB_HOST", "DB_PASS": "DB_PASS", "DB_USER": "DB_USER"}
    data = {"DB_HOST": b"localhost", "DB_USER": b"admin", "DB_PASS": b"s3cr3t", "API_KEY": b"k"}
    assert entry_payload(entry, data) == {
        "DB_HOST": b"localhost",
        "DB_PASS": b"s3cr3t",
        "DB_USER": b"admin",
    }


def test_rewrite_regexp_docs_example() -> None:
    rewrite = [{"regexp": {"source": "^db-", "target": "DATABASE_"}}]
    items = [data_to(match={"regexp": "^db-"}, rewrite=rewrite)]
    assert refs(expand(items, ["db-host", "db-port", "other"])) == [
        ("db-host", "DATABASE_host"),
        ("db-port", "DATABASE_port"),
    ]


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("^db-(.*)$", "DATABASE_$1", "DATABASE_host"),
        ("^db-(.*)$", "${1}_URL", "host_URL"),
        ("^db-(.*)$", "$1_URL", ""),  # Go reads the group named "1_URL": empty
        ("^(?P<svc>[a-z]+)-(?P<field>[a-z]+)$", "${field}.$svc", "host.db"),
        ("-", "$$", "db$host"),
    ],
)
def test_rewrite_regexp_go_expansion(source: str, target: str, expected: str) -> None:
    items = [data_to(rewrite=[{"regexp": {"source": source, "target": target}}])]
    if expected:
        assert refs(expand(items, ["db-host"])) == [("db-host", expected)]
    else:
        assert error_of(expand, items, ["db-host"]) == (
            'failed to expand dataTo: dataTo[0]: empty remote key produced for source key "db-host"'
        )


def test_rewrite_transform_docs_example() -> None:
    items = [data_to(rewrite=[{"transform": {"template": "{{ .value | upper }}"}}])]
    assert refs(expand(items, ["db-host"])) == [("db-host", "DB-HOST")]


def test_chained_rewrites_docs_example() -> None:
    rewrite = [
        {"regexp": {"source": "^prod-", "target": ""}},
        {"regexp": {"source": "^db-", "target": "DATABASE_"}},
        {"transform": {"template": "app/{{ .value | lower }}"}},
    ]
    items = [data_to(match={"regexp": "^prod-db-"}, rewrite=rewrite)]
    assert refs(expand(items, ["prod-db-host", "prod-db-port", "prod-api-key"])) == [
        ("prod-db-host", "app/database_host"),
        ("prod-db-port", "app/database_port"),
    ]


def test_bundle_and_per_key_mixed_in_dataTo_order() -> None:
    items = [
        data_to(remoteKey="myapp/database", match={"regexp": "^DB_"}),
        data_to(match={"regexp": "^API_"}),
    ]
    entries = expand(items, ["DB_HOST", "API_KEY", "API_URL"])
    assert refs(entries) == [("", "myapp/database"), ("API_KEY", "API_KEY"), ("API_URL", "API_URL")]
    assert [e.bundle_keys for e in entries] == [{"DB_HOST": "DB_HOST"}, None, None]


def test_conversion_strategy_matches_decoded_names_and_records_original_key() -> None:
    keys = ["some_U002D_key", "other"]
    per_key = [data_to(match={"regexp": "^some-"}, conversionStrategy="ReverseUnicode")]
    (entry,) = expand(per_key, keys)
    assert refs([entry]) == [("some_U002D_key", "some-key")]
    assert entry.data.conversion_strategy == "None"
    assert entry_payload(entry, {"some_U002D_key": b"v", "other": b"o"}) == b"v"

    bundle = [data_to(remoteKey="cfg", conversionStrategy="ReverseUnicode")]
    (entry,) = expand(bundle, keys)
    assert entry.bundle_keys == {"other": "other", "some-key": "some_U002D_key"}
    assert entry_payload(entry, {"some_U002D_key": b"v", "other": b"o"}) == {
        "other": b"o",
        "some-key": b"v",
    }


def test_conversion_collision() -> None:
    items = [data_to(conversionStrategy="ReverseUnicode")]
    assert error_of(expand, items, ["a_U002D_b", "a-b"]) == (
        "failed to expand dataTo: dataTo[0]: conversion failed: "
        "secret name collision during conversion: a-b"
    )


def test_duplicate_remote_key_from_two_dataTo_entries_eso_test() -> None:
    rewrite = [{"regexp": {"source": ".*", "target": "app/config"}}]
    items = [
        data_to(match={"regexp": "^db-host$"}, rewrite=rewrite),
        data_to(match={"regexp": "^db-port$"}, rewrite=rewrite),
    ]
    # Also checks Go's ReplaceAllString: ".*" replaces once ("app/config"), not twice.
    assert refs(expand(items[:1], ["db-host"])) == [("db-host", "app/config")]
    assert error_of(expand, items, ["db-host", "db-port"]) == (
        'failed to expand dataTo: dataTo[1]: duplicate remote key "app/config" from source '
        'key "db-port" (conflicts with dataTo[0]:db-host)'
    )


def test_duplicate_remote_key_within_one_entry_and_with_a_bundle() -> None:
    strip_digits = [data_to(rewrite=[{"regexp": {"source": "[0-9]", "target": ""}}])]
    assert error_of(expand, strip_digits, ["a2", "a1"]) == (
        'failed to expand dataTo: dataTo[0]: duplicate remote key "a" from source key "a2" '
        "(conflicts with dataTo[0]:a1)"
    )
    items = [data_to(match={"regexp": "^cfg$"}), data_to(remoteKey="cfg")]
    assert error_of(expand, items, ["cfg", "x"]) == (
        f'failed to expand dataTo: dataTo[1]: duplicate remote key "cfg" from source key '
        f'"{BUNDLE_SOURCE_KEY}" (conflicts with dataTo[0]:cfg)'
    )


def test_expansion_indices_count_only_entries_of_this_store() -> None:
    items = [
        PushSecretDataTo.model_validate({"storeRef": {"name": "elsewhere"}}),
        data_to(match={"regexp": "^a$"}),
        data_to(match={"regexp": "("}),
    ]
    assert error_of(expand, items, ["a"]) == (
        'failed to expand dataTo: dataTo[1]: match failed: failed to compile regexp pattern "(": '
        "error parsing regexp: missing closing ): `(`"
    )


def test_rewrite_errors() -> None:
    bad_regexp = [
        {"regexp": {"source": "^", "target": "x-"}},
        {"regexp": {"source": "a**", "target": ""}},
    ]
    assert error_of(expand, [data_to(rewrite=bad_regexp)], ["k"]) == (
        'failed to expand dataTo: dataTo[0]: rewrite failed: rewrite[1]: invalid regexp "a**": '
        "error parsing regexp: invalid nested repetition operator: `**`"
    )
    parse = [{"transform": {"template": "{{ .value | nope }}"}}]
    assert error_of(expand, [data_to(rewrite=parse)], ["k"]) == (
        "failed to expand dataTo: dataTo[0]: rewrite failed: rewrite[0]: invalid template: "
        'template: t:1: function "nope" not defined'
    )
    execute = [
        {"regexp": {"source": "^db-", "target": "DB_"}},
        {"transform": {"template": '{{ fail "x" }}'}},
    ]
    assert error_of(expand, [data_to(rewrite=execute)], ["db-host", "db-port"]) == (
        'failed to expand dataTo: dataTo[0]: rewrite failed: rewrite[1] on key "DB_host": '
        'template exec: template: t:1:3: executing "t" at <fail>: boom'
    )


def test_empty_remote_key() -> None:
    items = [data_to(rewrite=[{"regexp": {"source": ".*", "target": ""}}])]
    assert error_of(expand, items, ["b", "a"]) == (
        'failed to expand dataTo: dataTo[0]: empty remote key produced for source key "a"'
    )


def test_remote_key_and_rewrite_are_exclusive() -> None:
    items = [data_to(remoteKey="b", rewrite=[{"regexp": {"source": "^", "target": "p/"}}])]
    assert error_of(expand, items, ["a"]) == (
        "failed to expand dataTo: dataTo[0]: remoteKey and rewrite are mutually exclusive: "
        "rewrite is only supported in per-key mode (without remoteKey)"
    )


def test_go_regexp_semantics_in_match() -> None:
    # Keys decoded by ReverseUnicode can hold characters where RE2 and Python differ.
    keys = ["v_U0663_", "v3", "a_U000a_"]  # v + ARABIC-INDIC DIGIT THREE, v3, "a\n"
    convert = {"conversionStrategy": "ReverseUnicode"}
    assert refs(expand([data_to(match={"regexp": r"^v\d$"}, **convert)], keys)) == [("v3", "v3")]
    assert expand([data_to(match={"regexp": "a$"}, **convert)], keys) == []
    assert len(expand([data_to(match={"regexp": "(?m)a$"}, **convert)], keys)) == 1


def test_store_selection() -> None:
    by_label = data_to(storeRef={"labelSelector": {"matchLabels": {"team": "a"}}})
    cluster = data_to(storeRef={"name": "store", "kind": "ClusterSecretStore"})
    both = data_to(storeRef={"name": "other", "labelSelector": {}})
    labels = {"team": "a"}
    assert data_to_targets_store(by_label, "SecretStore", "x", labels)
    assert not data_to_targets_store(by_label, "SecretStore", "x", {"team": "b"})
    assert not data_to_targets_store(by_label, "ClusterSecretStore", "x", labels)
    assert data_to_targets_store(cluster, "ClusterSecretStore", "store", {})
    assert not data_to_targets_store(cluster, "SecretStore", "store", {})
    assert not data_to_targets_store(both, "SecretStore", "x", {})  # a name wins
    assert filter_data_to([cluster, by_label], "SecretStore", "x", labels) == [by_label]
    entries = expand([by_label], ["k"], name="x", labels=labels)
    assert refs(entries) == [("k", "k")]


def test_filter_errors() -> None:
    invalid = data_to(
        storeRef={"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}
    )
    message = error_of(expand, [data_to(), invalid], ["k"])
    assert message.startswith("failed to filter dataTo: dataTo[1]: invalid labelSelector: ")
    no_ref = PushSecretDataTo.model_validate({})
    assert error_of(expand, [no_ref], ["k"]) == (
        "failed to filter dataTo: dataTo[0]: storeRef is required"
    )
    with pytest.raises(ValueError, match="store_key"):
        expand_data_to([], "SecretStore/a", "SecretStore", "b", {}, [], fake_render)


def test_default_render_is_the_project_engine() -> None:
    templating = pytest.importorskip("pushsecret.templating")
    if not hasattr(templating, "render"):
        pytest.skip("pushsecret.templating has no render yet")
    items = [data_to(rewrite=[{"transform": {"template": "{{ .value | upper }}"}}])]
    entries = expand_data_to(items, "SecretStore/store", "SecretStore", "store", {}, ["db-host"])
    assert refs(entries) == [("db-host", "DB-HOST")]
    assert importlib.import_module("pushsecret.entries").expand_data_to is expand_data_to


# --- 3. validation of dataTo store references (§2.8.1) -----------------------------------------


def test_validate_store_refs() -> None:
    assert validate_data_to_store_refs(spec(dataTo=[{"storeRef": STORE}])) is None
    cases = [
        ([{}], "dataTo[0]: storeRef is required"),
        ([{"storeRef": {}}], "dataTo[0]: storeRef must have name or labelSelector"),
        (
            [{"storeRef": STORE}, {"storeRef": {"name": "other"}}],
            'dataTo[1]: storeRef "other" not found in secretStoreRefs',
        ),
        (
            [{"storeRef": {"name": "store", "kind": "ClusterSecretStore"}}],
            'dataTo[0]: storeRef "store" not found in secretStoreRefs',
        ),
    ]
    for items, expected in cases:
        assert validate_data_to_store_refs(spec(dataTo=items)) == expected
    selector_only = spec(
        secretStoreRefs=[{"labelSelector": {"matchLabels": {"x": "y"}}}],
        dataTo=[{"storeRef": STORE}],
    )
    assert validate_data_to_store_refs(selector_only) == (
        'dataTo[0]: storeRef "store" not found in secretStoreRefs'
    )


def test_validate_selectors_match_resolved_stores() -> None:
    stores = [("SecretStore", "a", {"team": "a"}), ("ClusterSecretStore", "b", {"team": "b"})]
    good = spec(
        dataTo=[
            {"storeRef": STORE},
            {"storeRef": {"labelSelector": {"matchLabels": {"team": "a"}}}},
            {"storeRef": {"kind": "ClusterSecretStore", "labelSelector": {}}},
        ]
    )
    assert validate_data_to_matches_stores(good, stores) is None
    wrong_kind = {"storeRef": {"labelSelector": {"matchLabels": {"team": "b"}}}}
    bad = spec(dataTo=[{"storeRef": STORE}, wrong_kind])
    assert validate_data_to_matches_stores(bad, stores) == (
        "dataTo[1]: labelSelector does not match any store in secretStoreRefs"
    )
    invalid = spec(
        dataTo=[
            {"storeRef": {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}}
        ]
    )
    message = validate_data_to_matches_stores(invalid, stores)
    assert message is not None and message.startswith("dataTo[0]: invalid labelSelector: ")


# --- 4. merge with explicit data (§2.8.5) -----------------------------------------------------


def per_key(secret_key: str, remote_key: str) -> ExpandedEntry:
    return ExpandedEntry(data=explicit(secret_key, remote_key))


def test_explicit_data_wins_over_dataTo_eso_test() -> None:
    expanded = [per_key("foo", "dataTo/foo"), per_key("bar", "dataTo/bar")]
    merged = merge_entries(expanded, [explicit("foo", "explicit/foo")], ["foo", "bar"])
    assert refs(merged) == [("bar", "dataTo/bar"), ("foo", "explicit/foo")]
    assert refs(merge_entries([], [explicit("x", "x")], ["x"])) == [("x", "x")]
    assert refs(merge_entries([per_key("y", "y")], [], ["y"])) == [("y", "y")]


def test_explicit_conversion_strategy_is_mapped_back_eso_test() -> None:
    expanded = [per_key("some_U002D_key", "dataTo/some-key"), per_key("other", "dataTo/other")]
    converted = PushSecretData.model_validate(
        {
            "conversionStrategy": "ReverseUnicode",
            "match": {"secretKey": "some-key", "remoteRef": {"remoteKey": "explicit/some-key"}},
        }
    )
    merged = merge_entries(expanded, [converted], ["some_U002D_key", "other"])
    assert refs(merged) == [("other", "dataTo/other"), ("some-key", "explicit/some-key")]


def test_explicit_key_stays_in_bundle_docs_master_password() -> None:
    """Spec §8.2: the docs say explicit data overrides the bundle; ESO keeps it in both."""
    (bundle,) = expand([data_to(remoteKey="myapp/config")], ["MASTER_PASSWORD", "USER"])
    carve_out = explicit("MASTER_PASSWORD", "myapp/security/master-password")
    merged = merge_entries([bundle], [carve_out], ["MASTER_PASSWORD", "USER"])
    assert refs(merged) == [
        ("", "myapp/config"),
        ("MASTER_PASSWORD", "myapp/security/master-password"),
    ]
    data = {"MASTER_PASSWORD": b"pw", "USER": b"u"}
    assert entry_payload(merged[0], data) == data
    assert entry_payload(merged[1], data) == b"pw"


def test_explicit_whole_secret_entry_drops_bundles_q8() -> None:
    (bundle,) = expand([data_to(remoteKey="bundle", match={"regexp": "^A"})], ["A", "B"])
    merged = merge_entries([bundle], [explicit("", "all")], ["A", "B"])
    assert refs(merged) == [("", "all")]
    assert merged[0].bundle_keys is None
    # ESO looks bundle data up by status ref: a whole-secret entry at the bundle's remote key
    # pushes only the bundle's keys.
    merged = merge_entries([bundle], [explicit("", "bundle")], ["A", "B"])
    assert merged[0].bundle_keys == {"A": "A"}
    assert entry_payload(merged[0], {"A": b"1", "B": b"2"}) == {"A": b"1"}


def test_merge_duplicate_destinations() -> None:
    assert error_of(
        merge_entries,
        [per_key("db-host", "myapp/config")],
        [explicit("api-key", "myapp/config")],
        [],
    ) == (
        'failed to merge data entries: duplicate remote key "myapp/config": source keys '
        '"db-host" and "api-key" both map to the same destination'
    )
    same_property = [
        explicit("a", "shared", property="field"),
        explicit("b", "shared", property="field"),
    ]
    assert error_of(merge_entries, [], same_property, []) == (
        'failed to merge data entries: duplicate remote key "shared" with property "field": '
        'source keys "a" and "b" both map to the same destination'
    )
    distinct = [explicit("a", "shared", property="f1"), explicit("b", "shared", property="f2")]
    assert len(merge_entries([], distinct, [])) == 2


# --- 5./6./7. entries, payloads, whole-secret JSON ------------------------------------------------


def test_expanded_entry_is_frozen() -> None:
    entry = per_key("a", "b")
    with pytest.raises(ValueError):
        entry.bundle_keys = {}  # type: ignore[misc]
    assert entry.status_ref == "b"
    assert ExpandedEntry(data=explicit("a", "b", property="p")).status_ref == "b/p"


def test_entry_payload_for_explicit_entries() -> None:
    data = {"some_U002D_key": b"v1", "other": b"v2"}
    decoded = PushSecretData.model_validate(
        {
            "conversionStrategy": "ReverseUnicode",
            "match": {"secretKey": "some-key", "remoteRef": {"remoteKey": "r"}},
        }
    )
    assert entry_payload(ExpandedEntry(data=decoded), data) == b"v1"
    whole = decoded.model_copy(update={"match": explicit("", "r").match})
    assert entry_payload(ExpandedEntry(data=whole), data) == {"some-key": b"v1", "other": b"v2"}
    assert entry_payload(per_key("", "r"), data) == data
    raw_name = decoded.model_copy(update={"match": explicit("some_U002D_key", "r").match})
    assert error_of(entry_payload, ExpandedEntry(data=raw_name), data) == (
        "secret key some_U002D_key does not exist"
    )


def test_entry_payload_errors_never_show_values() -> None:
    data = {"a-b": b"TOPSECRET", "a_U002d_b": b"TOPSECRET2"}
    converting = PushSecretData.model_validate(
        {"conversionStrategy": "ReverseUnicode", "match": {"remoteRef": {"remoteKey": "r"}}}
    )
    message = error_of(entry_payload, ExpandedEntry(data=converting), data)
    assert message == (
        "could not apply conversion strategy to keys: secret name collision during conversion: a-b"
    )
    assert (
        error_of(entry_payload, per_key("missing", "r"), data)
        == "secret key missing does not exist"
    )
    bundle = ExpandedEntry(data=explicit("", "r"), bundle_keys={"x": "gone"})
    assert error_of(entry_payload, bundle, data) == "secret key gone does not exist"


def test_check_marshallable() -> None:
    check_marshallable({"a": b"text", "b": "é".encode()})
    message = error_of(check_marshallable, {"z": b"\xff\xfe", "a": b"ok", "m": b"\x80"})
    assert message == "secret data is not valid UTF-8 and cannot be pushed as JSON: key m"
    assert "\\x" not in message


# --- RE2 translation (pushsecret.entries_re2) ----------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"\d", "\u0663", False),  # \d, \w, [[:alpha:]] are ASCII in Go
        (r"\w", "é", False),
        (r"[[:upper:]]", "É", False),
        (r"\bx\b", "éxé", True),  # \b uses ASCII word characters
        ("a$", "a\n", False),  # $ is end of text unless (?m)
        ("(?m)a$", "a\n", True),
        ("(?m)^b", "a\nb", True),
        ("^b", "a\nb", False),
        ("^.$", "\n", False),
        ("(?s)^.$", "\n", True),
        ("[^a]", "\n", True),
        ("a(?i)b|c", "C", True),  # flags last until the group closes, across |
        ("(?i:a)b", "AB", False),
        ("(?i)k", "\u212a", True),  # KELVIN SIGN folds to k
        ("(?i)[\\W]", "\u212a", False),  # ...so it is not a non-word character
        ("a{,2}", "a{,2}", True),  # not a repeat in Go: literal text
        ("a{,2}", "aa", False),
        ("a{01}", "a{01}", True),
        (r"\Q.*\E", ".*", True),
        (r"\Q.*\E", "ab", False),
        (r"\x{263a}\101\_", "\u263aA_", True),
        ("(?<n>x)(?P<m>y)", "xy", True),
        (r"a\z", "a", True),
    ],
)
def test_go_regexp_match(pattern: str, text: str, matches: bool) -> None:
    assert compile_go_regexp(pattern).match_string(text) is matches


@pytest.mark.parametrize(
    ("pattern", "src", "template", "expected"),
    [
        ("a*", "baaac", "X", "XbXcX"),  # Python's re.sub gives XbXXcX
        (".*", "db-host", "app/config", "app/config"),
        ("", "ab", "-", "-a-b-"),
        ("(?U)a+", "aaa", "X", "XXX"),
        ("(?U)a+?", "aaa", "X", "X"),
        ("(a)(b)?", "xaz", "[$1|$2|${1}x|$1x|$$|$]", "x[a||ax||$|$]z"),
        ("(?P<1st>a)", "a", "<${1st}>", "<a>"),
        ("(a)", "a", "$01|${2}|$", "||$"),  # leading zero: a name; no group 2; bare $
    ],
)
def test_go_regexp_replace_all(pattern: str, src: str, template: str, expected: str) -> None:
    assert compile_go_regexp(pattern).replace_all_string(src, template) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(", "missing closing ): `(`"),
        ("a)", "unexpected ): `a)`"),
        ("[a", "missing closing ]: `[a`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*+", "invalid nested repetition operator: `*+`"),  # possessive in Python
        ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("a|+", "missing argument to repetition operator: `+`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("(a{100}){100}", "invalid repeat count: `{100}`"),
        ("a{3,2}", "invalid repeat count: `{3,2}`"),
        ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),  # look-ahead
        ("(?!a)", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?>a)", "invalid or unsupported Perl syntax: `(?>`"),  # atomic group
        ("(?#c)", "invalid or unsupported Perl syntax: `(?#`"),
        ("(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
        ("(?P=n)", "invalid or unsupported Perl syntax: `(?P`"),
        ("(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"),
        ("(?<=a)b", "invalid named capture: `(?<=a)b`"),
        ("(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"),
        (r"(a)\1", r"invalid escape sequence: `\1`"),  # backreference
        (r"\Z", r"invalid escape sequence: `\Z`"),
        (r"\C", r"invalid escape sequence: `\C`"),
        (r"\x{110000}", r"invalid escape sequence: `\x{110000`"),
        (r"[\b]", r"invalid escape sequence: `\b`"),
        ("a\\", "trailing backslash at end of expression: ``"),
    ],
)
def test_go_regexp_errors(pattern: str, message: str) -> None:
    with pytest.raises(RegexpError) as info:
        compile_go_regexp(pattern)
    assert str(info.value) == f"error parsing regexp: {message}"


def test_unicode_classes_are_rejected_explicitly() -> None:
    with pytest.raises(RegexpError, match=r"unsupported regexp syntax `\\p\{Greek\}`"):
        compile_go_regexp(r"\p{Greek}")
