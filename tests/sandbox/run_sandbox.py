#!/usr/bin/env python3
# tests/sandbox/run_sandbox.py — --sandbox, --allow-read, --allow-write, --max-steps, --max-memory.
# Each case runs anx in a fresh tree (below), from work/, and checks the exit code, stderr, stdout
# and which files exist afterwards. Usage: run_sandbox.py ANX [CASE...]   (--list: the case names)
#
#   T/work/    main.anx (the case's script), lib.anx, sub/mod2.anx, notes.txt   (the cwd)
#   T/data/    d.csv, a.npy, link_out.csv -> ../secret/s.csv, linkdir -> ../secret   (--allow-read)
#   T/out/     link_s.csv -> ../secret/s.csv, dangling.npy -> ../secret/new.npy    (--allow-write)
#   T/secret/  s.csv, secret.anx                                                   (never allowed)
import os
import struct
import subprocess
import sys
import tempfile

SB = ['--sandbox', '--allow-read', '../data']
SBW = ['--sandbox', '--allow-read=../data', '--allow-write=../out']
NET = 'network Net { neuron h { units: 4, activation: relu }; neuron o { units: 2 } }\nNet(randn([2, 3]))\n'
DENIED_R = 'sandbox: reading'
DENIED_W = 'sandbox: writing'


def case(args, script, rc, err=(), out=None, exists=(), absent=(), lacks=(), e=False, repl=False):
    return dict(args=args, script=script, rc=rc, err=list(err), out=out, exists=list(exists),
                absent=list(absent), lacks=list(lacks), e=e, repl=repl)


