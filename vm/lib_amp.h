/* vm/lib_amp.h — mixed precision: autocast(fn, dtype:) and grad_scaler(opt, ...) in the prelude, and
** what train()/evaluate()/infer()/checkpoint() use of them (amp:, scaler:). */
#ifndef AX_LIB_AMP_H
#define AX_LIB_AMP_H

#include "ax_optim.h"
#include "ax_vm.h"

bool ax_lib_amp_open(ax_vm *vm);
extern const ax_foreign_class ax_scaler_class;

/* The autocast type when none is given: the default device's, as torch.autocast (cuda: float16,
** cpu: bfloat16). */
ax_dtype ax_amp_default_dtype(ax_vm *vm);
/* An amp: value: "float16", "bfloat16", true (the default type) or false/nil (off: AX_NDTYPES);
** anything else raises "<fn>: <what>: must be ...". */
bool ax_amp_dtype(ax_vm *vm, const char *fn, const char *what, ax_value v, ax_dtype *out);
/* The scaler inside v (and the optimizer it steps, when opt is not NULL), or NULL. */
ax_grad_scaler *ax_value_scaler(ax_value v, ax_value *opt);
/* A new grad_scaler with PyTorch's defaults over the optimizer optv (train(amp: "float16")). */
bool ax_scaler_make(ax_vm *vm, ax_value optv, ax_value *out);
/* s.state_dict() as a map with PyTorch's keys. */
bool ax_scaler_state_dict(ax_vm *vm, const ax_grad_scaler *s, ax_value *out);

#endif
