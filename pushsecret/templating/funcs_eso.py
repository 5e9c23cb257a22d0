"""ESO's own template functions (``runtime/template/v2``): YAML, PEM, PKCS#12, JWK and RSA.

Inputs are template strings holding the raw bytes (a PKCS#12 file is ``b64dec``-ed first),
outputs are PEM text or base64, as in ESO. Cryptography is the ``cryptography`` library's.
Errors keep ESO's wording where it names no data (``unable to decode pkcs12 with password:
pkcs12: decryption password incorrect``); library messages are replaced by fixed reasons.

Differences: PKCS#12 files are written with ``cryptography``'s PBES2/AES-256 + SHA-256 MAC
(go-pkcs12's ``Modern`` uses the same algorithms), except that an empty password yields an
unencrypted file, because ``cryptography`` cannot encrypt with an empty password.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.serialization import pkcs12

from pushsecret.templating import _json, _yaml
from pushsecret.templating._errors import FuncError
from pushsecret.templating._registry import Registry
from pushsecret.templating._values import T_ANY, T_STRING, StrList, from_bytes, to_bytes

S, A = T_STRING, T_ANY
F = Registry()

# --- YAML ------------------------------------------------------------------------------------


@F.func("toYaml", A)
def to_yaml(v: Any) -> str:
    """ESO's ``toYaml``: ``sigs.k8s.io/yaml.Marshal``; an unencodable value renders ``""``."""
    try:
        normalized = json.loads(_json.encode(v))
    except FuncError:
        return ""
    return _yaml.to_yaml(normalized)


F.add("fromYaml", _yaml.from_yaml, S)

# --- PEM -------------------------------------------------------------------------------------

_PEM = re.compile(
    rb"^-----BEGIN ([^\r\n]*?)-----[ \t]*\r?\n(.*?)-----END \1-----[ \t]*(\r?\n|$)",
    re.DOTALL | re.MULTILINE,
)


