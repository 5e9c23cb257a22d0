"""PushSecret and ClusterPushSecret (``external-secrets.io/v1alpha1``), field for field as ESO.

Field-level constraints (name patterns and lengths, enums, required fields) are enforced on
parsing, as the API server would at admission. Object-level rules that pydantic cannot
express (``selector`` has exactly one key, the ``dataTo`` CEL rules) are declared in the
schema for the CRD and checked by :mod:`pushsecret.api.validation`.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from pushsecret.api.common import (
    Condition,
    DNSSubdomain,
    LabelSelector,
    ObjectMeta,
    SecretKeyName,
    crd_default,
)
from pushsecret.api.duration import parse_go_duration
from pushsecret.api.generators import GENERATOR_KINDS, GENERATORS_API_VERSION

__all__ = [
    "API_VERSION",
    "CLUSTERPUSHSECRET_KIND",
    "CLUSTERPUSHSECRET_PLURAL",
    "DATATO_CEL_RULES",
    "DEFAULT_REFRESH",
    "FINALIZER",
    "GROUP",
    "PUSHSECRET_KIND",
    "PUSHSECRET_PLURAL",
    "PUSHSECRET_VERSION",
    "REWRITE_CEL_RULES",
    "ClusterPushSecret",
    "ClusterPushSecretMetadata",
    "ClusterPushSecretNamespaceFailure",
    "ClusterPushSecretSpec",
    "ClusterPushSecretStatus",
    "ExternalSecretTemplate",
    "GeneratorRef",
    "PushSecret",
    "PushSecretData",
    "PushSecretDataTo",
    "PushSecretDataToMatch",
    "PushSecretMatch",
    "PushSecretRemoteRef",
    "PushSecretRewrite",
    "PushSecretRewriteRegexp",
    "PushSecretRewriteTransform",
    "PushSecretSecret",
    "PushSecretSelector",
    "PushSecretSpec",
    "PushSecretStatus",
    "PushSecretStoreKeyStatus",
    "PushSecretStoreRef",
    "PushSecretStoreStatus",
    "TemplateFrom",
    "TemplateMetadata",
    "TemplateRef",
    "TemplateRefItem",
]

GROUP = "external-secrets.io"
PUSHSECRET_VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{PUSHSECRET_VERSION}"
PUSHSECRET_KIND = "PushSecret"
PUSHSECRET_PLURAL = "pushsecrets"
CLUSTERPUSHSECRET_KIND = "ClusterPushSecret"
CLUSTERPUSHSECRET_PLURAL = "clusterpushsecrets"
FINALIZER = "pushsecret.externalsecrets.io/finalizer"
DEFAULT_REFRESH = datetime.timedelta(hours=1)
"""Requeue period when a refresh interval is absent (ESO's hard-coded RequeueInterval)."""

DATATO_CEL_RULES: list[dict[str, str]] = [
    {
        "rule": "has(self.storeRef) && (has(self.storeRef.name) "
        "|| has(self.storeRef.labelSelector))",
        "message": "storeRef must specify either name or labelSelector",
    },
    {
        "rule": "!has(self.remoteKey) || !has(self.rewrite) || size(self.rewrite) == 0",
        "message": "remoteKey and rewrite are mutually exclusive: rewrite is only supported "
        "in per-key mode (without remoteKey)",
    },
]
REWRITE_CEL_RULES: list[dict[str, str]] = [
    {
        "rule": "(has(self.regexp) && !has(self.transform)) || (!has(self.regexp) "
        "&& has(self.transform))",
        "message": "exactly one of regexp or transform must be set",
    },
]


def _cel(rules: list[dict[str, str]]) -> dict[str, Any]:
    """``json_schema_extra`` carrying CEL rules (``x-kubernetes-validations``)."""
    return {"x-kubernetes-validations": rules}


_MODEL = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")
_ConversionStrategy = Literal["None", "ReverseUnicode"]
_STRATEGY_DOC = (
    "Conversion of the secret key names: ReverseUnicode decodes `_UXXXX_` escapes "
    "(the inverse of ExternalSecret's Unicode strategy)."
)


class PushSecretRemoteRef(BaseModel):
    """Where an entry goes in the provider."""

    model_config = _MODEL

    remote_key: str = Field(description="Name of the resulting provider secret.")
    property: str = Field("", description="Name of the property in the resulting secret.")


class PushSecretMatch(BaseModel):
    """Which source key goes to which remote location."""

    model_config = _MODEL

    secret_key: str = Field(
        "",
        description="Secret Key to be pushed; empty pushes the whole secret (all keys).",
    )
    remote_ref: PushSecretRemoteRef = Field(description="Remote Refs to push to providers.")


class PushSecretData(BaseModel):
    """One explicit entry of ``spec.data`` (also the value type of ``syncedPushSecrets``)."""

    model_config = _MODEL

    match: PushSecretMatch = Field(description="Match a given Secret Key to be pushed.")
    metadata: dict[str, Any] | None = Field(
        None,
        description="Provider-specific metadata, passed through opaquely (by convention a "
        "kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata envelope).",
        json_schema_extra={"x-crd-schema": {"x-kubernetes-preserve-unknown-fields": True}},
    )
    conversion_strategy: _ConversionStrategy = Field(
        "None", description=_STRATEGY_DOC, json_schema_extra=crd_default("None")
    )

    @property
    def status_ref(self) -> str:
        """The key of this entry in ``status.syncedPushSecrets[store]``."""
        ref = self.match.remote_ref
        return ref.remote_key if not ref.property else f"{ref.remote_key}/{ref.property}"


class PushSecretStoreRef(BaseModel):
    """A store to push to, by name or by label selector (the selector wins if both are set)."""

    model_config = _MODEL

    name: DNSSubdomain | None = Field(None, description="Sync to the store of the given name.")
    kind: Literal["SecretStore", "ClusterSecretStore"] = Field(
        "SecretStore",
        description="Kind of the store resource (SecretStore or ClusterSecretStore).",
        json_schema_extra=crd_default("SecretStore"),
    )
    label_selector: LabelSelector | None = Field(
        None,
        description="Sync to all stores of this kind matching the selector (SecretStores "
        "in the PushSecret's namespace only); `{}` matches all.",
    )

    @property
    def store_key(self) -> str:
        """``"<Kind>/<Name>"``, the key of ``status.syncedPushSecrets`` (named refs only)."""
        return f"{self.kind}/{self.name}"


class GeneratorRef(BaseModel):
    """A generator invoked on every refresh to produce the data to push."""

    model_config = _MODEL

    api_version: str = Field(
        GENERATORS_API_VERSION,
        description="apiVersion of the generator; its group must be "
        "generators.external-secrets.io.",
        json_schema_extra=crd_default(GENERATORS_API_VERSION),
    )
    kind: str = Field(
        description="Kind of the generator resource (ClusterGenerator is cluster-scoped).",
        json_schema_extra={"enum": list(GENERATOR_KINDS)},
    )
    name: DNSSubdomain = Field(description="Name of the generator resource.")


class PushSecretSecret(BaseModel):
    """A source Secret in the PushSecret's namespace, by name or by label selector."""

    model_config = _MODEL

    name: DNSSubdomain | None = Field(
        None, description="Name of the Secret; takes precedence over selector."
    )
    selector: LabelSelector | None = Field(
        None,
        description="Every Secret matching the selector is pushed in turn with the same rules.",
    )


class PushSecretSelector(BaseModel):
    """The source of the data: exactly one of ``secret`` or ``generatorRef``."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra={"minProperties": 1, "maxProperties": 1},
    )

    secret: PushSecretSecret | None = Field(None, description="Select a Secret to push.")
    generator_ref: GeneratorRef | None = Field(
        None, description="Point to a generator to create the data."
    )


class PushSecretDataToMatch(BaseModel):
    """Which source keys a ``dataTo`` rule takes."""

    model_config = _MODEL

    regexp: str | None = Field(
        None,
        description="RE2 regexp searched (unanchored) in the key names; unset matches all.",
    )


class PushSecretRewriteRegexp(BaseModel):
    """Regexp replacement on a key name (Go ``ReplaceAllString`` with ``$1`` expansion)."""

    model_config = _MODEL

    source: str = Field(description="The regular expression.")
    target: str = Field(description="The replacement, `$1`/`${name}` expand groups.")


class PushSecretRewriteTransform(BaseModel):
    """Go-template transformation of a key name (``.value`` is the current name)."""

    model_config = _MODEL

    template: str = Field(description="Template applied to the key name, e.g. `{{ .value }}`.")


class PushSecretRewrite(BaseModel):
    """One rewrite step: exactly one of ``regexp`` or ``transform``."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra=_cel(REWRITE_CEL_RULES),
    )

    regexp: PushSecretRewriteRegexp | None = None
    transform: PushSecretRewriteTransform | None = None


