/* vm/main.c — the `anx` command line (LANGUAGE.md section 7): run a file with arguments, -e CODE,
** --check, --disasm, --version, --help, `debug`, and the REPL when no file is given; before them the
** limit and sandbox options (--max-memory, --max-steps, --sandbox, --allow-read, --allow-write) and
** --device (or ANX_DEVICE: the default device, checked before anything runs).
** Exit codes: 0 ok, 64 usage, 65 compile error, 66 unreadable file, 70 runtime error, 130 Ctrl-C. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_tensor.h"
#include "debug.h"

/* Sanitizer builds check for leaks before _exit (LeakSanitizer would otherwise run at exit only). */
#if defined(__SANITIZE_ADDRESS__)
#define ANX_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANX_LEAK_CHECK 1
#endif
#endif
#ifdef ANX_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif
#ifdef ANX_GCOV_DUMP   /* coverage builds (ANX_COVERAGE=ON): gcov writes its counters at exit only */
void __gcov_dump(void);
#endif

static void on_sigint(int sig) {
  (void)sig;
  anx_interrupt();
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: anx [options] [FILE [ARGS...]]\n"
          "  anx FILE [ARGS]      run a script (os.args() gives ARGS)\n"
          "  anx                  interactive REPL (reads stdin line by line when not a terminal)\n"
          "  anx -e CODE          run CODE\n"
          "  anx --check FILE     parse and compile only (exit 65 on errors)\n"
          "  anx --disasm FILE    print the bytecode of FILE\n"
          "  anx --explain FILE   run FILE, printing each network's layer kinds and shapes\n"
          "  anx debug [--commands CMDS] FILE [ARGS]   debug FILE (docs/debugger.md)\n"
          "  anx --version        print the version\n"
          "  anx --help           this text\n"
          "options (before FILE, -e or debug; docs/security.md):\n"
          "  --max-memory=SIZE    limit memory: bytes, or with K, M, G (also ANX_MAX_MEMORY); default none\n"
          "  --max-steps=N        stop after N loop iterations + calls (exit 70; try cannot catch it); default none\n"
          "  --sandbox            no files outside the --allow-* directories, no environment\n"
          "  --allow-read=DIR     with --sandbox: the script may read files under DIR (repeatable)\n"
          "  --allow-write=DIR    with --sandbox: the script may write (and read) files under DIR (repeatable)\n"
          "  --device=DEV         default device of tensors, parameters and train() batches: cpu (default),\n"
          "                       cuda, cuda:N (also ANX_DEVICE; docs/cuda.md)\n"
          "exit codes: 0 ok, 64 usage, 65 compile error, 66 unreadable file, 70 runtime error, 130 interrupted\n");
}

typedef struct {
  anx_policy policy;
  const char **reads, **writes;   /* argv pointers, argc of each at most */
  const char *memory;             /* --max-memory or ANX_MAX_MEMORY */
  const char *device, *device_src;   /* --device, else ANX_DEVICE; where it came from (messages) */
} options;

/* "--name=VALUE" or "--name VALUE" at argv[*i]: the value (advancing *i past it), else NULL. */
static const char *opt_value(const char *name, int argc, char **argv, int *i, bool *bad) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') { ++*i; return a + n + 1; }
  if (a[n]) return NULL;
  if (*i + 1 >= argc) {
    fprintf(stderr, "anx: %s needs a value\n", name);
    *bad = true;
    return NULL;
  }
  *i += 2;
  return argv[*i - 1];
}

