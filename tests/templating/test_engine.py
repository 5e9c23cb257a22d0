"""Go ``text/template`` semantics of the engine: language, builtins, printf and errors.

Expected outputs and messages are what Go's ``text/template`` produces for the same
template (``missingkey=error`` unless a test says otherwise); where this port deliberately
differs (errors without data values) the test says so.
"""

from __future__ import annotations

from typing import Any

import pytest

from pushsecret.templating import (
    StringMap,
    TemplateError,
    TemplateExecError,
    TemplateParseError,
    compile_template,
    render,
)

DATA = {"a": "x", "b": "y", "best-pokemon-src": "pikachu", "num": "42"}


def run(template: str, data: Any = None, **kw: Any) -> str:
    return render(template, DATA if data is None else data, **kw)


def error(template: str, data: Any = None, **kw: Any) -> str:
    with pytest.raises(TemplateError) as info:
        run(template, data, **kw)
    return str(info.value)


# ---- text, actions, trim markers, comments -------------------------------------------------


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("plain text", "plain text"),
        ("", ""),
        ("hello {{ .a }}!", "hello x!"),
        ("{{.a}}{{.b}}", "xy"),
        ("a  {{- .a }}", "ax"),
        ("{{ .a -}}   \n\t b", "xb"),
        ("  {{- .a -}}  ", "x"),
        ("x {{- /* gone */ -}} y", "xy"),
        ("x{{/* comment */}}y", "xy"),
        ("{{/* multi\nline */}}z", "z"),
        ("{{-3}}", "-3"),  # no space after "-": a negative number, not a trim marker
        ("{{ 3 -}} 4", "34"),
        ("line1\n{{- .a }}\nline3", "line1x\nline3"),
    ],
)
def test_text_and_trimming(template: str, want: str) -> None:
    assert run(template) == want


def test_custom_delimiters() -> None:
    assert run("<< .a >>-{{ .a }}", left="<<", right=">>") == "x-{{ .a }}"
    assert run("[[- .a -]] [[/* c */]]", left="[[", right="]]") == "x"


# ---- fields, index, missing keys ------------------------------------------------------------


def test_fields_and_chains() -> None:
    nested = {"a": {"b": {"c": "deep"}}, "list": ["p", "q"]}
    assert run("{{ .a.b.c }}", nested) == "deep"
    assert run("{{ $x := .a }}{{ $x.b.c }}", nested) == "deep"
    assert run('{{ (index .a "b").c }}', nested) == "deep"
    assert run("{{ with .a }}{{ .b.c }}{{ $.list }}{{ end }}", nested) == "deep[p q]"
    assert run("{{ . }}", {"k": "v"}) == "map[k:v]"


def test_index_builtin() -> None:
    assert run('{{ index . "best-pokemon-src" }}') == "pikachu"
    assert run('{{ index . "missing" }}|') == "|"  # map[string]string: the zero value ""
    assert run('{{ index . "missing" }}', {"n": 1}) == "<no value>"  # map[string]interface{}
    assert run("{{ index .l 1 }}", {"l": ["a", "b"]}) == "b"
    assert run('{{ index .m "k" 0 }}', {"m": {"k": ["z"]}}) == "z"
    assert run('{{ index "abc" 1 }}') == "98"  # a byte
    assert "index out of range: 5" in error("{{ index .l 5 }}", {"l": ["a"]})
    assert "cannot index slice/array with type string" in error('{{ index .l "x" }}', {"l": []})
    assert "can't index item of type int" in error("{{ index 3 0 }}")


def test_missing_key_error_message() -> None:
    msg = error("{{ .nope }}")
    assert msg == (
        'template: template:1:3: executing "template" at <.nope>: map has no entry for key "nope"'
    )
    assert error("{{ .zz }}", name="key").startswith('template: key:1:3: executing "key"')


def test_missing_key_default_mode() -> None:
    assert run("{{ .nope }}", missing_key_error=False) == "<no value>"
    assert run("{{ .nope.deeper }}", missing_key_error=False) == "<no value>"
    assert run('{{ .nope | default "d" }}', missing_key_error=False) == "d"


