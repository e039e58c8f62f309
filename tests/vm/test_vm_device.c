/* tests/vm/test_vm_device.c — scripts on a device without a GPU: every .anx file of tests/vm/device runs
** twice, on the CPU and with the default device cuda:0 answered by the fake accelerator
** (tests/unit_runtime/fake_device.c, whose memory host code cannot touch), and the lists the two
** runs leave in the global `out` must agree: numbers within the script's `tol` (relative, default
** 1e-6), strings after dropping whitespace and the ", device='cuda:0'" suffix. Also: device bytes
** drive the GC (gc_pressure), and the debugger's `memory` shows the device once it was used.
** `test_vm_device --gpu DIR` does the same on the real CUDA backend (owed to a GPU session).
** Invariant: each check prints "FAIL ..." and the run exits 1 on any failure. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anx.h"
#include "ax_vmint.h"
#include "debug.h"
#include "fake_device.h"

static int failures, checks;
static int gpu;   /* --gpu: the CUDA backend, not the fake device */
#define CHECK(e, ...)                                                       \
  do {                                                                      \
    checks++;                                                               \
    if (!(e)) {                                                             \
      failures++;                                                           \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #e);                   \
      printf(__VA_ARGS__);                                                  \
      printf("\n");                                                         \
    }                                                                       \
  } while (0)

static ax_value global(ax_vm *vm, const char *name) {
  ax_string *s = ax_str_cstr(vm, name);
  int slot = s && vm->main_module ? ax_module_find(vm->main_module, s) : -1;
  return slot >= 0 ? vm->main_module->vars[slot] : AX_UNDEF;
}

/* out, flattened: numbers as doubles, strings squeezed (no whitespace, no device suffix) */
typedef struct {
  int n, cap;
  double *num;
  char **str;   /* NULL for a number */
} flat;

static void push(flat *f, double v, const char *s) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 64;
    f->num = realloc(f->num, sizeof *f->num * (size_t)f->cap);
    f->str = realloc(f->str, sizeof *f->str * (size_t)f->cap);
  }
  f->num[f->n] = v;
  f->str[f->n] = NULL;
  if (s) {
    char *q = malloc(strlen(s) + 1), *w = q;
    for (; *s; s++)
      if (*s != ' ' && *s != '\n') *w++ = *s;
    *w = 0;
    char *d;
    while ((d = strstr(q, ",device='cuda:0'"))) memmove(d, d + 16, strlen(d + 16) + 1);
    f->str[f->n] = q;
  }
  f->n++;
}

static void flatten(flat *f, ax_value v) {
  if (AX_IS_INT(v)) push(f, (double)v.as.i, NULL);
  else if (AX_IS_FLOAT(v)) push(f, v.as.f, NULL);
  else if (AX_IS_BOOL(v)) push(f, v.as.b, NULL);
  else if (AX_IS_STRING(v)) push(f, 0, AX_AS_STRING(v)->chars);
  else if (AX_IS_LIST(v))
    for (int64_t i = 0; i < AX_AS_LIST(v)->len; i++) flatten(f, AX_AS_LIST(v)->items[i]);
  else push(f, 0, "<other value>");
}

static void flat_free(flat *f) {
  for (int i = 0; i < f->n; i++) free(f->str[i]);
  free(f->num);
  free(f->str);
}

/* Run path on device (NULL: the CPU) with TMPDIR a fresh directory (removed after); flatten its
** out; *tol from its `tol`. 0 on success. */
static int run(const char *path, const char *device, flat *f, double *tol) {
  char tmp[] = "/tmp/anx_vm_device_XXXXXX";
  if (!mkdtemp(tmp)) return 1;
  setenv("TMPDIR", tmp, 1);
  anx_vm *vm = anx_vm_new();
  if (!vm) return 1;
  int rc = device ? anx_vm_set_device(vm, device) : ANX_OK;
  if (rc == ANX_OK) rc = anx_vm_run_file(vm, path);
  if (rc == ANX_OK) {
    ax_value o = global(vm, "out"), t = global(vm, "tol");
    flatten(f, o);
    if (AX_IS_FLOAT(t)) *tol = t.as.f;
  }
  anx_vm_free(vm);
  DIR *d = opendir(tmp);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (d) closedir(d);
  rmdir(tmp);
  return rc;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void compare_scripts(const char *dir) {
  DIR *d = opendir(dir);
  CHECK(d != NULL, "cannot open %s", dir);
  if (!d) return;
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t L = strlen(e->d_name);
    if (L > 4 && !strcmp(e->d_name + L - 4, ".anx")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, by_name);
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    flat a = {0}, b = {0};
    double tol = 1e-6;
    int rc = run(path, NULL, &a, &tol);
    CHECK(rc == ANX_OK, "%s on the cpu: exit %d", names[i], rc);
    fake_device_stats s0 = fake_device_get_stats();
    rc = run(path, "cuda", &b, &tol);
    fake_device_stats s1 = fake_device_get_stats();
    CHECK(rc == ANX_OK, "%s on cuda:0: exit %d", names[i], rc);
    CHECK(gpu || s1.kernels > s0.kernels, "%s: no kernel ran on the device", names[i]);
    CHECK(a.n == b.n && a.n > 0, "%s: out has %d values on the cpu, %d on cuda:0", names[i], a.n, b.n);
    int bad = 0;
    for (int k = 0; k < a.n && k < b.n && bad < 5; k++) {
      int ok;
      if (a.str[k] || b.str[k]) ok = a.str[k] && b.str[k] && !strcmp(a.str[k], b.str[k]);
      else ok = a.num[k] == b.num[k] || fabs(a.num[k] - b.num[k]) <= tol * fmax(1.0, fabs(a.num[k])) ||
                (isnan(a.num[k]) && isnan(b.num[k]));
      if (!ok) {
        bad++;
        CHECK(0, "%s: out value %d: cpu %s%.17g, cuda:0 %s%.17g", names[i], k, a.str[k] ? a.str[k] : "", a.num[k],
              b.str[k] ? b.str[k] : "", b.num[k]);
      }
    }
    printf("%-28s %4d values agree%s (%llu device kernels)\n", names[i], a.n, bad ? " NOT" : "",
           (unsigned long long)(s1.kernels - s0.kernels));
    flat_free(&a);
    flat_free(&b);
    free(names[i]);
  }
}

