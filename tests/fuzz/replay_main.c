/* tests/fuzz/replay_main.c — a main() for builds without libFuzzer (GCC, the ordinary test build):
** runs LLVMFuzzerTestOneInput once on each file named on the command line (directories: each file
** in them), so seed corpora and tests/regress/ crash inputs replay under any compiler and ASan.
** Exit 0 when every input ran; a crash is the sanitizer's or the signal's own exit. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "replay: cannot open %s\n", path); return 1; }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (;;) {
    if (!buf) { fclose(f); fprintf(stderr, "replay: out of memory\n"); return 1; }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    cap *= 2;
    unsigned char *nb = realloc(buf, cap);
    if (!nb) free(buf);
    buf = nb;
  }
  fclose(f);
  /* an exact-size copy so ASan sees reads past the input's end */
  unsigned char *exact = malloc(n ? n : 1);
  if (!exact) { free(buf); return 1; }
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) { fprintf(stderr, "replay: no such file %s\n", path); return 1; }
  if (!S_ISDIR(st.st_mode)) return run_file(path);
  DIR *d = opendir(path);
  if (!d) return 1;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn) break;
      names = nn;
    }
    size_t len = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (names[n]) snprintf(names[n++], len, "%s/%s", path, e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    rc |= run_file(names[i]);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  int rc = 0, count = 0;
  for (int i = 1; i < argc; i++) {
    rc |= run_path(argv[i]);
    count++;
  }
  if (!count) fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
  fflush(NULL);
  return count ? rc : 64;
}
