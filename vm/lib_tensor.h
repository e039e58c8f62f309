/* vm/lib_tensor.h — the tensor binding: tensors as first-class script values.
** Registers the "tensor" foreign class, its operators, indexing and methods, and the prelude
** functions (tensor zeros ones randn ... backward no_grad param seed device). */
#ifndef AX_LIB_TENSOR_H
#define AX_LIB_TENSOR_H

#include "ax_tensor.h"
#include "ax_vm.h"

bool ax_lib_tensor_open(ax_vm *vm);
/* The default device (anx --device, ANX_DEVICE; AX_CPU unless set): creation functions without a
** device: keyword, network parameters and train()'s batches go there. */
ax_device ax_vm_device(ax_vm *vm);

extern const ax_foreign_class ax_tensor_class;

/* The tensor inside v, or NULL when v is not a tensor (borrowed). */
ax_tensor *ax_value_tensor(ax_value v);
/* Wrap t (takes the reference) as a script value; false (raised) on out of memory. */
bool ax_push_tensor(ax_vm *vm, ax_tensor *t, ax_value *out);
/* Convert a script value (tensor, number, bool, nested list) to a new tensor reference.
** dtype AX_NDTYPES: infer (int64 for ints, float32 for floats, bool for bools). */
bool ax_value_to_tensor(ax_vm *vm, const char *fn, ax_value v, ax_dtype dtype, ax_tensor **out);
/* Raise the runtime error in err as a script error (kind from the status). Returns false. */
bool ax_raise_rt(ax_vm *vm, ax_status st, const ax_err *err);
/* Read `dim:` (int or list) from kw into dims; ndims 0 when absent. */
bool ax_kw_dims(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, int64_t *dims, int *ndims);

#endif
