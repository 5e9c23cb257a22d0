"""The sprig and ESO functions: known outputs (from sprig's and ESO's own test suites where
they exist) and round trips through ``cryptography`` for the PEM/PKCS#12/JWK/RSA helpers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from pushsecret.templating import TemplateError, render
from pushsecret.templating.functions import FUNCS


def run(template: str, **data: Any) -> str:
    return render(template, data)


def error(template: str, **data: Any) -> str:
    with pytest.raises(TemplateError) as info:
        run(template, **data)
    return str(info.value)


def test_function_map_is_esos() -> None:
    # ESO removes these three from sprig so templates cannot read the controller's
    # environment or resolve names.
    for name in ("env", "expandenv", "getHostByName"):
        assert name not in FUNCS
    for name in ("toYaml", "pkcs12key", "filterCertChain", "b64dec", "dateInZone", "dig"):
        assert name in FUNCS
    assert 'function "env" not defined' in error('{{ env "HOME" }}')


# ---- strings -------------------------------------------------------------------------------

STRINGS = [
    ('{{ "  a b  " | trim }}', "a b"),
    ('{{ "ab" | upper }} {{ "AB" | lower }} {{ "ß" | upper }}', "AB ab ß"),
    ('{{ "hello world-x" | title }} {{ "Hello World" | untitle }}', "Hello World-X hello world"),
    ('{{ "abcdef" | trunc 3 }} {{ "abcdef" | trunc -2 }} {{ "ab" | trunc 5 }}', "abc ef ab"),
    (
        '{{ "abcdef" | substr 1 3 }} {{ substr 2 -1 "abcdef" }} {{ substr -1 2 "abcdef" }}',
        "bc cdef ab",
    ),
    ('{{ "ab" | repeat 3 }}', "ababab"),
    ('{{ trimAll "$" "$5.00$" }} {{ trimSuffix "-" "a-" }} {{ trimPrefix "-" "-a" }}', "5.00 a a"),
    ('{{ "a b\\tc\\n" | nospace }} {{ "John Doe Foo" | initials }}', "abc JDF"),
    ('{{ "This Is A.Test" | swapcase }}', "tHIS iS a.tEST"),
    (
        '{{ "FirstName" | snakecase }} {{ "HTTPServer" | snakecase }} {{ "http2xx" | snakecase }}',
        "first_name http_server http_2xx",
    ),
    ('{{ "Bld4Floor3rd" | kebabcase }} {{ "GO PATH" | kebabcase }}', "bld4-floor-3rd go-path"),
    (
        '{{ "http_server" | camelcase }} {{ "_complex__case_" | camelcase }}',
        "HttpServer _Complex_Case_",
    ),
    ('{{ wrap 5 "Hello World" }}', "Hello\nWorld"),
    ('{{ wrapWith 5 "\\t" "Hello World" }}', "Hello\tWorld"),
    (
        '{{ "abc" | contains "b" }} {{ "abc" | hasPrefix "a" }} {{ "abc" | hasSuffix "a" }}',
        "true true false",
    ),
    ('{{ quote "a" 1 }} {{ squote "a" }} {{ cat "a" nil 1 2.5 }}', '"a" "1" \'a\' a 1 2.5'),
    ('{{ "a\\nb" | indent 2 }}|{{ "a" | nindent 2 }}', "  a\n  b|\n  a"),
    ('{{ "postgres://u@h" | replace "postgres://" "db+postgresql://" }}', "db+postgresql://u@h"),
    ('{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}', "one many"),
    (
        "{{ toString 5 }} {{ toString 1.5 }} {{ toString true }} {{ toString nil }}",
        "5 1.5 true <nil>",
    ),
    ('{{ "Now is the time for all good men" | abbrev 10 }}', "Now is ..."),
    ('{{ abbrevboth 5 10 "1234 5678 9123" }}', "...5678..."),
    ("{{ hello }}", "Hello!"),
]


@pytest.mark.parametrize(("template", "want"), STRINGS)
def test_strings(template: str, want: str) -> None:
    assert run(template) == want


def test_random_strings_use_their_alphabets() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{32}", run("{{ randAlphaNum 32 }}"))
    assert re.fullmatch(r"[A-Za-z]{8}", run("{{ randAlpha 8 }}"))
    assert re.fullmatch(r"[0-9]{8}", run("{{ randNumeric 8 }}"))
    assert re.fullmatch(r"[ -~]{8}", run("{{ randAscii 8 }}"))
    assert run("{{ randAlphaNum 32 }}") != run("{{ randAlphaNum 32 }}")
    assert sorted(run('{{ shuffle "abcdef" }}')) == list("abcdef")
    assert len(base64.b64decode(run("{{ randBytes 12 }}"))) == 12
    assert uuid.UUID(run("{{ uuidv4 }}")).version == 4


# ---- encodings and hashes ------------------------------------------------------------------

ENCODINGS = [
    ('{{ "1234" | b64enc }} {{ "MTIzNA==" | b64dec }}', "MTIzNA== 1234"),
    ('{{ "123412341234" | b64enc | b64dec }}', "123412341234"),
    # Sprig returns the decoder's error as the value, not as an error.
    ('{{ "iam_no_base64" | b64dec }}', "illegal base64 data at input byte 3"),
    ('{{ "MTIzNA" | b64dec }}', "illegal base64 data at input byte 4"),
    ('{{ "hello" | b32enc }} {{ "NBSWY3DP" | b32dec }}', "NBSWY3DP hello"),
    ('{{ "NBSWY3D" | b32dec }}', "illegal base32 data at input byte 0"),
    (
        '{{ "68656c6c6f" | hexdec }} {{ "6g" | hexdec }} {{ "abc" | hexdec }}',
        "hello encoding/hex: invalid byte: U+0067 'g' encoding/hex: odd length hex string",
    ),
    ('{{ "abc" | sha1sum }}', "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ('{{ "abc" | sha256sum }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ('{{ "abc" | sha512sum | trunc 16 }}', "ddaf35a193617aba"),
    ('{{ "abc" | adler32sum }}', "38600999"),
    (
        '{{ "example" | sha256sum | hexdec | b64enc }}',
        "UNhY4JhezH9gQYqvDMWrWH9CwlcKiECVqejMrND2VFw=",
    ),
]


@pytest.mark.parametrize(("template", "want"), ENCODINGS)
def test_encodings(template: str, want: str) -> None:
    assert run(template) == want


def test_binary_values_survive_base64() -> None:
    raw = bytes(range(256))
    text = raw.decode("utf-8", "surrogateescape")
    out = run("{{ .v | b64enc }}", v=text)
    assert base64.b64decode(out) == raw
    assert run("{{ .v | b64dec | b64enc }}", v=out) == out


# ---- defaults, JSON, reflection ------------------------------------------------------------

DEFAULTS = [
    (
        '{{ "" | default "d" }} {{ "v" | default "d" }} {{ 0 | default 7 }} {{ default "x" }}',
        "d v 7 x",
    ),
    (
        '{{ empty "" }} {{ empty 0 }} {{ empty (list) }} {{ empty (dict) }} {{ empty 1 }}',
        "true true true true false",
    ),
    (
        '{{ coalesce "" 0 "c" }} {{ all 1 "a" }} {{ all 1 "" }} {{ any 0 "" "x" }}',
        "c true false true",
    ),
    ('{{ ternary "y" "n" true }} {{ ternary "y" "n" false }}', "y n"),
    ('{{ list 1 "" 2 | compact }}', "[1 2]"),
    ('{{ dict "b" 1.5 "a" (list 1 "x" nil) | toJson }}', '{"a":[1,"x",null],"b":1.5}'),
    ('{{ "<a&b>" | toJson }} {{ "<a&b>" | toRawJson }}', '"\\u003ca\\u0026b\\u003e" "<a&b>"'),
    ('{{ dict "k" (list 1 2) | toPrettyJson }}', '{\n  "k": [\n    1,\n    2\n  ]\n}'),
    (
        '{{ $v := "{\\"foo\\": {\\"baz\\":\\"bang\\"}}" | fromJson }}{{ $v.foo | toJson }}',
        '{"baz":"bang"}',
    ),
    ('{{ ("{\\"n\\": 3}" | fromJson).n }} {{ typeOf ("{\\"n\\": 3}" | fromJson).n }}', "3 float64"),
    ('{{ "{ # no json # }" | fromJson }}', "<no value>"),  # fromJson swallows errors
    ("{{ 1000000.0 | toJson }} {{ 1e21 | toJson }} {{ 0.0000001 | toJson }}", "1000000 1e+21 1e-7"),
    (
        '{{ typeOf 1 }} {{ typeOf (list) }} {{ typeOf (splitList "," "a") }} {{ typeOf . }}',
        "int []interface {} []string map[string]string",
    ),
    (
        "{{ kindOf 1 }} {{ kindOf (list) }} {{ kindOf (dict) }} {{ kindOf nil }}",
        "int slice map invalid",
    ),
    ('{{ typeIs "string" "x" }} {{ kindIs "int" 1 }} {{ typeIsLike "int" 2 }}', "true true true"),
    ("{{ deepEqual (list 1 2) (list 1 2) }} {{ deepEqual 1 1.0 }}", "true false"),
    (
        '{{ $d := dict "a" (list 1) }}{{ $c := deepCopy $d }}{{ $_ := set $c "a" 2 }}{{ $d.a }}',
        "[1]",
    ),
]


@pytest.mark.parametrize(("template", "want"), DEFAULTS)
def test_defaults_json_reflection(template: str, want: str) -> None:
    assert run(template) == want


def test_must_variants_fail() -> None:
    assert "error calling mustFromJson: invalid JSON at offset 2" in error(
        '{{ mustFromJson "{ #" }}'
    )
    assert "unexpected end of JSON input" in error('{{ mustFromJson "{" }}')


# ---- numbers -------------------------------------------------------------------------------

NUMBERS = [
    (
        '{{ atoi "42" }} {{ atoi "x" }} {{ int "0x1f" }} {{ int "3.0" }} {{ int "010" }} {{ int 3.9 }}',
        "42 0 31 3 8 3",
    ),
    ('{{ int64 "12" }} {{ float64 "1.5" }} {{ float64 "x" }} {{ int true }}', "12 1.5 0 1"),
    (
        "{{ add 1 2 3 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ div -7 2 }} {{ mod -7 2 }}",
        "6 -2 24 3 -3 -1",
    ),
    (
        '{{ add "1" 2.9 }} {{ add1 41 }} {{ max 1 5 3 }} {{ min 4 2 8 }} {{ biggest 1 9 }}',
        "3 42 5 2 9",
    ),
    (
        "{{ addf 1.1 2.2 }} {{ subf 1.5 0.5 }} {{ mulf 1.5 2 }} {{ divf 1 3 }} {{ add1f 1.5 }}",
        "3.3 1 3 0.3333333333333333 2.5",
    ),
    (
        "{{ maxf 1.5 2.5 }} {{ minf 1.5 2.5 }} {{ ceil 1.2 }} {{ floor 1.8 }} {{ round 2.555 2 }}",
        "2.5 1.5 2 1 2.56",
    ),
    (
        "{{ until 3 }} {{ untilStep 0 10 4 }} {{ until -2 }} {{ seq 3 }} {{ seq 5 -1 3 }} {{ seq 2 4 }}",
        "[0 1 2] [0 4 8] [0 -1] 1 2 3 5 4 3 2 3 4",
    ),
    ('{{ toDecimal "0777" }} {{ toDecimal "9" }}', "511 0"),
    ("{{ add 9223372036854775807 1 }}", "-9223372036854775808"),  # int64 wraps as in Go
]


@pytest.mark.parametrize(("template", "want"), NUMBERS)
def test_numbers(template: str, want: str) -> None:
    assert run(template) == want


def test_number_errors() -> None:
    assert error("{{ div 1 0 }}").endswith(
        "error calling div: runtime error: integer divide by zero"
    )
    assert "invalid argument to Intn" in error("{{ randInt 5 5 }}")
    assert 3 <= int(run("{{ randInt 3 6 }}")) < 6


# ---- lists, dicts, string lists ------------------------------------------------------------

LISTS = [
    ('{{ list 1 "a" | toJson }} {{ tuple 1 2 }}', '[1,"a"] [1 2]'),
    (
        "{{ append (list 1 2) 3 }} {{ prepend (list 1 2) 0 }} {{ 3 | push (list 1 2) }}",
        "[1 2 3] [0 1 2] [1 2 3]",
    ),
    (
        "{{ list 1 2 3 | first }} {{ list 1 2 3 | last }} {{ list 1 2 3 | rest }} {{ list 1 2 3 | initial }}",
        "1 3 [2 3] [1 2]",
    ),
    ("{{ list | first }} {{ list | rest }}", "<no value> []"),
    (
        "{{ list 1 2 3 | reverse }} {{ list 1 1 2 | uniq }} {{ without (list 1 2 3) 2 }}",
        "[3 2 1] [1 2] [1 3]",
    ),
    ('{{ has 2 (list 1 2) }} {{ has "x" (list 1) }} {{ has 1 nil }}', "true false false"),
    (
        "{{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }} {{ concat (list 1) (list 2 3) }}",
        "[2 3] [2 3] [1 2 3]",
    ),
    ("{{ chunk 2 (list 1 2 3) }} {{ chunk 2 (list) }}", "[[1 2] [3]] []"),
    ('{{ dict "a" 1 "b" | toJson }}', '{"a":1,"b":""}'),
    (
        '{{ $d := dict "a" 1 }}{{ get $d "a" }}{{ get $d "z" }} {{ hasKey $d "a" }} {{ hasKey $d "z" }}',
        "1 true false",
    ),
    ('{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $_ := unset $d "a" }}{{ $d }}', "map[b:2]"),
    ('{{ keys (dict "b" 1 "a" 2) }} {{ values (dict "b" 1 "a" 2) }}', "[a b] [2 1]"),
    (
        '{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" }} {{ omit (dict "a" 1 "b" 2) "a" }}',
        "map[a:1 c:3] map[b:2]",
    ),
    ('{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}', "[1 3]"),
    (
        '{{ merge (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2)) | toJson }}',
        '{"a":1,"b":3,"n":{"x":1,"y":2}}',
    ),
    (
        '{{ mergeOverwrite (dict "a" 1 "c" 5) (dict "a" 2 "b" 3 "c" "") | toJson }}',
        '{"a":2,"b":3,"c":5}',
    ),
    (
        '{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }} {{ dig "a" "z" "def" (dict "a" (dict)) }}',
        "found def",
    ),
    (
        '{{ $p := split "$" "foo$bar$baz" }}{{ $p._0 }}{{ $p._2 }} {{ splitList "," "a,b" }}',
        "foobaz [a b]",
    ),
    ('{{ $p := splitn "$" 2 "foo$bar$baz" }}{{ $p._1 }} {{ splitList "" "ab" }}', "bar$baz [a b]"),
    (
        '{{ list "b" "a" 3 | sortAlpha }} {{ list 1 nil "x" | join "-" }} {{ toStrings (list 1 2) }}',
        "[3 a b] 1-x [1 2]",
    ),
]


@pytest.mark.parametrize(("template", "want"), LISTS)
def test_lists_and_dicts(template: str, want: str) -> None:
    assert run(template) == want


def test_list_errors_name_kinds_not_values() -> None:
    assert error('{{ first "secret-string" }}').endswith("Cannot find first on type string")
    assert error("{{ concat 1 }}").endswith("Cannot concat type int as list")
    assert "dig needs at least three arguments" in error('{{ dig "a" (dict) }}')


# ---- regular expressions -------------------------------------------------------------------

REGEXES = [
    ('{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^[a-z]+$" "abc\\n" }}', "true false"),
    ('{{ regexMatch "(" "x" }}', "false"),  # the non-must variant swallows the compile error
    (
        '{{ regexFindAll "[2,4,6,8]" "123456789" -1 }} {{ regexFindAll "[2,4,6,8]" "123456789" 2 }}',
        "[2 4 6 8] [2 4]",
    ),
    ('{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }}', "d1"),
    ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
    (
        '{{ regexReplaceAll "a(?P<n>x*)b" "-axxb-" "[$n]" }} {{ regexReplaceAll "(a)" "a" "$1x" }}',
        "-[xx]- ",
    ),
    ('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}', "-${1}-${1}-"),
    ('{{ regexReplaceAll "x*" "abc" "-" }}', "-a-b-c-"),
    (
        '{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "z+" "pizza" 1 }} {{ regexSplit "" "abc" -1 }}',
        "[pi a] [pizza] [a b c]",
    ),
    ('{{ regexQuoteMeta "1.2+[x]" }}', "1\\.2\\+\\[x\\]"),
    ('{{ regexMatch "^[[:alpha:]]+\\\\z" "abc" }} {{ regexMatch "\\\\d" "٣" }}', "true false"),
]


@pytest.mark.parametrize(("template", "want"), REGEXES)
def test_regexes(template: str, want: str) -> None:
    assert run(template) == want


def test_regex_errors_do_not_quote_the_pattern() -> None:
    msg = error('{{ mustRegexFind "(secret" "x" }}')
    assert "error calling mustRegexFind: error parsing regexp: missing )" in msg
    assert "(secret" not in msg.split("executing")[1].split(">:")[1]
    assert "unsupported Perl syntax" in error('{{ mustRegexMatch "a(?=b)" "ab" }}')
    assert "regexp: Compile: error parsing regexp" in error('{{ regexFind "(" "x" }}')


# ---- paths and URLs ------------------------------------------------------------------------

PATHS = [
    (
        '{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ ext "foo/bar/baz.exe" }} {{ clean "/a//b/../c" }}',
        "b.txt /a .exe /a/c",
    ),
    (
        '{{ base "" }} {{ dir "x" }} {{ isAbs "/x" }} {{ ext ".bashrc" }} {{ osBase "a/b/" }}',
        ". . true .bashrc b",
    ),
    ('{{ (urlParse "https://u:p@host:8080/p%20x?q=1#frag").host }}', "host:8080"),
    (
        '{{ $u := urlParse "https://u:p@host:8080/p%20x?q=1#frag" }}{{ $u.hostname }} {{ $u.path }} {{ $u.query }} {{ $u.fragment }} {{ $u.userinfo }}',
        "host /p x q=1 frag u:p",
    ),
    (
        '{{ urlJoin (dict "scheme" "https" "host" "h" "path" "/a b" "query" "x=1") }}',
        "https://h/a%20b?x=1",
    ),
]


@pytest.mark.parametrize(("template", "want"), PATHS)
def test_paths_and_urls(template: str, want: str) -> None:
    assert run(template) == want


# ---- dates ---------------------------------------------------------------------------------


def test_dates() -> None:
    assert run('{{ toDate "2006-01-02" "2024-03-05" | date "Jan 2, 2006 15:04 MST" }}') == (
        "Mar 5, 2024 00:00 UTC"
    )
    stamp = '{{ toDate "2006-01-02T15:04:05Z07:00" "2024-03-05T07:08:09+02:00" }}'
    assert run(stamp) == "2024-03-05 07:08:09 +0200 +0200"
    t = '(toDate "2006-01-02 15:04:05.000" "2024-03-05 13:04:05.250")'
    assert run("{{ " + t + ' | date "Monday 02/01/06 3:04:05.999 PM" }}') == (
        "Tuesday 05/03/24 1:04:05.25 PM"
    )
    assert run("{{ " + t + " | unixEpoch }}") == "1709643845"
    assert (
        run('{{ dateInZone "15:04 MST" 0 "UTC" }} {{ htmlDate 86400 }}') == "00:00 UTC 1970-01-02"
    )
    assert run("{{ " + t + ' | dateModify "1h30m" | date "15:04" }}') == "14:34"
    assert run("{{ " + t + ' | dateModify "bogus" | date "15:04" }}') == "13:04"
    assert run('{{ toDate "2006-01-02" "nope" }}') == "0001-01-01 00:00:00 +0000 UTC"
    assert run('{{ 90 | duration }} {{ "3600" | duration }} {{ "1h30m" | durationRound }}') == (
        "1m30s 1h0m0s 1h"
    )
    year = dt.datetime.now(dt.UTC).year
    assert run('{{ now | date "2006" }}') == str(year)
    assert run("{{ now | ago }}") in ("0s", "1s")


def test_date_errors_do_not_quote_the_value() -> None:
    msg = error('{{ mustToDate "2006-01-02" "s3cr3t-value" }}')
    assert msg.endswith('parsing time as "2006-01-02": cannot parse value as "2006"')
    assert "s3cr3t" not in msg.split(">:")[1]


# ---- crypto --------------------------------------------------------------------------------


def test_derive_password_matches_sprig() -> None:
    cases = {'1 "long"': "ZedaFaxcZaso9*", '2 "long"': "Fovi2@JifpTupx", '1 "pin"': "6685"}
    for args, want in cases.items():
        assert run("{{ derivePassword " + args + ' "password" "user" "example.com" }}') == want


def test_htpasswd_and_aes() -> None:
    out = run('{{ htpasswd "foo1" "FZ4jR;l]ON;pHKi=_\'zh79P" "sha" }}')
    assert out == "foo1:{SHA}wtdJD6OIjUniEJkTlewnKzfFxA4="
    assert run('{{ htpasswd "a:b" "p" "sha" }}') == "invalid username: a:b"
    assert run('{{ encryptAES "key" "plain text" | decryptAES "key" }}') == "plain text"
    assert run('{{ encryptAES "key" "" }}') == ""


@pytest.mark.parametrize(
    ("kind", "header"), [("ecdsa", "EC PRIVATE KEY"), ("ed25519", "PRIVATE KEY")]
)
def test_gen_private_key(kind: str, header: str) -> None:
    pem = run('{{ genPrivateKey "' + kind + '" }}')
    assert pem.startswith(f"-----BEGIN {header}-----\n")
    serialization.load_pem_private_key(pem.encode(), None)
    assert run('{{ genPrivateKey "nope" }}') == "Unknown type nope"


@pytest.mark.parametrize("name", ["bcrypt", "semver", "genCA"])
def test_unsupported_functions_parse_but_fail(name: str) -> None:
    args = {"bcrypt": '"x"', "semver": '"1.0.0"', "genCA": '"cn" 365'}[name]
    assert error("{{ " + name + " " + args + " }}").endswith(
        f"error calling {name}: {name} is not supported by pushsecret-temporal"
    )


# ---- ESO: YAML -----------------------------------------------------------------------------

YAMLS = [
    ('{{ "{\\"foo\\": \\"bar\\"}" | fromJson | toYaml }}', "foo: bar"),
    ('{{ "foo: bar" | fromYaml | toJson }}', '{"foo":"bar"}'),
    ('{{ ("num: 3" | fromYaml).num }} {{ typeOf ("num: 3" | fromYaml).num }}', "3 float64"),
    # go-yaml v2 reads "n" as false (YAML 1.1) and dates as times, as ESO does.
    ('{{ "n: 1\\nd: 2024-01-02" | fromYaml | toJson }}', '{"d":"2024-01-02T00:00:00Z","false":1}'),
    (
        '{{ ("- a" | fromYaml).Error }}',
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
    ),
    (
        '{{ ("a: [" | fromYaml).Error | hasPrefix "error converting YAML to JSON: yaml: line" }}',
        "true",
    ),
    (
        '{{ dict "b" (list 1 (dict "x" "y")) "a" (dict "c" "d") | toYaml }}',
        'a:\n  c: d\nb:\n- 1\n- x: "y"',
    ),
    (
        '{{ dict "t" "true" "n" "1.5" "e" "" "s" "a: b" "m" "l1\\nl2" "q" "it\'s: x" | toYaml }}',
        'e: ""\nm: |-\n  l1\n  l2\n"n": "1.5"\nq: \'it\'\'s: x\'\ns: \'a: b\'\nt: "true"',
    ),
    ('{{ dict "a10" 1 "a9" 2 "B" 3 "_" 4 | toYaml }}', "_: 4\nB: 3\na9: 2\na10: 1"),
    (
        "{{ list | toYaml }} {{ dict | toYaml }} {{ 1.5 | toYaml }} {{ 3.0 | toYaml }}",
        "[] {} 1.5 3",
    ),
    ('{{ dict "k" (list (list 1 2)) "e" (list) | toYaml }}', "e: []\nk:\n- - 1\n  - 2"),
    (
        '{{ "2024-01-02" | toYaml }} {{ "yes" | toYaml }} {{ "plain words" | toYaml }}',
        '"2024-01-02" "yes" plain words',
    ),
]


@pytest.mark.parametrize(("template", "want"), YAMLS)
def test_yaml(template: str, want: str) -> None:
    assert run(template) == want


def test_to_yaml_folds_long_plain_lines_like_go_yaml() -> None:
    words = " ".join(["word"] * 30)
    out = run('{{ dict "k" .v | toYaml }}', v=words)
    first, *rest = out.split("\n")
    assert len(first) > 80 and rest and all(line.startswith("  word") for line in rest)
    assert out.replace("\n  ", " ") == "k: " + words


# ---- ESO: PEM, PKCS#12, JWK, RSA ----------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str, key: Any, issuer: tuple[str, Any] | None = None, ca: bool = False
) -> x509.Certificate:
    issuer_name, issuer_key = (subject, key) if issuer is None else issuer
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    )
    if not ca:
        sans = [
            x509.DNSName("svc.example.com"),
            x509.IPAddress(__import__("ipaddress").ip_address("10.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def chain() -> dict[str, Any]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    mid_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("root", root_key, ca=True)
    mid = _cert("mid", mid_key, ("root", root_key), ca=True)
    leaf = _cert("leaf", leaf_key, ("mid", mid_key))

    def pem(c: x509.Certificate) -> str:
        return c.public_bytes(serialization.Encoding.PEM).decode()

    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "leaf": pem(leaf),
        "mid": pem(mid),
        "root": pem(root),
        "key": key_pem,
        "leaf_key": leaf_key,
        "certs": (leaf, mid, root),
    }


def test_filter_pem(chain: dict[str, Any]) -> None:
    both = chain["key"] + chain["leaf"]
    assert run('{{ .v | filterPEM "CERTIFICATE" }}', v=both) == chain["leaf"]
    assert run('{{ .v | filterPEM "private key" }}', v="junk\n" + both) == chain["key"]
    assert error('{{ .v | filterPEM "CERTIFICATE" }}', v="---junk---").endswith(
        "error calling filterPEM: error filtering pem: found junk"
    )


def test_filter_cert_chain(chain: dict[str, Any]) -> None:
    full = chain["root"] + chain["leaf"] + chain["mid"]  # any order
    assert run('{{ .v | filterCertChain "leaf" }}', v=full) == chain["leaf"]
    assert run('{{ .v | filterCertChain "intermediate" }}', v=full) == chain["mid"]
    assert run('{{ .v | filterCertChain "root" }}', v=full) == chain["root"]
    assert run('{{ .v | filterCertChain "root" }}', v=chain["leaf"] + chain["mid"]) == ""
    assert run('{{ .v | filterCertChain "leaf" }}', v=chain["root"]) == ""
    assert "no leaf certificate found" in error('{{ "" | filterCertChain "leaf" }}')


def test_cert_sans(chain: dict[str, Any]) -> None:
    assert run("{{ .v | certSANs | toJson }}", v=chain["leaf"]) == '["svc.example.com","10.0.0.1"]'
    assert run("{{ index (.v | certSANs) 0 }}", v=chain["leaf"]) == "svc.example.com"
    assert error("{{ .v | certSANs }}", v="not-a-pem").endswith("failed to decode PEM block")


def _pfx(chain: dict[str, Any], password: bytes | None) -> str:
    leaf, mid, root = chain["certs"]
    enc: Any = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    raw = pkcs12.serialize_key_and_certificates(b"x", chain["leaf_key"], leaf, [root, mid], enc)
    return base64.b64encode(raw).decode()


def test_pkcs12_key_and_cert(chain: dict[str, Any]) -> None:
    plain, locked = _pfx(chain, None), _pfx(chain, b"1234")
    assert run("{{ .p | b64dec | pkcs12key }}", p=plain) == chain["key"]
    ordered = chain["leaf"] + chain["mid"] + chain["root"]  # the chain is put in order
    assert run("{{ .p | b64dec | pkcs12cert }}", p=plain) == ordered
    assert run('{{ .p | b64dec | pkcs12keyPass "1234" }}', p=locked) == chain["key"]
    assert run('{{ .p | b64dec | pkcs12certPass "1234" }}', p=locked) == ordered
    assert error('{{ .p | b64dec | pkcs12keyPass "wrong" }}', p=locked).endswith(
        "unable to decode pkcs12 with password: pkcs12: decryption password incorrect"
    )


@pytest.mark.parametrize("password", ["", "s3cret"])
def test_pem_to_pkcs12_round_trips(chain: dict[str, Any], password: str) -> None:
    data = {"cert": chain["leaf"] + chain["mid"], "key": chain["key"], "pw": password}
    suffix = "Pass .cert .key .pw" if password else " .cert .key"
    single = render("{{ pemToPkcs12" + suffix + " }}", data)
    full = render("{{ fullPemToPkcs12" + suffix + " }}", data)
    for out, extra in ((single, 0), (full, 1)):
        bundle = pkcs12.load_pkcs12(base64.b64decode(out), password.encode() or None)
        assert bundle.cert is not None and bundle.cert.certificate == chain["certs"][0]
        assert len(bundle.additional_certs) == extra
        assert bundle.key is not None
        assert bundle.key.public_key() == chain["leaf_key"].public_key()
    # Back through ESO's own readers.
    back = "{{ .p | b64dec | pkcs12key" + ('Pass "s3cret"' if password else "") + " }}"
    assert render(back, {"p": full}) == chain["key"]


def test_pem_truststore(chain: dict[str, Any]) -> None:
    out = run("{{ pemTruststoreToPKCS12 .v }}", v=chain["mid"] + chain["root"])
    bundle = pkcs12.load_pkcs12(base64.b64decode(out), None)
    assert [c.certificate for c in bundle.additional_certs] == list(chain["certs"][1:])


def test_pem_to_pkcs12_errors_without_values(chain: dict[str, Any]) -> None:
    msg = error("{{ pemToPkcs12 .c .k }}", c="nope", k=chain["key"])
    assert msg.endswith("runtime error: invalid memory address or nil pointer dereference")
    msg = error("{{ pemToPkcs12 .c .k }}", c=chain["leaf"], k=chain["leaf"])
    assert msg.endswith("error calling pemToPkcs12: unable to parse private key type")
    assert "BEGIN" not in msg


# JWKs and their PEM forms from ESO's template_test.go (P-256 private, P-521 public).
JWK_PRIV_EC = '{"kty": "EC","kid": "rie3pHe8u8gjSa0IaJfqk7_iEfHeYfDYx-Bqi7vQc0s","crv": "P-256","x": "fDjg3Nq4jPf8IOZ0277aPVal_8iXySnzLUJAZghUzZM","y": "d863PeyBOK_Q4duiSmWwgIRzi1RPlFZTR-vACMlPg-Q","d": "jJs5xsoHUetdMabtt8H2KyX5T92nGul1chFeMT5hlr0"}'
JWK_PRIV_EC_PKCS8 = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjJs5xsoHUetdMabt
t8H2KyX5T92nGul1chFeMT5hlr2hRANCAAR8OODc2riM9/wg5nTbvto9VqX/yJfJ
KfMtQkBmCFTNk3fOtz3sgTiv0OHbokplsICEc4tUT5RWU0frwAjJT4Pk
-----END PRIVATE KEY-----
"""
JWK_PUB_EC = '{"kid":"ec-p-521","kty":"EC","key_ops":["sign","verify"],"crv":"P-521","x":"AedOAtb7H7Oz1C_cPKI_R4CN_eai5nteY6KFW07FOoaqgQfVCSkQDK22fCOiMT_28c8LZYJRsiIFz_IIbQUW7bXj","y":"AOnchHnmBphIWXvanmMAmcCDkaED6ycW8GsAl9fQ43BMVZTqcTkJYn6vGnhn7MObizmkNSmgZYTwG-vZkIg03HHs"}'
JWK_PUB_EC_PKIX = """-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQB504C1vsfs7PUL9w8oj9HgI395qLm
e15jooVbTsU6hqqBB9UJKRAMrbZ8I6IxP/bxzwtlglGyIgXP8ghtBRbtteMA6dyE
eeYGmEhZe9qeYwCZwIORoQPrJxbwawCX19DjcExVlOpxOQlifq8aeGfsw5uLOaQ1
KaBlhPAb69mQiDTccew=
-----END PUBLIC KEY-----
"""


