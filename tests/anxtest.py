#!/usr/bin/env python3
# tests/anxtest.py — runs .anx test files and checks their inline expectations (Wren-style).
# Usage: anxtest.py ANX_BINARY FILE_OR_DIR...   (exit 0 when every file passes)
#
# Directives, each in a comment anywhere in the file:
#   # expect: TEXT              the next line of stdout is exactly TEXT
#   # expect error: MSG         the run fails with an error reported on THIS line whose message
#                               contains MSG (exit 65 or 70; several allowed for compile errors)
#   # expect compile error: MSG   as above, exit code must be 65
#   # expect runtime error: MSG   as above, exit code must be 70
#   # expect stderr: TEXT       stderr contains TEXT
#   # expect exit: N            the exit code is exactly N
#   # args: A B C               arguments passed after the file name
#   # env: NAME=VALUE           environment variable for the run
#   # stdin: TEXT               a line fed on standard input
#   # timeout: SECONDS          (default 60)
# A run that ends by a signal (crash) always fails.
import os
import re
import subprocess
import sys

DIRECTIVE = re.compile(r'(?:#|//)\s*(expect(?: compile| runtime)? error|expect stderr|expect exit|expect|args|env|stdin|timeout):\s?(.*)$')
ERROR_LINE = re.compile(r'^(.*?):(\d+):(\d+): error: (.*)$')


def parse(path):
    spec = {'out': [], 'errors': [], 'stderr': [], 'exit': None, 'args': [], 'env': {},
            'stdin': [], 'timeout': 60.0}
    with open(path, 'rb') as f:
        raw = f.read()
    for lineno, line in enumerate(raw.decode('utf-8', 'replace').split('\n'), 1):
        m = DIRECTIVE.search(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        if key == 'expect':
            spec['out'].append(val)
        elif key.endswith('error'):
            kind = key.split()[1] if key.count(' ') == 2 else None
            spec['errors'].append((lineno, val.strip(), kind))
        elif key == 'expect stderr':
            spec['stderr'].append(val)
        elif key == 'expect exit':
            spec['exit'] = int(val)
        elif key == 'args':
            spec['args'] = val.split()
        elif key == 'env':
            name, _, value = val.partition('=')
            spec['env'][name.strip()] = value
        elif key == 'stdin':
            spec['stdin'].append(val)
        elif key == 'timeout':
            spec['timeout'] = float(val)
    return spec


def run_one(anx, path):
    spec = parse(path)
    env = dict(os.environ)
    env.update(spec['env'])
    stdin = ('\n'.join(spec['stdin']) + '\n') if spec['stdin'] else ''
    try:
        p = subprocess.run([anx, os.path.basename(path)] + spec['args'], cwd=os.path.dirname(os.path.abspath(path)),
                           input=stdin.encode(), capture_output=True, env=env, timeout=spec['timeout'])
    except subprocess.TimeoutExpired:
        return ['timed out after %gs' % spec['timeout']]
    out = p.stdout.decode('utf-8', 'replace').split('\n')
    if out and out[-1] == '':
        out.pop()
    err = p.stderr.decode('utf-8', 'replace')
    fails = []
    if p.returncode < 0:
        fails.append('killed by signal %d' % -p.returncode)
    for i, want in enumerate(spec['out']):
        got = out[i] if i < len(out) else '<no more output>'
        if got != want:
            fails.append('stdout line %d: expected %r, got %r' % (i + 1, want, got))
            break
    if len(out) > len(spec['out']) and not fails:
        fails.append('unexpected extra stdout: %r' % out[len(spec['out'])])
    expected_exit = spec['exit']
    if spec['errors']:
        reported = [(int(m.group(2)), m.group(4)) for m in map(ERROR_LINE.match, err.split('\n')) if m]
        kinds = {k for _, _, k in spec['errors'] if k}
        if expected_exit is None:
            if kinds == {'compile'}:
                expected_exit = 65
            elif kinds == {'runtime'}:
                expected_exit = 70
        if expected_exit is None and p.returncode not in (65, 70):
            fails.append('expected exit 65 or 70, got %d' % p.returncode)
        for line, msg, _ in spec['errors']:
            if not any(l == line and msg in m for l, m in reported):
                fails.append('expected error at line %d containing %r; stderr was:\n%s' % (line, msg, err.rstrip()))
    elif expected_exit is None:
        expected_exit = 0
    if expected_exit is not None and p.returncode != expected_exit:
        fails.append('expected exit %d, got %d; stderr:\n%s' % (expected_exit, p.returncode, err.rstrip()))
    for s in spec['stderr']:
        if s not in err:
            fails.append('stderr lacks %r; stderr was:\n%s' % (s, err.rstrip()))
    return fails


def main():
    if len(sys.argv) < 3:
        print(__doc__ or 'usage: anxtest.py ANX FILE_OR_DIR...', file=sys.stderr)
        return 2
    anx = os.path.abspath(sys.argv[1])
    files = []
    for arg in sys.argv[2:]:
        if os.path.isdir(arg):
            files += sorted(os.path.join(arg, f) for f in os.listdir(arg) if f.endswith('.anx'))
        else:
            files.append(arg)
    passed = failed = 0
    for path in files:
        fails = run_one(anx, path)
        if fails:
            failed += 1
            print('FAIL %s' % path)
            for f in fails:
                print('  ' + f.replace('\n', '\n  '))
        else:
            passed += 1
    if len(files) > 1:
        print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
