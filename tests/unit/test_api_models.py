"""The API models against ESO's documented manifests: parsing, round trips, defaults,
durations, validation messages and label selectors.

The manifests below are ESO's docs snippets (``docs/snippets/*.yaml`` at ESO 2.9.0), with
only the fixes noted inline (placeholders that YAML reads as lists, the v1beta1 typo).
``tests/unit/test_crds.py`` validates the same manifests against the generated CRDs.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from pushsecret.api import generators as gen
from pushsecret.api.common import LabelSelector, LabelSelectorRequirement
from pushsecret.api.duration import format_go_duration, parse_go_duration
from pushsecret.api.pushsecret import (
    ClusterPushSecret,
    PushSecret,
    PushSecretData,
    PushSecretSpec,
    PushSecretStoreRef,
)
from pushsecret.api.secretstore import ClusterSecretStore, SecretStore, SecretStoreSpec
from pushsecret.api.validation import (
    PushSecretInvalid,
    check_pushsecret,
    format_invalid,
    parse_clusterpushsecret,
    parse_pushsecret,
    validate_clusterpushsecret,
    validate_pushsecret,
)

_PS = "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\n"
_SS = "apiVersion: external-secrets.io/v1\nkind: SecretStore\n"
_GEN = "apiVersion: generators.external-secrets.io/v1alpha1\n"

PUSHSECRETS: dict[str, str] = {
    # full-pushsecret.yaml: basic push with data/match/remoteRef, plus a template
    "full": _PS
    + """
metadata: {name: pushsecret-example, namespace: default}
spec:
  updatePolicy: Replace
  deletionPolicy: Delete
  refreshInterval: 1h0m0s
  secretStoreRefs:
    - name: aws-parameterstore
      kind: SecretStore
  selector:
    secret:
      name: pokedex-credentials
  template:
    metadata:
      annotations: { }
      labels: { }
    data:
      best-pokemon: "{{ index . \\"best-pokemon-src\\" | toString | upper }} is the really best!"
    templateFrom:
      - configMap:
          name: application-config-tmpl
          items:
            - key: config.yml
  data:
    - conversionStrategy: None
      match:
        secretKey: best-pokemon
        remoteRef:
          remoteKey: destination-secret
          property: best-pokemon-dst
""",
    # full-pushsecret-no-key-no-property.yaml: the whole secret
    "whole-secret": _PS
    + """
metadata: {name: pokedex-credentials, namespace: default}
spec:
  deletionPolicy: Delete
  refreshInterval: 1h0m0s
  secretStoreRefs:
    - name: aws-parameterstore
      kind: SecretStore
  selector:
    secret:
      name: pokedex-credentials
  data:
    - match:
        remoteRef:
          remoteKey: my-first-parameter
""",
    # full-pushsecret-no-key-with-property.yaml
    "property": _PS
    + """
metadata: {name: pokedex-credentials, namespace: default}
spec:
  deletionPolicy: Delete
  refreshInterval: 1h0m0s
  secretStoreRefs:
    - name: aws-parameterstore
      kind: SecretStore
  selector:
    secret:
      name: pokedex-credentials
  data:
    - match:
        secretKey: best-pokemon
        remoteRef:
          remoteKey: my-first-parameter
          property: single-value-secret
""",
    # azkv-pushsecret-secret.yaml: provider metadata
    "metadata": _PS
    + """
metadata: {name: pushsecret-example, namespace: default}
spec:
  refreshInterval: 1h0m0s
  deletionPolicy: Delete
  secretStoreRefs:
    - name: azure-store
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  data:
    - match:
        secretKey: source-key
        remoteRef:
          remoteKey: my-azkv-secret-name
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec:
          expirationDate: "2024-12-31T23:59:59Z"
          contentType: "application/json"
          tags:
            environment: production
""",
    # secretStoreRefs by label selector and a label-selected source (docs/api/pushsecret.md)
    "label-selectors": _PS
    + """
metadata: {name: push-to-many, namespace: default}
spec:
  secretStoreRefs:
    - kind: ClusterSecretStore
      labelSelector:
        matchLabels: {env: production}
    - labelSelector:
        matchExpressions:
          - {key: team, operator: In, values: [a, b]}
  selector:
    secret:
      selector:
        matchLabels: {app: web}
  data:
    - match:
        secretKey: token
        remoteRef: {remoteKey: web-token}
""",
    # pushsecret-generator-rotation-example.yaml (the PushSecret half)
    "generator-rotation": _PS
    + """
metadata: {name: pushsecret-example}
spec:
  refreshInterval: 6h0m0s
  secretStoreRefs:
    - name: aws-parameter-store
      kind: SecretStore
  selector:
    generatorRef:
      apiVersion: generators.external-secrets.io/v1alpha1
      kind: Password
      name: strong-password
  data:
    - match:
        secretKey: password
        remoteRef:
          remoteKey: prod/myql/password
