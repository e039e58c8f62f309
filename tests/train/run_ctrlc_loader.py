#!/usr/bin/env python3
# tests/train/run_ctrlc_loader.py — Ctrl-C while for-loops run over a prefetching data.loader:
# anx exits 130 promptly (the loader's threads are stopped and joined, none hangs the exit).
# Usage: run_ctrlc_loader.py ANX
import os
import signal
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
anx = os.path.abspath(sys.argv[1])
fails = []
p = subprocess.Popen([anx, os.path.join(here, 'ctrlc_loader.anx')], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(1.5)
if p.poll() is not None:
    fails.append('the script ended before the signal: exit %s, %s' % (p.returncode, p.stderr.read().decode()[-500:]))
else:
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=20)
        if p.returncode != 130:
            fails.append('exit %s, expected 130; stderr: %s' % (p.returncode, err.decode()[-500:]))
    except subprocess.TimeoutExpired:
        p.kill()
        fails.append('did not stop within 20 s of SIGINT')
for f in fails:
    print('FAIL', f)
print('%d passed, %d failed' % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
