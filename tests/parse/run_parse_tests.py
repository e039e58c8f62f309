#!/usr/bin/env python3
# tests/parse/run_parse_tests.py — runs anx_parsetest on golden cases and on generated inputs.
#   case FILE.anx     output of `anx_parsetest -i FILE` + "exit: N" must equal FILE.out (--update writes it)
#   gen NAME          a generated input (deep nesting, garbage, NUL bytes...) with its own check
#   example FILE      the file must parse (exit 0)
import os
import random
import subprocess
import sys
import tempfile


def run(binary, path, *flags, timeout=60):
    p = subprocess.run([binary, *flags, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode not in (0, 65):
        sys.exit(f"FAIL: {path}: exit {p.returncode} (crash or bad usage)\n{p.stderr.decode(errors='replace')}")
    return p.returncode, p.stdout.decode("utf-8", errors="replace")


def case(binary, path, update):
    rc, out = run(binary, path, "-i")
    got = out + f"exit: {rc}\n"
    exp_path = path[:-4] + ".out"
    if update:
        with open(exp_path, "w") as f:
            f.write(got)
        return
    with open(exp_path) as f:
        exp = f.read()
    if got != exp:
        import difflib
        diff = "".join(difflib.unified_diff(exp.splitlines(True), got.splitlines(True),
                                            "expected", "got"))
        sys.exit(f"FAIL: {path}\n{diff}")


def with_input(binary, data, *flags):
    with tempfile.NamedTemporaryFile(suffix=".anx", delete=False) as f:
        f.write(data)
        name = f.name
    try:
        return run(binary, name, *flags)
    finally:
        os.unlink(name)


def expect(cond, what, out=""):
    if not cond:
        sys.exit(f"FAIL: {what}\n{out[:3000]}")


def errors_in(out):
    return [l for l in out.splitlines() if ": error: " in l]


def gen(binary, name):
    deep = 100_000
    if name == "deep_paren":
        rc, out = with_input(binary, b"x = " + b"(" * deep + b"1" + b")" * deep + b"\n")
        expect(rc == 65 and "nesting too deep: more than 200 open brackets" in out, name, out)
        expect(len(errors_in(out)) == 1, name + ": one error", out)
    elif name == "deep_bracket":
        rc, out = with_input(binary, b"[" * deep)
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "deep_brace":
        rc, out = with_input(binary, b"x = " + b"{a: " * deep + b"1" + b"}" * deep + b"\n")
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "deep_blocks":
        rc, out = with_input(binary, b"if x {\n" * deep + b"}\n" * deep)
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "deep_fn_blocks":
        rc, out = with_input(binary, b"fn f() {\n" * deep)
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "nesting_limit":
        ok = b"x = " + b"(" * 200 + b"1" + b")" * 200 + b"\n"
        rc, out = with_input(binary, ok, "-q")
        expect(rc == 0, name + ": 200 levels parse", out)
        bad = b"x = " + b"(" * 201 + b"1" + b")" * 201 + b"\n"
        rc, out = with_input(binary, bad)
        expect(rc == 65 and ":1:205: error: nesting too deep" in out, name + ": 201 levels fail", out)
    elif name == "deep_unary":
        rc, out = with_input(binary, b"x = " + b"-" * deep + b"1\n")
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "deep_not":
        rc, out = with_input(binary, b"x = " + b"not " * deep + b"y\n")
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "deep_pow":
        rc, out = with_input(binary, b"x = 2" + b" ** 2" * deep + b"\n")
        expect(rc == 65 and "nesting too deep" in out, name, out)
    elif name == "long_chain":
        # left-deep: the Bison stack stays flat but the tree is 100k deep
        rc, out = with_input(binary, b"x = 1" + b" + 1" * deep + b"\n")
        expect(rc == 65 and "expression nested too deeply (more than 1000 levels)" in out, name, out)
    elif name == "long_call_chain":
        rc, out = with_input(binary, b"x = f" + b"()" * deep + b".a" * deep + b"\n")
        expect(rc == 65 and "expression nested too deeply" in out, name, out)
    elif name == "long_else_if":
        rc, out = with_input(binary, b"if a {\n}" + b" else if a {\n}" * 5000 + b"\n")
        expect(rc == 65 and "nest" in out and len(errors_in(out)) == 1, name, out)
    elif name == "moderate_chain":
        rc, out = with_input(binary, b"x = 1" + b" + 1" * 900 + b"\n", "-q")
        expect(rc == 0, name, out)
    elif name == "many_statements":
        src = b"".join(b"x%d = [%d, \"s\", {a: %d}]\n" % (i, i, i) for i in range(100_000))
        rc, out = with_input(binary, src, "-q")
        expect(rc == 0, name, out)
    elif name == "long_line":
        src = b"x = [" + b"1, " * 50_000 + b"]\ny = $\n"
        rc, out = with_input(binary, src)
        expect(rc == 65 and ":2:5: error: unexpected character '$'" in out, name, out)
    elif name == "long_line_caret":
        src = b"x = " + b"a + " * 100 + b"$ + b" + b" + c" * 100 + b"\n"
        rc, out = with_input(binary, src)
        lines = out.splitlines()
        expect(rc == 65 and lines[1].startswith("...") and lines[1].endswith("...")
               and lines[2].index("^") == lines[1].index("$"), name, out)
    elif name == "nul_outside_string":
        rc, out = with_input(binary, b"x = 1\x00\ny = 2\n")
        expect(rc == 65 and ":1:6: error: unexpected NUL byte" in out, name, out)
        expect(len(errors_in(out)) == 1, name + ": one error", out)
    elif name == "nul_inside_string":
        rc, out = with_input(binary, b"x = \"a\x00b\"\n")
        expect(rc == 0 and 'STRING "a\\x00b" @1:5' in out, name, out)
    elif name == "nul_only":
        rc, out = with_input(binary, b"\x00" * 1000)
        expect(rc == 65 and "unexpected NUL byte" in out and "too many errors; stopping" in out, name, out)
    elif name == "invalid_utf8_string":
        rc, out = with_input(binary, b"x = \"ok \xc3\xa9 bad \xff\xfe end\"\ny = \"\xed\xa0\x80\"\nz = \"\xc0\xaf\"\n")
        expect(rc == 65 and ":1:16: error: invalid UTF-8 in string literal" in out
               and ":2:6: error: invalid UTF-8" in out and ":3:6: error: invalid UTF-8" in out, name, out)
    elif name == "valid_utf8_string":
        rc, out = with_input(binary, "s = \"héllo wörld ✓ 😀\" # ünïcode comment\n".encode())
        expect(rc == 0 and "héllo wörld ✓ 😀" in out, name, out)
    elif name == "invalid_utf8_comment":
        rc, out = with_input(binary, b"x = 1 # \xff\xfe ok\n/* \xc0 */ y = 2\n", "-q")
        expect(rc == 0, name, out)
    elif name == "utf8_outside_string":
        rc, out = with_input(binary, "x = 1 × 2\n".encode() + b"y = \xff\n")
        expect(rc == 65 and "unexpected character '×'" in out and "invalid UTF-8 byte 0xff" in out,
               name, out)
    elif name == "control_char":
        rc, out = with_input(binary, b"x = 1\x01\ny = \"\x01 and \\\x7f\"\n")
        expect(rc == 65 and ":1:6: error: unexpected control character 0x01" in out
               and ":2:12: error: invalid escape sequence\n" in out, name, out)
    elif name == "bom":
        rc, out = with_input(binary, b"\xef\xbb\xbfx = 1\n")
        expect(rc == 0 and "NAME x @1:4" in out, name, out)
    elif name == "crlf":
        rc, out = with_input(binary, b"x = 1\r\ny = f(1,\r\n 2)\r\nz = $\r\n")
        expect(rc == 65 and ":4:5: error: unexpected character '$'" in out
               and "\nz = $\n    ^\n" in out, name, out)
    elif name == "garbage":
        rnd = random.Random(1234)
        for i in range(300):
            n = rnd.choice([1, 5, 50, 500, 5000])
            data = bytes(rnd.randrange(256) for _ in range(n))
            rc, out = with_input(binary, data)
            expect(len(errors_in(out)) <= 51, f"{name} #{i}: error count capped", out)
    elif name == "token_soup":
        toks = ["x", "1", "2.5", "'s'", "\"t\"", "(", ")", "[", "]", "{", "}", ",", ":", ";", "\n",
                ".", "..", "->", "=>", "=", "+=", "+", "-", "*", "**", "@", "==", "!", "&&", "||",
                "let", "var", "fn", "if", "else", "for", "in", "while", "return", "network",
                "neuron", "layer", "synap", "pulse", "try", "catch", "throw", "import", "from",
                "as", "not", "and", "or", "nil", "self", "true", "#c\n", "/*\n*/", "?", "from:"]
        rnd = random.Random(99)
        for i in range(1500):
            n = rnd.randrange(1, 60)
            src = " ".join(rnd.choice(toks) for _ in range(n)).encode()
            with_input(binary, src)
    elif name == "mutated_examples":
        here = os.path.dirname(os.path.abspath(__file__))
        exdir = os.path.join(here, "..", "..", "examples")
        srcs = [open(os.path.join(exdir, f), "rb").read() for f in sorted(os.listdir(exdir))
                if f.endswith(".anx")]
        rnd = random.Random(7)
        for i in range(600):
            b = bytearray(rnd.choice(srcs))
            for _ in range(rnd.randrange(1, 6)):
                op = rnd.randrange(3)
                pos = rnd.randrange(len(b))
                if op == 0:
                    del b[pos:pos + rnd.randrange(1, 20)]
                elif op == 1:
                    b[pos:pos] = bytes([rnd.choice(b"(){}[],:;.\n\"'#/*-=>0x9e_")])
                else:
                    cut = rnd.randrange(len(b))
                    b = b[:cut]
                    break
            with_input(binary, bytes(b))
    elif name == "alloc_failures":
        # ANX_FAIL_ALLOC=n makes the n-th allocation fail (runtime/ax_mem.h): a clean error, no crash
        src = b"".join(b"let v%d = {k: [%d, 'str %d', fn(x) => x + %d]}\n" % (i, i, i, i)
                       for i in range(20_000))
        with tempfile.NamedTemporaryFile(suffix=".anx", delete=False) as f:
            f.write(src)
            path = f.name
        try:
            for n in list(range(1, 30)) + [50, 100, 200, 400]:
                env = dict(os.environ, ANX_FAIL_ALLOC=str(n))
                p = subprocess.run([binary, "-q", path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, timeout=60)
                out = p.stdout.decode(errors="replace")
                expect(p.returncode in (0, 65), f"{name} n={n}: exit {p.returncode}", out)
                expect(p.returncode == 0 or "out of memory" in out, f"{name} n={n}: message", out)
        finally:
            os.unlink(path)
    elif name == "repl_lines":
        # the REPL feeds the text typed so far: every prefix must read as incomplete, the whole
        # program must parse
        programs = [
            "fn f(x) {\n    return x +\n        1\n}\n",
            "x = [1,\n  2]\n",
            "if x {\n    y()\n} else {\n    z()\n}\n",
            "s = \"multi\nline\"\n",
            "pulse x\n  -> Net\n  -> y\n",
            "network N {\n    neuron a {\n        units: 3\n    }\n}\n",
            "m = {\n  a: 1,\n}\n",
            "x = 1 /* note\n */\n",
            "f(a,\n  b: 2)\n",
            "try {\n    g()\n} catch e {\n    h()\n}\n",
            "try {\n    g()\n}\ncatch e {\n    h()\n}\n",
        ]
        for prog in programs:
            lines = prog.splitlines(True)
            for k in range(1, len(lines) + 1):
                text = "".join(lines[:k]).encode()
                rc, out = with_input(binary, text, "-i")
                if k < len(lines):
                    expect(rc == 65 and out.endswith("incomplete: 1\n"),
                           f"{name}: prefix {k} of {prog!r} should be incomplete", out)
                else:
                    expect(rc == 0 and out.endswith("incomplete: 0\n"), f"{name}: {prog!r}", out)
    elif name == "empty":
        for data in (b"", b"\n\n", b"# only a comment", b";;;", b"/* c */"):
            rc, out = with_input(binary, data)
            expect(rc == 0 and out.startswith("PROGRAM @1:1"), f"{name} {data!r}", out)
    else:
        sys.exit(f"unknown generated test {name}")


def main():
    args = sys.argv[1:]
    update = "--update" in args
    args = [a for a in args if a != "--update"]
    if len(args) != 3:
        sys.exit("usage: run_parse_tests.py [--update] BINARY case|gen|example ARG")
    binary, mode, arg = args
    if mode == "case":
        case(binary, arg, update)
    elif mode == "gen":
        gen(binary, arg)
    elif mode == "example":
        rc, out = run(binary, arg, "-q")
        expect(rc == 0, f"{arg} must parse", out)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