""",
    # pushsecret-datato-basic.yaml + -regex + -rewrite + -template + -chained in one object
    "datato": _PS
    + """
metadata: {name: pushsecret-datato, namespace: default}
spec:
  refreshInterval: 10s
  secretStoreRefs:
    - name: secret-store
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  dataTo:
    - storeRef:
        name: secret-store
    - storeRef:
        name: secret-store
      match:
        regexp: "^db-.*"
    - storeRef:
        name: secret-store
      match:
        regexp: "^db-.*"
      rewrite:
        - regexp:
            source: "^db-"
            target: "myapp/database/"
    - storeRef:
        name: secret-store
      rewrite:
        - transform:
            template: "secrets/{{ .value | upper }}"
    - storeRef:
        name: secret-store
      match:
        regexp: "^db-.*"
      rewrite:
        - regexp: {source: "^db-", target: ""}
        - regexp: {source: "^", target: "prod/"}
    - storeRef:
        labelSelector:
          matchLabels: {env: production}
      remoteKey: bundle
""",
    # pushsecret-datato-override.yaml
    "datato-override": _PS
    + """
metadata: {name: pushsecret-datato-override, namespace: default}
spec:
  refreshInterval: 10s
  secretStoreRefs:
    - name: secret-store
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  dataTo:
    - storeRef:
        name: secret-store
  data:
    - match:
        secretKey: db-host
        remoteRef:
          remoteKey: custom/database/hostname
    - match:
        secretKey: api-key
        remoteRef:
          remoteKey: custom/api/secret-key
""",
    # template-v2-push-secret.yaml (the snippet says v1beta1 and elides the stores: fixed)
    "template": _PS
    + """
metadata: {name: template}
spec:
  secretStoreRefs: [{name: store}]
  selector: {secret: {name: source}}
  template:
    engineVersion: v2
    data:
      token: "{{ .token | toString | upper }} was templated"
  data:
    - match:
        secretKey: token
        remoteRef:
          remoteKey: create-secret-name
          property: token
""",
}

STORES: dict[str, str] = {
    # gcpsm-sa-secret-store.yaml ([PROJECT_ID] would be a YAML list: replaced)
    "gcpsm-secretref": _SS
    + """
metadata: {name: demo-store, namespace: demo}
spec:
  provider:
    gcpsm:
      auth:
        secretRef:
          secretAccessKeySecretRef:
            name: gcp-sa-secret
            key: secret-access-credentials
      projectID: my-project
""",
    # gcpsm-wif-sa-secret-store.yaml
    "gcpsm-workload-identity": _SS
    + """
metadata: {name: demo-store, namespace: demo}
spec:
  provider:
    gcpsm:
      projectID: my-project
      auth:
        workloadIdentity:
          serviceAccountRef:
            name: demo-secrets-sa
""",
    # azkv-secret-store-spn-secret.yaml
    "azurekv-spn": _SS
    + """
metadata: {name: azure-store-spn-secret}
spec:
  provider:
    azurekv:
      tenantId: "2ed1d494-6c5a-4c5d-aa24-479446fb844d"
      vaultUrl: "https://kvtestpushsecret.vault.azure.net"
      authSecretRef:
        clientId:
          name: azure-secret-sp
          key: ClientID
        clientSecret:
          name: azure-secret-sp
          key: ClientSecret
""",
    # azkv-secret-store-mi.yaml
    "azurekv-mi": _SS
    + """
metadata: {name: azure-store}
spec:
  provider:
    azurekv:
      authType: ManagedIdentity
      identityId: "00000000-0000-0000-0000-000000000000"
      vaultUrl: "https://my-keyvault-name.vault.azure.net"
""",
    # azkv-workload-identity.yaml
    "azurekv-wi": _SS
    + """
metadata: {name: azure-store}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: "https://xx-xxxx-xx.vault.azure.net"
      serviceAccountRef:
        name: workload-identity-sa
""",
    # full-cluster-secret-store.yaml, cut to one provider (the snippet lists five to
    # illustrate, which maxProperties: 1 rejects) plus an unmodelled one kept verbatim
    "css-conditions": """apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: example
  annotations:
    external-secrets.io/ignore-maintenance-checks: "true"
spec:
  controller: dev
  provider:
    gcpsm:
      auth:
        secretRef:
          secretAccessKeySecretRef:
            name: gcpsm-secret
            key: secret-access-credentials
            namespace: example
      projectID: myproject
  conditions:
    - namespaceSelector:
        matchLabels:
          my.namespace.io/some-label: "value"
    - namespaces:
        - "namespace-a"
        - "namespace-b"
    - namespaceRegexes:
        - "namespace-a-.*"
        - "namespace-b-.*"
status:
  conditions:
    - type: Ready
      status: "False"
      reason: "ValidationFailed"
      message: "SecretStore validation failed"
      lastTransitionTime: "2019-08-12T12:33:02Z"
