"""The generated CRDs: current on disk, structural, shaped like ESO's, and accepting ESO's
example manifests (checked with a small structural-schema validator that applies defaults,
reports pruned fields and evaluates our few CEL rules)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushsecret.api import crdgen
from pushsecret.api.pushsecret import DATATO_CEL_RULES, REWRITE_CEL_RULES
from pushsecret.api.validation import PushSecretInvalid, parse_pushsecret

from .test_api_models import (
    CLUSTER_PUSHSECRET,
    CLUSTER_PUSHSECRET_DOC,
    GENERATORS,
    PARSE_CASES,
    PUSHSECRETS,
    STORES,
    VALIDATION_CASES,
    load,
    manifest,
)

ROOT = Path(__file__).resolve().parents[2]
CRDS = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c for c in crdgen.all_crds()}
ALLOWED_KEYS = {
    "type",
    "description",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "default",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
}
CEL: dict[str, Callable[[dict[str, Any]], bool]] = {
    DATATO_CEL_RULES[0]["rule"]: lambda o: (
        "storeRef" in o and ("name" in o["storeRef"] or "labelSelector" in o["storeRef"])
    ),
    DATATO_CEL_RULES[1]["rule"]: lambda o: (
        "remoteKey" not in o or "rewrite" not in o or len(o["rewrite"]) == 0
    ),
    REWRITE_CEL_RULES[0]["rule"]: lambda o: ("regexp" in o) != ("transform" in o),
}


def schema_of(obj: dict[str, Any]) -> dict[str, Any]:
    group, version = obj["apiVersion"].split("/")
    crd = CRDS[(group, obj["kind"])]
    entry = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
    return schema


# -- a small structural-schema validator -------------------------------------------------


def apply_defaults(schema: dict[str, Any], value: Any) -> None:
    """Kubernetes defaulting: set missing properties that declare a default, recursively."""
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                if key not in schema.get("properties", {}):
                    apply_defaults(extra, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def check(schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
    """Validate ``value`` (already defaulted); unknown fields that would be pruned are
    reported as errors too, since the examples must survive the API server intact."""
    if value is None:
        if not schema.get("nullable"):
            errors.append(f"{path}: null")
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str):
            errors.append(f"{path}: not int-or-string")
        return
    kind = schema.get("type")
    if kind is None:
        assert schema.get("x-kubernetes-preserve-unknown-fields"), path
        return
    if not _TYPES[kind](value):
        errors.append(f"{path}: must be of type {kind}")
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: unsupported value {value!r}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: too long")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: too short")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: should match {schema['pattern']}")
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        errors.append(f"{path}: out of range")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            errors.append(f"{path}: wrong number of items")
        for i, item in enumerate(value):
            check(schema["items"], item, f"{path}[{i}]", errors)
    if isinstance(value, dict):
        if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", 1 << 30):
            errors.append(f"{path}: wrong number of properties ({len(value)})")
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}.{key}: required")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                check(props[key], item, f"{path}.{key}", errors)
            elif isinstance(extra, dict):
                check(extra, item, f"{path}[{key}]", errors)
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                errors.append(f"{path}.{key}: unknown field (pruned)")
        for rule in schema.get("x-kubernetes-validations", []):
            if not CEL[rule["rule"]](value):
                errors.append(f"{path}: {rule['message']}")


def admit(obj: dict[str, Any]) -> list[str]:
    """What the API server would say about ``obj`` (defaults applied first)."""
    obj = copy.deepcopy(obj)
    obj.pop("metadata", None)  # ObjectMeta is validated by the API server itself
    schema = schema_of(obj)
    apply_defaults(schema, obj)
    errors: list[str] = []
    check(schema, obj, "", errors)
    return [e.lstrip(".") for e in errors]


# -- files and generator -----------------------------------------------------------------


def test_crdgen_check_passes() -> None:
    assert crdgen.main(["--check"]) == 0
    on_disk = {p.name for p in (ROOT / "deploy" / "crds").glob("*.yaml")}
    assert set(crdgen.crd_files()) <= on_disk


def test_crdgen_cli_check() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pushsecret.api.crdgen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_crdgen_detects_stale_files(tmp_path: Path) -> None:
    assert crdgen.main(["--check", "--out", str(tmp_path)]) == 1
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    assert crdgen.main(["--check", "--out", str(tmp_path)]) == 0
    target = tmp_path / "pushsecrets.yaml"
    target.write_text(target.read_text() + "# edited\n")
    assert crdgen.main(["--check", "--out", str(tmp_path)]) == 1
    for name, text in crdgen.crd_files().items():
        assert yaml.safe_load(text) in crdgen.all_crds(), name


def test_kustomization_resources_exist() -> None:
    kustomization = yaml.safe_load((ROOT / "deploy" / "kustomization.yaml").read_text())
    for res in kustomization["resources"]:
        if res.startswith("crds/"):
            assert (ROOT / "deploy" / res).is_file(), res


# -- structure ---------------------------------------------------------------------------


def structural_problems(node: dict[str, Any], path: str) -> list[str]:
    out = [f"{path}: keyword {k}" for k in node if k not in ALLOWED_KEYS]
    typed = "type" in node
    if not typed and not (
        node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
    ):
        out.append(f"{path}: no type")
    if "properties" in node and "additionalProperties" in node:
        out.append(f"{path}: properties and additionalProperties")
    if node.get("type") == "array" and "items" not in node:
        out.append(f"{path}: array without items")
    if ("properties" in node or "additionalProperties" in node) and node.get("type") != "object":
        out.append(f"{path}: object node not typed object")
    if "default" in node:
        errors: list[str] = []
        check(node, node["default"], path, errors)
        out += [f"default: {e}" for e in errors]
    for key, sub in node.get("properties", {}).items():
        out += structural_problems(sub, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out += structural_problems(node[key], f"{path}.{key}")
    return out


@pytest.mark.parametrize("key", sorted(CRDS), ids=lambda k: f"{k[1]}")
def test_crd_is_structural(key: tuple[str, str]) -> None:
    crd = CRDS[key]
    for version in crd["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        assert schema["type"] == "object"
        assert schema["properties"]["metadata"] == {"type": "object"}
        assert structural_problems(schema, version["name"]) == []
        assert "$ref" not in str(schema) and "anyOf" not in str(schema)
        for rule in _rules(schema):
            assert rule in CEL, rule


def _rules(node: Any) -> list[str]:
    if isinstance(node, list):
        return [r for n in node for r in _rules(n)]
    if not isinstance(node, dict):
        return []
    found = [v["rule"] for v in node.get("x-kubernetes-validations", [])]
    return found + [
        r for k, v in node.items() if k != "x-kubernetes-validations" for r in _rules(v)
    ]


_STATUS_COL = {
    "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
    "name": "Status",
    "type": "string",
}
_AGE_COL = {"jsonPath": ".metadata.creationTimestamp", "name": "AGE", "type": "date"}
EXPECTED = {
    "PushSecret": ("external-secrets.io", "pushsecrets", "Namespaced", ["ps"], ["v1alpha1"]),
    "ClusterPushSecret": ("external-secrets.io", "clusterpushsecrets", "Cluster", [], ["v1alpha1"]),
    "SecretStore": ("external-secrets.io", "secretstores", "Namespaced", ["ss"], ["v1", "v1beta1"]),
    "ClusterSecretStore": (
        "external-secrets.io",
        "clustersecretstores",
        "Cluster",
        ["css"],
        ["v1", "v1beta1"],
    ),
    "Password": ("generators.external-secrets.io", "passwords", "Namespaced", [], ["v1alpha1"]),
    "UUID": ("generators.external-secrets.io", "uuids", "Namespaced", [], ["v1alpha1"]),
    "Fake": ("generators.external-secrets.io", "fakes", "Namespaced", [], ["v1alpha1"]),
    "SSHKey": ("generators.external-secrets.io", "sshkeys", "Namespaced", [], ["v1alpha1"]),
    "ClusterGenerator": (
        "generators.external-secrets.io",
        "clustergenerators",
        "Cluster",
        [],
        ["v1alpha1"],
    ),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_crd_names_like_eso(kind: str) -> None:
    group, plural, scope, short, versions = EXPECTED[kind]
    crd = CRDS[(group, kind)]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.{group}"
    assert crd["metadata"]["labels"] == {"external-secrets.io/component": "controller"}
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["singular"]) == (kind, plural, kind.lower())
    assert names["listKind"] == f"{kind}List"
    assert names.get("shortNames", []) == short
    assert "external-secrets" in names["categories"]
    if group.startswith("generators"):
        assert "external-secrets-generators" in names["categories"]
    assert crd["spec"]["scope"] == scope
    assert [v["name"] for v in crd["spec"]["versions"]] == versions
    assert [v["storage"] for v in crd["spec"]["versions"]] == [True] + [False] * (len(versions) - 1)
    for v in crd["spec"]["versions"]:
        assert v["served"] and v["subresources"] == {"status": {}}
        assert v.get("deprecated", False) == (v["name"] == "v1beta1")


def test_printer_columns() -> None:
    ps = CRDS[("external-secrets.io", "PushSecret")]["spec"]["versions"][0]
    assert ps["additionalPrinterColumns"] == [
        _AGE_COL,
        _STATUS_COL,
        {"jsonPath": ".status.refreshTime", "name": "Last Sync", "type": "date"},
    ]
    cps = CRDS[("external-secrets.io", "ClusterPushSecret")]["spec"]["versions"][0]
    assert cps["additionalPrinterColumns"] == [_AGE_COL, _STATUS_COL]
    for kind in ("SecretStore", "ClusterSecretStore"):
        for version in CRDS[("external-secrets.io", kind)]["spec"]["versions"]:
            cols = version["additionalPrinterColumns"]
            assert [c["name"] for c in cols] == ["AGE", "Status", "Capabilities", "Ready"]


def test_schema_details_match_eso() -> None:
    spec = schema_of({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret"})
    props = spec["properties"]["spec"]["properties"]
    assert spec["properties"]["spec"]["required"] == ["secretStoreRefs", "selector"]
    assert "required" not in spec
    assert props["refreshInterval"]["default"] == "1h0m0s"
    assert props["updatePolicy"]["enum"] == ["Replace", "IfNotExists"]
    assert props["deletionPolicy"] == {**props["deletionPolicy"], "default": "None"}
    sel = props["selector"]
    assert (sel["minProperties"], sel["maxProperties"]) == (1, 1)
    assert sel["properties"]["generatorRef"]["required"] == ["kind", "name"]
    ref = props["secretStoreRefs"]["items"]["properties"]
    assert (
        ref["kind"]["default"] == "SecretStore"
        and "required" not in props["secretStoreRefs"]["items"]
    )
    assert ref["labelSelector"]["x-kubernetes-map-type"] == "atomic"
    data = props["data"]["items"]
    assert data["properties"]["metadata"] == {
        "description": data["properties"]["metadata"]["description"],
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert data["properties"]["match"]["required"] == ["remoteRef"]
    assert "default" not in data["properties"]["match"]["properties"]["secretKey"]
    dto = props["dataTo"]["items"]
    assert [r["message"] for r in dto["x-kubernetes-validations"]] == [
        r["message"] for r in DATATO_CEL_RULES
    ]
    tpl = props["template"]["properties"]
    assert tpl["engineVersion"]["enum"] == ["v2"] and tpl["mergePolicy"]["default"] == "Replace"
    status = spec["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True
    assert status["properties"]["refreshTime"]["nullable"] is True
    store = schema_of({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore"})
    provider = store["properties"]["spec"]["properties"]["provider"]
    assert provider["x-kubernetes-preserve-unknown-fields"] is True
    assert provider["properties"]["azurekv"]["required"] == ["vaultUrl"]
    assert set(provider["properties"]["gcpsm"]["properties"]) == {
        "auth",
        "location",
        "projectID",
        "secretVersionSelectionPolicy",
    }
    pw = schema_of({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password"})
    assert pw["properties"]["spec"]["required"] == ["allowRepeat", "length", "noUpper"]
    assert pw["properties"]["spec"]["properties"]["length"]["default"] == 24


# -- ESO's example manifests against the schemas -----------------------------------------

EXAMPLES = {
    **{f"ps/{k}": v for k, v in PUSHSECRETS.items()},
    **{f"store/{k}": v for k, v in STORES.items()},
    **{f"gen/{k}": v for k, v in GENERATORS.items()},
    "cps": CLUSTER_PUSHSECRET,
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_admitted(name: str) -> None:
    obj = load(EXAMPLES[name])
    assert admit(obj) == []
    if obj["kind"] in ("SecretStore", "ClusterSecretStore"):
        assert admit({**obj, "apiVersion": "external-secrets.io/v1beta1"}) == []


def test_eso_doc_cluster_pushsecret_is_rejected() -> None:
    # ESO's own docs example sets both selector.secret and selector.generatorRef.
    assert admit(load(CLUSTER_PUSHSECRET_DOC)) == [
        "spec.pushSecretSpec.selector: wrong number of properties (2)"
    ]


def test_multi_provider_store_is_rejected() -> None:
    obj = load(STORES["css-aws"])
    obj["spec"]["provider"]["gcpsm"] = {"projectID": "p"}
    assert admit(obj) == ["spec.provider: wrong number of properties (2)"]


def _case_objects() -> list[tuple[str, dict[str, Any]]]:
    return [(s, manifest(**load(s))) for s, _ in [*PARSE_CASES, *VALIDATION_CASES]]


@pytest.mark.parametrize(("spec", "obj"), _case_objects(), ids=lambda v: "")
def test_schema_and_admission_checks_agree(spec: str, obj: dict[str, Any]) -> None:
    """The generated schema rejects exactly what parse_pushsecret(admission=True) rejects."""
    try:
        parse_pushsecret(obj, admission=True)
        rejected_by_us = False
    except PushSecretInvalid:
        rejected_by_us = True
    assert bool(admit(obj)) == rejected_by_us, (spec, admit(obj))
