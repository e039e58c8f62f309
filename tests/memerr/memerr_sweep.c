/* tests/memerr/memerr_sweep.c — allocation-failure injection (as Lua's memerr tests): run a script
** with the N-th allocation failing, for N from 1 up to the script's allocation count, each run in a
** forked child, and require every run to end with exit 0, 65 or 70 (65/70 with a message on
** stderr): never a signal, a hang, or (under ASan) a sanitizer or leak report.
** Usage: memerr_sweep [--dense D] [--samples S] [-v] SCRIPT...
**   every N in 1..D is tried, then S more spread evenly up to the allocation count, found by
**   doubling then bisecting on ax_mem_injected_failure (an N past the count never fires).
** Invariant: the parent only forks and waits (no VM, no threads); each child is a fresh interpreter
** (anx_vm_new .. anx_vm_free, then exit so that LeakSanitizer checks it). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anx.h"
#include "ax_mem.h"

#define NOT_FIRED 99   /* probe exit code: the injected failure never fired (not an anx code) */
#define TIMEOUT_S 60

static char err_path[256];
static int verbose;

/* What `anx SCRIPT` does, with allocation n failing. Never returns. */
static void child(const char *script, uint64_t n, int probe) {
  int fd = open("/dev/null", O_WRONLY);
  if (fd >= 0) { dup2(fd, 1); close(fd); }
  fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) { dup2(fd, 2); close(fd); }
  alarm(TIMEOUT_S);
  ax_mem_fail_at(n);
  anx_vm *vm = anx_vm_new();
  int rc;
  if (!vm) {
    fprintf(stderr, "anx: cannot start: out of memory\n");
    rc = 70;
  } else {
    rc = anx_vm_run_file(vm, script);
    anx_vm_free(vm);
  }
  fflush(NULL);
  if (probe) _exit(ax_mem_injected_failure() ? 0 : NOT_FIRED);
  exit(rc);   /* exit, not _exit: LeakSanitizer runs at exit */
}

static int run_child(const char *script, uint64_t n, int probe) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); exit(2); }
  if (pid == 0) child(script, n, probe);
  int status;
  while (waitpid(pid, &status, 0) < 0) {}
  return status;
}

static int fired(const char *script, uint64_t n) {
  int s = run_child(script, n, 1);
  if (WIFEXITED(s) && WEXITSTATUS(s) == NOT_FIRED) return 0;
  return 1;   /* fired, or crashed while failing: either way allocation n happened */
}

static size_t read_err(char *buf, size_t n) {
  FILE *f = fopen(err_path, "rb");
  if (!f) return 0;
  size_t k = fread(buf, 1, n - 1, f);
  fclose(f);
  buf[k] = 0;
  return k;
}

/* One run with allocation n failing; 0 when it ended acceptably. */
static int check(const char *script, uint64_t n) {
  int s = run_child(script, n, 0);
  static char err[16384];
  size_t k = read_err(err, sizeof err);
  const char *why = NULL;
  if (WIFSIGNALED(s)) why = WTERMSIG(s) == SIGALRM ? "hangs" : "dies of a signal";
  else if (WEXITSTATUS(s) != 0 && WEXITSTATUS(s) != 65 && WEXITSTATUS(s) != 70) why = "bad exit code";
  else if (WEXITSTATUS(s) != 0 && k == 0) why = "fails without a message";
  else if (strstr(err, "ERROR: AddressSanitizer") || strstr(err, "ERROR: LeakSanitizer")) why = "sanitizer report";
  if (verbose) fprintf(stderr, "  N=%llu exit=%d\n", (unsigned long long)n, WIFEXITED(s) ? WEXITSTATUS(s) : -WTERMSIG(s));
  if (!why) return 0;
  printf("FAIL %s with allocation %llu failing: %s (status %s %d)\n%s\n", script, (unsigned long long)n, why,
         WIFSIGNALED(s) ? "signal" : "exit", WIFSIGNALED(s) ? WTERMSIG(s) : WEXITSTATUS(s), err);
  return 1;
}

static uint64_t count_allocs(const char *script) {
  uint64_t lo = 0, hi = 1;   /* invariant: allocation lo happens (0 trivially), hi unknown */
  while (fired(script, hi)) {
    lo = hi;
    hi *= 2;
    if (hi > ((uint64_t)1 << 40)) return lo;
  }
  while (hi - lo > 1) {   /* lo fires, hi does not */
    uint64_t mid = lo + (hi - lo) / 2;
    if (fired(script, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

int main(int argc, char **argv) {
  uint64_t dense = 300, samples = 200;
  int i = 1, bad = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--dense") == 0 && i + 1 < argc) dense = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) samples = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "-v") == 0) verbose = 1;
    else { fprintf(stderr, "usage: memerr_sweep [--dense D] [--samples S] [-v] SCRIPT...\n"); return 64; }
  }
  if (i == argc) { fprintf(stderr, "usage: memerr_sweep [--dense D] [--samples S] [-v] SCRIPT...\n"); return 64; }
  const char *tmp = getenv("TMPDIR");
  snprintf(err_path, sizeof err_path, "%s/anx-memerr-%ld.err", tmp && *tmp ? tmp : "/tmp", (long)getpid());
  for (; i < argc; i++) {
    const char *script = argv[i];
    uint64_t total = count_allocs(script);
    uint64_t runs = 0, n;
    int failed = 0;
    for (n = 1; n <= total && n <= dense && failed < 5; n++, runs++) failed += check(script, n);
    if (total > dense && samples) {
      uint64_t span = total - dense;
      for (uint64_t k = 1; k <= samples && failed < 5; k++) {
        uint64_t m = dense + (span * k + samples - 1) / samples;   /* ends exactly at total */
        if (m <= n - 1) continue;
        failed += check(script, m);
        n = m + 1;
        runs++;
      }
    }
    printf("%s: %llu allocations, %llu runs, %s\n", script, (unsigned long long)total, (unsigned long long)runs,
           failed ? "FAILED" : "ok");
    bad |= failed != 0;
  }
  unlink(err_path);
  return bad;
}
