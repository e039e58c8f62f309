#!/usr/bin/env python3
# tests/train/run_ctrlc.py — Ctrl-C during train(): the first SIGINT finishes the batch, saves the
# configured checkpoint and exits 130; a second SIGINT aborts at once. Usage: run_ctrlc.py ANX
import os
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
anx = os.path.abspath(sys.argv[1])


def start(d):
    p = subprocess.Popen([anx, os.path.join(here, 'ctrlc_train.anx')], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    # stdout is block-buffered in a pipe, so wait instead of reading a marker: start-up takes
    # milliseconds and one epoch of 4096 samples takes longer than this on any machine
    time.sleep(2.0)
    assert p.poll() is None, 'the script ended before the signal'
    return p


fails = []
with tempfile.TemporaryDirectory() as d:
    p = start(d)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fails.append('did not stop within 60 s of one SIGINT')
        out, err = b'', b''
    if p.returncode != 130:
        fails.append('one SIGINT: exit %s, expected 130; stderr: %s' % (p.returncode, err.decode()[-500:]))
    saved = [f for f in os.listdir(d) if f.startswith('ctrlc_ckpt_') and f.endswith('.safetensors')]
    if b'saved' not in err or len(saved) != 1:
        fails.append('one SIGINT: no checkpoint saved: %s %s' % (err.decode()[-500:], os.listdir(d)))
    if b'not reached' in out:
        fails.append('one SIGINT: the script went on after train()')
    p = start(d)
    p.send_signal(signal.SIGINT)
    time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        fails.append('did not stop within 30 s of two SIGINTs')
    if p.returncode not in (130, -signal.SIGINT):
        fails.append('two SIGINTs: exit %s, expected 130 or SIGINT' % p.returncode)
for f in fails:
    print('FAIL', f)
print('%d passed, %d failed' % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