def test_nil_values() -> None:
    data = {"a": {"b": None}}
    assert run("{{ .a.b }}", data) == "<no value>"
    assert "nil pointer evaluating interface {}.c" in error("{{ .a.b.c }}", data)
    assert 'nil data; no entry for key "c"' in error("{{ $x := .a.b }}{{ $x.c }}", data)
    assert "can't evaluate field y in type string" in error("{{ .a.y }}")


def test_error_positions_count_lines_and_bytes() -> None:
    msg = error("line one\n  é {{ .nope }}")
    assert msg.startswith("template: template:2:8: ")  # "  é " is 5 bytes, then "{{ "


# ---- variables -----------------------------------------------------------------------------


def test_variables_and_scoping() -> None:
    assert run("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}") == "2"
    assert run('{{ $x := "o" }}{{ if true }}{{ $x := "i" }}{{ $x }}{{ end }}{{ $x }}') == "io"
    assert run('{{ $x := "o" }}{{ if true }}{{ $x = "c" }}{{ end }}{{ $x }}') == "c"
    assert run("{{ $ }}", {"k": "v"}) == "map[k:v]"
    assert run("{{ with .a }}{{ $.b }}{{ end }}") == "y"
    assert run("{{ $v := .a }}{{ $v | upper }}") == "X"


def test_variable_errors() -> None:
    assert error("{{ $y }}") == 'template: template:1: undefined variable "$y"'
    # A variable declared inside a block is gone after its end.
    assert "undefined variable" in error("{{ if true }}{{ $z := 1 }}{{ end }}{{ $z }}")
    assert "too many declarations in command" in error("{{ $a, $b := 1 }}")


# ---- control structures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ('{{ if eq .a "x" }}yes{{ else }}no{{ end }}', "yes"),
        ('{{ if eq .a "z" }}1{{ else if eq .b "y" }}2{{ else }}3{{ end }}', "2"),
        ("{{ if 0 }}t{{ else }}f{{ end }}", "f"),
        ('{{ if "" }}t{{ else }}f{{ end }}', "f"),
        ("{{ if list }}t{{ else }}f{{ end }}", "f"),
        ("{{ if dict }}t{{ else }}f{{ end }}", "f"),
        ("{{ if 0.0 }}t{{ else }}f{{ end }}", "f"),
        ("{{ if now }}t{{ else }}f{{ end }}", "t"),
        ("{{ if .a }}t{{ end }}", "t"),
        ("{{ with .a }}[{{ . }}]{{ end }}", "[x]"),
        ('{{ with "" }}x{{ else }}empty{{ end }}', "empty"),
        ('{{ with "" }}1{{ else with .b }}{{ . }}{{ end }}', "y"),
        ('{{ range list "p" "q" }}{{ . }};{{ end }}', "p;q;"),
        ('{{ range $i, $v := list "p" "q" }}{{ $i }}={{ $v }} {{ end }}', "0=p 1=q "),
        ('{{ range $v := list "p" }}{{ $v }}{{ end }}', "p"),
        ("{{ range $k, $v := . }}{{ $k }}{{ end }}", "abbest-pokemon-srcnum"),
        ('{{ range $k, $v := dict "b" 2 "a" 1 "c" 3 }}{{ $k }}{{ $v }}{{ end }}', "a1b2c3"),
        ("{{ range list }}x{{ else }}none{{ end }}", "none"),
        ("{{ range .missing }}x{{ else }}none{{ end }}", "none"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ range $i, $e := until 9 }}{{ if eq $i 2 }}{{ continue }}{{ end }}"
            "{{ if gt $i 4 }}{{ break }}{{ end }}{{ $e }}{{ end }}",
            "0134",
        ),
        ('{{ define "T" }}<{{ . }}>{{ end }}{{ template "T" .a }}', "<x>"),
        ('{{ template "T" }}{{ define "T" }}[{{ . }}]{{ end }}', "[<no value>]"),
        ('{{ define "T" }}{{ $ }}{{ end }}{{ template "T" "arg" }}', "arg"),
        ('{{ block "B" .b }}({{ . }}){{ end }}', "(y)"),
    ],
)
def test_control_structures(template: str, want: str) -> None:
    assert run(template, {**DATA, "missing": None} if ".missing" in template else None) == want


