"""UUID, Fake and SSHKey generators, and dispatch by kind (ClusterGenerator included)."""

from __future__ import annotations

import base64
import re
import struct
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_ssh_private_key,
    load_ssh_public_key,
)

from pushsecret.api.generators import (
    ClusterGeneratorSpec,
    FakeSpec,
    GeneratorSpecs,
    PasswordSpec,
    SSHKeySpec,
    UUIDSpec,
)
from pushsecret.generators import (
    GeneratorError,
    generate,
    generate_fake,
    generate_ssh_key,
    generate_uuid,
)
from pushsecret.generators.registry import SUPPORTED_KINDS

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
INVALID_CG = "unable to resolve generator: unable to get generator: invalid ClusterGenerator: "
RSA_INSECURE = (
    "unable to generate: unable to generate SSH key: crypto/rsa: {}-bit keys are insecure "
    "(see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
)

# --- UUID and Fake ---------------------------------------------------------------------------


def test_uuid_is_random_v4_lowercase_and_unique() -> None:
    values = [generate_uuid()["uuid"].decode() for _ in range(1000)]
    for value in values:
        assert len(value) == 36
        assert UUID_RE.match(value), value
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
    assert len(set(values)) == 1000


def test_uuid_ignores_its_spec() -> None:
    for spec in (None, {}, {"anything": 1}, UUIDSpec()):
        out = generate("UUID", spec)
        assert list(out) == ["uuid"]
        assert UUID_RE.match(out["uuid"].decode())


def test_fake_returns_its_data_as_bytes() -> None:
    assert generate_fake(FakeSpec(data={"a": "b", "pw": "päss"})) == {
        "a": b"b",
        "pw": "päss".encode(),
    }
    assert generate_fake(FakeSpec()) == {}
    assert generate("Fake", {"controller": "x", "data": {"k": "v"}}) == {"k": b"v"}
    assert generate("Fake", {"data": None}) == {}


# --- SSHKey ----------------------------------------------------------------------------------


def _private_blob(pem: bytes) -> bytes:
    lines = pem.decode().splitlines()
    assert lines[0] == "-----BEGIN OPENSSH PRIVATE KEY-----"
    assert lines[-1] == "-----END OPENSSH PRIVATE KEY-----"
    assert pem.endswith(b"-----\n")
    body = lines[1:-1]
    assert all(len(line) == 64 for line in body[:-1])  # Go's encoding/pem line length
    assert 0 < len(body[-1]) <= 64
    return base64.b64decode("".join(body))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def uint32(self) -> int:
        (value,) = struct.unpack(">I", self.data[self.pos : self.pos + 4])
        self.pos += 4
        return int(value)

    def string(self) -> bytes:
        n = self.uint32()
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def rest(self) -> bytes:
        return self.data[self.pos :]


def _parse_openssh(pem: bytes) -> tuple[bytes, bytes, bytes]:
    """openssh-key-v1 as Go writes it: returns (key type, public blob, comment)."""
    blob = _private_blob(pem)
    assert blob.startswith(b"openssh-key-v1\x00")
    r = _Reader(blob[15:])
    assert (r.string(), r.string(), r.string(), r.uint32()) == (b"none", b"none", b"", 1)
    public_blob, block = r.string(), r.string()
    assert r.rest() == b""
    assert len(block) % 8 == 0
    p = _Reader(block)
    assert p.uint32() == p.uint32()  # check integers
    key_type = p.string()
    fields = {b"ssh-rsa": 6, b"ssh-ed25519": 2}.get(key_type, 3)  # ecdsa: curve, Q, d
    for _ in range(fields):
        p.string()
    comment = p.string()
    padding = p.rest()
    assert padding == bytes(range(1, len(padding) + 1))
    assert len(padding) < 8
    return key_type, public_blob, comment


SSH_CASES: dict[str, dict[str, Any]] = {
    "rsa-default": {"comment": "me@host"},
    "rsa-4096": {"keyType": "rsa", "keySize": 4096, "comment": "me@host"},
    "rsa-1024-no-comment": {"keyType": "rsa", "keySize": 1024},
    "ecdsa-default": {"keyType": "ecdsa", "comment": "ec key"},
    "ecdsa-384": {"keyType": "ecdsa", "keySize": 384, "comment": "me@host"},
    "ecdsa-521": {"keyType": "ecdsa", "keySize": 521, "comment": "me@host"},
    "ecdsa-300-means-256": {"keyType": "ecdsa", "keySize": 300, "comment": "x"},
    "ed25519": {"keyType": "ed25519", "comment": "me@host"},
    "ed25519-ignores-size": {"keyType": "ed25519", "keySize": 4096},
}


