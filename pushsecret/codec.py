"""The Temporal data converter every worker and client of pushsecret uses, and its codec.

Pydantic models on the wire; every payload encrypted with AES-256-GCM under a named key
(:class:`AesGcmCodec`), so a generated value that must travel through history to reach every
store is never stored in plaintext; and failures whose message and stack trace are encoded as
payloads, so they are encrypted too (Temporal otherwise stores them in plaintext).

Keys are a JSON document ``{"active": "<id>", "keys": {"<id>": "<base64 of 32 bytes>", ...}}``
read from ``PUSHSECRET_CODEC_KEYS_FILE`` (a mounted Kubernetes Secret), ``PUSHSECRET_CODEC_KEYS``
(the document itself), or the Kubernetes Secret named by ``PUSHSECRET_CODEC_KEYS_SECRET``
(``namespace/name``, key ``codec-keys.json``). New payloads use the active key; every listed
key still decrypts, so keys rotate by adding a new one, making it active, and dropping the old
one once no open history needs it. A payload under an unknown key id fails loudly.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

log = logging.getLogger(__name__)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
ENV_KEYS_FILE = "PUSHSECRET_CODEC_KEYS_FILE"
ENV_KEYS = "PUSHSECRET_CODEC_KEYS"
ENV_KEYS_SECRET = "PUSHSECRET_CODEC_KEYS_SECRET"
SECRET_KEY_NAME = "codec-keys.json"
_NONCE = 12


class CodecKeyError(Exception):
    """The codec keys are missing, malformed, or do not include a payload's key id."""


class AesGcmCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads, tagged with the key id.

    The key id is also the GCM associated data, so a payload cannot be replayed under another
    key's name. Payloads that are not ``binary/encrypted`` pass through on decode (histories
    written before the codec was enabled stay readable).
    """

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise CodecKeyError(f"active codec key {active!r} is not among the keys")
        for kid, key in keys.items():
            if len(key) != 32:
                raise CodecKeyError(f"codec key {kid!r} must be 32 bytes (AES-256)")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active = active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        aead = self._keys[self.active]
        out = []
        for p in payloads:
            nonce = secrets.token_bytes(_NONCE)
            data = nonce + aead.encrypt(nonce, p.SerializeToString(), self.active.encode())
            out.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID: self.active.encode()}, data=data)
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            kid = p.metadata.get(KEY_ID, b"").decode()
            aead = self._keys.get(kid)
            if aead is None:
                raise CodecKeyError(f"payload encrypted with unknown codec key id {kid!r}")
            plain = aead.decrypt(p.data[:_NONCE], p.data[_NONCE:], kid.encode())
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def parse_keys(document: str | bytes) -> AesGcmCodec:
    """An :class:`AesGcmCodec` from the JSON key document (see the module docstring)."""
    try:
        doc = json.loads(document)
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
        active = str(doc["active"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CodecKeyError(
            'codec keys must be JSON {"active": id, "keys": {id: base64}}'
        ) from None
    return AesGcmCodec(keys, active)


def new_key_document(key_id: str = "k1") -> str:
    """A fresh key document with one random key (for ``pushsecret local up`` and operators)."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return json.dumps({"active": key_id, "keys": {key_id: key}})


def load_codec(kube: Any | None = None) -> AesGcmCodec | None:
    """The codec configured in the environment, or None (with a warning) when none is.

    ``kube`` (a :class:`pushsecret.kube.Kube`) is needed only for PUSHSECRET_CODEC_KEYS_SECRET.
    """
    path = os.environ.get(ENV_KEYS_FILE)
    if path:
        with open(path, "rb") as f:
            return parse_keys(f.read())
    inline = os.environ.get(ENV_KEYS)
    if inline:
        return parse_keys(inline)
    ref = os.environ.get(ENV_KEYS_SECRET)
    if ref:
        if kube is None:
            from pushsecret.kube import Kube, load_api_client

            kube = Kube(load_api_client())
        ns, _, name = ref.partition("/")
        raw = kube.read_secret_key(ns, name, SECRET_KEY_NAME)
        if raw is None:
            raise CodecKeyError(f'Secret "{ref}" has no key "{SECRET_KEY_NAME}"')
        return parse_keys(raw)
    log.warning(
        "no codec keys configured (%s, %s or %s): Temporal payloads are not encrypted",
        ENV_KEYS_FILE,
        ENV_KEYS,
        ENV_KEYS_SECRET,
    )
    return None


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic payloads, encoded failure attributes, and ``codec`` when given."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