/* Consume the limit and sandbox options at argv[*i..]; false after a usage message. */
static bool parse_options(options *o, int argc, char **argv, int *i) {
  while (*i < argc && argv[*i][0] == '-') {
    bool bad = false;
    const char *v;
    if (strcmp(argv[*i], "--sandbox") == 0) {
      o->policy.sandbox = 1;
      ++*i;
    } else if ((v = opt_value("--allow-read", argc, argv, i, &bad))) {
      o->reads[o->policy.nallow_read++] = v;
    } else if (!bad && (v = opt_value("--allow-write", argc, argv, i, &bad))) {
      o->writes[o->policy.nallow_write++] = v;
    } else if (!bad && (v = opt_value("--max-memory", argc, argv, i, &bad))) {
      o->memory = v;
    } else if (!bad && (v = opt_value("--device", argc, argv, i, &bad))) {
      o->device = v;
      o->device_src = "--device";
    } else if (!bad && (v = opt_value("--max-steps", argc, argv, i, &bad))) {
      char *end;
      errno = 0;
      long long n = strtoll(v, &end, 10);
      if (end == v || *end || n <= 0 || errno) {
        fprintf(stderr, "anx: bad step limit '%s' (a positive integer)\n", v);
        return false;
      }
      o->policy.max_steps = n;
    } else if (bad) {
      return false;
    } else {
      return true;   /* not one of these: the command (-e, --check, ...) */
    }
  }
  return true;
}

/* SIZE: bytes, or a number with K, M or G. false when malformed or beyond what size_t holds. */
static bool parse_size(const char *s, size_t *out) {
  char *end;
  double v = strtod(s, &end);
  double mul = 1.0;
  if (*end == 'K' || *end == 'k') mul = 1024.0, end++;
  else if (*end == 'M' || *end == 'm') mul = 1048576.0, end++;
  else if (*end == 'G' || *end == 'g') mul = 1073741824.0, end++;
  if (end == s || *end || !(v > 0) || v * mul >= 9.0e18) return false;
  *out = (size_t)(v * mul);
  return *out > 0;
}

