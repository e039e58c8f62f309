/* tests/fuzz/fuzz_common.c — temp-file helpers for the fuzz targets (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char temp_path[512];

static void remove_temp(void) {
  if (temp_path[0]) unlink(temp_path);
}

static const char *path_for(const char *suffix) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  char p[512];
  snprintf(p, sizeof p, "%s/anx-fuzz-%ld%s", dir, (long)getpid(), suffix);
  if (strcmp(p, temp_path) != 0) {
    remove_temp();
    if (!temp_path[0]) atexit(remove_temp);
    memcpy(temp_path, p, sizeof p);
  }
  return temp_path;
}

const char *fuzz_write_temp(const void *data, size_t size, const char *suffix) {
  const char *p = path_for(suffix);
  FILE *f = fopen(p, "wb");
  if (!f) return NULL;
  int ok = fwrite(data, 1, size, f) == size;
  ok &= fclose(f) == 0;
  return ok ? p : NULL;
}

const char *fuzz_write_temp_gz(const void *data, size_t size, const char *suffix) {
  const char *p = path_for(suffix);
  gzFile gz = gzopen(p, "wb1");
  if (!gz) return NULL;
  int ok = size == 0 || gzwrite(gz, data, (unsigned)size) == (int)size;
  ok &= gzclose(gz) == Z_OK;
  return ok ? p : NULL;
}