/* Activations held by dead autograd graphs on the device are device bytes only: the collector must
** count them, or a forward loop piles up one graph per iteration until the heap alone triggers it. */
static size_t device_peak(void) {
  const ax_backend *be = ax_backend_loaded((ax_device){AX_DEV_CUDA, 0});
  ax_backend_mem m = {0};
  ax_err e;
  if (!be || !be->mem_stats || be->mem_stats(&m, &e)) return 0;
  return m.peak;
}

static void gc_pressure(void) {
  const char *src =
      "network Deep {\n"
      "  neuron h1 { units: 2048, activation: relu }\n"
      "  neuron h2 { units: 2048, activation: relu }\n"
      "  neuron o { units: 1 }\n"
      "}\n"
      "let x = randn([32, 64])\n"
      "Deep(x)\n"
      "for i in range(120) { let l = Deep(x).sum() }\n";
  anx_vm *vm = anx_vm_new();
  CHECK(anx_vm_set_device(vm, "cuda") == ANX_OK, "set_device");
  size_t live0 = ax_device_mem_live();
  int rc = anx_vm_run_string(vm, "<gc_pressure>", src, strlen(src));
  /* one iteration leaves ~0.8 MB of activations in its graph: 120 of them are ~100 MB, the GC keeps
  ** the device to the parameters (~17 MB) plus its 8 MB slack plus a few iterations (the first
  ** thing this test runs on the device, so the backend's peak is this loop's) */
  double peak = (double)(device_peak() - live0) / 1048576.0;
  CHECK(rc == ANX_OK, "exit %d", rc);
  CHECK(peak > 0 && peak < 48.0, "device peak %.1f MB", peak);
  printf("gc_pressure: device peak %.1f MB over the loop\n", peak);
  anx_vm_free(vm);
  CHECK(ax_device_mem_live() == live0, "device bytes left: %zu (had %zu)", ax_device_mem_live(), live0);
}

/* The debugger's `memory` on a script (device NULL: the CPU); its output in buf. */
static void debug_memory(const char *script, const char *device, char *buf, size_t n) {
  char sp[64], cp[64], op[64];
  snprintf(sp, sizeof sp, "/tmp/anx_vm_device_%d.anx", (int)getpid());
  snprintf(cp, sizeof cp, "/tmp/anx_vm_device_%d.cmd", (int)getpid());
  snprintf(op, sizeof op, "/tmp/anx_vm_device_%d.out", (int)getpid());
  FILE *f = fopen(sp, "w");
  fputs(script, f);
  fclose(f);
  f = fopen(cp, "w");
  fputs("break 3\nrun\nmemory\ncontinue\nquit\n", f);
  fclose(f);
  fflush(stdout);
  int saved = dup(1), fd = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 1);
  close(fd);
  ax_debug_main(sp, 0, NULL, cp, NULL, device);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  f = fopen(op, "r");
  size_t k = f ? fread(buf, 1, n - 1, f) : 0;
  buf[k] = 0;
  if (f) fclose(f);
  unlink(sp);
  unlink(cp);
  unlink(op);
}

int main(int argc, char **argv) {
  gpu = argc > 2 && !strcmp(argv[1], "--gpu");
  if (argc != 2 + gpu) {
    fprintf(stderr, "usage: test_vm_device [--gpu] DIR\n");
    return 2;
  }
  const char *dir = argv[1 + gpu];
  if (gpu) {
#ifdef AX_TEST_CUDA_MODULE   /* this build tree's module, unless ANX_CUDA_MODULE names another */
    setenv("ANX_CUDA_MODULE", AX_TEST_CUDA_MODULE, 0);
#endif
    const ax_backend *be;
    ax_err e;
    if (ax_backend_get((ax_device){AX_DEV_CUDA, 0}, &be, &e)) {
      printf("SKIP: %s\n", e.msg);
      return 77;
    }
  } else if (fake_device_install()) {
    return 1;
  }
  static char out[65536];
  const char *script = "let x = randn([8, 4])\nlet y = x * 2\nprint(y.shape)\n";
  if (!gpu) {   /* before any device use the accelerator is not loaded: no device line (--gpu probed it) */
    debug_memory(script, NULL, out, sizeof out);
    CHECK(strstr(out, "tensors reachable") && !strstr(out, "cuda:0 memory"), "debugger output:\n%s", out);
  }
  gc_pressure();
  compare_scripts(dir);
  debug_memory(script, "cuda", out, sizeof out);
  CHECK(strstr(out, "float32 [8, 4] cuda:0") && strstr(out, "cuda:0 memory: tensors 256 B; allocator"),
        "debugger output:\n%s", out);
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
