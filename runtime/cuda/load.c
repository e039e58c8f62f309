/* runtime/cuda/load.c — the registry's side of runtime/cuda/ax_cuda.h, compiled into anx_runtime
** in CUDA builds: finds libanx_cuda.so, dlopens it the first time a cuda device is asked for,
** and hands it the runtime's host table. Invariant: nothing here runs before that first request
** (CPU-only runs load no CUDA library); a failed load is an AX_E_DEVICE error naming dlerror()'s
** reason, remembered and repeated to later callers, never a crash. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ax_mem.h"
#include "ax_cuda.h"

static const ax_cuda_host host = {
    AX_CUDA_HOST_STAMPS,
    .op_table = ax_op_table,
#define AX_CUDA_X(ret, name, params, args) .name = name,
    AX_CUDA_HOST_FNS(AX_CUDA_X) AX_CUDA_HOST_VOID_FNS(AX_CUDA_X)
#undef AX_CUDA_X
};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const ax_cuda_module *module;   /* written once inside load_once, read with acquire */
static char load_msg[sizeof(((ax_err *)0)->msg)];

/* $ANX_CUDA_MODULE, else libanx_cuda.so in the directory of /proc/self/exe; 0 and a message in
** load_msg when neither can be named. */
static int module_path(char *buf, size_t n) {
  const char *env = getenv(AX_CUDA_MODULE_ENV);
  if (env && *env) {
    if (strlen(env) >= n) {
      snprintf(load_msg, sizeof load_msg, "cuda: CUDA backend not available: %s is longer than %zu bytes",
               AX_CUDA_MODULE_ENV, n - 1);
      return 0;
    }
    memcpy(buf, env, strlen(env) + 1);
    return 1;
  }
  ssize_t k = readlink("/proc/self/exe", buf, n - 1);
  if (k <= 0) {
    snprintf(load_msg, sizeof load_msg,
             "cuda: CUDA backend not available: cannot find the executable's directory (/proc/self/exe: %s); "
             "set %s to the path of %s",
             strerror(errno), AX_CUDA_MODULE_ENV, AX_CUDA_MODULE_FILE);
    return 0;
  }
  buf[k] = 0;
  char *slash = strrchr(buf, '/');
  size_t dir = slash ? (size_t)(slash - buf) + 1 : 0;
  if (dir + sizeof AX_CUDA_MODULE_FILE > n) {
    snprintf(load_msg, sizeof load_msg, "cuda: CUDA backend not available: the executable's path is too long; set %s",
             AX_CUDA_MODULE_ENV);
    return 0;
  }
  memcpy(buf + dir, AX_CUDA_MODULE_FILE, sizeof AX_CUDA_MODULE_FILE);
  return 1;
}

static void load(void) {
  char path[4096], why[256];
  if (!module_path(path, sizeof path)) return;
  /* RTLD_NOW: a missing symbol or library fails here, with dlerror's text, not at a later call */
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    if (!e) e = "unknown dlopen error";
    /* dlerror names the file it could not open; say which module needed it when that is another */
    int names_path = !strncmp(e, path, strlen(path));
    snprintf(load_msg, sizeof load_msg, "cuda: CUDA backend not available: cannot load %s%s%s%s",
             names_path ? "" : path, names_path ? "" : ": ", e,
             getenv(AX_CUDA_MODULE_ENV) ? "" : " (" AX_CUDA_MODULE_ENV " names another module file)");
    return;
  }
  ax_cuda_entry_fn entry = (ax_cuda_entry_fn)dlsym(h, AX_CUDA_ENTRY);
  if (!entry) {
    const char *e = dlerror();
    snprintf(load_msg, sizeof load_msg, "cuda: CUDA backend not available: %s is not an anx CUDA module: %s", path,
             e ? e : AX_CUDA_ENTRY " not found");
    dlclose(h);
    return;
  }
  why[0] = 0;
  const ax_cuda_module *m = entry(&host, why, sizeof why);
  if (!m) {
    snprintf(load_msg, sizeof load_msg, "cuda: CUDA backend not available: %s: %s", path, why);
    dlclose(h);
    return;
  }
  /* the module stays loaded for the life of the process (CUDA's own exit handlers live in it) */
  __atomic_store_n(&module, m, __ATOMIC_RELEASE);
}

ax_status ax_cuda_backend_get(int index, const ax_backend **out, ax_err *err) {
  pthread_once(&load_once, load);
  const ax_cuda_module *m = __atomic_load_n(&module, __ATOMIC_ACQUIRE);
  if (!m) return ax_err_set(err, AX_E_DEVICE, "%s", load_msg);
  return m->backend_get(index, out, err);
}

const ax_kernel_table *ax_cuda_kernels(void) {
  const ax_cuda_module *m = __atomic_load_n(&module, __ATOMIC_ACQUIRE);
  return m ? m->kernels : NULL;
}
