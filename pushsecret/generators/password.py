"""ESO's Password generator: ``sethvargo/go-password`` v0.3.1, reproduced step by step.

ESO (``generators/v1/password``) fills in its defaults, checks ``secretKeys`` and calls
go-password's ``Generator.Generate(length, digits, symbols, noUpper, allowRepeat)`` once per
output key, then encodes each result. go-password builds the password one character at a time:
first the letters, then the digits, then the symbols, each drawn uniformly from its set and
inserted at a uniformly random position of the partial result; without ``allowRepeat`` a drawn
character that already occurs anywhere in the result is discarded and drawn again.

Fidelity notes (where Go's behaviour is subtle):

* go-password indexes its sets by **byte** and turns the byte into a string with Go's
  ``string(byte)``, i.e. the UTF-8 encoding of the code point with that byte's value; it also
  inserts at byte offsets and tests "already present" with a byte-substring search. We work on
  bytes the same way, so ASCII sets behave as expected and non-ASCII ``symbolCharacters``
  produce exactly Go's (odd) output: ``"é"`` yields ``Ã`` or ``©``.
* An explicit empty ``symbolCharacters`` makes go-password fall back to its own ``Symbols``
  constant. In every go-password release (v0.1.0 to v0.3.1, the one ESO pins) that constant is
  the same 30 characters as ESO's default, so ``""`` and unset behave alike.
* Without ``allowRepeat``, a symbol set with duplicate characters (``"!!"``) or characters that
  are letters or digits can run out of fresh characters although the length checks passed; Go
  then loops forever. We detect that state (no fresh character left, no randomness consumed
  by the check) and fail with go-password's "number of symbols exceeds available symbols"
  error instead of hanging the worker.

All randomness comes from :func:`secrets.randbelow` (go-password uses ``crypto/rand.Int``).
"""

from __future__ import annotations

import base64
import secrets
import struct
from collections.abc import Callable

from pushsecret.api.generators import DEFAULT_SYMBOL_CHARACTERS, PasswordSpec
from pushsecret.generators import GeneratorError

__all__ = [
    "DEFAULT_LENGTH",
    "DEFAULT_SECRET_KEY",
    "ERR_DIGITS_EXCEED_AVAILABLE",
    "ERR_EXCEEDS_TOTAL_LENGTH",
    "ERR_LETTERS_EXCEED_AVAILABLE",
    "ERR_SECRET_KEYS",
    "ERR_SYMBOLS_EXCEED_AVAILABLE",
    "generate_password",
    "go_password",
]

DEFAULT_LENGTH = 24
"""ESO's length when ``length`` is unset or ``<= 0``."""

DEFAULT_SECRET_KEY = "password"
"""ESO's output key when ``secretKeys`` is unset or empty."""

_DIGIT_FACTOR = 0.25
_SYMBOL_FACTOR = 0.25

# go-password's character sets.
_LOWER_LETTERS = b"abcdefghijklmnopqrstuvwxyz"
_UPPER_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = b"0123456789"
_GO_PASSWORD_SYMBOLS = b'~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
"""go-password v0.3.1's ``Symbols``: its fallback when ESO passes ``symbolCharacters: ""``."""

# ESO's and go-password's error texts, verbatim.
ERR_SECRET_KEYS = "secretKeys must be non-empty and unique"
ERR_EXCEEDS_TOTAL_LENGTH = "number of digits and symbols must be less than total length"
ERR_LETTERS_EXCEED_AVAILABLE = (
    "number of letters exceeds available letters and repeats are not allowed"
)
ERR_DIGITS_EXCEED_AVAILABLE = (
    "number of digits exceeds available digits and repeats are not allowed"
)
ERR_SYMBOLS_EXCEED_AVAILABLE = (
    "number of symbols exceeds available symbols and repeats are not allowed"
)

_INT64_MAX = 2**63 - 1


def _hex(b: bytes) -> bytes:
    return b.hex().encode("ascii")


# ESO's encodePassword: Go's base64.StdEncoding / URLEncoding (both padded),
# base32.StdEncoding (padded) and lower-case hex. "raw" and unknown values leave the bytes as is.
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
    "base32": base64.b32encode,
    "hex": _hex,
}


