/* tests/unit_io/test_io.c — IDX, npy and safetensors: round trips and hostile files.
** Every malformed file must give an error that names the file; none may crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ax_io.h"
#include "ax_mem.h"

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static char dir[256];

static const char *tmp(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(p, 1, n, f);
  fclose(f);
}

static void expect_error(ax_status st, ax_err *e, const char *path, const char *needle) {
  CHECK(st != AX_OK);
  if (st != AX_OK) {
    if (!strstr(e->msg, path) || (needle && !strstr(e->msg, needle))) {
      fprintf(stderr, "  message '%s' lacks '%s' / '%s'\n", e->msg, path, needle ? needle : "");
      failures++;
    }
  }
}

static void test_idx(void) {
  ax_err e;
  /* 2x3 uint8 */
  unsigned char f[] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  write_file(tmp("a.idx"), f, sizeof f);
  ax_tensor *t = NULL;
  CHECK(ax_idx_load(tmp("a.idx"), &t, &e) == AX_OK);
  if (t) {
    CHECK(t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->dtype == AX_UINT8);
    int64_t idx[2] = {1, 2};
    CHECK(ax_get_i64(t, idx) == 6);
    ax_tensor_release(t);
  }
  /* gzipped copy */
  gzFile gz = gzopen(tmp("a.idx.gz"), "wb");
  gzwrite(gz, f, sizeof f);
  gzclose(gz);
  t = NULL;
  CHECK(ax_idx_load(tmp("a.idx.gz"), &t, &e) == AX_OK);
  if (t) { CHECK(ax_numel(t) == 6); ax_tensor_release(t); }
  /* big-endian int32 */
  unsigned char g[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0};
  write_file(tmp("b.idx"), g, sizeof g);
  t = NULL;
  CHECK(ax_idx_load(tmp("b.idx"), &t, &e) == AX_OK);
  if (t) {
    int64_t i0 = 0, i1 = 1;
    CHECK(t->dtype == AX_INT32 && ax_get_i64(t, &i0) == -2 && ax_get_i64(t, &i1) == 256);
    ax_tensor_release(t);
  }
  /* hostile: truncated data, bad magic, huge dims, unknown type, empty file, truncated gzip */
  write_file(tmp("trunc.idx"), f, sizeof f - 1);
  expect_error(ax_idx_load(tmp("trunc.idx"), &t, &e), &e, "trunc.idx", "data bytes");
  unsigned char bad[] = {1, 2, 3, 4, 5};
  write_file(tmp("magic.idx"), bad, sizeof bad);
  expect_error(ax_idx_load(tmp("magic.idx"), &t, &e), &e, "magic.idx", "magic");
  unsigned char huge[] = {0, 0, 0x08, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
  write_file(tmp("huge.idx"), huge, sizeof huge);
  expect_error(ax_idx_load(tmp("huge.idx"), &t, &e), &e, "huge.idx", NULL);
  unsigned char unk[] = {0, 0, 0x42, 1, 0, 0, 0, 1, 0};
  write_file(tmp("unk.idx"), unk, sizeof unk);
  expect_error(ax_idx_load(tmp("unk.idx"), &t, &e), &e, "unk.idx", "type");
  write_file(tmp("empty.idx"), "", 0);
  expect_error(ax_idx_load(tmp("empty.idx"), &t, &e), &e, "empty.idx", NULL);
  expect_error(ax_idx_load(tmp("missing.idx"), &t, &e), &e, "missing.idx", NULL);
  /* a gzip stream cut in half */
  FILE *fp = fopen(tmp("a.idx.gz"), "rb");
  unsigned char zb[256];
  size_t zn = fread(zb, 1, sizeof zb, fp);
  fclose(fp);
  write_file(tmp("cut.idx.gz"), zb, zn / 2);
  expect_error(ax_idx_load(tmp("cut.idx.gz"), &t, &e), &e, "cut.idx.gz", NULL);
  /* streamed conversion across several 256 KiB chunks: u8 [3, 300, 400] -> f32 / 255, plain and gz */
  {
    size_t n = 3 * 300 * 400;
    unsigned char *big = malloc(16 + n);
    unsigned char h[16] = {0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0x01, 0x2c, 0, 0, 0x01, 0x90};
    memcpy(big, h, 16);
    for (size_t i = 0; i < n; i++) big[16 + i] = (unsigned char)(i * 7 + i / 251);
    write_file(tmp("big.idx"), big, 16 + n);
    gz = gzopen(tmp("big.idx.gz"), "wb");
    gzwrite(gz, big, (unsigned)(16 + n));
    gzclose(gz);
    const char *names[2] = {"big.idx", "big.idx.gz"};
    for (int k = 0; k < 2; k++) {
      t = NULL;
      CHECK(ax_idx_load_as(tmp(names[k]), AX_FLOAT32, 1.0f / 255.0f, 1, &t, &e) == AX_OK);
      if (!t) continue;
      CHECK(t->dtype == AX_FLOAT32 && t->ndim == 3 && t->shape[2] == 400);
      const float *d = (const float *)t->storage->data + t->offset;
      size_t bad_at = n;
      for (size_t i = 0; i < n && bad_at == n; i++)
        if (d[i] != big[16 + i] * (1.0f / 255.0f)) bad_at = i;
      CHECK(bad_at == n);
      ax_tensor_release(t);
    }
    t = NULL;
    CHECK(ax_idx_load_as(tmp("big.idx.gz"), AX_INT64, 1.0f, 1, &t, &e) == AX_OK);
    if (t) {
      int64_t i3[3] = {2, 299, 399};
      CHECK(t->dtype == AX_INT64 && ax_get_i64(t, i3) == big[16 + n - 1]);
      ax_tensor_release(t);
    }
    /* trailing bytes after the data, plain and gzipped */
    unsigned char hs[16];
    memcpy(hs, h, 16);
    hs[15] = 0x8f;   /* 399 columns: the file holds 1,200 bytes too many */
    memcpy(big, hs, 16);
    write_file(tmp("long.idx"), big, 16 + n);
    expect_error(ax_idx_load(tmp("long.idx"), &t, &e), &e, "long.idx", "data bytes");
    gz = gzopen(tmp("long.idx.gz"), "wb");
    gzwrite(gz, big, (unsigned)(16 + n));
    gzclose(gz);
    expect_error(ax_idx_load(tmp("long.idx.gz"), &t, &e), &e, "long.idx.gz", "gzip stream holds");
    free(big);
  }
  /* mnist's reader accepts only unsigned bytes */
  expect_error(ax_idx_load_as(tmp("b.idx"), AX_FLOAT32, 1.0f, 1, &t, &e), &e, "b.idx", "type 0x0c");
  /* ISIZE matches but the stream holds more: a gzip file with two members */
  {
    unsigned char one[] = {0, 0, 0x08, 1, 0, 0, 0, 2, 5, 6};
    gz = gzopen(tmp("two.idx.gz"), "wb");
    gzwrite(gz, one, sizeof one);
    gzclose(gz);
    gz = gzopen(tmp("two.idx.gz"), "ab");
    gzwrite(gz, one, sizeof one);
    gzclose(gz);
    expect_error(ax_idx_load(tmp("two.idx.gz"), &t, &e), &e, "two.idx.gz", NULL);
  }
}

