"""Go compatibility of the payload encodings (ESO's esutils.JSONMarshal, sjson, gjson).

Expected bytes are what Go's encoding/json (Go >= 1.22, which writes \\b and \\f) and
tidwall/sjson/gjson produce for the same input.
"""

from __future__ import annotations

import pytest

from pushsecret.providers.payload import (
    go_json_string,
    json_get_property,
    json_set_property,
    parse_property_path,
    property_value_text,
    whole_secret_json,
)

# ---- whole_secret_json ---------------------------------------------------------------------


def test_sorted_compact() -> None:
    data = {"DB_USER": b"admin", "DB_HOST": b"localhost"}
    assert whole_secret_json(data) == b'{"DB_HOST":"localhost","DB_USER":"admin"}'


def test_empty_secret_and_empty_value() -> None:
    assert whole_secret_json({}) == b"{}"
    assert whole_secret_json({"a": b""}) == b'{"a":""}'


def test_keys_sorted_by_utf8_bytes() -> None:
    data = {"\u00e9": b"4", "a": b"3", "_": b"2", "Z": b"1", "A.b-c": b"0"}
    assert whole_secret_json(data) == '{"A.b-c":"0","Z":"1","_":"2","a":"3","\u00e9":"4"}'.encode()


def test_html_characters_are_not_escaped() -> None:
    assert whole_secret_json({"k": b"<a href='x'>&amp;</a>"}) == (
        b'{"k":"<a href=\'x\'>&amp;</a>"}'
    )


def test_slash_is_not_escaped() -> None:
    assert whole_secret_json({"url": b"https://x/y"}) == b'{"url":"https://x/y"}'


def test_line_and_paragraph_separators_are_escaped() -> None:
    value = "a\u2028b\u2029c".encode()
    assert whole_secret_json({"k": value}) == b'{"k":"a\\u2028b\\u2029c"}'


def test_control_characters_like_go() -> None:
    value = bytes(range(0x20)) + b"\x7f"
    expected = (
        "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
        "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
        "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
        "\x7f"  # DEL is not escaped by Go
    )
    assert whole_secret_json({"k": value}) == ('{"k":"' + expected + '"}').encode()


def test_quotes_and_backslashes() -> None:
    assert whole_secret_json({'q"k': b'say "hi" \\o/'}) == b'{"q\\"k":"say \\"hi\\" \\\\o/"}'


def test_non_ascii_is_raw_utf8() -> None:
    value = "caf\u00e9 \u65e5\u672c \U0001f600".encode()
    assert whole_secret_json({"k": value}) == b'{"k":"' + value + b'"}'


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (b"\xff", "\\ufffd"),
        (b"a\xfeb", "a\\ufffdb"),
        (b"\xe2\x82", "\\ufffd\\ufffd"),  # truncated 3-byte sequence: one per byte
        (b"\xe2\x82A", "\\ufffd\\ufffdA"),
        (b"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"),  # UTF-8 encoded surrogate
        (b"\xc0\xaf", "\\ufffd\\ufffd"),  # overlong
        (b"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"),  # > U+10FFFF
        (b"\xe2\x82\xe2\x82\xac", "\\ufffd\\ufffd\u20ac"),  # recovers at the next lead byte
        (b"\x80\x80", "\\ufffd\\ufffd"),
    ],
)
def test_invalid_utf8_becomes_one_replacement_escape_per_byte(raw: bytes, escaped: str) -> None:
    assert whole_secret_json({"k": raw}) == ('{"k":"' + escaped + '"}').encode()


def test_go_json_string_with_html_escaping() -> None:
    assert go_json_string(b"<&>", escape_html=True) == '"\\u003c\\u0026\\u003e"'
    assert go_json_string("<&>") == '"<&>"'


# ---- parse_property_path -------------------------------------------------------------------


def test_property_path_segments() -> None:
    assert parse_property_path("a") == ["a"]
    assert parse_property_path("a.b.c") == ["a", "b", "c"]
    assert parse_property_path("a\\.b.c") == ["a.b", "c"]
    assert parse_property_path("0.x") == ["0", "x"]


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "a.*", "a?", "a|b", "#", "@this", ":0"])
def test_unsupported_property_paths(path: str) -> None:
    with pytest.raises(ValueError, match="property path"):
        parse_property_path(path)


# ---- json_set_property (sjson.SetBytes) ----------------------------------------------------


@pytest.mark.parametrize("original", [None, b"", b"   "])
def test_set_starts_from_empty_object(original: bytes | None) -> None:
    assert json_set_property(original, "password", b"v") == b'{"password":"v"}'


def test_set_nested_creates_objects() -> None:
    assert json_set_property(None, "db.creds.password", b"v") == (
        b'{"db":{"creds":{"password":"v"}}}'
    )


def test_set_keeps_other_keys_and_their_formatting() -> None:
    original = b'{"x": 1.50 , "db": {"user": "admin"}}'
    assert json_set_property(original, "db.password", b"v") == (
        b'{"x": 1.50 , "db": {"user": "admin","password":"v"}}'
    )


def test_set_replaces_in_place() -> None:
    original = b'{"a": "old", "b": "keep"}'
    assert json_set_property(original, "a", b"new") == b'{"a": "new", "b": "keep"}'


