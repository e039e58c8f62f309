/* vm/lib_device.c — run-wide device settings in the prelude: synchronize() waits for the work queued
** on devices (torch.cuda.synchronize), set_float32_matmul_precision(p) / get_float32_matmul_precision()
** choose whether float32 GEMMs and convolutions may use TF32 (torch.set_float32_matmul_precision).
** Invariant: neither changes a result on the CPU, whose kernels stay exact float32 and run
** synchronously; the precision is the runtime's process-wide setting (runtime/ax_autocast.c). */
#include "lib_device.h"

#include "ax_ops.h"
#include "lib_tensor.h"

/* Wait for dev's queued work; a device whose backend is not loaded has none. */
static bool sync_device(ax_vm *vm, ax_device d) {
  const ax_backend *be;
  ax_err e;
  ax_status st = ax_backend_get(d, &be, &e);
  if (!st && be->sync) st = be->sync(&e);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* synchronize() waits for every device this run uses (the default device, and cuda:0 once its
** backend is loaded: tensors may have been moved there with .to); synchronize("cuda") for one. */
static bool f_synchronize(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "synchronize", argc, 0, 1)) return false;
  *out = AX_NIL;
  if (argc == 1) {
    ax_string *s;
    ax_device d;
    ax_err e;
    if (!ax_arg_str(vm, "synchronize", args, argc, 0, &s)) return false;
    ax_status st = ax_device_parse(s->chars, &d, &e);
    return st ? ax_raise_rt(vm, st, &e) : sync_device(vm, d);
  }
  ax_device def = ax_vm_device(vm), cuda0 = {AX_DEV_CUDA, 0};
  if (!sync_device(vm, def)) return false;
  /* the accelerator's kernel table exists once its backend has been loaded */
  if (!ax_device_eq(def, cuda0) && ax_backend_kernels(cuda0) && !sync_device(vm, cuda0)) return false;
  return true;
}

static bool f_set_precision(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  ax_matmul_precision p;
  if (!ax_arg_count(vm, "set_float32_matmul_precision", argc, 1, 1) ||
      !ax_arg_str(vm, "set_float32_matmul_precision", args, argc, 0, &s))
    return false;
  if (!ax_matmul_precision_parse(s->chars, &p))
    return ax_vm_raise(vm, "value", "set_float32_matmul_precision: expected \"highest\", \"high\" or \"medium\", got \"%s\"",
                       s->chars);
  ax_set_float32_matmul_precision(p);
  *out = AX_NIL;
  return true;
}

static bool f_get_precision(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_str_value(vm, ax_matmul_precision_name((ax_matmul_precision)ax_float32_matmul_precision()));
  return !AX_IS_NIL(*out);
}

static const ax_native_reg device_prelude[] = {
  {"synchronize", f_synchronize, -1},
  {"set_float32_matmul_precision", f_set_precision, -1},
  {"get_float32_matmul_precision", f_get_precision, 0},
  {NULL, NULL, 0},
};

bool ax_lib_device_open(ax_vm *vm) { return ax_vm_register_globals(vm, device_prelude); }
