"""SecretStore and ClusterSecretStore (``external-secrets.io/v1``, also served as v1beta1).

Only the providers this project pushes to are modelled (``gcpsm``, ``azurekv``); any other
provider block (``aws``, ``vault``, ...) is kept verbatim as a dict in ``model_extra`` so
that stores written for other ESO providers still parse.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from pushsecret.api.common import (
    DNSLabel,
    LabelSelector,
    ObjectMeta,
    SecretKeySelector,
    ServiceAccountSelector,
    crd_default,
)
from pushsecret.api.duration import go_quote, parse_go_duration

__all__ = [
    "CLUSTERSECRETSTORE_KIND",
    "CLUSTERSECRETSTORE_PLURAL",
    "SECRETSTORE_KIND",
    "SECRETSTORE_PLURAL",
    "SECRETSTORE_VERSIONS",
    "AzureKVAuth",
    "AzureKVProvider",
    "ClusterSecretStore",
    "ClusterSecretStoreCondition",
    "GCPSMAuth",
    "GCPSMAuthSecretRef",
    "GCPSMProvider",
    "GCPWorkloadIdentity",
    "SecretStore",
    "SecretStoreProvider",
    "SecretStoreSpec",
]

SECRETSTORE_KIND = "SecretStore"
CLUSTERSECRETSTORE_KIND = "ClusterSecretStore"
SECRETSTORE_PLURAL = "secretstores"
CLUSTERSECRETSTORE_PLURAL = "clustersecretstores"
SECRETSTORE_VERSIONS = ("v1", "v1beta1")
"""Versions our store CRDs serve; v1 is the storage version (first)."""

_MODEL = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

_CUSTOM_CLOUD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "activeDirectoryEndpoint": {"type": "string"},
        "keyVaultDNSSuffix": {"type": "string"},
        "keyVaultEndpoint": {"type": "string"},
        "resourceManagerEndpoint": {"type": "string"},
    },
    "required": ["activeDirectoryEndpoint"],
}
_RETRY_SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "maxRetries": {"type": "integer", "format": "int32"},
        "retryInterval": {"type": "string"},
    },
}


class GCPSMAuthSecretRef(BaseModel):
    """Static service-account credentials for GCP."""

    model_config = _MODEL

    secret_access_key_secret_ref: SecretKeySelector | None = Field(
        None, description="The Secret key holding a service-account JSON key."
    )


class GCPWorkloadIdentity(BaseModel):
    """GKE Workload Identity: a KSA token exchanged for GCP credentials."""

    model_config = _MODEL

    service_account_ref: ServiceAccountSelector
    cluster_location: str | None = Field(None, description="Defaults from the metadata server.")
    cluster_name: str | None = Field(None, description="Defaults from the metadata server.")
    cluster_project_id: str | None = Field(
        None, alias="clusterProjectID", description="Defaults from the metadata server."
    )


class GCPSMAuth(BaseModel):
    """How to authenticate; none set means Application Default Credentials."""

    model_config = _MODEL

    secret_ref: GCPSMAuthSecretRef | None = None
    workload_identity: GCPWorkloadIdentity | None = None
    workload_identity_federation: dict[str, Any] | None = Field(
        None,
        description="credConfig, serviceAccountRef, awsSecurityCredentials, audience, "
        "externalTokenEndpoint, gcpServiceAccountEmail (kept as raw JSON).",
    )


class GCPSMProvider(BaseModel):
    """Google Cloud Secret Manager."""

    model_config = _MODEL

    project_id: str | None = Field(
        None,
        alias="projectID",
        description="Project owning the secrets; required with auth.secretRef, else "
        "defaults to workloadIdentity.clusterProjectID or the metadata server.",
    )
    location: str | None = Field(
        None, description="Set: regional secrets and the regional endpoint for this location."
    )
    auth: GCPSMAuth | None = None
    secret_version_selection_policy: str | None = Field(
        None,
        description="Read path only: LatestOrFail (default) or LatestOrFetch.",
        json_schema_extra=crd_default("LatestOrFail"),
    )


class AzureKVAuth(BaseModel):
    """Secret references for ServicePrincipal (clientId + one of clientSecret /
    clientCertificate) or WorkloadIdentity (clientId / tenantId) authentication."""

    model_config = _MODEL

    client_id: SecretKeySelector | None = None
    client_secret: SecretKeySelector | None = None
    client_certificate: SecretKeySelector | None = Field(
        None, description="PEM certificate and key of the service principal."
    )
    tenant_id: SecretKeySelector | None = None


class AzureKVProvider(BaseModel):
    """Azure Key Vault."""

    model_config = _MODEL

    vault_url: str = Field(description="e.g. https://<name>.vault.azure.net")
    tenant_id: str | None = Field(
        None, description="Required for ServicePrincipal, optional for WorkloadIdentity."
    )
    auth_type: Literal["ServicePrincipal", "ManagedIdentity", "WorkloadIdentity"] = Field(
        "ServicePrincipal",
        description="How to authenticate to Key Vault.",
        json_schema_extra=crd_default("ServicePrincipal"),
    )
    auth_secret_ref: AzureKVAuth | None = None
    service_account_ref: ServiceAccountSelector | None = Field(
        None, description="WorkloadIdentity: the ServiceAccount whose token is exchanged."
    )
    identity_id: str | None = Field(
        None, description="ManagedIdentity: client ID of a user-assigned identity."
    )
    environment_type: str = Field(
        "PublicCloud",
        description="Azure cloud: PublicCloud, USGovernmentCloud, ChinaCloud, GermanCloud "
        "or AzureStackCloud (needs customCloudConfig).",
        json_schema_extra={
            "x-crd-default": "PublicCloud",
            "enum": [
                "PublicCloud",
                "USGovernmentCloud",
                "ChinaCloud",
                "GermanCloud",
                "AzureStackCloud",
            ],
        },
    )
    use_azure_sdk: bool = Field(
        False,
        alias="useAzureSDK",
        description="Use the azcore SDK path (the one the Python SDK corresponds to).",
        json_schema_extra=crd_default(False),
    )
    custom_cloud_config: dict[str, Any] | None = Field(
        None,
        description="activeDirectoryEndpoint (required), keyVaultEndpoint, keyVaultDNSSuffix, "
        "resourceManagerEndpoint; needs useAzureSDK.",
        json_schema_extra={"x-crd-schema": _CUSTOM_CLOUD_SCHEMA},
    )


class SecretStoreProvider(BaseModel):
    """Exactly one provider block. Unmodelled providers are kept as raw dicts."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="allow",
        json_schema_extra={"minProperties": 1, "maxProperties": 1},
    )

    gcpsm: GCPSMProvider | None = None
    azurekv: AzureKVProvider | None = None

    def provider_names(self) -> list[str]:
        """Every provider key that is set (modelled ones first)."""
        names = [n for n in ("gcpsm", "azurekv") if getattr(self, n) is not None]
        names += [k for k, v in (self.model_extra or {}).items() if v is not None]
        return names

    def provider_type(self) -> str | None:
        """The single provider key set (``"gcpsm"``, ``"aws"``...); None unless exactly one."""
        names = self.provider_names()
        return names[0] if len(names) == 1 else None