def test_jwk_to_pem() -> None:
    assert run("{{ .v | jwkPrivateKeyPem }}", v=JWK_PRIV_EC) == JWK_PRIV_EC_PKCS8
    assert run("{{ .v | jwkPublicKeyPem }}", v=JWK_PUB_EC) == JWK_PUB_EC_PKIX
    assert error("{{ .v | jwkPublicKeyPem }}", v=JWK_PRIV_EC).endswith(
        "x509: unsupported public key type: *ecdsa.PrivateKey"
    )
    assert "failed to parse key" in error('{{ "{}" | jwkPrivateKeyPem }}')


def test_jwk_rsa_round_trip() -> None:
    key = rsa.generate_private_key(65537, 2048)
    nums = key.private_numbers()

    def b64(n: int) -> str:
        return (
            base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))
            .decode()
            .rstrip("=")
        )

    jwk = {
        "kty": "RSA",
        "n": b64(nums.public_numbers.n),
        "e": b64(nums.public_numbers.e),
        "d": b64(nums.d),
    }
    pem = run("{{ .v | jwkPrivateKeyPem }}", v=json.dumps(jwk))
    loaded = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == nums


def test_rsa_decrypt() -> None:
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    for name, algo in (("SHA1", hashes.SHA1()), ("SHA256", hashes.SHA256())):
        ct = key.public_key().encrypt(
            b"a1b2c3d4", padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None)
        )
        data = {"k": pem, "c": base64.b64encode(ct).decode()}
        tpl = '{{ .k | rsaDecrypt "RSA-OAEP" "' + name + '" (.c | b64dec) }}'
        assert render(tpl, data) == "a1b2c3d4"
    assert run('{{ rsaDecrypt "None" "SHA1" "as-is" "" }}') == "as-is"
    assert error('{{ rsaDecrypt "PKCS1" "SHA1" "x" "" }}').endswith(
        "decryption scheme PKCS1 is not supported"
    )
    assert error('{{ .k | rsaDecrypt "RSA-OAEP" "SHA1" "garbage" }}', k=pem).endswith(
        "error decrypting data with RSA: crypto/rsa: decryption error"
    )