@pytest.fixture(scope="module")
def ssh_keys() -> dict[str, dict[str, bytes]]:
    """Each case generated once (RSA 4096 takes about a second)."""
    return {
        name: generate_ssh_key(SSHKeySpec.model_validate(spec)) for name, spec in SSH_CASES.items()
    }


@pytest.mark.parametrize(
    ("case", "key_type", "check"),
    [
        (
            "rsa-default",
            b"ssh-rsa",
            lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 2048,
        ),
        ("rsa-4096", b"ssh-rsa", lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 4096),
        ("rsa-1024-no-comment", b"ssh-rsa", lambda k: k.key_size == 1024),
        ("ecdsa-default", b"ecdsa-sha2-nistp256", lambda k: k.curve.name == "secp256r1"),
        ("ecdsa-384", b"ecdsa-sha2-nistp384", lambda k: k.curve.name == "secp384r1"),
        ("ecdsa-521", b"ecdsa-sha2-nistp521", lambda k: k.curve.name == "secp521r1"),
        ("ecdsa-300-means-256", b"ecdsa-sha2-nistp256", lambda k: k.curve.name == "secp256r1"),
        ("ed25519", b"ssh-ed25519", lambda k: isinstance(k, ed25519.Ed25519PrivateKey)),
        (
            "ed25519-ignores-size",
            b"ssh-ed25519",
            lambda k: isinstance(k, ed25519.Ed25519PrivateKey),
        ),
    ],
)
def test_ssh_key_pairs_load_and_match(
    ssh_keys: dict[str, dict[str, bytes]], case: str, key_type: bytes, check: Any
) -> None:
    out = ssh_keys[case]
    assert set(out) == {"privateKey", "publicKey"}
    comment = SSH_CASES[case].get("comment", "").encode()

    private = load_ssh_private_key(out["privateKey"], password=None)
    assert check(private)

    line = out["publicKey"]
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    fields = line.rstrip(b"\n").split(b" ", 2)
    assert fields[0] == key_type
    if comment:
        assert fields[2] == comment
    else:
        assert len(fields) == 2
    public = load_ssh_public_key(line)
    expected = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    assert public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH) == expected
    assert b" ".join(fields[:2]) == expected

    parsed_type, public_blob, private_comment = _parse_openssh(out["privateKey"])
    assert parsed_type == key_type
    assert public_blob == base64.b64decode(fields[1])
    assert private_comment == comment  # ssh.MarshalPrivateKey embeds the comment


def test_ssh_keys_are_fresh_each_time(ssh_keys: dict[str, dict[str, bytes]]) -> None:
    again = generate_ssh_key(SSHKeySpec(key_type="ed25519", comment="me@host"))
    assert again["privateKey"] != ssh_keys["ed25519"]["privateKey"]
    assert again["publicKey"] != ssh_keys["ed25519"]["publicKey"]


@pytest.mark.parametrize("bits", [256, 512, 1023])
def test_rsa_below_1024_bits_is_refused_with_gos_text(bits: int) -> None:
    with pytest.raises(GeneratorError) as err:
        generate("SSHKey", {"keyType": "rsa", "keySize": bits})
    assert err.value.message == RSA_INSECURE.format(bits)


def test_unsupported_key_type() -> None:
    expected = "unable to generate SSH key: unsupported key type: dsa"
    with pytest.raises(GeneratorError) as err:
        generate_ssh_key(SSHKeySpec.model_construct(key_type="dsa"))  # type: ignore[arg-type]
    assert err.value.message == expected
    # A raw spec reaches the generator with the type as given, as ESO's Go parsing does.
    with pytest.raises(GeneratorError) as err:
        generate("SSHKey", {"keyType": "dsa"})
    assert err.value.message == f"unable to generate: {expected}"


def test_empty_key_type_means_rsa() -> None:
    out = generate("SSHKey", {"keyType": "", "keySize": 1024})
    assert out["publicKey"].startswith(b"ssh-rsa ")


# --- Registry --------------------------------------------------------------------------------


def test_supported_kinds() -> None:
    assert set(SUPPORTED_KINDS) == {"Password", "UUID", "Fake", "SSHKey", "ClusterGenerator"}


def test_dispatch_by_kind_with_models_and_dicts() -> None:
    assert len(generate("Password", PasswordSpec(length=10))["password"]) == 10
    assert len(generate("Password", {"length": 10, "secretKeys": ["a", "b"]})["b"]) == 10
    assert generate("Fake", FakeSpec(data={"x": "y"})) == {"x": b"y"}
    out = generate("SSHKey", SSHKeySpec(key_type="ed25519"))
    assert out["publicKey"].startswith(b"ssh-ed25519 ")


