#!/usr/bin/env python3
# tests/repl/test_repl.py — drives the anx REPL through piped stdin and through a pseudo-terminal
# (libedit line editing, prompts, continuation, auto-print, errors, Ctrl-C, completion, history).
# Usage: test_repl.py ANX_BINARY   (exit 0 when every check passes)
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

ANX = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what, detail=''):
    if not cond:
        failures.append(what + ('\n    ' + detail.replace('\n', '\n    ') if detail else ''))


def piped():
    src = ('let x = 40\n'
           'x + 2\n'
           'fn f(a) {\n'
           '  return a * 2\n'
           '}\n'
           'f(21)\n'
           '"str"\n'
           'print(nosuch)\n'
           'nil\n'
           '1 / 0\n'
           '[x, "a"]\n')
    p = subprocess.run([ANX], input=src.encode(), capture_output=True, timeout=20)
    out = p.stdout.decode().split('\n')
    err = p.stderr.decode()
    check(out[:5] == ['42', '42', '"str"', '[40, "a"]', ''], 'piped: auto-print of values (not nil)', repr(out))
    check("undefined name 'nosuch'" in err, 'piped: compile error shown', err)
    check('division by zero' in err, 'piped: runtime error shown, loop goes on', err)
    check(p.returncode == 70, 'piped: exit code of the last error (70)', str(p.returncode))


class Pty:
    def __init__(self, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(ANX, [ANX], env)
        self.buf = b''

    def read_until(self, needle, timeout=10.0):
        end = time.time() + timeout
        while needle.encode() not in self.buf and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                self.buf += data
        ok = needle.encode() in self.buf
        text = self.buf.decode('utf-8', 'replace')
        if ok:
            self.buf = self.buf[self.buf.index(needle.encode()) + len(needle):]
        return ok, text

    def send(self, s):
        os.write(self.fd, s.encode())

    def close(self, grace=3.0):
        end = time.time() + grace
        while time.time() < end:
            self.read_until('\x00', 0.1)   # drain output so the child can finish writing
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


def terminal():
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, TERM='dumb')
    env.pop('ANX_HISTORY', None)
    t = Pty(env)
    ok, text = t.read_until('>>> ')
    check(ok, 'tty: banner and prompt', text)
    t.send('let answer = 41\r')
    ok, text = t.read_until('>>> ')
    t.send('answer + 1\r')
    ok, text = t.read_until('42')
    check(ok, 'tty: auto-print', text)
    t.read_until('>>> ')
    t.send('fn g(n) {\r')
    ok, text = t.read_until('... ')
    check(ok, 'tty: continuation prompt for an open block', text)
    t.send('  return n + 1\r}\r')
    t.read_until('>>> ')
    t.send('g(1)\r')
    ok, text = t.read_until('2')
    check(ok, 'tty: multi-line function defined', text)
    t.read_until('>>> ')
    t.send('boom_undefined\r')
    ok, text = t.read_until("undefined name 'boom_undefined'")
    check(ok, 'tty: error shown without leaving', text)
    t.read_until('>>> ')
    t.send('var spin = 0\r')
    t.read_until('>>> ')
    t.send('while true { spin += 1 }\r')
    time.sleep(0.5)
    t.send('\x03')
    ok, text = t.read_until('interrupted')
    check(ok, 'tty: Ctrl-C interrupts a running statement', text)
    ok, text = t.read_until('>>> ')
    check(ok, 'tty: prompt after Ctrl-C', text)
    t.send('spin > 0\r')
    ok, text = t.read_until('true')
    check(ok, 'tty: globals survive an interrupted statement', text)
    t.read_until('>>> ')
    t.send('this line is abandoned')
    time.sleep(0.3)
    t.send('\x03')
    ok, text = t.read_until('>>> ')
    check(ok, 'tty: Ctrl-C cancels the line being typed', text)
    t.send('7 * 6\r')
    ok, text = t.read_until('42')
    check(ok and 'abandoned' not in text.split('7 * 6')[-1], 'tty: the cancelled line is not run', text)
    t.read_until('>>> ')
    t.send('answ\t + 1\r')
    ok, text = t.read_until('42')
    check(ok, 'tty: tab completion of a global', text)
    t.read_until('>>> ')
    t.send('let cfg = {alpha: 1}\r')
    t.read_until('>>> ')
    t.send('cfg.alp\t\r')
    ok, text = t.read_until('1')
    check(ok, 'tty: tab completion of a member', text)
    t.read_until('>>> ')
    t.send('\x04')
    t.close()
    hist = os.path.join(home, '.anx_history')
    check(os.path.exists(hist) and 'answer' in open(hist, errors='replace').read(),
          'tty: history written to ~/.anx_history')


piped()
terminal()
for f in failures:
    print('FAIL ' + f)
print('%d repl checks failed' % len(failures) if failures else 'repl: all checks passed')
sys.exit(1 if failures else 0)