""",
    "css-aws": """apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: aws}
spec:
  provider:
    aws:
      service: SecretsManager
      region: eu-central-1
      auth:
        jwt:
          serviceAccountRef: {name: my-serviceaccount, namespace: sa-namespace}
""",
}

GENERATORS: dict[str, str] = {
    "password": _GEN
    + """kind: Password
metadata: {name: strong-password}
spec:
  length: 128
  digits: 5
  symbols: 5
  symbolCharacters: "-_$@"
  noUpper: false
  allowRepeat: true
""",
    "uuid": _GEN + "kind: UUID\nmetadata: {name: my-uuid}\nspec: {}\n",
    "fake": _GEN + "kind: Fake\nmetadata: {name: fake-key}\nspec:\n  data: {foo: bar, baz: bang}\n",
    "sshkey": _GEN
    + 'kind: SSHKey\nmetadata: {name: k}\nspec: {keyType: "ed25519", comment: "u@example.com"}\n',
    "clustergenerator": _GEN
    + """kind: ClusterGenerator
metadata: {name: cluster-gen}
spec:
  kind: Password
  generator:
    passwordSpec:
      length: 42
      digits: 5
      symbols: 5
      symbolCharacters: "-_$@"
      noUpper: false
      allowRepeat: true
""",
}

# full-cluster-push-secret.yaml verbatim in substance: it sets both selector.secret and
# selector.generatorRef (with a wrong apiVersion), which ESO's own CRD rejects.
CLUSTER_PUSHSECRET_DOC = """apiVersion: external-secrets.io/v1alpha1
kind: ClusterPushSecret
metadata: {name: "hello-world"}
spec:
  pushSecretName: "hello-world-ps"
  pushSecretMetadata: {labels: {}, annotations: {}}
  namespaceSelectors:
  - matchLabels: {cool: label}
  refreshTime: "1m"
  pushSecretSpec:
    updatePolicy: Replace
    deletionPolicy: Delete
    refreshInterval: 1h0m0s
    secretStoreRefs:
      - name: aws-parameterstore
        kind: SecretStore
    selector:
      secret:
        name: source-secret
      generatorRef:
        apiVersion: external-secrets.io/v1alpha1
        kind: ECRAuthorizationToken
        name: prod-registry-credentials
    data:
      - conversionStrategy: None
        match:
          secretKey: best-pokemon
          remoteRef: {remoteKey: destination-secret, property: best-pokemon-dst}
status:
  failedNamespaces:
    - namespace: "matching-ns-1"
      reason: "push secret already exists in namespace"
  provisionedNamespaces: ["matching-ns-3", "matching-ns-2"]
  conditions:
  - type: Ready
    status: "False"
    message: "one or more namespaces failed"
    lastTransitionTime: "2022-01-12T12:33:02Z"
"""
CLUSTER_PUSHSECRET = CLUSTER_PUSHSECRET_DOC.replace(
    """      generatorRef:
        apiVersion: external-secrets.io/v1alpha1
        kind: ECRAuthorizationToken
        name: prod-registry-credentials
""",
    "",
)

_DEFAULTISH = {
    "",
    "None",
    "Replace",
    "SecretStore",
    "1h0m0s",
    "v2",
    "Values",
    "Data",
    "raw",
    "rsa",
    "PublicCloud",
    "ServicePrincipal",
    24,
    False,
}


def load(text: str) -> dict[str, Any]:
    obj = yaml.safe_load(text)
    assert isinstance(obj, dict)
    return obj


def _emptyish(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_emptyish(v) for v in value.values())
    if isinstance(value, list):
        return not value
    return value is None or value in _DEFAULTISH


def assert_round_trip(expected: Any, actual: Any, path: str = "") -> None:
    """``actual`` equals ``expected`` except for added keys holding defaults/empties."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} lost"
            assert_round_trip(value, actual[key], f"{path}.{key}")
        extra = {k: v for k, v in actual.items() if k not in expected}
        assert all(_emptyish(v) for v in extra.values()), f"{path}: unexpected {extra}"
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_round_trip(e, a, f"{path}[{i}]")
    else:
        assert actual == expected, path


def round_trip(model: type[BaseModel], text: str) -> BaseModel:
    manifest = load(text)
    obj = model.model_validate(manifest)
    dumped = obj.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert_round_trip(manifest, dumped)
    assert model.model_validate(dumped) == obj
    return obj


@pytest.mark.parametrize("name", sorted(PUSHSECRETS))
def test_pushsecret_examples_round_trip(name: str) -> None:
    ps = round_trip(PushSecret, PUSHSECRETS[name])
    assert isinstance(ps, PushSecret)
    assert validate_pushsecret(ps) == []