class PushSecretDataTo(BaseModel):
    """A bulk push rule expanding the source keys into provider entries."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra=_cel(DATATO_CEL_RULES),
    )

    store_ref: PushSecretStoreRef | None = Field(
        None,
        description="The store(s) this rule targets; a named ref must also be listed by "
        "name in secretStoreRefs. Required.",
    )
    remote_key: str | None = Field(
        None,
        description="Set: bundle mode, all matched keys pushed as one JSON object at this "
        "key. Unset: each matched key is pushed as its own provider secret.",
    )
    match: PushSecretDataToMatch | None = Field(
        None, description="Selects the source keys; unset selects all."
    )
    rewrite: list[PushSecretRewrite] = Field(
        default_factory=list,
        description="Key-name rewrites applied in order (per-key mode only).",
    )
    metadata: dict[str, Any] | None = Field(
        None,
        description="Provider-specific metadata copied to every expanded entry.",
        json_schema_extra={"x-crd-schema": {"x-kubernetes-preserve-unknown-fields": True}},
    )
    conversion_strategy: _ConversionStrategy = Field(
        "None", description=_STRATEGY_DOC, json_schema_extra=crd_default("None")
    )


class TemplateRefItem(BaseModel):
    """A key of a ConfigMap/Secret used as a template."""

    model_config = _MODEL

    key: SecretKeyName = Field(description="A key in the ConfigMap/Secret.")
    template_as: Literal["Values", "KeysAndValues"] = Field(
        "Values",
        description="Values renders the value under its own key; KeysAndValues renders it "
        "and parses the result as a YAML map.",
        json_schema_extra=crd_default("Values"),
    )


class TemplateRef(BaseModel):
    """A ConfigMap or Secret (in the PushSecret's namespace) holding templates."""

    model_config = _MODEL

    name: DNSSubdomain = Field(description="The name of the ConfigMap/Secret resource.")
    items: list[TemplateRefItem] = Field(description="The keys to use as templates.")


class TemplateFrom(BaseModel):
    """One ``templateFrom`` source: a ConfigMap, a Secret or a literal template."""

    model_config = _MODEL

    config_map: TemplateRef | None = None
    secret: TemplateRef | None = None
    literal: str | None = None
    target: str = Field(
        "Data",
        description="Where the result goes: Data, Annotations or Labels (case-insensitive).",
        json_schema_extra=crd_default("Data"),
    )
    values_decoding_strategy: Literal["Auto", "Base64", "Base64URL", "None"] | None = Field(
        None, description="Decoding of the rendered values; unset means None."
    )


class TemplateMetadata(BaseModel):
    """Labels/annotations merged into the in-memory Secret (values are templates too)."""

    model_config = _MODEL

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list, description="Ignored by PushSecret.")


