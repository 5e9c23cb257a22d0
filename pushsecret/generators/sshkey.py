"""ESO's SSHKey generator (``generators/v1/sshkey``): an SSH key pair, OpenSSH formats.

Output, as ESO builds it:

* ``privateKey``: ``pem.EncodeToMemory(ssh.MarshalPrivateKey(key, comment))``, i.e. an
  unencrypted ``openssh-key-v1`` blob (cipher and KDF ``none``, one key, random 32-bit check
  integer written twice, the comment inside, padded with 1, 2, 3, ... to a multiple of 8) in a
  PEM block ``OPENSSH PRIVATE KEY`` with Go's 64-character lines. ``cryptography`` can write
  this format but always leaves the comment empty, so the blob is assembled here from the key's
  numbers, field by field as ``x/crypto/ssh`` does.
* ``publicKey``: ``ssh.MarshalAuthorizedKey`` (``<type> <base64 blob>\\n``); with a non-empty
  comment ESO turns it into ``<type> <base64 blob> <comment>\\n``.

Key types: ``rsa`` (default; ``keySize`` default 2048, e = 65537), ``ecdsa`` (``keySize`` 256,
384 or 521 select P-256/P-384/P-521; any other size silently means P-256, as in ESO; default
256) and ``ed25519`` (``keySize`` ignored).
"""

from __future__ import annotations

import base64
import secrets
import struct

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushsecret.api.generators import SSHKeySpec
from pushsecret.generators import GeneratorError

__all__ = [
    "DEFAULT_ECDSA_KEY_SIZE",
    "DEFAULT_KEY_TYPE",
    "DEFAULT_RSA_KEY_SIZE",
    "generate_ssh_key",
]

DEFAULT_KEY_TYPE = "rsa"
DEFAULT_RSA_KEY_SIZE = 2048
DEFAULT_ECDSA_KEY_SIZE = 256

_RSA_PUBLIC_EXPONENT = 65537  # Go's rsa.GenerateKey always uses 65537.
_GO_RSA_MIN_BITS = 1024  # Go >= 1.24 refuses smaller keys (unless GODEBUG rsa1024min=0).

_ERR_GENERATE_KEY = "unable to generate SSH key: {}"
_ERR_UNSUPPORTED = "unsupported key type: {}"
_ERR_RSA_INSECURE = (
    "crypto/rsa: {}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
)

# ecdsa keySize -> (curve, SSH curve name); ESO's switch falls back to P-256.
_ECDSA_CURVES: dict[int, tuple[ec.EllipticCurve, str]] = {
    256: (ec.SECP256R1(), "nistp256"),
    384: (ec.SECP384R1(), "nistp384"),
    521: (ec.SECP521R1(), "nistp521"),
}

_AUTH_MAGIC = b"openssh-key-v1\x00"
_PEM_TYPE = "OPENSSH PRIVATE KEY"
_PEM_LINE = 64  # Go's encoding/pem line length (OpenSSH itself uses 70).
_BLOCK_SIZE = 8  # cipher "none"


def generate_ssh_key(spec: SSHKeySpec) -> dict[str, bytes]:
    """Generate a key pair: ``{"privateKey": <OpenSSH PEM>, "publicKey": <authorized_keys>}``.

    An empty ``keyType`` means ``rsa`` (ESO's default). Raises :class:`GeneratorError` with
    ESO's texts: ``unable to generate SSH key: unsupported key type: <t>`` and, for RSA keys
    below 1024 bits, ``unable to generate SSH key: crypto/rsa: <n>-bit keys are insecure
    (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)``.
    """
    # The model only admits the three types, but a spec built without validation (or parsed
    # leniently by the registry, as ESO's Go parsing is) can carry anything.
    key_type: str = spec.key_type or DEFAULT_KEY_TYPE
    comment = spec.comment or ""
    if key_type == "rsa":
        bits = spec.key_size if spec.key_size is not None else DEFAULT_RSA_KEY_SIZE
        if bits < _GO_RSA_MIN_BITS:
            raise GeneratorError(_ERR_GENERATE_KEY.format(_ERR_RSA_INSECURE.format(bits)))
        key_type_name, public_blob, private_fields = _rsa(bits)
    elif key_type == "ecdsa":
        size = spec.key_size if spec.key_size is not None else DEFAULT_ECDSA_KEY_SIZE
        key_type_name, public_blob, private_fields = _ecdsa(size)
    elif key_type == "ed25519":
        key_type_name, public_blob, private_fields = _ed25519()
    else:
        raise GeneratorError(_ERR_GENERATE_KEY.format(_ERR_UNSUPPORTED.format(key_type)))

    comment_bytes = comment.encode("utf-8")
    private_pem = _private_key_pem(key_type_name, public_blob, private_fields, comment_bytes)
    public_line = key_type_name.encode("ascii") + b" " + base64.b64encode(public_blob)
    if comment:
        public_line += b" " + comment_bytes
    return {"privateKey": private_pem, "publicKey": public_line + b"\n"}