def cases():
    c = {}
    # reading
    c['read_allowed'] = case(SB, 'import data\nlet x, y = data.csv("../data/d.csv", label: "label")\n'
                             'print(x.shape, y.shape)\nprint(data.npy_load("../data/a.npy").shape)\n', 0,
                             out=['[2, 2] [2]', '[3]'])
    c['read_denied'] = case(SB, 'import data\n\ndata.csv("../secret/s.csv")\n', 70,
                            err=['main.anx:3:', DENIED_R + " '../secret/s.csv'", '/secret/s.csv) is not allowed',
                                 'add --allow-read DIR'])
    c['read_denied_absolute'] = case(SB, 'import data\ndata.npy_load("/etc/passwd")\n', 70,
                                     err=['main.anx:2:', DENIED_R + " '/etc/passwd' is not allowed (allowed: "])
    c['read_denied_catchable'] = case(SB, 'import data\ntry { data.csv("../secret/s.csv") } catch e {\n'
                                      '  print(e.kind)\n}\nprint("still running")\n', 0,
                                      out=['sandbox', 'still running'])
    c['dotdot_escape'] = case(SB, 'import data\ndata.csv("../data/../secret/s.csv")\n', 70,
                              err=['main.anx:2:', DENIED_R + " '../data/../secret/s.csv'"])
    c['dotdot_missing_escape'] = case(SB, 'import data\ndata.csv("../data/nosuchdir/../../secret/s.csv")\n', 70,
                                      err=['main.anx:2:', DENIED_R])
    c['symlink_escape_file'] = case(SB, 'import data\ndata.csv("../data/link_out.csv")\n', 70,
                                    err=['main.anx:2:', DENIED_R + " '../data/link_out.csv'", '/secret/s.csv)'])
    c['symlink_escape_dir'] = case(SB, 'import data\ndata.csv("../data/linkdir/s.csv")\n', 70,
                                   err=['main.anx:2:', DENIED_R])
    c['text_walk_symlink'] = case(SB, 'import data\nprint(len(data.text("../data")))\n', 70,
                                  err=['main.anx:2:', DENIED_R + " '../data/link"])
    c['restore_denied'] = case(SB, NET + 'restore("../secret/s.csv", Net)\n', 70, err=['main.anx:3:', DENIED_R])
    c['net_load_denied'] = case(SB, NET + 'Net.load("../secret/s.csv")\n', 70, err=['main.anx:3:', DENIED_R])
    c['listdir_exists_denied'] = case(SB, 'import os\nprint(os.listdir("../data")[0])\n'
                                      'try { os.exists("/etc/passwd") } catch e { print(e.kind) }\n'
                                      'os.listdir("/")\n', 70, out=['a.npy', 'sandbox'],
                                      err=['main.anx:4:', DENIED_R + " '/'"])
    c['no_sandbox_unchanged'] = case([], 'import data\nimport os\nprint(data.csv("../secret/s.csv", header: false).shape)\n'
                                     'print(os.env("ANX_SANDBOX_TEST", "unset"))\nprint(len(os.getcwd()) > 0)\n', 0,
                                     out=['[1, 2]', 'unset', 'true'])
    # writing
    c['write_denied_npy_save'] = case(SB, 'import data\ndata.npy_save("../out/x.npy", [1, 2])\n', 70,
                                      err=['main.anx:2:', DENIED_W + " '../out/x.npy'", '(allowed: none; add --allow-write DIR)'],
                                      absent=['out/x.npy'])
    c['write_denied_net_save'] = case(SBW, NET + 'Net.save("../secret/net.safetensors")\n', 70,
                                      err=['main.anx:3:', DENIED_W, '/out; add --allow-write DIR)'],
                                      absent=['secret/net.safetensors'])
    c['write_denied_checkpoint'] = case(SBW, NET + 'checkpoint("ck.safetensors", Net)\n', 70,
                                        err=['main.anx:3:', DENIED_W + " 'ck.safetensors'"], absent=['work/ck.safetensors'])
    c['write_denied_plot'] = case(SBW, 'plot([{"epoch": 1, "loss": 1.0}], "../secret/p.svg")\n', 70,
                                  err=['main.anx:1:', DENIED_W], absent=['secret/p.svg'])
    c['write_denied_graph'] = case(SBW, NET + 'Net.graph("../data/g.dot")\n', 70, err=['main.anx:3:', DENIED_W],
                                   absent=['data/g.dot'])
    c['write_denied_callbacks'] = case(SBW, 'try { checkpoint_every("../secret/c_{epoch}.safetensors") } catch e { print(e.kind) }\n'
                                       'try { checkpoint_best("../data/best.safetensors") } catch e { print(e.kind) }\n'
                                       'csv_log("log.csv")\n', 70, out=['sandbox', 'sandbox'],
                                       err=['main.anx:3:', DENIED_W + " 'log.csv'"], absent=['work/log.csv'])
    c['write_symlink_final'] = case(SBW, 'import data\ndata.npy_save("../out/link_s.csv", [1])\n', 70,
                                    err=['main.anx:2:', DENIED_W + " '../out/link_s.csv'"])
    c['write_dangling_symlink'] = case(SBW, 'import data\ndata.npy_save("../out/dangling.npy", [1])\n', 70,
                                       err=['main.anx:2:', DENIED_W], absent=['secret/new.npy'])
    c['write_dotdot_escape'] = case(SBW, 'import data\ndata.npy_save("../out/../secret/x.npy", [1])\n', 70,
                                    err=['main.anx:2:', DENIED_W], absent=['secret/x.npy'])
    c['write_allowed'] = case(SBW, 'import data\nseed(0)\n' + NET +
                              'data.npy_save("../out/x.npy", [1, 2, 3])\nprint(data.npy_load("../out/x.npy").shape)\n'
                              'Net.save("../out/net.safetensors")\nNet.load("../out/net.safetensors")\n'
                              'checkpoint("../out/ck.safetensors", Net)\nrestore("../out/ck.safetensors", Net)\n'
                              'let h = train(Net, randn([8, 3]), randint(0, 2, [8]), epochs: 3, batch_size: 4, verbose: false,\n'
                              '  callbacks: [csv_log("../out/log.csv"), checkpoint_every("../out/e.safetensors", keep: 1)])\n'
                              'plot(h, "../out/p.svg")\nNet.graph("../out/g.dot")\nprint("ok")\n', 0,
                              out=['[3]', 'ok'],
                              exists=['out/x.npy', 'out/net.safetensors', 'out/ck.safetensors', 'out/log.csv',
                                      'out/e_3.safetensors', 'out/p.svg', 'out/g.dot'],
                              absent=['out/e_1.safetensors', 'out/e_2.safetensors'])
    # the environment
    c['env_denied'] = case(SB, 'import os\ntry { os.env("HOME") } catch e { print(e.message) }\nos.getcwd()\n', 70,
                           out=['sandbox: os.env() is not allowed (a script run with --sandbox cannot read the environment)'],
                           err=['main.anx:3:', 'sandbox: os.getcwd() is not allowed'])
    c['args_allowed'] = case(SB + ['main.anx', 'a1'], 'import os\nprint(os.args())\n', 0, out=['["a1"]'])
    # import
    c['import_script_dir'] = case(SB, 'import "lib.anx" as lib\nimport "sub/mod2.anx" as m2\nimport math\nimport functional\n'
                                  'print(lib.v, m2.w)\n', 0, out=['42 7'])
    c['import_escape'] = case(SB, 'import "../secret/secret.anx" as s\n', 70,
                              err=['main.anx:1:', "sandbox: importing '", 'secret.anx', '.anx files under '],
                              lacks=['pwned'])
    c['import_missing_outside'] = case(SB, 'import "../secret/nothere.anx" as s\n', 70,
                                       err=['main.anx:1:', 'sandbox: importing'])
    c['import_not_anx'] = case(SB, 'import "notes.txt" as n\n', 70, err=['main.anx:1:', 'sandbox: importing'],
                               lacks=['secret notes'])
    c['import_allowed_dir'] = case(SB, 'import "../data/../secret/secret.anx" as s\n', 70, err=['sandbox: importing'],
                                   lacks=['pwned'])
    # -e, the REPL and the debugger take the same options
    c['e_flag'] = case(SB, 'import data\nprint(data.csv("../data/d.csv").shape)\ndata.csv("../secret/s.csv")\n', 70,
                       out=['[2, 3]'], err=['<-e>:3:', DENIED_R], e=True)
    c['repl'] = case(SB, ':debug ../secret/secret.anx\nimport data\nprint(data.csv("../data/d.csv").shape)\n'
                     'data.csv("../secret/s.csv")\n', 70, out=['[2, 3]'], lacks=['pwned'],
                     err=[':debug is not available under --sandbox', DENIED_R], repl=True)
    c['debugger'] = case(SB + ['debug', '--commands', 'cmds.txt', 'main.anx'],
                         'import data\nprint(data.csv("../data/d.csv").shape)\ndata.csv("../secret/s.csv")\n', 0,
                         out=None, err=[])
    # --max-steps
    c['steps_infinite_loop'] = case(['--max-steps', '100000'], 'var i = 0\nwhile true {\n  i += 1\n}\n', 70,
                                    err=['main.anx:', 'error: step limit of 100000 exceeded'])
    c['steps_not_catchable'] = case(['--max-steps=5000'], 'var n = 0\ntry {\n  for i in range(1000000000) { n += 1 }\n'
                                    '} catch e {\n  print("caught", e)\n}\nprint("after")\n', 70,
                                    err=['main.anx:3:', 'step limit of 5000 exceeded'], lacks=['caught', 'after'])
    c['steps_recursion'] = case(['--max-steps', '1000'], 'fn f(n) { if n == 0 { return 0 }\n return f(n - 1) + 1 }\n'
                                'try { print(f(5000)) } catch e { print("caught") }\n', 70,
                                err=['step limit of 1000 exceeded'], lacks=['caught'])
    c['steps_callback'] = case(['--max-steps', '1000'], 'let r = map(fn(x) { return x * 2 }, range(100000))\n', 70,
                               err=['main.anx:1:', 'step limit of 1000 exceeded'])
    c['steps_normal_script'] = case(['--max-steps', '1000000'],
                                    'fn fib(n) { if n < 2 { return n }\n return fib(n - 1) + fib(n - 2) }\n'
                                    'var s = 0\nfor i in range(1000) { s += i }\nprint(fib(15), s)\n', 0, out=['610 499500'])
    c['steps_debugger'] = case(['--max-steps', '1000', 'debug', '--commands', 'cmds.txt', 'main.anx'],
                               'var i = 0\nwhile true { i += 1 }\n', 0, out=None, err=[])
    c['steps_bad_value'] = case(['--max-steps', '0'], 'print(1)\n', 64, err=["bad step limit '0'"])
    # --max-memory
    c['memory_limit'] = case(['--max-memory=16M'], 'try { let x = zeros([10000000]) } catch e { print(e.kind) }\n'
                             'let y = zeros([10000000])\n', 70, out=['memory'], err=['main.anx:2:', 'out of memory'])
    c['memory_limit_separate_arg'] = case(['--max-memory', '16M'], 'let y = zeros([10000000])\n', 70,
                                          err=['out of memory'])
    c['memory_bad_suffix'] = case(['--max-memory=10X'], 'print(1)\n', 64, err=["bad memory limit '10X'"])
    # usage
    c['allow_needs_sandbox'] = case(['--allow-read', '../data'], 'print(1)\n', 64, err=['need --sandbox'])
    c['allow_missing_dir'] = case(['--sandbox', '--allow-write', '../nosuchdir'], 'print(1)\n', 64,
                                  err=["--allow-write '../nosuchdir'"])
    c['help_lists_limits'] = case(['--help'], '', 0, out=None,
                                  lacks=[], err=[])
    return c