class ExternalSecretTemplate(BaseModel):
    """In-memory transformation of each source Secret before it is pushed (engine v2)."""

    model_config = _MODEL

    type: str | None = Field(
        None, description="Secret type; ESO assigns it even when unset (type becomes empty)."
    )
    engine_version: Literal["v2"] = Field(
        "v2", description="Always v2.", json_schema_extra=crd_default("v2")
    )
    merge_policy: Literal["Replace", "Merge"] = Field(
        "Replace",
        description="Ignored by PushSecret: rendered keys are always merged over the source.",
        json_schema_extra=crd_default("Replace"),
    )
    metadata: TemplateMetadata | None = None
    data: dict[str, str] = Field(
        default_factory=dict,
        description="Key -> template; the result overrides the same-named source key.",
    )
    template_from: list[TemplateFrom] = Field(default_factory=list)


class PushSecretSpec(BaseModel):
    """What to push (selector, data, dataTo, template), where (secretStoreRefs) and how."""

    model_config = _MODEL

    refresh_interval: str = Field(
        "1h0m0s",
        description="Go duration between pushes. 0 means push only when the PushSecret's "
        "generation, labels or annotations change, never periodically.",
        json_schema_extra=crd_default("1h0m0s"),
    )
    secret_store_refs: list[PushSecretStoreRef] = Field(
        description="The stores to push to (may be empty)."
    )
    update_policy: Literal["Replace", "IfNotExists"] = Field(
        "Replace",
        description="Replace always writes; IfNotExists skips entries whose remote secret "
        "already exists (they still count as synced).",
        json_schema_extra=crd_default("Replace"),
    )
    deletion_policy: Literal["Delete", "None"] = Field(
        "None",
        description="Delete removes provider secrets when the PushSecret, an entry or the "
        "source Secret goes away (adds a finalizer); None never deletes.",
        json_schema_extra=crd_default("None"),
    )
    selector: PushSecretSelector = Field(description="The source of the data.")
    data: list[PushSecretData] = Field(
        default_factory=list, description="Explicit per-key pushes; they win over dataTo."
    )
    data_to: list[PushSecretDataTo] = Field(default_factory=list, description="Bulk push rules.")
    template: ExternalSecretTemplate | None = Field(
        None, description="Transformation applied to each source Secret before pushing."
    )

    @property
    def refresh(self) -> datetime.timedelta:
        """``refreshInterval`` parsed; ``timedelta(0)`` means push on change only.

        Raises :class:`ValueError` (Go's message) when the text is not a Go duration.
        """
        return parse_go_duration(self.refresh_interval)


