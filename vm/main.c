/* vm/main.c — the `anx` command line (LANGUAGE.md section 7): run a file with arguments, -e CODE,
** --check, --disasm, --version, --help, `debug`, and the REPL when no file is given.
** Exit codes: 0 ok, 64 usage, 65 compile error, 66 unreadable file, 70 runtime error, 130 Ctrl-C. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anx.h"
#include "ax_mem.h"
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
          "  anx --max-memory=SIZE ...    limit memory (bytes, or with K, M, G; also ANX_MAX_MEMORY)\n"
          "  anx --version        print the version\n"
          "  anx --help           this text\n"
          "exit codes: 0 ok, 65 compile error, 70 runtime error, 130 interrupted\n");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
    printf("anx %s\n", ANX_VERSION);
    return 0;
  }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "debug") == 0) {   /* anx debug [--commands FILE] FILE [ARGS] */
    const char *cmds = argc >= 4 && strcmp(argv[2], "--commands") == 0 ? argv[3] : NULL;
    int skip = cmds ? 4 : 2;
    if (argc <= skip) { usage(stderr); return 64; }
    int rc = ax_debug_main(argv[skip], argc - skip - 1, argv + skip + 1, cmds);
    fflush(NULL);
#ifdef ANX_LEAK_CHECK
    __lsan_do_leak_check();
#endif
    _exit(rc);
  }
  const char *limit = getenv("ANX_MAX_MEMORY");
  while (argc >= 2 && strncmp(argv[1], "--max-memory=", 13) == 0) {
    limit = argv[1] + 13;
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  if (limit && *limit) {
    char *end;
    double v = strtod(limit, &end);
    double mul = *end == 'K' || *end == 'k' ? 1024.0 : *end == 'M' || *end == 'm' ? 1048576.0
               : *end == 'G' || *end == 'g' ? 1073741824.0 : 1.0;
    if (v <= 0 || end == limit) {
      fprintf(stderr, "anx: bad memory limit '%s' (bytes, or a number with K, M or G)\n", limit);
      return 64;
    }
    ax_mem_set_limit((size_t)(v * mul));
  }
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
  int rc;
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
