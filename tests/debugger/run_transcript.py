#!/usr/bin/env python3
"""tests/debugger/run_transcript.py — one debugger transcript test.

usage: run_transcript.py ANX TEST.dbg [--update]
TEST.dbg: first line `# script: FILE.anx [ARGS...]`, an optional `# via: commands` line (use
--commands FILE instead of piped stdin) or `# via: repl` (type `:debug ...` into the REPL), then
the commands; a `# sigint` line sends Ctrl-C (SIGINT) once the program has run for a moment. The expected output is TEST.out
(stdout and stderr together, run from this directory). An expected line starting with `~ ` is a
regular expression (timings, addresses); every other line must match exactly."""
import os
import re
import signal
import subprocess
import sys
import time


def main():
    anx, test = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    update = "--update" in sys.argv
    here = os.path.dirname(test)
    lines = open(test).read().splitlines()
    script = lines[0].split(":", 1)[1].split()
    via_file = any(l.strip() == "# via: commands" for l in lines[:3])
    via_repl = any(l.strip() == "# via: repl" for l in lines[:3])
    body = [l for l in lines[1:] if not l.startswith("# via:")]
    argv = [anx, "debug"]
    if via_file:
        argv += ["--commands", test]
        body = []
    argv += script
    if via_repl:
        argv = [anx]
    if "# sigint" in body:
        cut = body.index("# sigint")
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=here)
        p.stdin.write(("\n".join(body[:cut]) + "\n").encode())
        p.stdin.flush()
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        outb, _ = p.communicate(("\n".join(body[cut + 1:]) + "\n").encode(), timeout=120)
        r = subprocess.CompletedProcess(argv, p.returncode, outb)
    else:
        r = subprocess.run(argv, input=("\n".join(body) + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=here, timeout=120)
    got = r.stdout.decode("utf-8", "replace").splitlines()
    expf = test[:-4] + ".out"
    if update:
        open(expf, "w").write("\n".join(got) + "\n")
        print("wrote", expf)
        return 0
    want = open(expf).read().splitlines()
    bad = None
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else "<missing>"
        w = want[i] if i < len(want) else "<missing>"
        ok = re.fullmatch(w[2:], g) is not None if w.startswith("~ ") else g == w
        if not ok:
            bad = (i + 1, w, g)
            break
    if r.returncode != 0:
        print("exit code %d" % r.returncode)
        bad = bad or (0, "exit 0", "exit %d" % r.returncode)
    if bad:
        print("%s: line %d differs\n  want: %s\n  got:  %s" % (os.path.basename(test), *bad))
        print("---- full output ----\n" + "\n".join(got))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