static void test_npy(void) {
  ax_err e;
  double vals[6] = {1, 2, 3, 4, 5, 6.5};
  int64_t shape[2] = {2, 3};
  ax_dtype dts[] = {AX_FLOAT32, AX_FLOAT64, AX_INT64, AX_INT32, AX_UINT8, AX_BOOL, AX_FLOAT16};
  for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
    ax_tensor *t = NULL, *u = NULL;
    CHECK(ax_tensor_from_f64(vals, shape, 2, dts[k], &t, &e) == AX_OK);
    CHECK(ax_npy_save(tmp("x.npy"), t, &e) == AX_OK);
    CHECK(ax_npy_load(tmp("x.npy"), &u, &e) == AX_OK);
    if (u) {
      CHECK(u->dtype == dts[k] && u->ndim == 2 && u->shape[1] == 3);
      int64_t idx[2] = {1, 1};
      CHECK(ax_get_f64(u, idx) == ax_get_f64(t, idx));
      ax_tensor_release(u);
    }
    ax_tensor_release(t);
  }
  /* A transposed (non-contiguous) view saves in logical order. */
  ax_tensor *t = NULL, *tt = NULL, *u = NULL;
  ax_tensor_from_f64(vals, shape, 2, AX_FLOAT32, &t, &e);
  ax_transpose(t, 0, 1, &tt, &e);
  CHECK(ax_npy_save(tmp("t.npy"), tt, &e) == AX_OK);
  CHECK(ax_npy_load(tmp("t.npy"), &u, &e) == AX_OK);
  if (u) {
    int64_t idx[2] = {2, 1};
    CHECK(u->shape[0] == 3 && ax_get_f64(u, idx) == 6.5);
    ax_tensor_release(u);
  }
  ax_tensor_release(tt);
  ax_tensor_release(t);
  /* Fortran order written by hand: shape (2, 3), column-major data 1 4 2 5 3 6 -> row-major 1..6 */
  const char *hdr = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }";
  unsigned char buf[256];
  size_t hl = strlen(hdr);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)hl;
  buf[9] = 0;
  memcpy(buf + 10, hdr, hl);
  int32_t col[6] = {1, 4, 2, 5, 3, 6};
  memcpy(buf + 10 + hl, col, sizeof col);
  write_file(tmp("f.npy"), buf, 10 + hl + sizeof col);
  u = NULL;
  CHECK(ax_npy_load(tmp("f.npy"), &u, &e) == AX_OK);
  if (u) {
    int64_t idx[2] = {0, 1};
    CHECK(ax_get_i64(u, idx) == 2);
    ax_tensor_release(u);
  }
  /* hostile */
  buf[8] = 0xff;
  write_file(tmp("hl.npy"), buf, 10 + hl + sizeof col);
  expect_error(ax_npy_load(tmp("hl.npy"), &u, &e), &e, "hl.npy", "header length");
  const char *big = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
  hl = strlen(big);
  buf[8] = (unsigned char)hl;
  memcpy(buf + 10, big, hl);
  write_file(tmp("be.npy"), buf, 10 + hl + 16);
  expect_error(ax_npy_load(tmp("be.npy"), &u, &e), &e, "be.npy", ">f8");
  const char *ovf = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }";
  hl = strlen(ovf);
  buf[8] = (unsigned char)hl;
  memcpy(buf + 10, ovf, hl);
  write_file(tmp("ovf.npy"), buf, 10 + hl);
  expect_error(ax_npy_load(tmp("ovf.npy"), &u, &e), &e, "ovf.npy", NULL);
}

