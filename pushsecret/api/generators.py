"""Generator CRDs (``generators.external-secrets.io/v1alpha1``): Password, UUID, Fake, SSHKey
and the cluster-scoped ClusterGenerator wrapping any of them.

Only the models live here; the generation logic is elsewhere. Kinds we do not model
(ECRAuthorizationToken, VaultDynamicSecret, ...) are kept as raw dicts inside
:class:`GeneratorSpecs`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from pushsecret.api.common import ObjectMeta, crd_default

__all__ = [
    "CLUSTERGENERATOR_KINDS",
    "DEFAULT_SYMBOL_CHARACTERS",
    "GENERATORS_API_VERSION",
    "GENERATORS_GROUP",
    "GENERATORS_VERSION",
    "GENERATOR_KINDS",
    "GENERATOR_PLURALS",
    "GENERATOR_SPEC_KEYS",
    "UUID",
    "ClusterGenerator",
    "ClusterGeneratorSpec",
    "Fake",
    "FakeSpec",
    "GeneratorSpecs",
    "Password",
    "PasswordSpec",
    "SSHKey",
    "SSHKeySpec",
    "UUIDSpec",
]

GENERATORS_GROUP = "generators.external-secrets.io"
GENERATORS_VERSION = "v1alpha1"
GENERATORS_API_VERSION = f"{GENERATORS_GROUP}/{GENERATORS_VERSION}"

CLUSTERGENERATOR_KINDS: tuple[str, ...] = (
    "ACRAccessToken",
    "BeyondtrustWorkloadCredentialsDynamicSecret",
    "CloudsmithAccessToken",
    "ECRAuthorizationToken",
    "Fake",
    "GCRAccessToken",
    "GithubAccessToken",
    "GitlabDeployToken",
    "QuayAccessToken",
    "Password",
    "SSHKey",
    "STSSessionToken",
    "UUID",
    "VaultDynamicSecret",
    "Webhook",
    "Grafana",
    "MFA",
)
"""Kinds a ClusterGenerator may wrap (``spec.kind`` enum, in ESO's order)."""

GENERATOR_KINDS: tuple[str, ...] = (
    *CLUSTERGENERATOR_KINDS[:2],
    "ClusterGenerator",
    *CLUSTERGENERATOR_KINDS[2:],
)
"""Kinds a PushSecret ``selector.generatorRef.kind`` may name (ESO's enum, in ESO's order)."""

GENERATOR_SPEC_KEYS: dict[str, str] = {
    "ACRAccessToken": "acrAccessTokenSpec",
    "BeyondtrustWorkloadCredentialsDynamicSecret": (
        "beyondtrustWorkloadCredentialsDynamicSecretSpec"
    ),
    "CloudsmithAccessToken": "cloudsmithAccessTokenSpec",
    "ECRAuthorizationToken": "ecrAuthorizationTokenSpec",
    "Fake": "fakeSpec",
    "GCRAccessToken": "gcrAccessTokenSpec",
    "GithubAccessToken": "githubAccessTokenSpec",
    "GitlabDeployToken": "gitlabDeployTokenSpec",
    "QuayAccessToken": "quayAccessTokenSpec",
    "Password": "passwordSpec",
    "SSHKey": "sshKeySpec",
    "STSSessionToken": "stsSessionTokenSpec",
    "UUID": "uuidSpec",
    "VaultDynamicSecret": "vaultDynamicSecretSpec",
    "Webhook": "webhookSpec",
    "Grafana": "grafanaSpec",
    "MFA": "mfaSpec",
}
"""ClusterGenerator ``spec.kind`` → the key under ``spec.generator`` holding its spec."""

GENERATOR_PLURALS: dict[str, str] = {
    "Password": "passwords",
    "UUID": "uuids",
    "Fake": "fakes",
    "SSHKey": "sshkeys",
    "ClusterGenerator": "clustergenerators",
}
"""Resource plurals of the generator kinds we model."""

DEFAULT_SYMBOL_CHARACTERS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
"""ESO's symbol set when ``symbolCharacters`` is unset (30 ASCII characters)."""

_MODEL = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")


class PasswordSpec(BaseModel):
    """Parameters of the Password generator (sethvargo/go-password semantics)."""

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="ignore",
        json_schema_extra={"required": ["allowRepeat", "length", "noUpper"]},
    )

    length: int = Field(
        24,
        description="Length of the password; values <= 0 mean 24.",
        json_schema_extra=crd_default(24),
    )
    digits: int | None = Field(
        None, description="Number of digits; unset means 25% of the length (rounded down)."
    )
    symbols: int | None = Field(
        None, description="Number of symbols; unset means 25% of the length (rounded down)."
    )
    symbol_characters: str | None = Field(
        None,
        description="Symbols to draw from; unset means ESO's default set of 30 ASCII symbols.",
    )
    no_upper: bool = Field(
        False, description="Exclude upper-case letters.", json_schema_extra=crd_default(False)
    )
    allow_repeat: bool = Field(
        False, description="Allow repeated characters.", json_schema_extra=crd_default(False)
    )
    secret_keys: list[str] | None = Field(
        None,
        min_length=1,
        description="Output keys, one independent password each; unset means [password]. "
        "Entries must be non-empty and unique.",
    )
    encoding: Literal["base64", "base64url", "base32", "hex", "raw"] = Field(
        "raw",
        description="Encoding of the generated password: raw (none), base64, base64url "
        "(both padded), base32 or hex (lower case).",
        json_schema_extra=crd_default("raw"),
    )


