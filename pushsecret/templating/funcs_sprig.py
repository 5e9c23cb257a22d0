"""Sprig's string, encoding, default, JSON, regex, reflection, path, URL and crypto functions.

The behaviour follows the sprig copy vendored by ESO (``runtime/template/v2/sprig``), which is
sprig v3 minus ``env``, ``expandenv`` and ``getHostByName``. Like sprig, the non-``must``
variants swallow errors (``b64dec`` of bad input returns Go's error text *as the value*,
``fromJson`` returns nil); the ``must`` variants fail the template. Lists, dicts and numbers
are in :mod:`~pushsecret.templating.funcs_sprig_lists`, dates in
:mod:`~pushsecret.templating.funcs_date`. The full map is :data:`SPRIG_FUNCS`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import random
import secrets
import string
import struct
import uuid
import zlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pushsecret.templating import _json, _regex, _strings
from pushsecret.templating._errors import FuncError
from pushsecret.templating._registry import Registry
from pushsecret.templating._values import (
    GO_SPACE,
    T_ANY,
    T_BOOL,
    T_INT,
    T_MAP,
    T_STRING,
    check_size,
    deep_equal,
    from_bytes,
    go_quote,
    is_true,
    kind_name,
    sprint_value,
    to_bytes,
    type_name,
)
from pushsecret.templating.funcs_date import DATE_FUNCS
from pushsecret.templating.funcs_sprig_lists import LIST_FUNCS, strval

S, N, A, B, M = T_STRING, T_INT, T_ANY, T_BOOL, T_MAP

F = Registry()

# --- strings ---------------------------------------------------------------------------------

F.add("hello", lambda: "Hello!")
F.add("trim", lambda s: s.strip(GO_SPACE), S)
F.add("upper", _strings.upper, S)
F.add("lower", _strings.lower, S)
F.add("title", _strings.title, S)
F.add("untitle", _strings.untitle, S)
F.add("repeat", _strings.repeat, N, S)
F.add("trimall trimAll", lambda cut, s: s.strip(cut) if cut else s, S, S)
F.add("trimSuffix", lambda suffix, s: s.removesuffix(suffix), S, S)
F.add("trimPrefix", lambda prefix, s: s.removeprefix(prefix), S, S)
F.add("nospace", lambda s: "".join(c for c in s if c not in GO_SPACE), S)
F.add("initials", _strings.initials, S)
F.add("swapcase", _strings.swapcase, S)
F.add("shuffle", lambda s: "".join(random.sample(s, len(s))), S)
F.add("snakecase", lambda s: _strings.to_lower_words(s, "_"), S)
F.add("kebabcase", lambda s: _strings.to_lower_words(s, "-"), S)
F.add("camelcase", _strings.camelcase, S)
F.add("wrap", lambda n, s: _strings.wrap(s, n, "\n", False), N, S)
F.add("wrapWith", lambda n, sep, s: _strings.wrap(s, n, sep, True), N, S, S)
F.add("contains", lambda sub, s: sub in s, S, S)
F.add("hasPrefix", lambda p, s: s.startswith(p), S, S)
F.add("hasSuffix", lambda p, s: s.endswith(p), S, S)
F.add("indent", lambda n, s: " " * n + s.replace("\n", "\n" + " " * n), N, S)
F.add("nindent", lambda n, s: "\n" + " " * n + s.replace("\n", "\n" + " " * n), N, S)
F.add("replace", lambda old, new, s: s.replace(old, new), S, S, S)
F.add("plural", lambda one, many, n: one if n == 1 else many, S, S, N)
F.add("toString", strval, A)
F.add("trunc", _strings.trunc, N, S)
F.add("substr", _strings.substr, N, N, S)
F.add("abbrev", _strings.abbrev, N, S)
F.add("abbrevboth", _strings.abbrevboth, N, N, S)


@F.func("quote", variadic=A)
def _quote(*args: Any) -> str:
    return " ".join(go_quote(strval(a)) for a in args if a is not None)


@F.func("squote", variadic=A)
def _squote(*args: Any) -> str:
    return " ".join(f"'{sprint_value(a)}'" for a in args if a is not None)


@F.func("cat", variadic=A)
def _cat(*args: Any) -> str:
    return " ".join(sprint_value(a) for a in args if a is not None)


def _random(alphabet: str) -> Any:
    def generate(count: int) -> str:
        check_size(count)
        return "".join(secrets.choice(alphabet) for _ in range(max(count, 0)))

    return generate


F.add("randAlphaNum", _random(string.ascii_letters + string.digits), N)
F.add("randAlpha", _random(string.ascii_letters), N)
F.add("randNumeric", _random(string.digits), N)
F.add("randAscii", _random("".join(chr(c) for c in range(32, 127))), N)

# --- encodings and hashes --------------------------------------------------------------------


def bad_encoding_offset(s: str, alphabet: str, quantum: int, min_pad: int) -> int | None:
    """Where Go's strict decoder reports ``illegal ... data at input byte N`` (None: valid).

    Newlines are skipped (but counted), as Go's decoders do.
    """
    chars = [(i, c) for i, c in enumerate(to_bytes(s).decode("latin-1")) if c not in "\r\n"]
    for k, (i, c) in enumerate(chars):
        if c == "=":
            rest_ok = all(ch == "=" for _, ch in chars[k:])
            if k % quantum < min_pad or not rest_ok or len(chars) % quantum:
                return i
            return None
        if c not in alphabet:
            return i
    if len(chars) % quantum:
        return chars[len(chars) - len(chars) % quantum][0]
    return None


B64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_B32 = string.ascii_uppercase + "234567"


@F.func("b64dec", S)
def _b64dec(s: str) -> str:
    bad = bad_encoding_offset(s, B64_ALPHABET, 4, 2)
    if bad is not None:
        return f"illegal base64 data at input byte {bad}"  # sprig returns the error as text
    return from_bytes(base64.b64decode(to_bytes(s).replace(b"\n", b"").replace(b"\r", b"")))


@F.func("b32dec", S)
def _b32dec(s: str) -> str:
    bad = bad_encoding_offset(s, _B32, 8, 2)
    if bad is not None:
        return f"illegal base32 data at input byte {bad}"
    return from_bytes(base64.b32decode(to_bytes(s).replace(b"\n", b"").replace(b"\r", b"")))


@F.func("hexdec", S)
def _hexdec(s: str) -> str:
    raw = to_bytes(s)
    for b in raw:
        if chr(b) not in string.hexdigits:
            quoted = f" '{chr(b)}'" if chr(b).isprintable() else ""
            return f"encoding/hex: invalid byte: U+{b:04X}{quoted}"  # sprig returns it as text
    if len(raw) % 2:
        return "encoding/hex: odd length hex string"
    return from_bytes(binascii.unhexlify(raw))


F.add("b64enc", lambda s: base64.b64encode(to_bytes(s)).decode(), S)
F.add("b32enc", lambda s: base64.b32encode(to_bytes(s)).decode(), S)
F.add("sha1sum", lambda s: hashlib.sha1(to_bytes(s), usedforsecurity=False).hexdigest(), S)
F.add("sha256sum", lambda s: hashlib.sha256(to_bytes(s)).hexdigest(), S)
F.add("sha512sum", lambda s: hashlib.sha512(to_bytes(s)).hexdigest(), S)
F.add("adler32sum", lambda s: str(zlib.adler32(to_bytes(s))), S)

# --- defaults and JSON -----------------------------------------------------------------------


def empty(v: Any) -> bool:
    """Sprig's ``empty``: nil, zero, false, or an empty string/list/map."""
    return not is_true(v)