@pytest.mark.parametrize("name", sorted(STORES))
def test_store_examples_round_trip(name: str) -> None:
    model = ClusterSecretStore if name.startswith("css") else SecretStore
    store = round_trip(model, STORES[name])
    assert isinstance(store, SecretStore | ClusterSecretStore)
    assert store.kind == model.__name__


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_examples_round_trip(name: str) -> None:
    kind = load(GENERATORS[name])["kind"]
    model = {m.__name__: m for m in (gen.Password, gen.UUID, gen.Fake, gen.SSHKey)}.get(
        kind, gen.ClusterGenerator
    )
    round_trip(model, GENERATORS[name])


def test_cluster_pushsecret_round_trip_and_doc_example_rejected() -> None:
    cps = round_trip(ClusterPushSecret, CLUSTER_PUSHSECRET)
    assert isinstance(cps, ClusterPushSecret)
    assert validate_clusterpushsecret(cps) == []
    assert cps.spec.refresh == datetime.timedelta(minutes=1)
    assert cps.status.failed_namespaces[0].reason == "push secret already exists in namespace"
    doc = parse_clusterpushsecret(load(CLUSTER_PUSHSECRET_DOC))
    assert validate_clusterpushsecret(doc) == [
        "spec.pushSecretSpec.selector: Too many: 2: must have at most 1 items",
        "generatorRef may only reference the generators group, but got external-secrets.io",
    ]
    with pytest.raises(PushSecretInvalid) as err:
        parse_clusterpushsecret(load(CLUSTER_PUSHSECRET_DOC), admission=True)
    assert str(err.value) == (
        'ClusterPushSecret.external-secrets.io "hello-world" is invalid: '
        "spec.pushSecretSpec.selector: Too many: 2: must have at most 1 items"
    )


def test_parsed_fields_and_properties() -> None:
    ps = PushSecret.model_validate(load(PUSHSECRETS["full"]))
    assert ps.spec.secret_store_refs[0].store_key == "SecretStore/aws-parameterstore"
    assert ps.spec.data[0].status_ref == "destination-secret/best-pokemon-dst"
    assert ps.spec.template is not None and ps.spec.template.template_from[0].config_map
    assert ps.spec.template.template_from[0].config_map.items[0].template_as == "Values"
    assert ps.spec.refresh == datetime.timedelta(hours=1)
    rot = PushSecret.model_validate(load(PUSHSECRETS["generator-rotation"]))
    assert rot.spec.refresh == datetime.timedelta(hours=6)
    assert rot.spec.selector.generator_ref is not None
    assert rot.spec.selector.generator_ref.kind == "Password"
    meta = PushSecret.model_validate(load(PUSHSECRETS["metadata"])).spec.data[0].metadata
    assert meta is not None and meta["kind"] == "PushSecretMetadata"
    whole = PushSecret.model_validate(load(PUSHSECRETS["whole-secret"])).spec.data[0]
    assert whole.match.secret_key == "" and whole.status_ref == "my-first-parameter"
    dt = PushSecret.model_validate(load(PUSHSECRETS["datato"])).spec.data_to
    assert dt[0].remote_key is None and dt[0].rewrite == [] and dt[5].remote_key == "bundle"
    assert dt[4].rewrite[1].regexp is not None and dt[4].rewrite[1].regexp.target == "prod/"


def test_defaults() -> None:
    spec = PushSecretSpec.model_validate(
        {"secretStoreRefs": [{"name": "s"}], "selector": {"secret": {"name": "x"}}}
    )
    assert spec.refresh_interval == "1h0m0s" and spec.refresh == datetime.timedelta(hours=1)
    assert (spec.update_policy, spec.deletion_policy) == ("Replace", "None")
    assert spec.data == [] and spec.data_to == [] and spec.template is None
    assert spec.secret_store_refs[0].kind == "SecretStore"
    assert spec.secret_store_refs[0].label_selector is None
    entry = PushSecretData.model_validate({"match": {"remoteRef": {"remoteKey": "k"}}})
    assert entry.conversion_strategy == "None" and entry.match.remote_ref.property == ""
    ref = PushSecret.model_validate(load(PUSHSECRETS["generator-rotation"])).spec.selector
    assert ref.generator_ref is not None
    assert ref.generator_ref.api_version == "generators.external-secrets.io/v1alpha1"
    zero = PushSecretSpec.model_validate({**spec.model_dump(by_alias=True), "refreshInterval": "0"})
    assert zero.refresh == datetime.timedelta(0)
    ps = PushSecret.model_validate({"metadata": {"name": "a"}, "spec": spec.model_dump()})
    assert (ps.api_version, ps.kind) == ("external-secrets.io/v1alpha1", "PushSecret")
    assert ps.status.conditions == [] and ps.status.synced_push_secrets == {}
    pw = gen.PasswordSpec()
    assert (pw.length, pw.digits, pw.symbols, pw.symbol_characters) == (24, None, None, None)
    assert (pw.no_upper, pw.allow_repeat, pw.secret_keys, pw.encoding) == (
        False,
        False,
        None,
        "raw",
    )
    assert len(gen.DEFAULT_SYMBOL_CHARACTERS) == 30
    assert gen.SSHKeySpec().key_type == "rsa"
    az = SecretStore.model_validate(load(STORES["azurekv-wi"])).spec.provider.azurekv
    assert az is not None and az.environment_type == "PublicCloud" and not az.use_azure_sdk


