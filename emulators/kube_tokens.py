"""The TokenRequest subresource (``POST .../serviceaccounts/<name>/token``).

A real API server signs these JWTs with its service-account key; here the signature is random
bytes, which is enough for the consumers we emulate (the Azure and GCP identity emulators accept
any well-formed assertion with the right audience, as they do not hold the cluster's keys).
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
from typing import Any

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_request(namespace: str, name: str, uid: str, body: Any) -> dict[str, Any]:
    """The TokenRequest the API server answers for ServiceAccount ``namespace/name``."""
    spec = (body or {}).get("spec") or {} if isinstance(body, dict) else {}
    audiences = list(spec.get("audiences") or [ISSUER])
    seconds = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    exp = now + datetime.timedelta(seconds=seconds)
    claims = {
        "aud": audiences,
        "exp": int(exp.timestamp()),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "iss": ISSUER,
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
    }
    header = {"alg": "RS256", "kid": "emulator"}
    token = ".".join(
        [
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(claims).encode()),
            _b64(secrets.token_bytes(64)),
        ]
    )
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": now.strftime(stamp),
        },
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {"token": token, "expirationTimestamp": exp.strftime(stamp)},
    }