F.add("empty", empty, A)
F.add("default", lambda d, *given: d if not given or empty(given[0]) else given[0], A, variadic=A)
F.add("coalesce", lambda *v: next((x for x in v if not empty(x)), None), variadic=A)
F.add("all", lambda *v: all(not empty(x) for x in v), variadic=A)
F.add("any", lambda *v: any(not empty(x) for x in v), variadic=A)
F.add("ternary", lambda t, f, cond: t if cond else f, A, A, B)
F.add("deepCopy mustDeepCopy", copy.deepcopy, A)
F.add("fromJson", lambda s: _swallow(_json.decode, s), S)
F.add("mustFromJson", _json.decode, S)
F.add("toJson", lambda v: _swallow(_json.encode, v) or "", A)
F.add("mustToJson", _json.encode, A)
F.add("toPrettyJson", lambda v: _swallow(lambda x: _json.encode(x, indent="  "), v) or "", A)
F.add("mustToPrettyJson", lambda v: _json.encode(v, indent="  "), A)
F.add("toRawJson mustToRawJson", lambda v: _json.encode(v, escape_html=False), A)


def _swallow(fn: Any, arg: Any) -> Any:
    try:
        return fn(arg)
    except FuncError:
        return None


# --- reflection, paths, URLs -----------------------------------------------------------------


