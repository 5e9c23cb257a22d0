"""The Password generator: ESO's defaults and errors, go-password v0.3.1's algorithm."""

from __future__ import annotations

import base64
import random
import secrets
import string
from collections.abc import Callable, Iterator

import pytest

from pushsecret.api.generators import DEFAULT_SYMBOL_CHARACTERS, PasswordSpec
from pushsecret.generators import GeneratorError, generate, generate_password
from pushsecret.generators import password as password_module
from pushsecret.generators.password import go_password

D = DEFAULT_SYMBOL_CHARACTERS
UPPER = set(string.ascii_uppercase)
LETTERS = set(string.ascii_letters)
DIGITS = set(string.digits)

ERR_TOTAL = "number of digits and symbols must be less than total length"
ERR_LETTERS = "number of letters exceeds available letters and repeats are not allowed"
ERR_DIGITS = "number of digits exceeds available digits and repeats are not allowed"
ERR_SYMBOLS = "number of symbols exceeds available symbols and repeats are not allowed"
ERR_KEYS = "secretKeys must be non-empty and unique"


def _one(**fields: object) -> str:
    """One password from a spec given in CRD (camelCase) terms."""
    out = generate_password(PasswordSpec.model_validate(fields))
    assert list(out) == ["password"]
    return out["password"].decode()


def _classes(pw: str, symbols: str = D) -> tuple[int, int, int]:
    letters = sum(c in LETTERS for c in pw)
    digits = sum(c in DIGITS for c in pw)
    syms = sum(c in symbols for c in pw)
    assert letters + digits + syms == len(pw), "only letters, digits and the symbol set"
    return letters, digits, syms


def test_default_spec_gives_24_chars_6_digits_6_symbols_all_distinct() -> None:
    for _ in range(50):
        pw = _one()
        assert len(pw) == 24
        assert _classes(pw) == (12, 6, 6)
        assert len(set(pw)) == 24  # allowRepeat defaults to false


def test_default_symbol_set_is_esos_30_characters() -> None:
    assert len(D) == 30
    assert D == '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
    seen: set[str] = set()
    for _ in range(200):
        seen |= {c for c in _one(length=30, digits=0, symbols=30) if c in D}
    assert seen == set(D)  # symbols=30 without repeats must use every symbol


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (1, (1, 0, 0)),
        (3, (3, 0, 0)),
        (4, (2, 1, 1)),
        (7, (5, 1, 1)),
        (10, (6, 2, 2)),
        (16, (8, 4, 4)),
        (40, (20, 10, 10)),
        (0, (12, 6, 6)),  # <= 0 means 24
        (-5, (12, 6, 6)),
    ],
)
def test_lengths_and_default_quarters(length: int, expected: tuple[int, int, int]) -> None:
    pw = _one(length=length)
    assert len(pw) == sum(expected)
    assert _classes(pw) == expected


def test_default_quarter_is_go_float32_arithmetic() -> None:
    # float32(16777219) rounds to 16777220, so Go gets 4194305 where exact maths gives 4194304.
    assert password_module._quarter(16777219, 0.25) == 4194305
    assert password_module._quarter(16777217, 0.25) == 4194304
    assert password_module._quarter(24, 0.25) == 6
    assert password_module._quarter(7, 0.25) == 1


def test_long_default_password_hits_the_digit_limit() -> None:
    # ESO quirk: length 44 means 11 default digits, more than 10 distinct digits exist.
    with pytest.raises(GeneratorError) as err:
        _one(length=44)
    assert err.value.message == ERR_DIGITS


@pytest.mark.parametrize(
    ("length", "digits", "symbols"),
    [(24, 0, 0), (24, 10, 0), (24, 0, 14), (12, 3, 9), (30, 10, 20), (5, 2, 3), (8, 0, 8)],
)
def test_explicit_digit_and_symbol_counts_are_exact(length: int, digits: int, symbols: int) -> None:
    pw = _one(length=length, digits=digits, symbols=symbols)
    assert len(pw) == length
    assert _classes(pw) == (length - digits - symbols, digits, symbols)


def test_no_upper_excludes_capitals() -> None:
    for _ in range(50):
        pw = _one(length=30, digits=2, symbols=2, noUpper=True)
        assert not UPPER & set(pw)
        assert _classes(pw) == (26, 2, 2)  # all 26 lower-case letters, no repeats


def test_upper_case_is_used_by_default() -> None:
    assert any(UPPER & set(_one()) for _ in range(20))