class PushSecretStoreKeyStatus(BaseModel):
    """One pushed entry in one store, as last seen."""

    model_config = _MODEL

    remote_key: str
    property: str | None = None
    version: str | None = Field(None, description="Remote version id the entry holds.")


class PushSecretStoreStatus(BaseModel):
    """The last result for one store: a failing store shows here without hiding the others."""

    model_config = _MODEL

    name: str = Field(description="Store key, `Kind/Name`.")
    ready: bool
    message: str | None = Field(None, description="Why the last push to this store failed.")
    last_sync_time: str | None = Field(
        None,
        description="RFC 3339 time of the last successful push to this store.",
        json_schema_extra={"format": "date-time", "nullable": True},
    )
    keys: list[PushSecretStoreKeyStatus] = Field(default_factory=list)


class PushSecretStatus(BaseModel):
    """Observed state. Unknown fields are kept (per-store rows are added by the controller)."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="allow")

    conditions: list[Condition] = Field(default_factory=list)
    refresh_time: str | None = Field(
        None,
        description="RFC 3339 start time of the last successful push.",
        json_schema_extra={"format": "date-time", "nullable": True},
    )
    synced_resource_version: str | None = Field(
        None, description="`<generation>-<hash of labels and annotations>` of the last sync."
    )
    synced_push_secrets: dict[str, dict[str, PushSecretData]] = Field(
        default_factory=dict,
        description="Store key (Kind/Name) -> entry key (remoteKey[/property]) -> entry, "
        "including entries that already existed in the provider.",
    )
    observed_generation: int | None = None
    stores: list[PushSecretStoreStatus] = Field(
        default_factory=list,
        description="Per-store result of the last reconcile (beyond ESO: one row per store).",
    )

    def get_condition(self, type_: str = "Ready") -> Condition | None:
        """The condition of the given type, if any."""
        return next((c for c in self.conditions if c.type == type_), None)


class PushSecret(BaseModel):
    """PushSecret pushes a Kubernetes Secret (or generated data) to external providers."""

    model_config = _MODEL

    api_version: str = API_VERSION
    kind: str = PUSHSECRET_KIND
    metadata: ObjectMeta
    spec: PushSecretSpec
    status: PushSecretStatus = Field(default_factory=PushSecretStatus)


class ClusterPushSecretMetadata(BaseModel):
    """Labels and annotations set (replacing) on every generated PushSecret."""

    model_config = _MODEL

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ClusterPushSecretSpec(BaseModel):
    """A PushSecret spec stamped into every namespace the selectors match."""

    model_config = _MODEL

    push_secret_spec: PushSecretSpec = Field(
        description="Copied verbatim into each generated PushSecret."
    )
    refresh_time: str | None = Field(
        None,
        description="Go duration between reconciles of this object (re-checks namespaces); "
        "unset means 1h.",
    )
    push_secret_name: DNSSubdomain | None = Field(
        None, description="Name of the generated PushSecrets; defaults to this object's name."
    )
    push_secret_metadata: ClusterPushSecretMetadata | None = None
    namespace_selectors: list[LabelSelector] = Field(
        default_factory=list,
        description="Namespaces to create PushSecrets in; selectors are ORed, an empty list "
        "selects none, `{}` selects all.",
    )

    @property
    def refresh(self) -> datetime.timedelta:
        """``refreshTime`` parsed, 1h when unset; :class:`ValueError` when not a duration."""
        return (
            DEFAULT_REFRESH if self.refresh_time is None else parse_go_duration(self.refresh_time)
        )


class ClusterPushSecretNamespaceFailure(BaseModel):
    """A namespace where the PushSecret could not be created or updated."""

    model_config = _MODEL

    namespace: str
    reason: str | None = None


class ClusterPushSecretStatus(BaseModel):
    """Observed state of a ClusterPushSecret."""

    model_config = _MODEL

    push_secret_name: str | None = Field(
        None, description="Name used at the last reconcile (to detect renames)."
    )
    provisioned_namespaces: list[str] = Field(default_factory=list)
    failed_namespaces: list[ClusterPushSecretNamespaceFailure] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)


class ClusterPushSecret(BaseModel):
    """ClusterPushSecret creates the same PushSecret in every selected namespace."""

    model_config = _MODEL

    api_version: str = API_VERSION
    kind: str = CLUSTERPUSHSECRET_KIND
    metadata: ObjectMeta
    spec: ClusterPushSecretSpec
    status: ClusterPushSecretStatus = Field(default_factory=ClusterPushSecretStatus)