F.add("typeOf", type_name, A)
F.add("typeIs", lambda t, v: t == type_name(v), S, A)
F.add("typeIsLike", lambda t, v: type_name(v) in (t, "*" + t), S, A)
F.add("kindOf", kind_name, A)
F.add("kindIs", lambda k, v: k == kind_name(v), S, A)
F.add("deepEqual", deep_equal, A, A)
F.add("base osBase", _strings.path_base, S)
F.add("dir osDir", lambda p: _strings.path_clean(p[: p.rfind("/") + 1]) if p else ".", S)
F.add("clean osClean", _strings.path_clean, S)
F.add("ext osExt", _strings.path_ext, S)
F.add("isAbs osIsAbs", lambda p: p.startswith("/"), S)
F.add("urlParse", _strings.url_parse, S)
F.add("urlJoin", _strings.url_join, M)

# --- regular expressions ---------------------------------------------------------------------

F.add("regexMatch", lambda r, s: _swallow(lambda x: _regex.match(r, x), s) or False, S, S)
F.add("mustRegexMatch", _regex.match, S, S)
F.add("regexFindAll", lambda r, s, n: _regex.find_all(r, s, n, panic=True), S, S, N)
F.add("mustRegexFindAll", _regex.find_all, S, S, N)
F.add("regexFind", lambda r, s: _regex.find(r, s, panic=True), S, S)
F.add("mustRegexFind", _regex.find, S, S)
F.add("regexReplaceAll", lambda r, s, t: _regex.replace(r, s, t, panic=True), S, S, S)
F.add("mustRegexReplaceAll", _regex.replace, S, S, S)
F.add("regexReplaceAllLiteral", lambda r, s, t: _regex.replace(r, s, t, True, True), S, S, S)
F.add("mustRegexReplaceAllLiteral", lambda r, s, t: _regex.replace(r, s, t, True), S, S, S)
F.add("regexSplit", lambda r, s, n: _regex.split(r, s, n, panic=True), S, S, N)
F.add("mustRegexSplit", _regex.split, S, S, N)
F.add("regexQuoteMeta", _regex.quote_meta, S)

# --- crypto and identifiers ------------------------------------------------------------------

F.add("uuidv4", lambda: str(uuid.uuid4()))


@F.func("randBytes", N)
def _rand_bytes(count: int) -> str:
    check_size(count)
    return base64.b64encode(secrets.token_bytes(max(count, 0))).decode()


@F.func("fail", S)
def _fail(msg: str) -> str:
    raise FuncError(msg)  # the template author's text, allowed in errors


@F.func("htpasswd", S, S, S)
def _htpasswd(user: str, password: str, algorithm: str) -> str:
    if ":" in user:
        return f"invalid username: {user}"
    if algorithm == "sha":
        digest = hashlib.sha1(to_bytes(password), usedforsecurity=False).digest()
        return f"{user}:{{SHA}}{base64.b64encode(digest).decode()}"
    raise FuncError("htpasswd with bcrypt is not supported by pushsecret-temporal")