def test_range_over_a_string_fails_without_the_value() -> None:
    # Go: "range can't iterate over x"; the value is replaced by its type here.
    msg = error("{{ range .a }}{{ end }}")
    assert msg.endswith("range can't iterate over value of type string")
    assert "x" not in msg.split("executing")[1].replace("<.a>", "")


def test_template_errors() -> None:
    assert 'template "missing" not defined' in error('{{ template "missing" }}')
    assert error('{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}') == (
        'template: template:1: template: multiple definition of template "x"'
    )
    recursive = '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'
    assert "exceeded maximum template depth (100)" in error(recursive)


def test_break_outside_range_is_a_parse_error() -> None:
    assert error("{{ break }}") == "template: template:1: {{break}} outside {{range}}"


# ---- pipelines and functions ---------------------------------------------------------------


def test_pipelines() -> None:
    assert run("{{ .a | upper }}") == "X"
    assert run('{{ .a | printf "%s-%s" "p" }}') == "p-x"  # the piped value goes last
    assert run('{{ index . "best-pokemon-src" | toString | upper }} is the really best!') == (
        "PIKACHU is the really best!"
    )
    assert run('{{ (printf "%s%s" .a .b) | upper }}') == "XY"
    assert run('{{ printf "%s" (upper (lower "AbC")) }}') == "ABC"
    assert run('{{ "a,b" | splitList "," | join "+" }}') == "a+b"


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("{{ and 1 0 }}", "0"),
        ('{{ and 1 "s" }}', "s"),
        ('{{ or 0 "" 3 }}', "3"),
        ("{{ or 0 }}", "0"),
        ("{{ not 0 }}", "true"),
        ("{{ not .a }}", "false"),
        ('{{ and "" (fail "short-circuit") }}|{{ and .a "second" }}', "|second"),
        ('{{ or .a (fail "short-circuit") }}', "x"),
        ('{{ len .a }} {{ len "héllo" }} {{ len (list 1 2) }} {{ len . }}', "1 6 2 5"),
        ('{{ eq .a "x" }} {{ eq .a "q" "r" "x" }} {{ ne 1 2 }}', "true true true"),
        ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}', "true true true false"),
        ("{{ eq nil nil }} {{ eq .missing 1 }}", "true false"),
        ('{{ print "a" 1 2 "b" }}', "a1 2b"),
        ('{{ println "a" 1 }}', "a 1\n"),
        ("{{ html \"<a href='x'>&\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;"),
        ('{{ urlquery "a b&c" }}', "a+b%26c"),
        ('{{ js "it\'s <b>" }}', "it\\'s \\u003Cb\\u003E"),
    ],
)
def test_builtins(template: str, want: str) -> None:
    data = {**DATA, "missing": None}
    assert run(template, data) == want


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ eq 1 1.0 }}", "error calling eq: incompatible types for comparison"),
        ("{{ lt true false }}", "error calling lt: invalid type for comparison"),
        ('{{ lt "a" 1 }}', "error calling lt: incompatible types for comparison"),
        ("{{ eq (list 1) (list 1) }}", "error calling eq: non-comparable type []interface {}"),
        ("{{ eq 1 }}", "error calling eq: missing argument for comparison"),
        ("{{ upper 5 }}", "expected string; found 5"),
        ('{{ indent "x" "y" }}', 'expected integer; found "x"'),
        ("{{ 5 | upper }}", "wrong type for value; expected string; got int"),
        ("{{ upper }}", "wrong number of args for upper: want 1 got 0"),
        ('{{ upper "a" "b" }}', "wrong number of args for upper: want 1 got 2"),
        ("{{ printf }}", "wrong number of args for printf: want at least 1 got 0"),
        ("{{ 1 2 }}", "can't give argument to non-function 1"),
        ("{{ .a 1 }}", "a is not a method but has arguments"),
        ("{{ nil }}", "nil is not a command"),
        ('{{ fail "custom boom" }}', "error calling fail: custom boom"),
        ("{{ len 3 }}", "error calling len: len of type int"),
        ("{{ upper nil }}", "cannot assign nil to string"),
        ("{{ $x = 2 }}", "undefined variable: $x"),  # assignments are checked when run
    ],
)
def test_execution_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateExecError) as info:
        run(template)
    assert str(info.value).endswith(message), str(info.value)


