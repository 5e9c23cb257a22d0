"""Keyed digests of pushed payloads, so history can say "unchanged" without holding values.

A bare SHA-256 of a short password can be brute-forced from history; an HMAC with a key only
the workers hold cannot. The key comes from ``PUSHSECRET_DIGEST_KEY_FILE`` (a file, e.g. a
mounted Kubernetes Secret) or ``PUSHSECRET_DIGEST_KEY`` (base64). Without either, a random
per-process key is used: digests then never match across restarts, which costs one provider
read per entry after a restart and nothing else (the provider still compares values).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets

log = logging.getLogger(__name__)

ENV_KEY_FILE = "PUSHSECRET_DIGEST_KEY_FILE"
ENV_KEY = "PUSHSECRET_DIGEST_KEY"


class Digester:
    """HMAC-SHA256 over (what an entry means, what it pushes). Thread-safe, stateless."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("digest key must be at least 16 bytes")
        self._key = key

    def digest(self, context: str, payload: bytes) -> str:
        """A stable, keyed digest of ``payload`` in ``context`` (e.g. the entry's JSON)."""
        mac = hmac.new(self._key, context.encode(), hashlib.sha256)
        mac.update(b"\0")
        mac.update(payload)
        return "hmac-sha256:" + mac.hexdigest()


def load_digest_key() -> bytes:
    """The configured digest key, or a random one (with a warning) when none is configured."""
    path = os.environ.get(ENV_KEY_FILE)
    if path:
        with open(path, "rb") as f:
            raw = f.read().strip()
        return _decode(raw)
    value = os.environ.get(ENV_KEY)
    if value:
        return _decode(value.encode())
    log.warning("no %s or %s configured: using a random digest key", ENV_KEY_FILE, ENV_KEY)
    return secrets.token_bytes(32)


def _decode(raw: bytes) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = raw
    return key if len(key) >= 16 else hashlib.sha256(key).digest()
