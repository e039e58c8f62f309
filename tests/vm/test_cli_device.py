#!/usr/bin/env python3
# tests/vm/test_cli_device.py — `--device DEV` and ANX_DEVICE (the flag wins): the default device of
# tensor creation, network parameters and train()'s batches. cpu behaves as without them; cuda
# without a GPU is an error at startup (exit 70, naming the device and why); an unknown name is a
# usage error (exit 64). Usage: test_cli_device.py ANX_BINARY   (exit 0 when every check passes)
import os
import subprocess
import sys
import tempfile

ANX = os.path.abspath(sys.argv[1])
failures = []


def run(args, src=None, env=None, timeout=60):
    e = dict(os.environ)
    e.pop('ANX_DEVICE', None)
    e.update(env or {})
    return subprocess.run([ANX] + args, input=src, capture_output=True, text=True, timeout=timeout, env=e)


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


SHOW = 'print(device(), zeros([2]).device, tensor([1.0]).device, arange(3).device, randn([2]).device)'
CPU5 = 'cpu cpu cpu cpu cpu\n'

# cpu: as without the option, in every spelling
for args, env, what in [([], None, 'no option'), (['--device', 'cpu'], None, '--device cpu'),
                        (['--device=cpu'], None, '--device=cpu'), ([], {'ANX_DEVICE': 'cpu'}, 'ANX_DEVICE=cpu'),
                        ([], {'ANX_DEVICE': ''}, 'an empty ANX_DEVICE is unset'),
                        (['--device', 'cpu'], {'ANX_DEVICE': 'cuda'}, '--device cpu wins over ANX_DEVICE=cuda'),
                        (['--device', 'cpu'], {'ANX_DEVICE': 'tpu'}, '--device cpu wins over a bad ANX_DEVICE')]:
    p = run(args + ['-e', SHOW], env=env)
    check(p.returncode == 0 and p.stdout == CPU5, what + ': tensors are created on the cpu', p)

# a script file, its arguments, and the option after other options
f = write('show.anx', 'import os\n' + SHOW + '\nprint(os.args())\n')
p = run(['--max-steps=100000', '--device', 'cpu', f, 'a', '--device', 'b'])
check(p.returncode == 0 and p.stdout == CPU5 + '["a", "--device", "b"]\n',
      'FILE: --device before FILE applies; after FILE it is a script argument', p)

# unknown names: usage errors, before anything runs
p = run(['--device', 'tpu', '-e', 'print(1)'])
check(p.returncode == 64 and p.stdout == '' and "unknown device 'tpu'" in p.stderr and '--device' in p.stderr,
      '--device tpu: exit 64 naming the device', p)
p = run(['-e', 'print(1)'], env={'ANX_DEVICE': 'tpu'})
check(p.returncode == 64 and p.stdout == '' and "unknown device 'tpu'" in p.stderr and 'ANX_DEVICE' in p.stderr,
      'ANX_DEVICE=tpu: exit 64 naming the variable', p)
p = run(['--device', 'cuda:x', '-e', 'print(1)'])
check(p.returncode == 64 and "'cuda:x'" in p.stderr, '--device cuda:x: exit 64', p)
p = run(['--device'])
check(p.returncode == 64 and 'needs a value' in p.stderr, '--device without a value: exit 64', p)
p = run(['--device', 'tpu', '--check', f])
check(p.returncode == 64, '--check checks the device name too', p)
p = run(['--device', 'tpu', 'debug', f])
check(p.returncode == 64 and "unknown device 'tpu'" in p.stderr, 'debug: --device tpu exits 64', p)
p = run(['debug', '--device', 'tpu', f])
check(p.returncode == 64 and "unknown device 'tpu'" in p.stderr, 'debug --device tpu (after debug) exits 64', p)

# cuda: runs there when a GPU answers, else a clear error at startup (the same reason device("cuda") gives)
probe = run(['-e', 'device("cuda")'])
have_gpu = probe.returncode == 0
reason = ''
if not have_gpu:
    first = probe.stderr.splitlines()[0] if probe.stderr else ''
    reason = first.split(': error: ', 1)[-1]
    check(reason != '', 'device("cuda") without a GPU gives a reason', probe)
for args, env, what in [(['--device', 'cuda'], None, '--device cuda'), ([], {'ANX_DEVICE': 'cuda'}, 'ANX_DEVICE=cuda'),
                        (['--device', 'cuda'], {'ANX_DEVICE': 'cpu'}, '--device cuda wins over ANX_DEVICE=cpu')]:
    p = run(args + ['-e', 'print(device(), zeros([2]).device)'], env=env)
    if have_gpu:
        check(p.returncode == 0 and p.stdout == 'cuda:0 cuda:0\n', what + ': tensors on cuda:0', p)
    else:
        check(p.returncode == 70 and p.stdout == '' and 'cuda:0' in p.stderr and reason in p.stderr
              and 'Traceback' not in p.stderr and p.stderr.count('\n') <= 2,
              what + ' without a GPU: exit 70 at startup, naming the device and why', p)
if not have_gpu:
    p = run(['--device', 'cuda', f])
    check(p.returncode == 70 and p.stdout == '', '--device cuda FILE without a GPU: nothing runs', p)
    p = run(['--device', 'cuda'], src='print(1)\n')
    check(p.returncode == 70 and p.stdout == '', '--device cuda REPL without a GPU: exit 70 before the REPL', p)
    p = run(['--device', 'cuda', 'debug', f], src='run\nquit\n')
    check(p.returncode == 70 and 'anx debugger' not in p.stdout and 'cuda:0' in p.stderr,
          '--device cuda debug without a GPU: exit 70 before the debugger starts', p)
    p = run(['--device', 'cuda', '--check', f])
    check(p.returncode == 0, '--check only compiles: no device needed', p)
p = run(['--device', 'cuda:7', '-e', 'print(1)'])
check(p.returncode == 70 and p.stdout == '' and 'cuda:7' in p.stderr, '--device cuda:7: exit 70 naming cuda:7', p)

# the REPL and the debugger create tensors on the chosen device
p = run(['--device', 'cpu'], src=SHOW + '\n')
check(p.returncode == 0 and p.stdout == CPU5, 'REPL: --device cpu', p)
p = run(['--device', 'cpu', 'debug', f], src='run\nquit\n')
check(p.returncode == 0 and CPU5 in p.stdout and 'exited normally' in p.stdout, 'debug: --device cpu', p)
p = run(['debug', '--device=cpu', f], src='run\nquit\n', env={'ANX_DEVICE': 'tpu'})
check(p.returncode == 0 and CPU5 in p.stdout, 'debug --device=cpu wins over ANX_DEVICE', p)

# --help lists the option
p = run(['--help'])
check(p.returncode == 0 and '--device=DEV' in p.stdout and 'ANX_DEVICE' in p.stdout, '--help lists --device', p)

for x in failures:
    print('FAIL ' + x)
print('%d device cli checks failed' % len(failures) if failures else 'cli device: all checks passed')
sys.exit(1 if failures else 0)
