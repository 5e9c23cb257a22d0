"""Kubernetes building blocks shared by every CRD model: metadata, selectors, conditions.

Conventions for every model in :mod:`pushsecret.api`: snake_case attributes with the CRD's
camelCase JSON names as aliases; parse with ``Model.model_validate(obj)``; serialise with
``model_dump(by_alias=True, exclude_none=True, mode="json")``.

Schema hints for :mod:`pushsecret.api.crdgen` travel in ``json_schema_extra``:
``x-crd-default`` is the default the CRD declares (the API server applies it; pydantic
defaults are *not* copied into the CRD), ``x-crd-schema`` replaces the generated schema of
a field verbatim. Everything else (``x-kubernetes-*``, ``minProperties``, ``enum``...) is
copied as is. This module only defines classes and constants (it runs inside Temporal's
workflow sandbox).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "DNS_LABEL_PATTERN",
    "DNS_SUBDOMAIN_PATTERN",
    "SECRET_KEY_PATTERN",
    "Condition",
    "DNSLabel",
    "DNSSubdomain",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ObjectMeta",
    "SecretKeyName",
    "SecretKeySelector",
    "ServiceAccountSelector",
    "crd_default",
]

DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""RFC 1123 subdomain, the pattern ESO puts on resource names (with length 1..253)."""
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""RFC 1123 label, the pattern ESO puts on namespace names (with length 1..63)."""
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
"""A valid key of a Secret / ConfigMap (with length 1..253)."""

DNSSubdomain = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
DNSLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
SecretKeyName = Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]


def crd_default(value: Any) -> dict[str, Any]:
    """``json_schema_extra`` declaring the default the generated CRD applies."""
    return {"x-crd-default": value}


class ObjectMeta(BaseModel):
    """The parts of Kubernetes ``metadata`` the controller reads; other fields are ignored."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    name: str = ""
    namespace: str | None = Field(None, description="Unset for cluster-scoped objects.")
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = Field(None, description="Bumped by the API server on spec changes.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)
    deletion_timestamp: str | None = Field(
        None, description="RFC 3339; set once the object is being deleted (finalizers pending)."
    )
    creation_timestamp: str | None = None


class LabelSelectorRequirement(BaseModel):
    """One ``matchExpressions`` entry: ``key`` related to ``values`` by ``operator``."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    key: str = Field(description="The label key that the selector applies to.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In and NotIn need a non-empty values list, Exists and DoesNotExist none.",
        json_schema_extra={"x-crd-schema": {"type": "string"}},
    )
    values: list[str] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement (In with no values matches nothing)."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present

    def to_selector_string(self) -> str:
        """This requirement in ``labelSelector=`` syntax (values sorted, as Kubernetes does)."""
        if self.operator in ("In", "NotIn"):
            if not self.values:
                raise ValueError(
                    f"values: Invalid value: []: for 'in', 'notin' operators, "
                    f"values set can't be empty (key {self.key!r})"
                )
            op = " in " if self.operator == "In" else " notin "
            return f"{self.key}{op}({','.join(sorted(set(self.values)))})"
        if self.values:
            raise ValueError(
                f"values: Invalid value: {self.values!r}: values set must be empty for "
                f"exists and does not exist (key {self.key!r})"
            )
        return self.key if self.operator == "Exists" else f"!{self.key}"


class LabelSelector(BaseModel):
    """A Kubernetes label selector. Requirements are ANDed; an empty selector matches all."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra={"x-kubernetes-map-type": "atomic"},
    )

    match_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Each key=value pair is equivalent to an In requirement with one value.",
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list,
        description="A list of label selector requirements. The requirements are ANDed.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an object with ``labels`` is selected (``{}`` selects everything)."""
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(req.matches(labels) for req in self.match_expressions)

    def to_selector_string(self) -> str:
        """The ``labelSelector=`` query form, e.g. ``a=b,c in (x,y),!d``.

        Like ``metav1.LabelSelectorAsSelector(...).String()``: requirements sorted by key
        (stable), ``matchLabels`` rendered as ``k=v``. Raises :class:`ValueError` for a
        requirement Kubernetes would reject (``In`` without values, ``Exists`` with values).
        """
        parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in self.match_labels.items()]
        parts += [(req.key, req.to_selector_string()) for req in self.match_expressions]
        parts.sort(key=lambda kv: kv[0])
        return ",".join(text for _, text in parts)


class Condition(BaseModel):
    """A status condition (``Ready`` is the only type ESO sets on PushSecrets)."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    type: str
    status: Literal["True", "False", "Unknown"] = Field(
        json_schema_extra={"x-crd-schema": {"type": "string"}}
    )
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = Field(
        None,
        description="RFC 3339, second precision; kept when only reason/message change.",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = None


class SecretKeySelector(BaseModel):
    """A reference to one key of a Secret.

    ``namespace`` is honoured only for cluster-scoped referents (ClusterSecretStore);
    namespaced ones always read from their own namespace. ESO's CRD does not require
    ``name`` (a reference without one fails when used); we require it on parsing.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra={"required": []},
    )

    name: DNSSubdomain = Field(description="The name of the Secret resource being referred to.")
    key: SecretKeyName | None = Field(None, description="A key in the referenced Secret.")
    namespace: DNSLabel | None = Field(
        None,
        description="The namespace of the Secret; defaults to the namespace of the referent.",
    )


class ServiceAccountSelector(BaseModel):
    """A reference to a ServiceAccount whose token is minted for workload identity."""

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    name: DNSSubdomain = Field(description="The name of the ServiceAccount resource.")
    namespace: DNSLabel | None = Field(
        None, description="Defaults to the namespace of the referent; cluster-scoped only."
    )
    audiences: list[str] = Field(
        default_factory=list,
        description="Extra `aud` claims appended to the provider's well-known audience.",
    )