def generate_password(spec: PasswordSpec) -> dict[str, bytes]:
    """Generate one independent password per output key, as ESO's Password generator does.

    Defaults: ``length <= 0`` means 24; unset ``digits``/``symbols`` mean
    ``int(float32(length) * 0.25)``; unset ``symbolCharacters`` means ESO's 30-symbol set;
    unset or empty ``secretKeys`` means ``["password"]``. Each value is encoded per
    ``encoding``. Keys keep the order of ``secretKeys``.

    Raises :class:`GeneratorError` with ESO's generator-level text (the PushSecret controller's
    ``unable to generate:`` prefix is added by :func:`pushsecret.generators.generate`):
    ``secretKeys must be non-empty and unique`` (checked before anything is generated) or one
    of go-password's errors.
    """
    length = spec.length if spec.length > 0 else DEFAULT_LENGTH
    digits = spec.digits if spec.digits is not None else _quarter(length, _DIGIT_FACTOR)
    symbols = spec.symbols if spec.symbols is not None else _quarter(length, _SYMBOL_FACTOR)
    for name, value in (("length", length), ("digits", digits), ("symbols", symbols)):
        # Go's int is 64 bits: larger values never get past ESO's spec parsing.
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise GeneratorError(f"unable to parse spec: {name} is out of range")
    symbol_chars = (
        spec.symbol_characters if spec.symbol_characters is not None else DEFAULT_SYMBOL_CHARACTERS
    )
    keys = _secret_keys(spec.secret_keys)
    encode = _ENCODERS.get(spec.encoding)
    out: dict[str, bytes] = {}
    for key in keys:
        raw = go_password(
            length,
            digits,
            symbols,
            no_upper=spec.no_upper,
            allow_repeat=spec.allow_repeat,
            symbol_characters=symbol_chars,
        )
        out[key] = encode(raw) if encode is not None else raw
    return out


def go_password(
    length: int,
    num_digits: int,
    num_symbols: int,
    *,
    no_upper: bool,
    allow_repeat: bool,
    symbol_characters: str = "",
) -> bytes:
    """go-password v0.3.1's ``NewGenerator(&GeneratorInput{Symbols: symbol_characters})``
    followed by ``Generate(length, num_digits, num_symbols, no_upper, allow_repeat)``.

    Returns the password's bytes (Go returns them as a string and ESO stores ``[]byte(pass)``).
    An empty ``symbol_characters`` selects go-password's own default symbols. Negative counts
    behave as in Go: their loop runs zero times (and shift the letter count accordingly).
    """
    letters = _LOWER_LETTERS if no_upper else _LOWER_LETTERS + _UPPER_LETTERS
    symbol_set = symbol_characters.encode("utf-8") or _GO_PASSWORD_SYMBOLS

    chars = length - num_digits - num_symbols
    if chars < 0:
        raise GeneratorError(ERR_EXCEEDS_TOTAL_LENGTH)
    # Go compares byte lengths (len(string)).
    if not allow_repeat and chars > len(letters):
        raise GeneratorError(ERR_LETTERS_EXCEED_AVAILABLE)
    if not allow_repeat and num_digits > len(_DIGITS):
        raise GeneratorError(ERR_DIGITS_EXCEED_AVAILABLE)
    if not allow_repeat and num_symbols > len(symbol_set):
        raise GeneratorError(ERR_SYMBOLS_EXCEED_AVAILABLE)

    result = bytearray()
    _add_characters(result, letters, chars, allow_repeat, ERR_LETTERS_EXCEED_AVAILABLE)
    _add_characters(result, _DIGITS, num_digits, allow_repeat, ERR_DIGITS_EXCEED_AVAILABLE)
    _add_characters(result, symbol_set, num_symbols, allow_repeat, ERR_SYMBOLS_EXCEED_AVAILABLE)
    return bytes(result)


def _add_characters(
    result: bytearray, pool: bytes, count: int, allow_repeat: bool, exhausted: str
) -> None:
    """One of go-password's three loops: draw ``count`` characters of ``pool`` into ``result``.

    Per iteration Go calls ``randomElement`` (``rand.Int(len(pool))``) and, unless the character
    is rejected as a repeat, ``randomInsert`` (``rand.Int(len(result)+1)``, skipped while the
    result is empty). We make the same draws in the same order.
    """
    # Go's string(s[i]) of a byte: the UTF-8 encoding of code point s[i] (one byte if ASCII).
    candidates = [chr(b).encode("utf-8") for b in pool]
    added = 0
    while added < count:
        ch = candidates[secrets.randbelow(len(candidates))]
        if not allow_repeat and ch in result:
            # Go would retry forever once no candidate is fresh; fail instead. This check
            # consumes no randomness, so the draws are otherwise exactly Go's.
            if all(c in result for c in candidates):
                raise GeneratorError(exhausted)
            continue
        if result:
            pos = secrets.randbelow(len(result) + 1)
            result[pos:pos] = ch
        else:
            result += ch
        added += 1


def _quarter(length: int, factor: float) -> int:
    """Go's ``int(float32(length) * factor)``: round to float32, multiply, truncate."""
    (as_float32,) = struct.unpack("<f", struct.pack("<f", float(length)))
    # factor is 0.25, a power of two, so the float32 product is exact in float64 too.
    return int(float(as_float32) * factor)


def _secret_keys(keys: list[str] | None) -> list[str]:
    """ESO's validateSecretKeys: unset/empty means ``["password"]``; entries must be non-empty
    and unique."""
    if not keys:
        return [DEFAULT_SECRET_KEY]
    if any(key == "" for key in keys) or len(set(keys)) != len(keys):
        raise GeneratorError(ERR_SECRET_KEYS)
    return list(keys)