@pytest.mark.parametrize("kind", ["Password", "Fake", "SSHKey"])
def test_nil_spec_is_esos_no_config_spec(kind: str) -> None:
    with pytest.raises(GeneratorError) as err:
        generate(kind, None)
    assert err.value.message == "unable to generate: no config spec provided"


def test_null_fields_are_unset_like_go_zero_values() -> None:
    out = generate("Password", {"length": None, "digits": None, "encoding": None})
    assert len(out["password"]) == 24


def test_parse_errors_do_not_echo_values() -> None:
    with pytest.raises(GeneratorError) as err:
        generate("Fake", {"data": {"k": ["s3cr3t-canary"]}})
    assert err.value.message.startswith("unable to generate: unable to parse spec: data.k: ")
    assert "s3cr3t-canary" not in err.value.message
    with pytest.raises(GeneratorError) as err:
        generate("Password", {"length": "s3cr3t-canary"})
    assert "s3cr3t-canary" not in err.value.message


def test_wrong_model_class_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        generate("Password", FakeSpec())
    with pytest.raises(TypeError):
        generate("ClusterGenerator", PasswordSpec())


@pytest.mark.parametrize("kind", ["Foo", "ECRAuthorizationToken", "VaultDynamicSecret", ""])
def test_unknown_kinds_are_not_supported(kind: str) -> None:
    with pytest.raises(GeneratorError) as err:
        generate(kind, {})
    assert err.value.message == f"generator kind {kind} is not supported"
    assert err.value.terminal


def test_cluster_generator_dispatches_to_the_wrapped_kind() -> None:
    spec = ClusterGeneratorSpec(
        kind="Password", generator=GeneratorSpecs(password_spec=PasswordSpec(length=12))
    )
    assert len(generate("ClusterGenerator", spec)["password"]) == 12
    raw: dict[str, Any] = {"kind": "Password", "generator": {"passwordSpec": {"length": 9}}}
    assert len(generate("ClusterGenerator", raw)["password"]) == 9
    raw = {"kind": "UUID", "generator": {"uuidSpec": {}}}
    assert UUID_RE.match(generate("ClusterGenerator", raw)["uuid"].decode())
    raw = {"kind": "Fake", "generator": {"fakeSpec": {"data": {"a": "1"}}}}
    assert generate("ClusterGenerator", raw) == {"a": b"1"}
    raw = {"kind": "SSHKey", "generator": {"sshKeySpec": {"keyType": "ed25519", "comment": "c"}}}
    assert generate("ClusterGenerator", raw)["publicKey"].endswith(b" c\n")


@pytest.mark.parametrize(
    ("kind", "generator"),
    [
        ("Password", {}),
        ("UUID", {"passwordSpec": {}}),
        ("Fake", {}),
        ("SSHKey", {"fakeSpec": {}}),
        ("ECRAuthorizationToken", {}),
    ],
)
def test_cluster_generator_without_the_spec_for_its_kind(
    kind: str, generator: dict[str, Any]
) -> None:
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", {"kind": kind, "generator": generator})
    assert err.value.message == f"{INVALID_CG}when kind is {kind}, {kind}Spec must be set"
    assert err.value.terminal
    model = ClusterGeneratorSpec.model_validate({"kind": kind, "generator": generator})
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", model)
    assert err.value.message == f"{INVALID_CG}when kind is {kind}, {kind}Spec must be set"


def test_cluster_generator_edge_cases() -> None:
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", {"kind": "Nope", "generator": {"nopeSpec": {}}})
    assert err.value.message == f"{INVALID_CG}unknown kind Nope"
    assert err.value.terminal
    # A kind ESO knows but we do not implement.
    raw: dict[str, Any] = {
        "kind": "ECRAuthorizationToken",
        "generator": {"ecrAuthorizationTokenSpec": {"region": "eu-west-1"}},
    }
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", raw)
    assert err.value.message == "generator kind ECRAuthorizationToken is not supported"
    # The wrapped spec is read leniently too, and generator errors keep their wrapping.
    raw = {"kind": "SSHKey", "generator": {"sshKeySpec": {"keyType": "dsa"}}}
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", raw)
    assert (
        err.value.message
        == "unable to generate: unable to generate SSH key: unsupported key type: dsa"
    )
    assert not err.value.terminal
    raw = {"kind": "Password", "generator": {"passwordSpec": {"secretKeys": ["a", "a"]}}}
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", raw)
    assert err.value.message == "unable to generate: secretKeys must be non-empty and unique"
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", {"generator": {}})
    assert err.value.message.startswith(f"{INVALID_CG}unable to parse spec: kind: ")
    with pytest.raises(GeneratorError) as err:
        generate("ClusterGenerator", None)
    assert err.value.message == f"{INVALID_CG}no config spec provided"