def test_status_keeps_unknown_fields_and_synced_map() -> None:
    raw = {
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced"}],
        "refreshTime": "2024-01-01T00:00:00Z",
        "syncedPushSecrets": {"SecretStore/s": {"k": {"match": {"remoteRef": {"remoteKey": "k"}}}}},
        "stores": [{"name": "SecretStore/s", "ready": True, "keys": [{"remoteKey": "k"}]}],
        "fromANewerVersion": [{"key": "SecretStore/s", "digest": "abc"}],
    }
    ps = PushSecret.model_validate(
        {
            "metadata": {"name": "a"},
            "spec": load(PUSHSECRETS["whole-secret"])["spec"],
            "status": raw,
        }
    )
    cond = ps.status.get_condition()
    assert cond is not None and cond.reason == "Synced"
    assert ps.status.synced_push_secrets["SecretStore/s"]["k"].status_ref == "k"
    dumped = ps.status.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["fromANewerVersion"] == raw["fromANewerVersion"]
    assert dumped["stores"] == raw["stores"]
    assert ps.status.stores[0].keys[0].remote_key == "k"


def test_store_models() -> None:
    gcp = SecretStore.model_validate(load(STORES["gcpsm-secretref"])).spec.provider
    assert gcp.provider_type() == "gcpsm" and gcp.gcpsm is not None
    assert gcp.gcpsm.project_id == "my-project" and gcp.gcpsm.auth is not None
    assert gcp.gcpsm.auth.secret_ref is not None
    sel = gcp.gcpsm.auth.secret_ref.secret_access_key_secret_ref
    assert sel is not None and (sel.name, sel.key, sel.namespace) == (
        "gcp-sa-secret",
        "secret-access-credentials",
        None,
    )
    wi = SecretStore.model_validate(load(STORES["gcpsm-workload-identity"])).spec.provider.gcpsm
    assert wi is not None and wi.auth is not None and wi.auth.workload_identity is not None
    wid = wi.auth.workload_identity
    assert wid.service_account_ref.name == "demo-secrets-sa" and wid.cluster_project_id is None
    dumped = SecretStoreSpec.model_validate(
        {"provider": {"gcpsm": {"auth": {"workloadIdentity": {**wid.model_dump(by_alias=True)}}}}}
    )
    assert dumped.provider.gcpsm is not None
    spn = SecretStore.model_validate(load(STORES["azurekv-spn"])).spec.provider.azurekv
    assert spn is not None and spn.auth_type == "ServicePrincipal"
    assert spn.tenant_id == "2ed1d494-6c5a-4c5d-aa24-479446fb844d"
    assert spn.auth_secret_ref is not None and spn.auth_secret_ref.client_id is not None
    assert spn.auth_secret_ref.client_id.key == "ClientID"
    mi = SecretStore.model_validate(load(STORES["azurekv-mi"])).spec.provider
    assert mi.provider_type() == "azurekv" and mi.azurekv is not None
    assert mi.azurekv.identity_id == "00000000-0000-0000-0000-000000000000"
    aws = ClusterSecretStore.model_validate(load(STORES["css-aws"])).spec.provider
    assert aws.provider_type() == "aws" and aws.model_extra is not None
    assert aws.model_extra["aws"]["region"] == "eu-central-1"
    both = SecretStoreSpec.model_validate({"provider": {"gcpsm": {}, "vault": {"path": "x"}}})
    assert both.provider.provider_type() is None
    assert both.provider.provider_names() == ["gcpsm", "vault"]
    assert SecretStoreSpec.model_validate({"provider": {}}).provider.provider_type() is None


def test_cluster_store_conditions() -> None:
    css = ClusterSecretStore.model_validate(load(STORES["css-conditions"]))
    spec = css.spec
    assert spec.controller == "dev" and len(spec.conditions) == 3
    assert spec.allows_namespace("x", {"my.namespace.io/some-label": "value"})
    assert spec.allows_namespace("namespace-b", {"kubernetes.io/metadata.name": "namespace-b"})
    assert spec.allows_namespace("namespace-a", {})
    assert spec.allows_namespace("namespace-a-dev", {})
    assert not spec.allows_namespace("other", {"kubernetes.io/metadata.name": "other"})
    assert SecretStoreSpec.model_validate({"provider": {"gcpsm": {}}}).allows_namespace("x", {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (30, datetime.timedelta(seconds=30)),
        ("5m", datetime.timedelta(minutes=5)),
        (0, datetime.timedelta(0)),
    ],
)
def test_store_refresh_interval(value: int | str | None, expected: Any) -> None:
    spec = SecretStoreSpec.model_validate({"provider": {"gcpsm": {}}, "refreshInterval": value})
    assert spec.refresh_interval_duration() == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "invalid refreshInterval -1: must not be negative"),
        ("-1s", 'invalid refreshInterval "-1s": must not be negative'),
        ("5x", 'invalid refreshInterval "5x": time: unknown unit "x" in duration "5x"'),
    ],
)
def test_store_refresh_interval_errors(value: int | str, message: str) -> None:
    spec = SecretStoreSpec.model_validate({"provider": {"gcpsm": {}}, "refreshInterval": value})
    with pytest.raises(ValueError) as err:
        spec.refresh_interval_duration()
    assert str(err.value) == message


