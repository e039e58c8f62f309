#!/usr/bin/env python3
# tests/regress/run_script.py — run one regression script with anx: it must exit 0, 65 or 70
# (65/70 with an "error" message on stderr), never die of a signal or hang (60 s).
# Usage: run_script.py ANX SCRIPT
import os
import subprocess
import sys


def main():
    anx, script = sys.argv[1], sys.argv[2]
    try:
        p = subprocess.run([anx, os.path.basename(script)], cwd=os.path.dirname(script) or '.',
                           capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        print('FAIL: %s hangs' % script)
        return 1
    err = p.stderr.decode('utf-8', 'replace')
    if p.returncode < 0 or p.returncode not in (0, 65, 70):
        print('FAIL: %s exit %d\n%s' % (script, p.returncode, err[-4000:]))
        return 1
    if p.returncode and 'error' not in err:
        print('FAIL: %s exit %d without an error message\n%s' % (script, p.returncode, err[-4000:]))
        return 1
    if 'Sanitizer' in err or 'runtime error:' in err:
        print('FAIL: %s sanitizer report\n%s' % (script, err[-4000:]))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