def test_error_calling_names_the_command() -> None:
    assert error('{{ .a }}{{ fail "boom" }}') == (
        'template: template:1:11: executing "template" at <fail "boom">: error calling fail: boom'
    )
    assert error('{{ .a | fail "boom" }}').endswith("wrong number of args for fail: want 1 got 2")


# ---- literals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}", "31 15 15 5 1000"),
        ("{{ 1.5 }} {{ 1e3 }} {{ -2.25 }} {{ .5 }} {{ 1000000.0 }}", "1.5 1000 -2.25 0.5 1e+06"),
        ("{{ 'a' }} {{ '\\n' }} {{ '\\x41' }} {{ '\\u00e9' }}", "97 10 65 233"),
        ('{{ "tab\\there" }}', "tab\there"),
        ('{{ "\\u00e9\\x41\\101" }}', "éAA"),
        ("{{ `raw \\n {{ }}` }}", "raw \\n {{ }}"),
        ("{{ true }} {{ false }}", "true false"),
        ('{{ printf "%T %T %T %T" 1 1.0 "s" true }}', "int float64 string bool"),
        ('{{ indent 2.0 "x" }}', "  x"),  # 2.0 is a valid int constant, as in Go
    ],
)
def test_literals(template: str, want: str) -> None:
    assert run(template) == want


# ---- printf --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ('"%s|%v|%q" "a" "b" "c\\"d"', 'a|b|"c\\"d"'),
        (
            '"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c" 42 42 42 42 42 255 255 8 5 65',
            "42|   42|42   |00042|+42|ff|FF|10|101|A",
        ),
        (
            '"%f|%.2f|%8.3f|%e|%g|%v" 3.14159 3.14159 3.14159 1234.5 0.000012 2.5',
            "3.141590|3.14|   3.142|1.234500e+03|1.2e-05|2.5",
        ),
        ('"%t|%v" true false', "true|false"),
        ('"%x|% x|%X" "hi" "hi" "hi"', "6869|68 69|6869"),
        ('"%q" 65', "'A'"),
        ('"%v|%d" (list 1 2) (list 3 4)', "[1 2]|[3 4]"),
        ('"%v" (dict "b" 1 "a" "z")', "map[a:z b:1]"),
        ('"%s|%d" 5 "x"', "%!s(int=5)|%!d(string=x)"),
        ('"%d %d" 1', "1 %!d(MISSING)"),
        ('"%d" 1 "extra"', "1%!(EXTRA string=extra)"),
        ('"100%%"', "100%"),
        ('"%"', "%!(NOVERB)"),
        ('"%z" 1', "%!z(int=1)"),
        ('"%s" nil', "%!s(<nil>)"),
        ('"%v" nil', "<nil>"),
        ('"%*d" 4 7', "   7"),
        ('"%.3s" "abcdef"', "abc"),
        ('"%6.2f%%" 99.5', " 99.50%"),
    ],
)
def test_printf(args: str, want: str) -> None:
    assert run("{{ printf " + args + " }}") == want