def test_cluster_generator_selected_spec() -> None:
    cg = gen.ClusterGenerator.model_validate(load(GENERATORS["clustergenerator"]))
    selected = cg.spec.selected_spec()
    assert isinstance(selected, gen.PasswordSpec) and selected.length == 42
    other = gen.ClusterGeneratorSpec.model_validate(
        {
            "kind": "ECRAuthorizationToken",
            "generator": {"ecrAuthorizationTokenSpec": {"region": "x"}},
        }
    )
    assert other.selected_spec() == {"region": "x"}
    missing = gen.ClusterGeneratorSpec.model_validate(
        {"kind": "UUID", "generator": {"fakeSpec": {}}}
    )
    assert missing.selected_spec() is None
    assert gen.GENERATOR_KINDS[2] == "ClusterGenerator" and len(gen.GENERATOR_KINDS) == 18


# -- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        ("1h0m0s", 3600, "1h0m0s"),
        ("10s", 10, "10s"),
        ("1.5h", 5400, "1h30m0s"),
        ("300ms", 0.3, "300ms"),
        ("2h45m", 9900, "2h45m0s"),
        ("0", 0, "0s"),
        ("0s", 0, "0s"),
        ("+5m", 300, "5m0s"),
        ("1m30s", 90, "1m30s"),
        ("1.s", 1, "1s"),
        (".5s", 0.5, "500ms"),
        ("100us", 0.0001, "100\u00b5s"),
        ("100\u00b5s", 0.0001, "100\u00b5s"),
        ("100\u03bcs", 0.0001, "100\u00b5s"),
        ("1500ns", 0.000001, "1\u00b5s"),
        ("25h", 90000, "25h0m0s"),
        ("1h30m15.25s", 5415.25, "1h30m15.25s"),
    ],
)
def test_parse_and_format_go_duration(text: str, seconds: float, canonical: str) -> None:
    td = parse_go_duration(text)
    assert td == datetime.timedelta(seconds=seconds)
    assert format_go_duration(td) == canonical
    assert parse_go_duration(format_go_duration(td)) == td


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("-1s", 'negative duration "-1s" is not allowed'),
        ("1", 'time: missing unit in duration "1"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1hr", 'time: unknown unit "hr" in duration "1hr"'),
        (".", 'time: invalid duration "."'),
        ("banana", 'time: invalid duration "banana"'),
        (" 1s", 'time: invalid duration " 1s"'),
        ("9999999999h", 'time: invalid duration "9999999999h"'),
    ],
)
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_go_duration(text)
    assert str(err.value) == message


def test_format_go_duration_small_and_negative() -> None:
    assert format_go_duration(datetime.timedelta(0)) == "0s"
    assert format_go_duration(datetime.timedelta(microseconds=1500)) == "1.5ms"
    assert format_go_duration(datetime.timedelta(seconds=-90)) == "-1m30s"
    assert format_go_duration(datetime.timedelta(seconds=1.5)) == "1.5s"


# -- validation messages -----------------------------------------------------------------

_BASE: dict[str, Any] = {
    "apiVersion": "external-secrets.io/v1alpha1",
    "kind": "PushSecret",
    "metadata": {"name": "ps", "namespace": "default"},
    "spec": {
        "secretStoreRefs": [{"name": "store"}],
        "selector": {"secret": {"name": "src"}},
        "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "rk"}}}],
    },
}


def manifest(**spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(_BASE))
    out["spec"].update(spec)
    return out


def parse_errors(obj: dict[str, Any]) -> list[str]:
    with pytest.raises(PushSecretInvalid) as err:
        parse_pushsecret(obj)
    assert str(err.value) == format_invalid("PushSecret", "ps", err.value.messages)
    return err.value.messages


NAME_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_REFS0 = "spec.secretStoreRefs[0]"
_TYPE = 'Invalid value: "{t}": {p} in body must be of type {w}: "{t}"'