@F.func("genPrivateKey", S)
def _gen_private_key(typ: str) -> str:
    nothing = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    if typ == "rsa":
        return rsa.generate_private_key(65537, 4096).private_bytes(pem, trad, nothing).decode()
    if typ == "dsa":
        return dsa.generate_private_key(2048).private_bytes(pem, trad, nothing).decode()
    if typ in ("", "ecdsa"):
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(pem, trad, nothing).decode()
    if typ == "ed25519":
        pkcs8 = serialization.PrivateFormat.PKCS8
        return ed25519.Ed25519PrivateKey.generate().private_bytes(pem, pkcs8, nothing).decode()
    return "Unknown type " + typ


_PASSWORD_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": [
        "CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
        "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
        "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
        "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
        "CvccCvcvCvccno",
    ],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}  # fmt: skip
_PASSWORD_CHARS = {
    "V": "AEIOU", "C": "BCDFGHJKLMNPQRSTVWXYZ", "v": "aeiou", "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ", "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789", "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}  # fmt: skip


@F.func("derivePassword", N, S, S, S, S)
def _derive_password(counter: int, kind: str, password: str, user: str, site: str) -> str:
    """The Master Password algorithm (scrypt + HMAC-SHA256), as sprig implements it."""
    templates = _PASSWORD_TEMPLATES.get(kind)
    if templates is None:
        return f"cannot find password template {kind}"
    seed = b"com.lyndir.masterpassword"
    ub, sb = to_bytes(user), to_bytes(site)
    salt = seed + struct.pack(">I", len(ub)) + ub
    key = hashlib.scrypt(to_bytes(password), salt=salt, n=32768, r=8, p=2, dklen=64, maxmem=2**26)
    msg = seed + struct.pack(">I", len(sb)) + sb + struct.pack(">I", counter & 0xFFFFFFFF)
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    template = templates[digest[0] % len(templates)]
    return "".join(
        _PASSWORD_CHARS[c][digest[i + 1] % len(_PASSWORD_CHARS[c])] for i, c in enumerate(template)
    )


def _aes_key(password: str) -> bytes:
    return (to_bytes(password) + bytes(32))[:32]  # Go copies the password into a 32-byte key


@F.func("encryptAES", S, S)
def _encrypt_aes(password: str, plaintext: str) -> str:
    if not plaintext:
        return ""
    data = to_bytes(plaintext)
    pad = 16 - len(data) % 16
    iv = secrets.token_bytes(16)
    enc = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).encryptor()
    ct = enc.update(data + bytes([pad]) * pad) + enc.finalize()
    return base64.b64encode(iv + ct).decode()


@F.func("decryptAES", S, S)
def _decrypt_aes(password: str, crypt64: str) -> str:
    if not crypt64:
        return ""
    bad = bad_encoding_offset(crypt64, B64_ALPHABET, 4, 2)
    if bad is not None:
        raise FuncError(f"illegal base64 data at input byte {bad}")
    crypt = base64.b64decode(to_bytes(crypt64))
    if len(crypt) < 16:
        raise FuncError("runtime error: slice bounds out of range")
    if (len(crypt) - 16) % 16:
        raise FuncError("crypto/cipher: input not full blocks")
    dec = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(crypt[:16])).decryptor()
    plain = dec.update(crypt[16:]) + dec.finalize()
    if not plain or plain[-1] > len(plain):
        raise FuncError("runtime error: slice bounds out of range")
    return from_bytes(plain[: len(plain) - plain[-1]])


F.unsupported("bcrypt semver", S)
F.unsupported("semverCompare", S, S)
F.unsupported("buildCustomCert", S, S)
F.unsupported("genCA", S, N)
F.unsupported("genCAWithKey", S, N, S)
F.unsupported("genSelfSignedCert genSignedCert", S, A, A, N, variadic=A)
F.unsupported("genSelfSignedCertWithKey genSignedCertWithKey", S, A, A, N, variadic=A)

SPRIG_FUNCS: dict[str, Any] = {**F, **LIST_FUNCS, **DATE_FUNCS}
"""Every sprig function ESO exposes (``env``, ``expandenv``, ``getHostByName`` excluded)."""
