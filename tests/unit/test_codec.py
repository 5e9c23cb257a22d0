"""The AES-256-GCM payload codec: round trip, key rotation, tampering, key documents."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from emulators.kubernetes import KubernetesEmulatorServer
from pushsecret.codec import (
    AesGcmCodec,
    CodecKeyError,
    load_codec,
    new_key_document,
    parse_keys,
)
from pushsecret.kube import Kube, load_api_client

SECRET = b'{"password": "codec-canary-31337"}'


def _payload(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _doc(active: str, **keys: bytes) -> str:
    return json.dumps(
        {"active": active, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}}
    )


async def test_round_trip_hides_the_plaintext() -> None:
    codec = parse_keys(new_key_document("k1"))
    [enc] = await codec.encode([_payload()])
    assert enc.metadata["encoding"] == b"binary/encrypted"
    assert enc.metadata["encryption-key-id"] == b"k1"
    assert b"codec-canary" not in enc.data and b"json/plain" not in enc.data
    [dec] = await codec.decode([enc])
    assert dec == _payload()
    # The same plaintext encrypts differently every time (random nonce).
    [again] = await codec.encode([_payload()])
    assert again.data != enc.data


async def test_rotation_old_key_still_decrypts_new_payloads_use_the_active_key() -> None:
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    old = parse_keys(_doc("k1", k1=k1))
    [under_k1] = await old.encode([_payload()])
    rotated = parse_keys(_doc("k2", k1=k1, k2=k2))
    [under_k2] = await rotated.encode([_payload()])
    assert under_k2.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([under_k1, under_k2]) == [_payload(), _payload()]
    dropped = parse_keys(_doc("k2", k2=k2))
    with pytest.raises(CodecKeyError, match="unknown codec key id 'k1'"):
        await dropped.decode([under_k1])


async def test_tampering_and_key_id_swaps_are_detected() -> None:
    codec = AesGcmCodec({"a": b"\x03" * 32, "b": b"\x03" * 32}, "a")
    [enc] = await codec.encode([_payload()])
    flipped = Payload(metadata=dict(enc.metadata), data=enc.data[:-1] + bytes([enc.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        await codec.decode([flipped])
    # Same key bytes under another id: the id is authenticated, so this fails too.
    relabelled = Payload(metadata={**enc.metadata, "encryption-key-id": b"b"}, data=enc.data)
    with pytest.raises(InvalidTag):
        await codec.decode([relabelled])


async def test_unencrypted_payloads_pass_through_on_decode() -> None:
    codec = parse_keys(new_key_document())
    assert await codec.decode([_payload()]) == [_payload()]


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        json.dumps({"keys": {"k": base64.b64encode(b"x" * 32).decode()}}),
        json.dumps({"active": "k", "keys": {"k": "!!notbase64"}}),
        _doc("k", k=b"short"),
        _doc("missing", k=b"x" * 32),
    ],
)
def test_bad_key_documents_are_refused(doc: str) -> None:
    with pytest.raises(CodecKeyError):
        parse_keys(doc)


def test_keys_from_a_kubernetes_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PUSHSECRET_CODEC_KEYS_SECRET=namespace/name reads codec-keys.json from that Secret."""
    doc = new_key_document("from-secret")
    with KubernetesEmulatorServer() as server:
        kube = Kube(load_api_client(str(server.write_kubeconfig(tmp_path / "kc"))))
        kube.core.create_namespaced_secret(
            "default", {"metadata": {"name": "codec"}, "stringData": {"codec-keys.json": doc}}
        )
        for var in ("PUSHSECRET_CODEC_KEYS_FILE", "PUSHSECRET_CODEC_KEYS"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("PUSHSECRET_CODEC_KEYS_SECRET", "default/codec")
        codec = load_codec(kube)
        assert codec is not None and codec.active == "from-secret"
        monkeypatch.setenv("PUSHSECRET_CODEC_KEYS_SECRET", "default/missing")
        with pytest.raises(CodecKeyError):
            load_codec(kube)
