#!/usr/bin/env python3
# tests/net/doc_examples.py — runs every ```anx block of a Markdown page as a test (inline `# expect:` lines,
# tests/anxtest.py). Usage: doc_examples.py ANX_BINARY PAGE.md   (exit 0 when every block passes)
import os
import re
import subprocess
import sys
import tempfile

BLOCK = re.compile(r'^```anx\n(.*?)^```', re.S | re.M)


def main():
    anx, page = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(page, encoding='utf-8') as f:
        blocks = BLOCK.findall(f.read())
    if not blocks:
        print('%s: no ```anx blocks' % page)
        return 1
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix='anx_doc_') as d:
        files = []
        for i, b in enumerate(blocks, 1):
            path = os.path.join(d, 'block_%02d.anx' % i)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(b)
            files.append(path)
        r = subprocess.run([sys.executable, os.path.join(here, '..', 'anxtest.py'), anx] + files)
        print('%s: %d examples' % (os.path.basename(page), len(blocks)))
        return r.returncode


if __name__ == '__main__':
    sys.exit(main())