# ---- parse errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ foo }}", 'template: template:1: function "foo" not defined'),
        ("{{ if }}", "template: template:1: missing value for if"),
        ("{{ if 1 }}", "template: template:1: unexpected EOF"),
        ("{{ else }}", "template: template:1: unexpected {{else}}"),
        ("{{ end }}", "template: template:1: unexpected {{end}}"),
        ("{{ .a", "template: template:1: unclosed action"),
        ("{{ .a\n\n", "template: template:3: unclosed action started at template:1"),
        ('{{ "abc }}', "template: template:1: unterminated quoted string"),
        ("{{ `abc }}", "template: template:1: unterminated raw quoted string"),
        ("{{ 3x }}", 'template: template:1: bad number syntax: "3x"'),
        ("{{ #xx }}", 'template: template:1: unexpected "#" in command'),
        ("{{ | .a }}", 'template: template:1: unexpected "|" in command'),
        ('{{ .a | "lit" }}', "template: template:1: non executable command in pipeline stage 2"),
        ("{{ ( .a }}", "template: template:1: unclosed left paren"),
        ("{{ .a ) }}", "template: template:1: unexpected right paren"),
        ("{{ /* x */ }}", 'template: template:1: unexpected "/" in command'),
        ("{{/* unclosed }}", "template: template:1: unclosed comment"),
        ("{{/* c */ .a }}", "template: template:1: comment ends before closing delimiter"),
        ('{{ "\\q" }}', "template: template:1: invalid syntax"),
        ('{{ "x".y }}', 'template: template:1: unexpected . after term "\\"x\\""'),
        (
            "{{ range $a, $b, $c := . }}{{ end }}",
            "template: template:1: too many declarations in range",
        ),
        (
            "{{ 99999999999999999999 }}",
            'template: template:1: integer overflow: "99999999999999999999"',
        ),
        ('{{ define "a" }}', "template: template:1: unexpected EOF"),
        ("{{ define a }}{{ end }}", 'template: template:1: unexpected "a" in define clause'),
        (
            "{{ with .a }}{{ else if .b }}{{ end }}",
            "template: template:1: unexpected <if> in input",
        ),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateParseError) as info:
        run(template)
    assert str(info.value) == message


def test_multiline_action_error_mentions_where_it_started() -> None:
    msg = error("{{ .a\n| upper\n}} {{ .b\n !}}")
    assert msg == 'template: template:4: unexpected "!" in operand'
    assert error('{{ .a\n| "x\n"}}') == (
        "template: template:2: unterminated quoted string in action started at template:1"
    )


# ---- API -----------------------------------------------------------------------------------


def test_compile_once_execute_many() -> None:
    tmpl = compile_template("{{ .value | upper }}-{{ .other }}", name="t")
    assert tmpl.execute(StringMap(value="a"), missing_key_error=False) == "A-<no value>"
    assert tmpl.execute(StringMap(value="b", other="o")) == "B-o"


def test_data_is_not_mutated_across_renders() -> None:
    data = {"k": "v"}
    assert run('{{ $_ := set . "k" "changed" }}{{ .k }}', data) == "changed"
    assert data == {"k": "v"}  # render copies the mapping it is given


def test_render_data_kinds() -> None:
    # All-string data behaves as Go's map[string]string, anything else as
    # map[string]interface {}.
    assert run("{{ typeOf . }}", {"a": "x"}) == "map[string]string"
    assert run("{{ typeOf . }}", {"a": 1}) == "map[string]interface {}"
    assert run("{{ typeOf . }}", StringMap(a="x")) == "map[string]string"


def test_resource_limits() -> None:
    assert error("{{ range 100000000 }}xxxxxxxxxxxxxxxx{{ end }}").endswith(
        "template output exceeds 8 MiB"
    )
    assert error('{{ repeat 100000000 "ab" }}').endswith("error calling repeat: result too large")
    assert error("{{ until 100000000 }}").endswith("error calling until: result too large")


def test_deep_nesting_is_a_template_error() -> None:
    deep = "{{ if true }}" * 2000 + "x" + "{{ end }}" * 2000
    with pytest.raises(TemplateParseError, match="nesting too deep"):
        run(deep)
    parens = "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}"
    with pytest.raises(TemplateParseError, match=r"max expression depth exceeded|nesting too deep"):
        run(parens)