def test_allow_repeat_false_means_all_characters_distinct() -> None:
    for _ in range(30):
        pw = _one(length=72, digits=10, symbols=10)  # 52 letters: the whole alphabet
        assert len(set(pw)) == 72


def test_allow_repeat_true_allows_long_passwords() -> None:
    pw = _one(length=100, digits=0, symbols=0, allowRepeat=True)
    assert len(pw) == 100
    assert set(pw) <= LETTERS
    assert len(set(pw)) < 100  # 52 letters only: repeats are unavoidable
    pw = _one(length=200, digits=50, symbols=50, allowRepeat=True, symbolCharacters="-")
    assert _classes(pw, "-") == (100, 50, 50)


def test_custom_symbol_characters_are_honoured() -> None:
    for _ in range(30):
        pw = _one(length=10, digits=2, symbols=3, symbolCharacters="-_.")
        assert _classes(pw, "-_.") == (5, 2, 3)
        assert {c for c in pw if not c.isalnum()} == set("-_.")


def test_empty_symbol_characters_fall_back_to_go_password_symbols() -> None:
    # go-password's own Symbols (v0.3.1, and every earlier release) equal ESO's default.
    assert D.encode() == password_module._GO_PASSWORD_SYMBOLS
    pw = _one(length=40, digits=0, symbols=30, symbolCharacters="")
    assert {c for c in pw if not c.isalnum()} == set(D)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"length": 10, "digits": 6, "symbols": 6}, ERR_TOTAL),
        ({"length": 5, "digits": 6, "symbols": 0, "allowRepeat": True}, ERR_TOTAL),
        ({"length": 53, "digits": 0, "symbols": 0}, ERR_LETTERS),
        ({"length": 27, "digits": 0, "symbols": 0, "noUpper": True}, ERR_LETTERS),
        ({"length": 30, "digits": 11, "symbols": 0}, ERR_DIGITS),
        ({"length": 61, "digits": 0, "symbols": 31}, ERR_SYMBOLS),
        ({"length": 5, "digits": 0, "symbols": 3, "symbolCharacters": "-_"}, ERR_SYMBOLS),
        ({"secretKeys": ["a", ""]}, ERR_KEYS),
        ({"secretKeys": ["a", "b", "a"]}, ERR_KEYS),
        # secretKeys are checked before anything is generated
        ({"secretKeys": [""], "length": 3, "digits": 5}, ERR_KEYS),
    ],
)
def test_error_texts(fields: dict[str, object], message: str) -> None:
    spec = PasswordSpec.model_validate(fields)
    with pytest.raises(GeneratorError) as err:
        generate_password(spec)
    assert err.value.message == message == str(err.value)
    assert not err.value.terminal
    # The PushSecret controller wraps generator errors.
    with pytest.raises(GeneratorError) as wrapped:
        generate("Password", fields)
    assert wrapped.value.message == f"unable to generate: {message}"


def test_repeats_allowed_lift_the_availability_errors() -> None:
    pw = _one(length=80, digits=20, symbols=40, allowRepeat=True, symbolCharacters="-_")
    assert _classes(pw, "-_") == (20, 20, 40)


def test_exhausted_symbol_set_fails_instead_of_looping_forever() -> None:
    # Go passes the length checks and then spins forever; we report go-password's error.
    with pytest.raises(GeneratorError) as err:
        _one(length=4, digits=0, symbols=2, symbolCharacters="!!")
    assert err.value.message == ERR_SYMBOLS
    # Symbols that are letters, all already used by the 26 lower-case letters.
    with pytest.raises(GeneratorError) as err:
        _one(length=28, digits=0, symbols=2, noUpper=True, symbolCharacters="ab")
    assert err.value.message == ERR_SYMBOLS
    # Duplicates are fine as long as enough distinct characters remain.
    pw = _one(length=4, digits=0, symbols=2, symbolCharacters="!!?")
    assert sorted(c for c in pw if not c.isalpha()) == ["!", "?"]


def test_non_ascii_symbols_are_split_into_bytes_as_in_go() -> None:
    # "é" is C3 A9; Go draws a byte and string(byte) makes it U+00C3 or U+00A9.
    raw = generate_password(PasswordSpec(length=3, digits=0, symbols=1, symbol_characters="é"))[
        "password"
    ]
    pw = raw.decode()
    assert len(pw) == 3
    assert sum(c in "Ã©" for c in pw) == 1