class UUIDSpec(BaseModel):
    """The UUID generator takes no parameters; it outputs ``uuid`` (random, version 4)."""

    model_config = _MODEL


class FakeSpec(BaseModel):
    """The Fake generator returns ``data`` verbatim (for tests)."""

    model_config = _MODEL

    controller: str | None = Field(None, description="Controller class; unused by PushSecret.")
    data: dict[str, str] = Field(
        default_factory=dict, description="The key/value pairs returned by this generator."
    )


class SSHKeySpec(BaseModel):
    """The SSHKey generator outputs ``privateKey`` and ``publicKey``."""

    model_config = _MODEL

    key_type: Literal["rsa", "ecdsa", "ed25519"] = Field(
        "rsa", description="Type of the key.", json_schema_extra=crd_default("rsa")
    )
    key_size: int | None = Field(
        None,
        ge=256,
        le=8192,
        description="Key size in bits: rsa defaults to 2048; ecdsa takes 256, 384 or 521; "
        "ignored for ed25519.",
    )
    comment: str | None = Field(None, description="Comment appended to the public key.")


class _Generator(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    api_version: str = GENERATORS_API_VERSION
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)


class Password(_Generator):
    """Password generates a random password from the parameters in spec."""

    kind: str = "Password"
    spec: PasswordSpec = Field(default_factory=PasswordSpec)


class UUID(_Generator):
    """UUID generates a random version-4 UUID."""

    kind: str = "UUID"
    spec: UUIDSpec = Field(default_factory=UUIDSpec)


class Fake(_Generator):
    """Fake returns a static set of values; used for testing."""

    kind: str = "Fake"
    spec: FakeSpec = Field(default_factory=FakeSpec)


class SSHKey(_Generator):
    """SSHKey generates an SSH key pair."""

    kind: str = "SSHKey"
    spec: SSHKeySpec = Field(default_factory=SSHKeySpec)


class GeneratorSpecs(BaseModel):
    """The wrapped generator spec; exactly one key, matching ``spec.kind``.

    Kinds we do not model stay available as raw dicts in ``model_extra``.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        alias_generator=to_camel,
        extra="allow",
        json_schema_extra={"minProperties": 1, "maxProperties": 1},
    )

    password_spec: PasswordSpec | None = None
    uuid_spec: UUIDSpec | None = None
    fake_spec: FakeSpec | None = None
    ssh_key_spec: SSHKeySpec | None = None


class ClusterGeneratorSpec(BaseModel):
    """A cluster-wide generator: ``kind`` plus that kind's spec under ``generator``."""

    model_config = _MODEL

    kind: str = Field(
        description="The kind of the wrapped generator.",
        json_schema_extra={"enum": list(CLUSTERGENERATOR_KINDS)},
    )
    generator: GeneratorSpecs = Field(description="The spec of the generator; must match kind.")

    def selected_spec(self) -> BaseModel | dict[str, Any] | None:
        """The spec under ``generator`` for ``kind`` (None when missing: ESO then fails with
        ``when kind is <K>, <K>Spec must be set``)."""
        key = GENERATOR_SPEC_KEYS.get(self.kind)
        if key is None:
            return None
        for name, field in GeneratorSpecs.model_fields.items():
            if field.alias == key:
                value: BaseModel | None = getattr(self.generator, name)
                return value
        extra = (self.generator.model_extra or {}).get(key)
        return extra if isinstance(extra, dict) else None


class ClusterGenerator(_Generator):
    """ClusterGenerator is a cluster-scoped generator, referenced with kind ClusterGenerator."""

    kind: str = "ClusterGenerator"
    spec: ClusterGeneratorSpec
