"""``render_secret_template``: ESO's PushSecret templating (spec §2.7) on ESO's documented
examples, its error texts, and a scan that no secret value leaks into an error message."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pushsecret.templating import RenderedSecret, TemplateError, render_secret_template

SOURCE = {
    "best-pokemon-src": b"Pikachu",
    "user": b"admin",
    "password": b"hunter2-S3CR3T",
    "uri": b"oci://registry.example",
}

CONFIGMAPS = {
    # ESO's docs/snippets/template-v2-from-secret.yaml, with a fixed annotation time.
    "grafana-config-tpl": {
        "config.yaml": (
            "datasources:\n"
            "  - name: Graphite\n"
            '    url: "{{ .uri }}"\n'
            '    password: "{{ .password }}"\n'
            '    user: "{{ .user }}"\n'
        ),
        "templated": (
            "# key and value templated\n"
            "my-application-{{ .user}}: {{ .password | b64enc }}\n"
            "# conditional keys\n"
            '{{- if hasPrefix "oci://" .uri }}\n'
            "enableOCI: true\n"
            "{{- else }}\n"
            "enableOCI: false\n"
            "{{- end }}\n"
            "# Fixed values\n"
            "application-type: grafana\n"
        ),
        "annotations": "last-synced-for-user/{{ .user }}: 2024-01-01",
        "broken": "{{ .nope }}",
    },
}
SECRETS: dict[str, dict[str, bytes]] = {
    "tpl-secret": {
        "value": b"{{ .user | upper }}",
        "pairs": b"from-secret-{{ .user }}: yes",
        "leaky": b'{{ "literal-S3CR3T" | fail }}',
    },
}


def apply(
    spec: dict[str, Any], source: dict[str, bytes] | None = None, **kw: Any
) -> RenderedSecret:
    return render_secret_template(
        spec,
        SOURCE if source is None else source,
        configmaps=CONFIGMAPS.get,
        secrets=SECRETS.get,
        **kw,
    )


def fail(spec: dict[str, Any], source: dict[str, bytes] | None = None) -> str:
    with pytest.raises(TemplateError) as info:
        apply(spec, source)
    return str(info.value)


# ---- ESO's documented examples -------------------------------------------------------------


def test_full_pushsecret_example() -> None:
    # docs/snippets/full-pushsecret.yaml
    spec = {
        "metadata": {"annotations": {}, "labels": {}},
        "data": {
            "best-pokemon": '{{ index . "best-pokemon-src" | toString | upper }} is the really best!'
        },
    }
    out = apply(spec)
    assert out.data["best-pokemon"] == b"PIKACHU is the really best!"
    assert out.data["best-pokemon-src"] == b"Pikachu"  # source keys stay
    assert out.data["password"] == SOURCE["password"]


def test_type_is_set_even_when_absent() -> None:
    # ESO quirk Q7: the template's type is assigned unconditionally.
    assert apply({"data": {}}).type == ""
    assert apply({"type": "kubernetes.io/tls"}).type == "kubernetes.io/tls"
    assert apply({"type": None}).type == ""


def test_template_data_overrides_source_and_sees_the_original() -> None:
    spec = {"data": {"user": "{{ .user | upper }}", "copy": "{{ .user }}"}}
    out = apply(spec)
    assert out.data["user"] == b"ADMIN"
    assert out.data["copy"] == b"admin"  # templates never see each other's output


def test_template_from_configmap_values_and_keys_and_values() -> None:
    # docs/snippets/template-v2-from-secret.yaml
    spec = {
        "templateFrom": [
            {
                "target": "Data",
                "configMap": {
                    "name": "grafana-config-tpl",
                    "items": [
                        {"key": "config.yaml", "templateAs": "Values"},
                        {"key": "templated", "templateAs": "KeysAndValues"},
                    ],
                },
            },
            {
                "target": "Annotations",
                "configMap": {
                    "name": "grafana-config-tpl",
                    "items": [{"key": "annotations", "templateAs": "KeysAndValues"}],
                },
            },
        ]
    }
    out = apply(spec)
    assert out.data["config.yaml"] == (
        b'datasources:\n  - name: Graphite\n    url: "oci://registry.example"\n'
        b'    password: "hunter2-S3CR3T"\n    user: "admin"\n'
    )
    assert out.data["my-application-admin"] == base64.b64encode(SOURCE["password"])
    assert out.data["enableOCI"] == b"true"  # a YAML bool, as text
    assert out.data["application-type"] == b"grafana"
    # A YAML date in a map[string]string target comes back as Go's time.Time JSON.
    assert out.annotations == {"last-synced-for-user/admin": "2024-01-01T00:00:00Z"}


def test_template_as_defaults_to_values() -> None:
    spec = {
        "templateFrom": [
            {"configMap": {"name": "grafana-config-tpl", "items": [{"key": "annotations"}]}}
        ]
    }
    assert apply(spec).data["annotations"] == b"last-synced-for-user/admin: 2024-01-01"


def test_literal_targets_are_case_insensitive() -> None:
    # docs/snippets/template-v2-scope-and-target.yaml
    spec = {
        "templateFrom": [
            {"target": "Annotations", "literal": "last-sync-for-user/{{ .user }}: done"},
            {"target": "labels", "literal": "team: {{ .user }}"},
            {"target": "DATA", "literal": "greeting: hello {{ .user }}"},
            {"literal": "num: 1"},
        ]
    }
    out = apply(spec)
    assert out.annotations == {"last-sync-for-user/admin": "done"}
    assert out.labels == {"team": "admin"}
    assert out.data["greeting"] == b"hello admin"
    assert out.data["num"] == b"1"


def test_template_from_secret() -> None:
    spec = {
        "templateFrom": [
            {
                "secret": {
                    "name": "tpl-secret",
                    "items": [{"key": "value"}, {"key": "pairs", "templateAs": "KeysAndValues"}],
                }
            }
        ]
    }
    out = apply(spec)
    assert out.data["value"] == b"ADMIN"
    assert out.data["from-secret-admin"] == b"true"


def test_metadata_labels_and_annotations_are_templates() -> None:
    spec = {
        "metadata": {
            "labels": {"owner": "{{ .user }}", "static": "v"},
            "annotations": {"note": '{{ .uri | trimPrefix "oci://" }}'},
        }
    }
    out = apply(spec, source_labels={"keep": "me", "owner": "old"}, source_annotations={"a": "b"})
    assert out.labels == {"keep": "me", "owner": "admin", "static": "v"}
    assert out.annotations == {"a": "b", "note": "registry.example"}


def test_order_template_from_then_data_then_metadata() -> None:
    spec = {
        "templateFrom": [{"literal": "k: from-literal"}],
        "data": {"k": "from-data"},
    }
    assert apply(spec).data["k"] == b"from-data"  # template.data wins over templateFrom


@pytest.mark.parametrize(
    ("strategy", "rendered", "want"),
    [
        ("Base64", "aGVsbG8=", b"hello"),
        ("Base64URL", "_-8=", b"\xff\xef"),
        ("Auto", "aGVsbG8=", b"hello"),
        ("Auto", "not base64!", b"not base64!"),
        ("None", "aGVsbG8=", b"aGVsbG8="),
        (None, "aGVsbG8=", b"aGVsbG8="),
    ],
)
def test_values_decoding_strategy(strategy: str | None, rendered: str, want: bytes) -> None:
    spec = {"templateFrom": [{"literal": f'k: "{rendered}"', "valuesDecodingStrategy": strategy}]}
    assert apply(spec).data["k"] == want


def test_binary_source_values_round_trip() -> None:
    source = {"bin": bytes([0, 0xFF, 0xFE, 0x80]), "pfx": b"\x30\x82\xff"}
    out = apply({"data": {"copy": "{{ .bin }}", "len": "{{ len .pfx }}"}}, source)
    assert out.data["copy"] == source["bin"]
    assert out.data["len"] == b"3"


def test_custom_delimiters() -> None:
    out = apply({"data": {"k": "<< .user >> {{ .user }}"}}, left="<<", right=">>")
    assert out.data["k"] == b"admin {{ .user }}"


# ---- ESO's error texts ---------------------------------------------------------------------


def test_execute_error_in_data() -> None:
    assert fail({"data": {"k": "{{ .nope }}"}}) == (
        "could not execute template: could not execute template: "
        "unable to execute template at key k: unable to execute template at key k: "
        'template: k:1:3: executing "k" at <.nope>: map has no entry for key "nope"'
    )


def test_parse_error_in_labels() -> None:
    assert fail({"metadata": {"labels": {"l": "{{ .user "}}}) == (
        "could not execute template: could not execute template: "
        "unable to execute template at key l: unable to parse template at key l: "
        "template: l:1: unclosed action"
    )


def test_missing_configmap_key() -> None:
    spec = {
        "templateFrom": [{"configMap": {"name": "grafana-config-tpl", "items": [{"key": "x"}]}}]
    }
    assert fail(spec) == (
        "error fetching templateFrom data: error in configmap grafana-config-tpl: missing key x"
    )


def test_missing_secret_key() -> None:
    spec = {"templateFrom": [{"secret": {"name": "tpl-secret", "items": [{"key": "x"}]}}]}
    assert (
        fail(spec) == "error fetching templateFrom data: error in secret tpl-secret: missing key x"
    )


def test_missing_configmap_or_secret() -> None:
    spec = {"templateFrom": [{"configMap": {"name": "absent", "items": [{"key": "k"}]}}]}
    assert fail(spec) == 'error fetching templateFrom data: configmaps "absent" not found'
    spec = {"templateFrom": [{"secret": {"name": "absent", "items": [{"key": "k"}]}}]}
    assert fail(spec) == 'error fetching templateFrom data: secrets "absent" not found'


def test_template_from_execute_error() -> None:
    spec = {
        "templateFrom": [
            {"configMap": {"name": "grafana-config-tpl", "items": [{"key": "broken"}]}}
        ]
    }
    assert fail(spec) == (
        "error fetching templateFrom data: unable to execute template at key broken: "
        "unable to execute template at key broken: template: broken:1:3: "
        'executing "broken" at <.nope>: map has no entry for key "nope"'
    )


def test_keys_and_values_is_named_by_its_text() -> None:
    # ESO names a KeysAndValues/literal template by its own text.
    msg = fail({"templateFrom": [{"literal": "k: {{ .nope }}"}]})
    assert msg.startswith(
        "error fetching templateFrom data: unable to execute template at key k: {{ .nope }}: "
    )
    assert msg.endswith('map has no entry for key "nope"')


def test_keys_and_values_must_render_a_string_map() -> None:
    msg = fail({"templateFrom": [{"literal": "k:\n  nested: x"}]})
    assert msg == (
        "error fetching templateFrom data: could not unmarshal template to "
        "'map[string][]byte': error unmarshaling JSON: while decoding JSON: "
        "json: cannot unmarshal object into Go value of type string"
    )
    assert "error converting YAML to JSON: yaml: line" in fail(
        {"templateFrom": [{"literal": "a: [b"}]}
    )


def test_bad_decoding() -> None:
    spec = {"templateFrom": [{"literal": "k: '!!'", "valuesDecodingStrategy": "Base64"}]}
    assert fail(spec) == (
        "error fetching templateFrom data: failed to decode rendered template value for key k: "
        "illegal base64 data at input byte 0"
    )


# ---- no secret value in any error ----------------------------------------------------------

LEAKY_SOURCE = {
    "password": b"hunter2-S3CR3T",
    "token": b"tok-S3CR3T-999",
    "json": b'{"pw": "json-S3CR3T"',
    "yaml": b"a: [S3CR3T-yaml",
    "pem": b"-----BEGIN CERTIFICATE-----\nS3CR3T-pem\n-----END CERTIFICATE-----\n",
    "regex": b"(S3CR3T",
}

LEAKY_TEMPLATES = [
    "{{ range .password }}{{ end }}",
    "{{ .password.field }}",
    "{{ .password | atoi | upper }}",
    "{{ index .password 99 }}",
    "{{ eq .password 1 }}",
    "{{ lt .password true }}",
    "{{ mustFromJson .json }}",
    "{{ mustRegexMatch .regex .token }}",
    "{{ regexFind .regex .token }}",
    '{{ mustToDate "2006-01-02" .token }}',
    "{{ substr 5 2 .password }}",
    "{{ .password | mustFirst }}",
    "{{ .password | pkcs12key }}",
    '{{ .pem | filterCertChain "leaf" }}',
    "{{ .pem | certSANs }}",
    "{{ .token | jwkPublicKeyPem }}",
    "{{ pemToPkcs12 .pem .password }}",
    '{{ .password | decryptAES "k" }}',
    '{{ rsaDecrypt "RSA-OAEP" "SHA1" .password .pem }}',
    "{{ template .password }}",
    '{{ dig "a" "x" .password }}',
    "{{ int .password | div 1 }}",
    "{{ .token | repeat -1 }}",
]


@pytest.mark.parametrize("template", LEAKY_TEMPLATES)
def test_errors_never_contain_secret_values(template: str) -> None:
    # Each template fails on a value holding the marker; the message may name keys, types,
    # positions and the template text, never the value.
    msg = fail({"data": {"out": template}}, LEAKY_SOURCE)
    assert "S3CR3T" not in msg and "hunter2" not in msg, msg


def test_keys_and_values_errors_hide_secret_sourced_text() -> None:
    spec = {
        "templateFrom": [
            {
                "secret": {
                    "name": "tpl-secret",
                    "items": [{"key": "leaky", "templateAs": "KeysAndValues"}],
                }
            }
        ]
    }
    msg = fail(spec)
    # The template lives in a Secret: it is named by its key and its literals are masked,
    # except for fail's own message, which is the author's text.
    assert msg.startswith(
        "error fetching templateFrom data: unable to execute template at key leaky"
    )
    assert 'at <"...">' in msg or "at <fail>" in msg
    assert msg.count("literal-S3CR3T") == 1 and msg.endswith("error calling fail: literal-S3CR3T")


def test_yaml_errors_do_not_quote_the_rendered_text() -> None:
    msg = fail({"templateFrom": [{"literal": "{{ .yaml }}"}]}, LEAKY_SOURCE)
    assert "S3CR3T" not in msg.replace("{{ .yaml }}", "")


def test_values_passed_to_fail_are_redacted() -> None:
    msg = fail({"data": {"k": '{{ printf "bad password %s" .password | fail }}'}})
    assert msg.endswith("error calling fail: bad password <redacted>")
    assert "hunter2" not in msg
    # The author's own text is kept.
    assert fail({"data": {"k": '{{ fail "set a password" }}'}}).endswith("set a password")
