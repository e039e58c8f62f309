#!/usr/bin/env python3
# tests/vm/test_cli.py — the anx command line: options, exit codes (0 64 65 66 70 130), -e,
# --check, --disasm, --explain, --max-memory, script arguments and Ctrl-C.
# Usage: test_cli.py ANX_BINARY   (exit 0 when every check passes)
import os
import signal
import subprocess
import sys
import tempfile
import time

ANX = os.path.abspath(sys.argv[1])
failures = []


def run(args, src=None, env=None, timeout=30):
    return subprocess.run([ANX] + args, input=src, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def check(cond, what, p=None):
    if not cond:
        extra = '' if p is None else '\n    rc=%s stdout=%r stderr=%r' % (p.returncode, p.stdout[-400:], p.stderr[-400:])
        failures.append(what + extra)


tmp = tempfile.mkdtemp()
def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


p = run(['--version'])
check(p.returncode == 0 and p.stdout.startswith('anx '), '--version', p)
p = run(['--help'])
check(p.returncode == 0 and '--disasm' in p.stdout and 'exit codes' in p.stdout, '--help', p)
p = run(['--bogus'])
check(p.returncode == 64 and 'unknown option' in p.stderr, 'unknown option exits 64', p)
p = run(['debug', 'x.anx'])
check(p.returncode == 66 and 'cannot open' in p.stderr, 'debug: a missing file exits 66', p)
p = run(['debug'])
check(p.returncode == 64 and 'usage' in p.stderr, 'debug without a file exits 64', p)
p = run(['-e', 'print(6 * 7)'])
check(p.returncode == 0 and p.stdout == '42\n', '-e runs code', p)
p = run(['-e', ''])
check(p.returncode == 0 and p.stdout == '', "-e ''", p)
p = run(['-e', 'import os\nprint(os.args())', 'a', 'b'])
check(p.stdout == '["a", "b"]\n', '-e passes the remaining arguments to os.args()', p)
p = run([os.path.join(tmp, 'missing.anx')])
check(p.returncode == 66 and 'cannot open' in p.stderr, 'missing file exits 66', p)

good = write('good.anx', 'fn f(x) { return x + 1 }\nprint(f(1))\n')
bad = write('bad.anx', 'let x = 1\nx = 2\nzz = 3\n')
rt = write('rt.anx', 'fn inner() { return [1][3] }\nfn outer() { return inner() }\nouter()\n')
p = run(['--check', good])
check(p.returncode == 0 and p.stdout == '', '--check of a good file prints nothing, exit 0', p)
p = run(['--check', bad])
check(p.returncode == 65 and 'bad.anx:2:1: error:' in p.stderr and 'bad.anx:3:' in p.stderr,
      '--check reports every error with file:line:col, exit 65', p)
p = run(['--check', rt])
check(p.returncode == 0, '--check does not run the script', p)
p = run(['--disasm', good])
check(p.returncode == 0 and 'CLOSURE' in p.stdout and 'RETURN' in p.stdout and '== f (' in p.stdout,
      '--disasm prints every function', p)
p = run([rt])
lines = p.stderr.splitlines()
check(p.returncode == 70 and lines[0].startswith(rt + ':1:') and 'index out of range' in lines[0]
      and lines[2].strip() == '^' and '  at inner (' in p.stderr and '  at outer (' in p.stderr
      and '  at <script> (' in p.stderr, 'runtime error: location, source line, caret, trace; exit 70', p)
p = run(['--explain', good])
check(p.returncode == 0 and p.stdout == '2\n', '--explain runs the script', p)
p = run(['--max-memory=12', '-e', 'print(1)'])
check(p.returncode in (70, 0) or 'memory' in p.stderr, '--max-memory tiny limit is handled', p)
p = run(['--max-memory=abc', '-e', 'print(1)'])
check(p.returncode == 64 and 'memory limit' in p.stderr, '--max-memory with a bad value exits 64', p)
p = run(['--max-memory=32M', '-e', 'var s = "x"\ntry { while true { s = s + s } } catch e { print(e.kind) }'])
check(p.returncode == 0 and p.stdout == 'memory\n', '--max-memory: out of memory is catchable', p)

# Ctrl-C: SIGINT interrupts a running loop (not catchable), exit 130
loop = write('loop.anx', 'var n = 0\nwhile true { try { n += 1 } catch e { print("caught") } }\n')
proc = subprocess.Popen([ANX, loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
proc.send_signal(signal.SIGINT)
try:
    out, err = proc.communicate(timeout=10)
    check(proc.returncode == 130 and 'caught' not in out and 'interrupted' in err,
          'SIGINT interrupts, is not catchable, exit 130')
except subprocess.TimeoutExpired:
    proc.kill()
    check(False, 'SIGINT interrupts a running loop (timed out)')

for f in failures:
    print('FAIL ' + f)
print('%d cli checks failed' % len(failures) if failures else 'cli: all checks passed')
sys.exit(1 if failures else 0)