@pytest.mark.parametrize(
    ("encoding", "decode"),
    [
        ("raw", lambda b: b),
        ("base64", base64.b64decode),
        ("base64url", base64.urlsafe_b64decode),
        ("base32", base64.b32decode),
        ("hex", lambda b: bytes.fromhex(b.decode())),
    ],
)
def test_encodings_decode_back_to_a_password(
    encoding: str, decode: Callable[[bytes], bytes]
) -> None:
    for _ in range(20):
        out = generate_password(PasswordSpec.model_validate({"encoding": encoding}))["password"]
        pw = decode(out).decode()
        assert len(pw) == 24
        assert _classes(pw) == (12, 6, 6)
        if encoding in ("base64", "base64url", "base32"):
            assert out.endswith(b"=") == (len(pw) % (3 if "64" in encoding else 5) != 0)
        if encoding == "hex":
            assert out == out.lower()


def test_encodings_use_go_alphabets_and_padding() -> None:
    sample = b"Test>>Pass??word"  # ESO's own case: exercises - and _ of the URL alphabet
    encoders = password_module._ENCODERS
    assert encoders["base64url"](sample) == b"VGVzdD4-UGFzcz8_d29yZA=="
    assert encoders["base64"](sample) == b"VGVzdD4+UGFzcz8/d29yZA=="
    assert encoders["base32"](b"ab") == b"MFRA===="
    assert encoders["hex"](b"\xab\x01") == b"ab01"


def test_unknown_encoding_is_raw_through_the_registry() -> None:
    out = generate("Password", {"encoding": "rot13", "length": 8})["password"]
    assert len(out) == 8


def test_secret_keys_get_independent_passwords_in_order() -> None:
    out = generate_password(PasswordSpec(secret_keys=["first", "second", "third"]))
    assert list(out) == ["first", "second", "third"]
    assert len(set(out.values())) == 3
    for value in out.values():
        assert _classes(value.decode()) == (12, 6, 6)


def test_positions_are_spread_over_the_password() -> None:
    samples = [_one() for _ in range(400)]
    for position in range(24):
        column = [pw[position] for pw in samples]
        assert any(c in DIGITS for c in column), position
        assert any(c in D for c in column), position
        assert any(c in LETTERS for c in column), position
    first_half = sum(c in DIGITS for pw in samples for c in pw[:12])
    second_half = sum(c in DIGITS for pw in samples for c in pw[12:])
    assert abs(first_half - second_half) < 0.2 * (first_half + second_half) / 2
    assert sum(pw[-1] in DIGITS | set(D) for pw in samples) < 300  # ~half expected


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Replace secrets.randbelow with a script of ``(expected n, value)`` pairs."""
    script: list[tuple[int, int]] = []

    def randbelow(n: int) -> int:
        expected, value = script.pop(0)
        assert n == expected
        return value

    monkeypatch.setattr(secrets, "randbelow", randbelow)
    yield script
    assert script == [], "every scripted draw is used"


def test_draws_follow_go_password_exactly(scripted: list[tuple[int, int]]) -> None:
    scripted += [
        (26, 0),  # letter 'a'; first character: no position draw
        (26, 0),  # 'a' again: a repeat, drawn again
        (26, 1),  # 'b'
        (2, 0),  # inserted at 0 -> "ba"
        (10, 7),  # digit '7'
        (3, 1),  # at 1 -> "b7a"
        (2, 1),  # symbol '_'
        (4, 3),  # at 3 -> "b7a_"
    ]
    assert go_password(4, 1, 1, no_upper=True, allow_repeat=False, symbol_characters="-_") == (
        b"b7a_"
    )


def test_letters_then_digits_then_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda n: 0)
    assert _one(allowRepeat=True) == "~" * 6 + "0" * 6 + "a" * 12
    monkeypatch.setattr(secrets, "randbelow", lambda n: n - 1)
    assert _one(allowRepeat=True) == "Z" * 12 + "9" * 6 + "/" * 6


def test_only_the_secrets_module_supplies_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the random module must not be used")

    for name in (
        "random",
        "randrange",
        "randint",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "getrandbits",
        "randbytes",
        "uniform",
        "seed",
    ):
        monkeypatch.setattr(random, name, forbidden)
    monkeypatch.setattr(random.Random, "__init__", forbidden)
    calls = 0
    real = secrets.randbelow

    def counting(n: int) -> int:
        nonlocal calls
        calls += 1
        return real(n)

    monkeypatch.setattr(secrets, "randbelow", counting)
    pw = _one()
    assert len(pw) == 24
    assert calls >= 24 + 23  # one draw per character plus one per insertion
    assert "random" not in vars(password_module)
