/* runtime/io/file.c — whole-file reads (gzip-aware, size-bounded) and atomic writes.
** Invariant: a file anx writes is either the complete new content or the untouched old one. */
#include "ax_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ax_mem.h"

static ax_status read_plain(const char *path, FILE *f, size_t max_bytes, char **out, size_t *len,
                            ax_err *err) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    return ax_err_set(err, AX_E_IO, "%s: not a regular file", path);
  if ((uint64_t)st.st_size > max_bytes)
    return ax_err_set(err, AX_E_LIMIT, "%s: file is %lld bytes, more than the limit of %zu",
                      path, (long long)st.st_size, max_bytes);
  size_t n = (size_t)st.st_size;
  char *buf = ax_malloc(n + 1);
  if (!buf) return ax_err_set(err, AX_E_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  if (n && fread(buf, 1, n, f) != n) {
    ax_free(buf, n + 1);
    return ax_err_set(err, AX_E_IO, "%s: read failed: %s", path, strerror(errno));
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return AX_OK;
}

static ax_status read_gzip(const char *path, size_t max_bytes, char **out, size_t *len, ax_err *err) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return ax_err_set(err, AX_E_IO, "%s: cannot open: %s", path, strerror(errno));
  gzbuffer(gz, 1 << 17);
  size_t cap = 1 << 20, n = 0;
  char *buf = ax_malloc(cap + 1);
  if (!buf) {
    gzclose(gz);
    return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (n == cap) {
      if (cap >= max_bytes) {
        ax_free(buf, cap + 1);
        gzclose(gz);
        return ax_err_set(err, AX_E_LIMIT, "%s: decompressed data exceeds the limit of %zu bytes",
                          path, max_bytes);
      }
      size_t ncap = cap * 2 > max_bytes ? max_bytes : cap * 2;
      char *nb = ax_realloc(buf, cap + 1, ncap + 1);
      if (!nb) {
        ax_free(buf, cap + 1);
        gzclose(gz);
        return ax_err_set(err, AX_E_NOMEM, "%s: out of memory decompressing", path);
      }
      buf = nb;
      cap = ncap;
    }
    size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
    int got = gzread(gz, buf + n, (unsigned)want);
    if (got < 0) {
      int zerr;
      const char *msg = gzerror(gz, &zerr);
      ax_status st = ax_err_set(err, AX_E_FORMAT, "%s: corrupt gzip data: %s", path, msg);
      ax_free(buf, cap + 1);
      gzclose(gz);
      return st;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  /* gzread returns 0 both at a clean end and at a truncated stream: tell them apart. */
  int zerr = Z_OK;
  gzerror(gz, &zerr);
  int clean = gzclose(gz) == Z_OK && (zerr == Z_OK || zerr == Z_STREAM_END);
  if (!clean) {
    ax_free(buf, cap + 1);
    return ax_err_set(err, AX_E_FORMAT, "%s: truncated or corrupt gzip stream", path);
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  /* Keep the block size equal to len + 1 so the caller frees it with the documented size. */
  if (cap != n) {
    char *shrunk = ax_realloc(buf, cap + 1, n + 1);
    if (shrunk) *out = shrunk;
    else {
      /* Could not shrink: copy into an exact block. */
      char *exact = ax_malloc(n + 1);
      if (!exact) {
        ax_free(buf, cap + 1);
        return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path);
      }
      memcpy(exact, buf, n + 1);
      ax_free(buf, cap + 1);
      *out = exact;
    }
  }
  return AX_OK;
}

ax_status ax_file_read(const char *path, size_t max_bytes, char **out, size_t *len, ax_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return ax_err_set(err, AX_E_IO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char magic[2] = {0, 0};
  size_t m = fread(magic, 1, 2, f);
  ax_status st;
  if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    fclose(f);
    st = read_gzip(path, max_bytes, out, len, err);
  } else {
    rewind(f);
    st = read_plain(path, f, max_bytes, out, len, err);
    fclose(f);
  }
  return st;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A target that exists and is not a regular file (/dev/null, a FIFO, a terminal) is written in
** place: renaming a temporary file over it would replace the device node itself. */
static ax_status write_in_place(const char *path, const void *const *parts, const size_t *sizes, int n,
                                ax_err *err) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ax_err_set(err, AX_E_IO, "%s: cannot write: %s", path, strerror(errno));
  ax_status st = AX_OK;
  for (int i = 0; i < n && st == AX_OK; i++)
    if (write_all(fd, parts[i], sizes[i]) != 0) st = ax_err_set(err, AX_E_IO, "%s: write failed: %s", path, strerror(errno));
  if (close(fd) != 0 && st == AX_OK) st = ax_err_set(err, AX_E_IO, "%s: close failed: %s", path, strerror(errno));
  return st;
}

ax_status ax_file_write_atomic(const char *path, const void *const *parts, const size_t *sizes,
                               int n, ax_err *err) {
  struct stat target;
  if (stat(path, &target) == 0 && !S_ISREG(target.st_mode)) {
    if (S_ISDIR(target.st_mode)) return ax_err_set(err, AX_E_IO, "%s: is a directory", path);
    return write_in_place(path, parts, sizes, n, err);
  }
  size_t plen = strlen(path);
  size_t tlen = plen + 32;
  char *tmp = ax_malloc(tlen);
  char *dircopy = ax_malloc(plen + 1);
  if (!tmp || !dircopy) {
    ax_free(tmp, tlen);
    ax_free(dircopy, plen + 1);
    return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path);
  }
  snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
  ax_status st = AX_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    st = ax_err_set(err, AX_E_IO, "%s: cannot write: %s", path, strerror(errno));
    goto done;
  }
  for (int i = 0; i < n; i++) {
    if (write_all(fd, parts[i], sizes[i]) != 0) {
      st = ax_err_set(err, AX_E_IO, "%s: write failed: %s", path, strerror(errno));
      break;
    }
  }
  if (st == AX_OK && fsync(fd) != 0)
    st = ax_err_set(err, AX_E_IO, "%s: fsync failed: %s", path, strerror(errno));
  if (close(fd) != 0 && st == AX_OK)
    st = ax_err_set(err, AX_E_IO, "%s: close failed: %s", path, strerror(errno));
  if (st == AX_OK && rename(tmp, path) != 0)
    st = ax_err_set(err, AX_E_IO, "%s: rename failed: %s", path, strerror(errno));
  if (st != AX_OK) {
    unlink(tmp);
    goto done;
  }
  memcpy(dircopy, path, plen + 1);
  int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);   /* best effort: the rename is durable once the directory is */
    close(dfd);
  }
done:
  ax_free(tmp, tlen);
  ax_free(dircopy, plen + 1);
  return st;
}