def pem_blocks(data: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Every PEM block in ``data`` as ``(type, DER)``, and what ``pem.Decode`` leaves over."""
    blocks: list[tuple[str, bytes]] = []
    rest = data
    while True:
        m = _PEM.search(rest)
        if m is None:
            return blocks, rest
        body = m.group(2)
        lines = [ln for ln in body.splitlines() if b":" not in ln]  # skip PEM headers
        try:
            der = base64.b64decode(b"".join(ln.strip() for ln in lines), validate=True)
        except binascii.Error:
            rest = rest[m.end() :]
            continue
        blocks.append((m.group(1).decode("latin-1"), der))
        rest = rest[m.end() :]


def pem_encode(kind: str, der: bytes) -> str:
    """``pem.Encode``: base64 in 64-column lines between BEGIN/END lines."""
    b64 = base64.b64encode(der).decode()
    lines = "".join(b64[i : i + 64] + "\n" for i in range(0, len(b64), 64))
    return f"-----BEGIN {kind}-----\n{lines}-----END {kind}-----\n"


def _trim_junk(s: str) -> str:
    i = s.find("-----BEGIN")
    return s if i < 0 else s[i:]


@F.func("filterPEM", S, S)
def filter_pem(kind: str, pem: str) -> str:
    blocks, rest = pem_blocks(to_bytes(_trim_junk(pem)))
    out = [pem_encode(t, der) for t, der in blocks if t.casefold() == kind.casefold()]
    if not out and rest:
        raise FuncError("error filtering pem: found junk")
    return "".join(out)


def _certs(data: bytes) -> list[x509.Certificate]:
    certs = []
    for _, der in pem_blocks(data)[0]:
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise FuncError("x509: malformed certificate") from None
    return certs


def _key_ids(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """(AuthorityKeyId, SubjectKeyId), empty when absent (Go's nil, which equals nil)."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        authority = aki.value.key_identifier or b""
    except x509.ExtensionNotFound:
        authority = b""
    try:
        subject = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        subject = b""
    return authority, subject


def order_chain(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """ESO's ``fetchX509CertChains``: leaf -> intermediates -> root by key identifiers.

    Formatting only: nothing here verifies signatures or trust.
    """
    ids = [_key_ids(c) for c in certs]
    parent: dict[int, int] = {}
    is_parent = [False] * len(certs)
    for i in range(len(certs)):
        for j in range(len(certs)):
            if i != j and ids[i][0] == ids[j][1]:
                is_parent[j] = True
                parent[i] = j
                break
    leaves = [i for i in range(len(certs)) if not is_parent[i]]
    if len(leaves) > 1:
        raise FuncError("found multiple leaf or disjunct certificates")
    if not leaves:
        raise FuncError("no leaf certificate found")
    chain: list[x509.Certificate] = []
    node: int | None = leaves[0]
    while node is not None:
        if len(chain) >= len(certs):
            raise FuncError("constructing chain resulted in cycle")
        chain.append(certs[node])
        node = parent.get(node)
    return chain


def _is_root(cert: x509.Certificate) -> bool:
    authority, subject = _key_ids(cert)
    return not authority or authority == subject


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@F.func("filterCertChain", S, S)
def filter_cert_chain(kind: str, pem: str) -> str:
    chain = order_chain(_certs(to_bytes(pem)))
    if kind == "leaf":
        authority, subject = _key_ids(chain[0])
        if authority and authority != subject:
            return pem_encode("CERTIFICATE", _der(chain[0]))
    elif kind == "intermediate":
        out = []
        for cert in chain[1:]:
            if _is_root(cert):
                break
            out.append(pem_encode("CERTIFICATE", _der(cert)))
        return "".join(out)
    elif kind == "root" and _is_root(chain[-1]):
        return pem_encode("CERTIFICATE", _der(chain[-1]))
    return ""


@F.func("certSANs", S)
def cert_sans(pem: str) -> list[str]:
    blocks, _ = pem_blocks(to_bytes(_trim_junk(pem)))
    if not blocks:
        raise FuncError("failed to decode PEM block")
    try:
        cert = x509.load_der_x509_certificate(blocks[0][1])
    except ValueError:
        raise FuncError("failed to parse certificate: x509: malformed certificate") from None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return StrList()
    out = StrList(san.get_values_for_type(x509.DNSName))
    out += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    out += san.get_values_for_type(x509.RFC822Name)
    out += san.get_values_for_type(x509.UniformResourceIdentifier)
    return out


# --- keys ------------------------------------------------------------------------------------

_PKCS8 = serialization.PrivateFormat.PKCS8
_PEM_ENC = serialization.Encoding.PEM
_NONE = serialization.NoEncryption()


def parse_private_key(der: bytes) -> Any:
    """ESO's ``parsePrivateKey``: PKCS#1, then PKCS#8, then SEC 1 (EC) DER."""
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise FuncError("unable to parse private key type") from None


def _pkcs8_pem(key: Any) -> str:
    return str(key.private_bytes(_PEM_ENC, _PKCS8, _NONE).decode())


# --- PKCS#12 ---------------------------------------------------------------------------------


def _load_pkcs12(data: str, password: str, what: str) -> Any:
    raw = to_bytes(data)
    # Go decodes an unprotected file with the empty password; cryptography wants None.
    attempts = [to_bytes(password)] if password else [None, b""]
    reason = ""
    for attempt in attempts:
        try:
            return pkcs12.load_pkcs12(raw, attempt)
        except ValueError as e:
            reason = str(e)
    detail = "decryption password incorrect" if "password" in reason.lower() else "invalid data"
    raise FuncError(f"unable to decode pkcs12{what} with password: pkcs12: {detail}")


@F.func("pkcs12keyPass", S, S)
def pkcs12_key_pass(password: str, data: str) -> str:
    bundle = _load_pkcs12(data, password, "")
    if bundle.key is None:
        raise FuncError("unable to decode pkcs12 with password: pkcs12: no private key found")
    return _pkcs8_pem(bundle.key)


@F.func("pkcs12certPass", S, S)
def pkcs12_cert_pass(password: str, data: str) -> str:
    bundle = _load_pkcs12(data, password, " certificate")
    if bundle.cert is None:
        raise FuncError("unable to decode pkcs12 certificate with password: no certificate")
    certs = [bundle.cert.certificate, *(c.certificate for c in bundle.additional_certs)]
    # ESO falls back to the file's order when the chain cannot be ordered.
    with contextlib.suppress(FuncError):
        certs = order_chain(certs)
    return "".join(pem_encode("CERTIFICATE", _der(c)) for c in certs)


F.add("pkcs12key", lambda data: pkcs12_key_pass("", data), S)
F.add("pkcs12cert", lambda data: pkcs12_cert_pass("", data), S)

_NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference"


def _first_cert(pem: str) -> tuple[x509.Certificate, bytes]:
    blocks, _ = pem_blocks(to_bytes(pem))
    if not blocks:
        raise FuncError(_NIL_DEREF)  # ESO dereferences pem.Decode's nil block
    try:
        cert = x509.load_der_x509_certificate(blocks[0][1])
    except ValueError:
        raise FuncError("x509: malformed certificate") from None
    m = _PEM.search(to_bytes(pem))
    rest = to_bytes(pem)[m.end() :] if m else b""
    return cert, rest


def _key_from_pem(pem: str) -> Any:
    blocks, _ = pem_blocks(to_bytes(pem))
    if not blocks:
        raise FuncError(_NIL_DEREF)
    return parse_private_key(blocks[0][1])


def _ca_certs(rest: bytes) -> list[x509.Certificate]:
    """ESO's ``parseCaCerts``: decode PEM blocks until nothing is left.

    Anything that is not a PEM block (even a trailing blank line) makes ESO dereference a nil
    block; that failure is reproduced.
    """
    certs = []
    while rest:
        m = _PEM.search(rest)
        if m is None:
            raise FuncError(_NIL_DEREF)
        certs.extend(_certs(m.group(0)))
        rest = rest[m.end() :]
    return certs


def _encryption(password: str) -> serialization.KeySerializationEncryption:
    if not password:
        return _NONE
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(to_bytes(password))
    )


def _to_pkcs12(cert_pem: str, key_pem: str, password: str, full: bool) -> str:
    cert, rest = _first_cert(cert_pem)
    cas = _ca_certs(rest) if full else None
    key = _key_from_pem(key_pem)
    pfx = pkcs12.serialize_key_and_certificates(None, key, cert, cas, _encryption(password))
    return base64.b64encode(pfx).decode()


F.add("pemToPkcs12", lambda c, k: _to_pkcs12(c, k, "", False), S, S)
F.add("pemToPkcs12Pass", lambda c, k, p: _to_pkcs12(c, k, p, False), S, S, S)
F.add("fullPemToPkcs12", lambda c, k: _to_pkcs12(c, k, "", True), S, S)
F.add("fullPemToPkcs12Pass", lambda c, k, p: _to_pkcs12(c, k, p, True), S, S, S)


def _truststore(pem: str, password: str) -> str:
    certs = _ca_certs(to_bytes(pem))
    entries = [pkcs12.PKCS12Certificate(c, None) for c in certs]
    return base64.b64encode(
        pkcs12.serialize_java_truststore(entries, _encryption(password))
    ).decode()


F.add("pemTruststoreToPKCS12", lambda c: _truststore(c, ""), S)
F.add("pemTruststoreToPKCS12Pass", _truststore, S, S)

# --- JWK -------------------------------------------------------------------------------------


def _b64url_int(jwk: dict[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise FuncError(f"failed to parse key: missing {name!r}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise FuncError(f"failed to parse key: invalid {name!r}") from None
    return int.from_bytes(raw, "big")


_CURVES: dict[str, Any] = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}


def parse_jwk(text: str) -> Any:
    """A ``cryptography`` key (private when the JWK has ``d``) from a JWK JSON object."""
    try:
        jwk = json.loads(text)
    except ValueError:
        raise FuncError("failed to parse key: invalid JSON") from None
    if not isinstance(jwk, dict):
        raise FuncError("failed to parse key: not a JSON object")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            pub = rsa.RSAPublicNumbers(_b64url_int(jwk, "e"), _b64url_int(jwk, "n"))
            if "d" not in jwk:
                return pub.public_key()
            d = _b64url_int(jwk, "d")
            if "p" in jwk and "q" in jwk:
                p, q = _b64url_int(jwk, "p"), _b64url_int(jwk, "q")
            else:
                p, q = rsa.rsa_recover_prime_factors(pub.n, pub.e, d)
            return rsa.RSAPrivateNumbers(
                p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), pub
            ).private_key()
        if kty == "EC":
            curve = _CURVES.get(jwk.get("crv", ""))
            if curve is None:
                raise FuncError("failed to parse key: unsupported curve")
            pn = ec.EllipticCurvePublicNumbers(
                _b64url_int(jwk, "x"), _b64url_int(jwk, "y"), curve()
            )
            if "d" not in jwk:
                return pn.public_key()
            return ec.EllipticCurvePrivateNumbers(_b64url_int(jwk, "d"), pn).private_key()
        if kty == "OKP" and jwk.get("crv") in ("Ed25519", "X25519"):
            cls: Any = ed25519 if jwk["crv"] == "Ed25519" else x25519
            prefix = "Ed25519" if jwk["crv"] == "Ed25519" else "X25519"
            if "d" in jwk:
                seed = _b64url_int(jwk, "d").to_bytes(32, "big")
                return getattr(cls, f"{prefix}PrivateKey").from_private_bytes(seed)
            raw = _b64url_int(jwk, "x").to_bytes(32, "big")
            return getattr(cls, f"{prefix}PublicKey").from_public_bytes(raw)
    except ValueError:
        raise FuncError("failed to parse key: invalid key material") from None
    raise FuncError("failed to parse key: unsupported kty")


_PRIVATE = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    x25519.X25519PrivateKey,
)


@F.func("jwkPublicKeyPem", S)
def jwk_public_key_pem(text: str) -> str:
    key = parse_jwk(text)
    if isinstance(key, _PRIVATE):
        # ESO marshals the raw key as a public key, which Go refuses for private keys.
        raise FuncError(f"x509: unsupported public key type: *{_go_key_type(key)}")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem_encode("PUBLIC KEY", der)


@F.func("jwkPrivateKeyPem", S)
def jwk_private_key_pem(text: str) -> str:
    key = parse_jwk(text)
    if not isinstance(key, _PRIVATE):
        raise FuncError(f"x509: unknown key type while marshaling PKCS#8: *{_go_key_type(key)}")
    return pem_encode("PRIVATE KEY", key.private_bytes(serialization.Encoding.DER, _PKCS8, _NONE))


def _go_key_type(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        kind = "rsa"
    elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        kind = "ecdsa"
    else:
        kind = "ed25519"
    return f"{kind}.{'PrivateKey' if isinstance(key, _PRIVATE) else 'PublicKey'}"


# --- RSA -------------------------------------------------------------------------------------

_HASHES: dict[str, Any] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}


@F.func("rsaDecrypt", S, S, S, S)
def rsa_decrypt(scheme: str, hash_name: str, data: str, private_key: str) -> str:
    """ESO's ``rsaDecrypt``: ``None`` passes through; ``RSA-OAEP`` with SHA1/SHA256/SHA512
    (anything else is SHA256) and the same hash for MGF1."""
    if scheme == "None":
        return data
    if scheme != "RSA-OAEP":
        raise FuncError(f"decryption scheme {scheme} is not supported")
    blocks, _ = pem_blocks(to_bytes(private_key))
    if not blocks:
        raise FuncError("failed to decode PEM block")
    try:
        key = parse_private_key(blocks[0][1])
    except FuncError as e:
        raise FuncError(f"could not parse private key: {e}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise FuncError("could not parse RSA private key")
    algo = _HASHES.get(hash_name, hashes.SHA256)()
    try:
        plain = key.decrypt(
            to_bytes(data), padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None)
        )
    except ValueError:
        raise FuncError("error decrypting data with RSA: crypto/rsa: decryption error") from None
    return from_bytes(plain)


ESO_FUNCS: dict[str, Any] = dict(F)
