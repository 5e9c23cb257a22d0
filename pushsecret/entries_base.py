"""Entries of :mod:`pushsecret.entries`: the error, the entry type, key conversion, payloads.

- :class:`EntriesError`, :class:`ExpandedEntry`: shared by every ``entries`` function.
- :func:`reverse_unicode`, :func:`reverse_key`, :func:`convert_keys`: spec §2.9 (ESO's
  ``ReverseKeys`` for ``conversionStrategy: ReverseUnicode``).
- :func:`entry_payload`: §2.8.6 steps 1-3 (what the provider receives for one entry).
- :func:`check_marshallable`: §3.2, whole-secret pushes marshalled as one JSON object.

These are the only functions of the package that see secret values; their errors name
keys, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from pushsecret.api.pushsecret import PushSecretData

__all__ = [
    "EntriesError",
    "ExpandedEntry",
    "Strategy",
    "check_marshallable",
    "convert_keys",
    "entry_payload",
    "reverse_key",
    "reverse_unicode",
]

V = TypeVar("V")
Strategy = Literal["None", "ReverseUnicode"]
_UNICODE_ESCAPE = re.compile(r"_U([0-9a-fA-F]{4,5})_")


class EntriesError(Exception):
    """A configuration or data error; ``message`` is ESO's text (never a secret value)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExpandedEntry(BaseModel):
    """One entry to push to a store.

    ``data`` is what ``status.syncedPushSecrets`` records. For a ``dataTo`` per-key entry,
    ``secretKey`` is the original (unconverted) source key and ``conversionStrategy`` is
    ``None``; for a bundle it is ``""`` (whole secret). ``bundle_keys`` (bundle mode only)
    maps each converted key name of the bundle to its original source key: the payload is
    ``{converted: data[original]}``, see :func:`entry_payload`.
    """

    model_config = ConfigDict(frozen=True)

    data: PushSecretData
    bundle_keys: dict[str, str] | None = None

    @property
    def status_ref(self) -> str:
        """``remoteKey`` or ``remoteKey/property``: the key in ``syncedPushSecrets``."""
        return self.data.status_ref


# --- §2.9 conversion strategy ----------------------------------------------------------


def _decode_escape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    # Go's %c writes U+FFFD for code points that are not valid runes (surrogates).
    return "\ufffd" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code)


def reverse_unicode(key: str) -> str:
    """Decode every ``_UXXXX_`` / ``_UXXXXX_`` escape (hex, any case) into its character.

    ``some-array_U005b_0_U005d_.entity`` -> ``some-array[0].entity``. Matches are found
    left to right without overlap and replaced independently (ESO replaces right to left,
    which gives the same text). Invalid code points become U+FFFD.
    """
    return _UNICODE_ESCAPE.sub(_decode_escape, key)


def reverse_key(strategy: Strategy, key: str) -> str:
    """One key name under ``strategy`` (``None``: unchanged)."""
    return reverse_unicode(key) if strategy == "ReverseUnicode" else key


def convert_keys(strategy: Strategy, data: Mapping[str, V]) -> dict[str, V]:
    """ESO's ``ReverseKeys``: ``data`` with every key converted, values untouched.

    Raises :class:`EntriesError` ``secret name collision during conversion: <key>`` (the
    converted name) when two keys convert to the same name.
    """
    out: dict[str, V] = {}
    for key, value in data.items():
        converted = reverse_key(strategy, key)
        if converted in out:
            raise EntriesError(f"secret name collision during conversion: {converted}")
        out[converted] = value
    return out


# --- §2.8.6 / §3 payloads ----------------------------------------------------------------


def entry_payload(entry: ExpandedEntry, data: Mapping[str, bytes]) -> dict[str, bytes] | bytes:
    """What the provider receives for ``entry`` from the source Secret's ``data``.

    Bundle: only the bundle's keys, under their converted names. Otherwise the whole data
    with keys converted by the entry's conversionStrategy (ESO's ``ReverseKeys``). Then a
    whole-secret entry (secretKey ``""``) gets that dict and a keyed entry gets its value.
    Raises :class:`EntriesError` ``could not apply conversion strategy to keys: ...`` or
    ``secret key <k> does not exist``.
    """
    if entry.bundle_keys is not None:
        source: dict[str, bytes] = {}
        for converted, original in entry.bundle_keys.items():
            if original not in data:  # the data is not the Secret the entry was expanded from
                raise EntriesError(f"secret key {original} does not exist")
            source[converted] = data[original]
    else:
        source = dict(data)
    try:
        secret_data = convert_keys(entry.data.conversion_strategy, source)
    except EntriesError as exc:
        raise EntriesError(f"could not apply conversion strategy to keys: {exc.message}") from exc
    key = entry.data.match.secret_key
    if not key:
        return secret_data
    if key not in secret_data:
        raise EntriesError(f"secret key {key} does not exist")
    return secret_data[key]


def check_marshallable(data: Mapping[str, bytes]) -> None:
    """Refuse to push ``data`` as one JSON object when a value is not UTF-8 text.

    Go's ``json.Marshal`` would silently replace the bytes with U+FFFD (corrupting the
    secret); this raises :class:`EntriesError` naming the first such key (sorted), never
    the value.
    """
    for key in sorted(data):
        try:
            data[key].decode("utf-8")
        except UnicodeDecodeError:
            # ``from None``: the decode error's text quotes the offending byte of the value.
            raise EntriesError(
                f"secret data is not valid UTF-8 and cannot be pushed as JSON: key {key}"
            ) from None