DEBUG_CMDS = 'run\nquit\n'


def npy(shape, values):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s,), }" % ', '.join(map(str, shape))
    hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + struct.pack('<%df' % len(values), *values)


def make_tree(t, script):
    for d in ('work/sub', 'data', 'out', 'secret'):
        os.makedirs(os.path.join(t, d), exist_ok=True)
    files = {
        'work/main.anx': script, 'work/lib.anx': 'let v = 42\n', 'work/sub/mod2.anx': 'let w = 7\n',
        'work/notes.txt': 'secret notes\n', 'work/cmds.txt': DEBUG_CMDS,
        'data/d.csv': 'a,b,label\n1,2,0\n3,4,1\n', 'secret/s.csv': '5,6\n', 'secret/secret.anx': 'print("pwned")\n',
    }
    for n, s in files.items():
        with open(os.path.join(t, n), 'w') as f:
            f.write(s)
    with open(os.path.join(t, 'data/a.npy'), 'wb') as f:
        f.write(npy([3], [1, 2, 3]))
    os.symlink('../secret/s.csv', os.path.join(t, 'data/link_out.csv'))
    os.symlink('../secret', os.path.join(t, 'data/linkdir'))
    os.symlink('../secret/s.csv', os.path.join(t, 'out/link_s.csv'))
    os.symlink('../secret/new.npy', os.path.join(t, 'out/dangling.npy'))


