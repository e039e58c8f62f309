#!/usr/bin/env python3
"""tests/debugger/test_tty.py — `anx debug` on a pseudo-terminal: libedit tab completion of
commands and of names in scope, Ctrl-C at the prompt drops the line (the session goes on)."""
import os
import pty
import select
import sys
import time

anx = os.path.abspath(sys.argv[1])
os.chdir(os.path.dirname(os.path.abspath(__file__)))
pid, fd = pty.fork()
if pid == 0:
    os.environ["HOME"] = "/tmp"   # history file
    os.execv(anx, [anx, "debug", "basic.anx"])


def read_until(want, timeout=20.0):
    out, end = b"", time.time() + timeout
    while time.time() < end and want.encode() not in out:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out.decode(errors="replace")


fails = []


def expect(keys, want, what, prompt=True):
    # libedit switches the terminal to raw mode after it prints the prompt, flushing what was typed
    # before; a loaded machine can take a while to get there
    time.sleep(0.3)
    os.write(fd, keys)
    got = read_until(want)
    if want not in got:
        fails.append("%s: wanted %r, got %r" % (what, want, got))
    # wait for the next prompt before typing on: a Ctrl-C sent while the previous command is still
    # printing interrupts that command instead of the line being typed
    if prompt and "(anxdb) " not in got[got.find(want) + len(want):]:
        read_until("(anxdb) ")


read_until("(anxdb) ")
expect(b"bre\t square\r", "Breakpoint 1 at function square", "completes a command")
expect(b"ru\t\r", "Breakpoint 1, square (n=0)", "completes run")
expect(b"print su\t\r", "sum_squares = <fn sum_squares>", "completes a global")
expect(b"p \x03", "^C", "Ctrl-C at the prompt")
expect(b"print n\r", "n = 0", "goes on after Ctrl-C", prompt=False)
os.write(fd, b"quit\r")
_, status = os.waitpid(pid, 0)
if os.WEXITSTATUS(status) != 0:
    fails.append("exit status %d" % os.WEXITSTATUS(status))
for f in fails:
    print("FAIL", f)
sys.exit(1 if fails else 0)