PARSE_CASES: list[tuple[str, str]] = [
    (
        "updatePolicy: Foo",
        'spec.updatePolicy: Unsupported value: "Foo": supported values: "Replace", "IfNotExists"',
    ),
    (
        "deletionPolicy: Always",
        'spec.deletionPolicy: Unsupported value: "Always": supported values: "Delete", "None"',
    ),
    (
        "data: [{match: {remoteRef: {remoteKey: x}}, conversionStrategy: Unicode}]",
        'spec.data[0].conversionStrategy: Unsupported value: "Unicode": supported values: '
        '"None", "ReverseUnicode"',
    ),
    (
        "secretStoreRefs: [{name: s, kind: Store}]",
        f'{_REFS0}.kind: Unsupported value: "Store": supported values: '
        '"SecretStore", "ClusterSecretStore"',
    ),
    (
        "secretStoreRefs: [{name: My_Store}]",
        f'{_REFS0}.name: Invalid value: "My_Store": {_REFS0}.name in body should match '
        f"'{NAME_RE}'",
    ),
    (
        "secretStoreRefs: [{name: ''}]",
        f'{_REFS0}.name: Invalid value: "": {_REFS0}.name in body should be at least 1 chars long',
    ),
    (
        "secretStoreRefs: [{name: " + "a" * 254 + "}]",
        f"{_REFS0}.name: Too long: may not be longer than 253",
    ),
    (
        "data: [{match: {secretKey: k, remoteRef: {}}}]",
        "spec.data[0].match.remoteRef.remoteKey: Required value",
    ),
    (
        "selector: null",
        "spec.selector: " + _TYPE.format(t="null", p="spec.selector", w="object"),
    ),
    (
        "refreshInterval: 5",
        "spec.refreshInterval: " + _TYPE.format(t="integer", p="spec.refreshInterval", w="string"),
    ),
    (
        "template: {data: {a: 1}}",
        "spec.template.data[a]: "
        + _TYPE.format(t="integer", p="spec.template.data[a]", w="string"),
    ),
]


@pytest.mark.parametrize(("spec", "expected"), PARSE_CASES)
def test_parse_errors_are_api_server_texts(spec: str, expected: str) -> None:
    assert parse_errors(manifest(**load(spec))) == [expected]


def test_parse_missing_required_and_several_errors() -> None:
    obj = manifest()
    del obj["spec"]["selector"]
    obj["spec"]["updatePolicy"] = "Foo"
    messages = parse_errors(obj)
    assert messages == [
        'spec.updatePolicy: Unsupported value: "Foo": supported values: "Replace", "IfNotExists"',
        "spec.selector: Required value",
    ]
    assert str(PushSecretInvalid(messages, name="ps")) == (
        'PushSecret.external-secrets.io "ps" is invalid: [' + ", ".join(messages) + "]"
    )


def issues(**spec: Any) -> list[tuple[str, str]]:
    ps = parse_pushsecret(manifest(**spec))
    return [(i.phase, i.message) for i in check_pushsecret(ps)]


A, D, R = "admission", "decode", "reconcile"
_CEL_STORE = 'spec.dataTo[0]: Invalid value: "object": storeRef must specify either name or '
_CEL_STORE += "labelSelector"
_CEL_BUNDLE = (
    'spec.dataTo[0]: Invalid value: "object": remoteKey and rewrite are mutually exclusive: '
    "rewrite is only supported in per-key mode (without remoteKey)"
)
_CEL_REWRITE = (
    'spec.dataTo[0].rewrite[{}]: Invalid value: "object": exactly one of regexp or transform '
    "must be set"
)
_KINDS = ", ".join(f'"{k}"' for k in gen.GENERATOR_KINDS)

VALIDATION_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "selector: {secret: {name: a}, generatorRef: {kind: UUID, name: u}}",
        [(A, "spec.selector: Too many: 2: must have at most 1 items")],
    ),
    (
        "selector: {}",
        [
            (
                A,
                "spec.selector: Invalid value: 1: spec.selector in body should have at least 1 "
                "properties",
            )
        ],
    ),
    ("selector: {secret: {}}", [(R, "no secret selector provided")]),
    (
        "selector: {generatorRef: {kind: Nope, name: g}}",
        [
            (
                A,
                f'spec.selector.generatorRef.kind: Unsupported value: "Nope": supported values: '
                f"{_KINDS}",
            )
        ],
    ),
    (
        "selector: {generatorRef: {apiVersion: v1, kind: UUID, name: g}}",
        [(R, "generatorRef may only reference the generators group, but got ")],
    ),
    (
        "selector: {generatorRef: {apiVersion: a/b/c, kind: UUID, name: g}}",
        [(R, "generatorRef has invalid APIVersion: unexpected GroupVersion string: a/b/c")],
    ),
    ("secretStoreRefs: [{kind: SecretStore}]", [(R, "refStore Name must be provided")]),
    (
        "refreshInterval: banana",
        [(D, 'spec.refreshInterval: Invalid value: "banana": time: invalid duration "banana"')],
    ),
    (
        "refreshInterval: -1s",
        [(D, 'spec.refreshInterval: Invalid value: "-1s": negative duration "-1s" is not allowed')],
    ),
    ("dataTo: [{match: {regexp: x}}]", [(A, _CEL_STORE)]),
    ("dataTo: [{storeRef: {kind: ClusterSecretStore}}]", [(A, _CEL_STORE)]),
    (
        "dataTo: [{storeRef: {name: store}, remoteKey: b, rewrite: [{regexp: {source: a, "
        "target: b}}]}]",
        [(A, _CEL_BUNDLE)],
    ),
    (
        "dataTo: [{storeRef: {name: store}, rewrite: [{regexp: {source: a, target: b}, "
        "transform: {template: x}}, {}]}]",
        [(A, _CEL_REWRITE.format(0)), (A, _CEL_REWRITE.format(1))],
    ),
    (
        "dataTo: [{storeRef: {name: store, kind: ClusterSecretStore}}]",
        [(R, 'dataTo[0]: storeRef "store" not found in secretStoreRefs')],
    ),
    ("dataTo: [{storeRef: {name: store}, remoteKey: bundle, rewrite: []}]", []),
    ("dataTo: [{storeRef: {labelSelector: {}}}]", []),
]