int main(int argc, char **argv) {
  /* Blocks of 4 MB and more are mapped and unmapped by malloc, not carved from its heap: glibc's
  ** threshold otherwise rises to the largest block freed (up to 32 MB), after which an evaluation's
  ** 25 MB pool outputs came from the heap and the holes they left stayed resident (+46 MB peak RSS
  ** on the Fashion-MNIST CNN). Tensors of the sizes a training step repeats are reused from the
  ** tensor allocator's cache (runtime/ax_tensor.c); 4 MB rather than 1 MB keeps the kernels' own
  ** 1-4 MB workspaces on the heap (at 1 MB the CNN made an mmap/munmap pair per step: +1 s of
  ** system time per epoch). */
  if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 4 << 20);
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
    printf("anx %s\n", ANX_VERSION);
    return 0;
  }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  const char *reads[argc], *writes[argc];   /* the directories are argv strings */
  options o = {{0}, reads, writes, getenv("ANX_MAX_MEMORY"), NULL, NULL};
  o.policy.allow_read = o.reads;
  o.policy.allow_write = o.writes;
  int i = 1;
  if (!parse_options(&o, argc, argv, &i)) { usage(stderr); return 64; }
  bool debug = i < argc && strcmp(argv[i], "debug") == 0;
  const char *cmds = NULL;
  if (debug) {   /* anx [options] debug [options] [--commands FILE] [options] FILE [ARGS] */
    i++;
    if (!parse_options(&o, argc, argv, &i)) { usage(stderr); return 64; }
    if (i + 1 < argc && strcmp(argv[i], "--commands") == 0) {
      cmds = argv[i + 1];
      i += 2;
      if (!parse_options(&o, argc, argv, &i)) { usage(stderr); return 64; }
    }
    if (i >= argc) { usage(stderr); return 64; }
  }
  if (!o.device) {
    const char *env = getenv("ANX_DEVICE");
    if (env && *env) o.device = env, o.device_src = "ANX_DEVICE";
  }
  if (o.device) {   /* a name that is no device is a usage error; whether it can be used is checked per run */
    ax_device d;
    ax_err e;
    if (ax_device_parse(o.device, &d, &e)) {
      const char *why = strncmp(e.msg, "device: ", 8) == 0 ? e.msg + 8 : e.msg;
      fprintf(stderr, "anx: %s: %s\n", o.device_src, why);
      return 64;
    }
  }
  if ((o.policy.nallow_read || o.policy.nallow_write) && !o.policy.sandbox) {
    fprintf(stderr, "anx: --allow-read and --allow-write need --sandbox\n");
    return 64;
  }
  if (o.memory && *o.memory) {
    size_t limit;
    if (!parse_size(o.memory, &limit)) {
      fprintf(stderr, "anx: bad memory limit '%s' (bytes, or a number with K, M or G)\n", o.memory);
      return 64;
    }
    ax_mem_set_limit(limit);
  }
  if (debug) {
    anx_vm *probe = anx_vm_new();   /* the directories and the device are checked once, before the debugger starts */
    int prc = probe ? anx_vm_set_policy(probe, &o.policy) : 70;
    if (!prc && o.device) prc = anx_vm_set_device(probe, o.device);
    anx_vm_free(probe);
    if (prc) return prc;
    int rc = ax_debug_main(argv[i], argc - i - 1, argv + i + 1, cmds, &o.policy, o.device);
    fflush(NULL);
#ifdef ANX_LEAK_CHECK
    __lsan_do_leak_check();
#endif
    _exit(rc);
  }
  argv += i - 1;   /* argv[1] is now the command or FILE */
  argc -= i - 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  anx_vm *vm = anx_vm_new();
  if (!vm) {
    fprintf(stderr, "anx: cannot start: out of memory\n");
    return 70;
  }
  int rc = anx_vm_set_policy(vm, &o.policy);
  /* the device is loaded and probed before anything runs (--check and --disasm run nothing) */
  bool compile_only = argc >= 2 && (strcmp(argv[1], "--check") == 0 || strcmp(argv[1], "--disasm") == 0);
  if (!rc && o.device && !compile_only) rc = anx_vm_set_device(vm, o.device);
  if (rc) {
    anx_vm_free(vm);
    return rc;
  }
  if (argc >= 2 && strcmp(argv[1], "-e") == 0) {
    if (argc < 3) { usage(stderr); anx_vm_free(vm); return 64; }
    anx_vm_set_args(vm, argc - 3, argv + 3);
    rc = anx_vm_run_string(vm, "<-e>", argv[2], strlen(argv[2]));
  } else if (argc >= 2 && (strcmp(argv[1], "--check") == 0 || strcmp(argv[1], "--disasm") == 0)) {
    if (argc < 3) { usage(stderr); anx_vm_free(vm); return 64; }
    rc = anx_vm_check_file(vm, argv[2], strcmp(argv[1], "--disasm") == 0);
  } else if (argc >= 2 && strcmp(argv[1], "--explain") == 0) {
    if (argc < 3) { usage(stderr); anx_vm_free(vm); return 64; }
    anx_vm_set_explain(vm, 1);
    anx_vm_set_args(vm, argc - 3, argv + 3);
    rc = anx_vm_run_file(vm, argv[2]);
  } else if (argc >= 2 && argv[1][0] == '-' && argv[1][1]) {
    fprintf(stderr, "anx: unknown option '%s'\n", argv[1]);
    usage(stderr);
    rc = 64;
  } else if (argc >= 2) {
    anx_vm_set_args(vm, argc - 2, argv + 2);
    rc = anx_vm_run_file(vm, argv[1]);
  } else {
    rc = anx_repl(vm);
  }
  anx_vm_free(vm);
  /* Leave without running library destructors: OpenBLAS joins its worker threads at exit,
  ** which costs milliseconds of wall time on every run (measured: `anx -e ''` 10.7 -> 7.6 ms wall
  ** on a 2-core machine with OpenBLAS's default thread pool). */
  fflush(NULL);
#ifdef ANX_LEAK_CHECK
  __lsan_do_leak_check();   /* a leak ends the run with the sanitizer's exit code and report */
#endif
#ifdef ANX_GCOV_DUMP
  __gcov_dump();
#endif
  _exit(rc);
}