def test_set_replaces_first_duplicate_like_gjson() -> None:
    assert json_set_property(b'{"a":"1","a":"2"}', "a", b"x") == b'{"a":"x","a":"2"}'


def test_set_value_is_always_a_json_string() -> None:
    assert json_set_property(None, "n", b"5") == b'{"n":"5"}'
    assert json_set_property(None, "j", b'{"a":1}') == b'{"j":"{\\"a\\":1}"}'


def test_set_escaping_follows_sjson() -> None:
    # Plain ASCII is quoted raw, HTML characters included ...
    assert json_set_property(None, "k", b"<a&b>") == b'{"k":"<a&b>"}'
    # ... anything else goes through json.Marshal, which escapes HTML characters.
    assert json_set_property(None, "k", "<\u00e9>".encode()) == (
        '{"k":"\\u003c\u00e9\\u003e"}'.encode()
    )
    assert json_set_property(None, "k", b'a"b\n') == b'{"k":"a\\"b\\n"}'
    assert json_set_property(None, "k", b"\xff") == b'{"k":"\\ufffd"}'


def test_set_replaces_non_object_on_the_path() -> None:
    assert json_set_property(b'{"a":"s","b":2}', "a.c", b"v") == b'{"a":{"c":"v"},"b":2}'


@pytest.mark.parametrize("original", [b"not json", b'"a string"', b"5", b'{"a":', b"[1,]"])
def test_set_on_non_json_or_scalar_starts_over(original: bytes) -> None:
    assert json_set_property(original, "a", b"v") == b'{"a":"v"}'


def test_set_escaped_dot_is_a_literal_key() -> None:
    assert json_set_property(None, "a\\.b", b"v") == b'{"a.b":"v"}'


def test_set_arrays_like_sjson() -> None:
    assert json_set_property(None, "a.0", b"v") == b'{"a":["v"]}'
    assert json_set_property(b'{"a":[1]}', "a.0", b"v") == b'{"a":["v"]}'
    assert json_set_property(b'{"a":[1, 2]}', "a.3", b"v") == b'{"a":[1,2,null,"v"]}'
    assert json_set_property(b'{"a":[1]}', "a.-1", b"v") == b'{"a":[1,"v"]}'
    assert json_set_property(None, "2", b"v") == b'[null,null,"v"]'
    with pytest.raises(ValueError, match="non-numeric"):
        json_set_property(b'{"a":[1]}', "a.x", b"v")


def test_set_rejects_excessive_nesting() -> None:
    deep = b'{"a":' * 500 + b"1" + b"}" * 500
    with pytest.raises(ValueError, match="deeply"):
        json_set_property(deep, "b", b"v")


# ---- json_get_property (getDataByProperty + gjson String) ------------------------------------


def test_get_prefers_the_literal_dotted_key() -> None:
    doc = b'{"a.b":"literal","a":{"b":"nested"}}'
    assert json_get_property(doc, "a.b") == "literal"
    assert json_get_property(b'{"a":{"b":"nested"}}', "a.b") == "nested"


def test_get_string_forms_like_gjson() -> None:
    doc = b'{"i":5,"neg":-7,"f":1.50,"e":1e3,"z":-0.0,"t":true,"F":false,"n":null,"o":{"x" : [1]}}'
    assert json_get_property(doc, "i") == "5"
    assert json_get_property(doc, "neg") == "-7"
    assert json_get_property(doc, "f") == "1.5"
    assert json_get_property(doc, "e") == "1000"
    assert json_get_property(doc, "z") == "-0"
    assert json_get_property(doc, "t") == "true"
    assert json_get_property(doc, "F") == "false"
    assert json_get_property(doc, "n") == ""
    assert json_get_property(doc, "o") == '{"x" : [1]}'
    assert json_get_property(doc, "o.x.0") == "1"


def test_get_unescapes_strings() -> None:
    assert json_get_property(b'{"a":"x\\ny\\u00e9\\ud83d\\ude00"}', "a") == "x\ny\u00e9\U0001f600"
    assert json_get_property(b'{"a":"\\ud800"}', "a") == "\ufffd"  # lone surrogate


def test_get_missing_or_not_json() -> None:
    assert json_get_property(None, "a") is None
    assert json_get_property(b'{"a":1}', "b") is None
    assert json_get_property(b'{"a":1}', "a.b") is None
    assert json_get_property(b"not json", "a") is None
    assert json_get_property(b'{"a":1} trailing', "a") is None
    assert json_get_property(b'["x"]', "0") == "x"


def test_get_first_duplicate_wins() -> None:
    assert json_get_property(b'{"a":"1","a":"2"}', "a") == "1"


def test_set_then_get_round_trips() -> None:
    for value in [b"plain", b"5", "caf\u00e9 <&>".encode(), b'q"\\\n', b"\xff\xfe"]:
        doc = json_set_property(b'{"other":"kept"}', "x.y", value)
        assert json_get_property(doc, "x.y") == property_value_text(value)
        assert json_get_property(doc, "other") == "kept"


def test_property_value_text_replaces_each_invalid_byte() -> None:
    assert property_value_text(b"a\xff\xfeb") == "a\ufffd\ufffdb"
    assert property_value_text("\u00e9".encode()) == "\u00e9"