@pytest.mark.parametrize(("spec", "expected"), VALIDATION_CASES)
def test_validation_messages(spec: str, expected: list[tuple[str, str]]) -> None:
    assert issues(**load(spec)) == expected


def test_admission_parse_and_model_construct_agree() -> None:
    obj = manifest(
        selector={"secret": {"name": "a"}, "generatorRef": {"kind": "UUID", "name": "u"}}
    )
    assert parse_pushsecret(obj).spec.selector.secret is not None  # shape is fine
    with pytest.raises(PushSecretInvalid) as err:
        parse_pushsecret(obj, admission=True)
    assert str(err.value) == (
        'PushSecret.external-secrets.io "ps" is invalid: '
        "spec.selector: Too many: 2: must have at most 1 items"
    )
    # A hand-built model (model_construct skips pydantic) gets the parse-time texts.
    ps = parse_pushsecret(manifest())
    bad = PushSecretStoreRef.model_construct(name="My_Store", kind="Store", label_selector=None)
    ps.spec.secret_store_refs.append(bad)
    parsed = parse_errors(manifest(secretStoreRefs=[{"name": "store"}, {"name": "My_Store"}]))
    assert validate_pushsecret(ps)[0] == parsed[0]
    assert validate_pushsecret(ps)[1].startswith(
        'spec.secretStoreRefs[1].kind: Unsupported value: "Store"'
    )
    assert parse_pushsecret(manifest(), admission=True).metadata.name == "ps"


# -- label selectors ---------------------------------------------------------------------


def _sel(**kw: Any) -> LabelSelector:
    return LabelSelector.model_validate(kw)


def test_label_selector_matches() -> None:
    sel = _sel(
        matchLabels={"a": "b"},
        matchExpressions=[
            {"key": "c", "operator": "In", "values": ["x", "y"]},
            {"key": "d", "operator": "DoesNotExist"},
            {"key": "e", "operator": "NotIn", "values": ["bad"]},
            {"key": "f", "operator": "Exists"},
        ],
    )
    assert sel.matches({"a": "b", "c": "x", "f": ""})
    assert sel.matches({"a": "b", "c": "y", "e": "good", "f": "1"})
    assert not sel.matches({"a": "b", "c": "z", "f": "1"})
    assert not sel.matches({"a": "other", "c": "x", "f": "1"})
    assert not sel.matches({"a": "b", "c": "x", "d": "1", "f": "1"})
    assert not sel.matches({"a": "b", "c": "x", "e": "bad", "f": "1"})
    assert not sel.matches({"a": "b", "c": "x"})
    assert _sel().matches({}) and _sel().matches({"any": "thing"})
    empty_in = LabelSelectorRequirement(key="k", operator="In", values=[])
    assert not empty_in.matches({"k": "v"})


def test_label_selector_to_selector_string() -> None:
    sel = _sel(
        matchLabels={"a": "b"},
        matchExpressions=[
            {"key": "d", "operator": "DoesNotExist"},
            {"key": "c", "operator": "In", "values": ["y", "x"]},
        ],
    )
    assert sel.to_selector_string() == "a=b,c in (x,y),!d"
    other = _sel(
        matchLabels={"z": "1", "m": "2"},
        matchExpressions=[
            {"key": "n", "operator": "NotIn", "values": ["q"]},
            {"key": "e", "operator": "Exists"},
        ],
    )
    assert other.to_selector_string() == "e,m=2,n notin (q),z=1"
    assert _sel().to_selector_string() == ""
    with pytest.raises(ValueError):
        _sel(matchExpressions=[{"key": "k", "operator": "In"}]).to_selector_string()
    with pytest.raises(ValueError):
        _sel(
            matchExpressions=[{"key": "k", "operator": "Exists", "values": ["v"]}]
        ).to_selector_string()