static void test_safetensors(void) {
  ax_err e;
  ax_tensor_dict d;
  ax_tensor_dict_init(&d);
  double w[6] = {0.5, -1, 2, 3, 4, 5};
  int64_t s2[2] = {3, 2}, s1[1] = {3};
  ax_tensor *a = NULL, *b = NULL;
  ax_tensor_from_f64(w, s2, 2, AX_FLOAT32, &a, &e);
  ax_tensor_from_f64(w, s1, 1, AX_INT64, &b, &e);
  CHECK(ax_tensor_dict_add(&d, "layer.weight", a, &e) == AX_OK);
  CHECK(ax_tensor_dict_add(&d, "layer.bias", b, &e) == AX_OK);
  CHECK(ax_tensor_dict_add(&d, "layer.bias", b, &e) != AX_OK);
  CHECK(ax_tensor_dict_set_meta(&d, "format", "pt", &e) == AX_OK);
  CHECK(ax_tensor_dict_set_meta(&d, "source", "network N { }", &e) == AX_OK);
  CHECK(ax_safetensors_save(tmp("m.safetensors"), &d, &e) == AX_OK);
  ax_tensor_dict_fini(&d);
  ax_tensor_release(a);
  ax_tensor_release(b);
  ax_tensor_dict r;
  CHECK(ax_safetensors_load(tmp("m.safetensors"), &r, &e) == AX_OK);
  CHECK(r.n == 2);
  ax_tensor *lw = ax_tensor_dict_get(&r, "layer.weight");
  CHECK(lw && lw->dtype == AX_FLOAT32 && lw->shape[0] == 3);
  if (lw) { int64_t idx[2] = {0, 0}; CHECK(ax_get_f64(lw, idx) == 0.5); }
  const char *src = ax_tensor_dict_meta(&r, "source");
  CHECK(src && strcmp(src, "network N { }") == 0);
  ax_tensor_dict_fini(&r);
  /* hostile files */
  FILE *fp = fopen(tmp("m.safetensors"), "rb");
  unsigned char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  write_file(tmp("cut.safetensors"), buf, n - 4);
  expect_error(ax_safetensors_load(tmp("cut.safetensors"), &r, &e), &e, "cut.safetensors", NULL);
  unsigned char hb[16];
  memcpy(hb, buf, 16);
  memset(hb, 0xff, 8);
  write_file(tmp("hl.safetensors"), hb, 16);
  expect_error(ax_safetensors_load(tmp("hl.safetensors"), &r, &e), &e, "hl.safetensors", "header length");
  const char *js = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}";
  unsigned char ob[256] = {0};
  size_t jl = strlen(js);
  ob[0] = (unsigned char)jl;
  memcpy(ob + 8, js, jl);
  write_file(tmp("ovf.safetensors"), ob, 8 + jl + 16);
  expect_error(ax_safetensors_load(tmp("ovf.safetensors"), &r, &e), &e, "ovf.safetensors", NULL);
  js = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  jl = strlen(js);
  memset(ob, 0, sizeof ob);
  ob[0] = (unsigned char)jl;
  memcpy(ob + 8, js, jl);
  write_file(tmp("ovl.safetensors"), ob, 8 + jl + 12);
  expect_error(ax_safetensors_load(tmp("ovl.safetensors"), &r, &e), &e, "ovl.safetensors", "overlap");
  write_file(tmp("garbage.safetensors"), "\x05\0\0\0\0\0\0\0{{{{{", 13);
  expect_error(ax_safetensors_load(tmp("garbage.safetensors"), &r, &e), &e, "garbage.safetensors", "JSON");
}