def run(anx, name, c):
    with tempfile.TemporaryDirectory() as t:
        make_tree(t, c['script'])
        args = c['args']
        if c['e']:
            cmd = [anx] + args + ['-e', c['script']]
        elif c['repl']:
            cmd = [anx] + args
        elif name == 'help_lists_limits' or 'main.anx' in args:
            cmd = [anx] + args
        else:
            cmd = [anx] + args + ['main.anx']
        env = dict(os.environ)
        env.pop('ANX_MAX_MEMORY', None)
        try:
            p = subprocess.run(cmd, cwd=os.path.join(t, 'work'), capture_output=True, timeout=120, env=env,
                               input=c['script'].encode() if c['repl'] else b'')
        except subprocess.TimeoutExpired:
            return 'hang (no exit within 120 s)'
        out = p.stdout.decode('utf-8', 'replace')
        err = p.stderr.decode('utf-8', 'replace')
        why = []
        if p.returncode != c['rc']:
            why.append('exit %d, expected %d' % (p.returncode, c['rc']))
        for s in c['err']:
            if s not in err:
                why.append('stderr lacks %r' % s)
        if c['out'] is not None and out.splitlines() != c['out']:
            why.append('stdout %r, expected %r' % (out.splitlines(), c['out']))
        for s in c['lacks']:
            if s in out or s in err:
                why.append('output has %r' % s)
        for f in c['exists']:
            if not os.path.exists(os.path.join(t, f)):
                why.append('%s was not written' % f)
        for f in c['absent']:
            if os.path.lexists(os.path.join(t, f)):
                why.append('%s exists' % f)
        with open(os.path.join(t, 'secret/s.csv')) as f:
            if f.read() != '5,6\n':
                why.append('secret/s.csv was changed')
        # the two cases whose output is not simple lines
        if name == 'debugger' and "sandbox: reading '../secret/s.csv'" not in out + err:
            why.append('the debugger run did not report the sandbox error')
        if name == 'steps_debugger' and 'step limit of 1000 exceeded' not in out + err:
            why.append('the debugger run did not report the step limit')
        if name == 'help_lists_limits':
            for opt in ('--max-memory', '--max-steps', '--sandbox', '--allow-read', '--allow-write'):
                if opt not in out:
                    why.append('--help does not list %s' % opt)
        if p.returncode < 0:
            why.append('killed by signal %d' % -p.returncode)
        if why:
            return '; '.join(why) + '\ncmd: %s\nstdout:\n%s\nstderr:\n%s' % (' '.join(cmd), out[-3000:], err[-3000:])
    return None


def main():
    anx = os.path.abspath(sys.argv[1])
    all_cases = cases()
    if len(sys.argv) > 2 and sys.argv[2] == '--list':
        print('\n'.join(sorted(all_cases)))
        return 0
    names = sys.argv[2:] or sorted(all_cases)
    failed = 0
    for n in names:
        why = run(anx, n, all_cases[n])
        if why:
            failed += 1
            print('FAIL %s: %s' % (n, why))
    if len(names) > 1:
        print('%d passed, %d failed' % (len(names) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