class ClusterSecretStoreCondition(BaseModel):
    """Namespaces allowed to use a ClusterSecretStore; any one criterion suffices."""

    model_config = _MODEL

    namespace_selector: LabelSelector | None = Field(
        None, description="Choose namespaces using a label selector."
    )
    namespaces: list[DNSLabel] = Field(
        default_factory=list, description="Choose namespaces by name."
    )
    namespace_regexes: list[str] = Field(
        default_factory=list, description="Choose namespaces by (unanchored) regex search."
    )

    def matches(self, namespace: str, labels: dict[str, str]) -> bool:
        """Whether ``namespace`` (with its ``labels``) satisfies this condition.

        ESO matches names through the ``kubernetes.io/metadata.name`` label the API server
        sets; when ``labels`` lacks it, the name itself is used.
        """
        if self.namespace_selector is not None and self.namespace_selector.matches(labels):
            return True
        name = labels.get(_NAMESPACE_NAME_LABEL, namespace)
        if name in self.namespaces:
            return True
        return any(re.search(rx, namespace) for rx in self.namespace_regexes)


class SecretStoreSpec(BaseModel):
    """Provider configuration plus store-level settings."""

    model_config = _MODEL

    controller: str | None = Field(
        None,
        description="Controller class; a store with a different non-empty class is ignored.",
    )
    provider: SecretStoreProvider = Field(description="Exactly one provider may be set.")
    retry_settings: dict[str, Any] | None = Field(
        None,
        description="HTTP retries: maxRetries (int32), retryInterval (Go duration).",
        json_schema_extra={"x-crd-schema": _RETRY_SETTINGS_SCHEMA},
    )
    refresh_interval: int | str | None = Field(
        None,
        description="Store re-validation period: integer seconds (legacy) or a Go duration; "
        "empty or 0 means the controller default.",
        json_schema_extra={"x-crd-schema": {"x-kubernetes-int-or-string": True}},
    )
    conditions: list[ClusterSecretStoreCondition] = Field(
        default_factory=list,
        description="ClusterSecretStore only: namespaces allowed to use it (ORed); "
        "empty allows all.",
    )

    def refresh_interval_duration(self) -> datetime.timedelta | None:
        """``refreshInterval`` as a duration (None when unset), with ESO's error texts."""
        value = self.refresh_interval
        if value is None:
            return None
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"invalid refreshInterval {value}: must not be negative")
            return datetime.timedelta(seconds=value)
        try:
            return parse_go_duration(value)
        except ValueError as err:
            if str(err).startswith("negative"):
                raise ValueError(
                    f"invalid refreshInterval {go_quote(value)}: must not be negative"
                ) from None
            raise ValueError(f"invalid refreshInterval {go_quote(value)}: {err}") from None

    def allows_namespace(self, namespace: str, labels: dict[str, str]) -> bool:
        """Whether a ClusterSecretStore with these conditions may be used from ``namespace``."""
        return not self.conditions or any(c.matches(namespace, labels) for c in self.conditions)


class _Store(BaseModel):
    model_config = _MODEL

    api_version: str = "external-secrets.io/v1"
    metadata: ObjectMeta
    spec: SecretStoreSpec
    status: dict[str, Any] | None = Field(
        None, description="conditions (Ready) and capabilities, as written by ESO."
    )


class SecretStore(_Store):
    """SecretStore is a namespaced location for secrets, referenced by name."""

    kind: str = SECRETSTORE_KIND


class ClusterSecretStore(_Store):
    """ClusterSecretStore is a cluster-wide location for secrets, usable from namespaces
    allowed by spec.conditions."""

    kind: str = CLUSTERSECRETSTORE_KIND