static void test_atomic_write_keeps_old(void) {
  ax_err e;
  const void *parts[1] = {"new"};
  size_t sizes[1] = {3};
  write_file(tmp("keep.txt"), "old", 3);
  /* Writing into a directory that does not exist fails and leaves no temp files behind. */
  CHECK(ax_file_write_atomic(tmp("nodir/x.txt"), parts, sizes, 1, &e) != AX_OK);
  CHECK(ax_file_write_atomic(tmp("keep.txt"), parts, sizes, 1, &e) == AX_OK);
  char *buf;
  size_t len;
  CHECK(ax_file_read(tmp("keep.txt"), 100, &buf, &len, &e) == AX_OK);
  CHECK(len == 3 && memcmp(buf, "new", 3) == 0);
  ax_free(buf, len + 1);
  CHECK(ax_file_read(tmp("keep.txt"), 2, &buf, &len, &e) == AX_E_LIMIT);
  /* A device is written in place, never replaced by a renamed regular file (Net.save("/dev/null")
  ** as root used to turn /dev/null into a file); a directory is an error. */
  struct stat sb;
  CHECK(ax_file_write_atomic("/dev/null", parts, sizes, 1, &e) == AX_OK);
  CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
  CHECK(ax_file_write_atomic(dir, parts, sizes, 1, &e) != AX_OK && strstr(e.msg, "directory"));
}

static void test_fashion_mnist(void) {
  const char *p = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (access(p, R_OK) != 0) return;
  ax_err e;
  ax_tensor *t = NULL;
  CHECK(ax_idx_load(p, &t, &e) == AX_OK);
  if (t) {
    CHECK(t->ndim == 3 && t->shape[0] == 60000 && t->shape[1] == 28 && t->shape[2] == 28);
    ax_tensor_release(t);
  }
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/anx_test_io_%d", (int)getpid());
  char cmd[300];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  if (system(cmd) != 0) return 1;
  test_idx();
  test_npy();
  test_safetensors();
  test_atomic_write_keeps_old();
  test_fashion_mnist();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) failures++;
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("test_io: all checks passed\n");
  return failures ? 1 : 0;
}