def _rsa(bits: int) -> tuple[str, bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=_RSA_PUBLIC_EXPONENT, key_size=bits)
    numbers = key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    # The public blob has e before n; the private fields have n first. iqmp is q^-1 mod p,
    # which is Go's Precomputed.Qinv for Primes[0] = p, Primes[1] = q.
    public_blob = _string(b"ssh-rsa") + _mpint(e) + _mpint(n)
    private_fields = b"".join(
        _mpint(v) for v in (n, e, numbers.d, numbers.iqmp, numbers.p, numbers.q)
    )
    return "ssh-rsa", public_blob, private_fields


def _ecdsa(size: int) -> tuple[str, bytes, bytes]:
    curve, curve_name = _ECDSA_CURVES.get(size, _ECDSA_CURVES[DEFAULT_ECDSA_KEY_SIZE])
    key = ec.generate_private_key(curve)
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    key_type_name = f"ecdsa-sha2-{curve_name}"
    name = curve_name.encode("ascii")
    public_blob = _string(key_type_name.encode("ascii")) + _string(name) + _string(point)
    private_fields = _string(name) + _string(point) + _mpint(key.private_numbers().private_value)
    return key_type_name, public_blob, private_fields


def _ed25519() -> tuple[str, bytes, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    public = key.public_key().public_bytes_raw()
    public_blob = _string(b"ssh-ed25519") + _string(public)
    # OpenSSH's (and Go's) 64-byte ed25519 private key is seed || public key.
    private_fields = _string(public) + _string(seed + public)
    return "ssh-ed25519", public_blob, private_fields


def _private_key_pem(
    key_type_name: str, public_blob: bytes, private_fields: bytes, comment: bytes
) -> bytes:
    """x/crypto/ssh's ``marshalOpenSSHPrivateKey`` with ``unencryptedOpenSSHMarshaler``, then
    ``pem.EncodeToMemory``."""
    check = struct.pack(">I", secrets.randbits(32))
    block = check + check + _string(key_type_name.encode("ascii")) + private_fields
    block += _string(comment)
    pad = (-len(block)) % _BLOCK_SIZE
    block += bytes(range(1, pad + 1))
    body = (
        _AUTH_MAGIC
        + _string(b"none")  # cipher
        + _string(b"none")  # KDF
        + _string(b"")  # KDF options
        + struct.pack(">I", 1)  # number of keys
        + _string(public_blob)
        + _string(block)
    )
    b64 = base64.b64encode(body).decode("ascii")
    lines = [b64[i : i + _PEM_LINE] for i in range(0, len(b64), _PEM_LINE)]
    text = f"-----BEGIN {_PEM_TYPE}-----\n" + "".join(f"{line}\n" for line in lines)
    return (text + f"-----END {_PEM_TYPE}-----\n").encode("ascii")


def _string(b: bytes) -> bytes:
    """SSH wire ``string``: uint32 length, then the bytes."""
    return struct.pack(">I", len(b)) + b


def _mpint(n: int) -> bytes:
    """SSH wire ``mpint`` of a non-negative integer: minimal big-endian two's complement (a
    leading zero byte when the top bit is set), zero as the empty string."""
    if n == 0:
        return _string(b"")
    # bit_length // 8 + 1 bytes: exactly one extra (zero) byte when bit_length is a multiple
    # of 8, i.e. when the top bit of the minimal encoding would be set.
    return _string(n.to_bytes(n.bit_length() // 8 + 1, "big"))
