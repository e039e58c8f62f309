/* vm/lib_optim.h — the `optim` module: optimizers, learning-rate schedules, gradient clipping. */
#ifndef AX_LIB_OPTIM_H
#define AX_LIB_OPTIM_H

#include "ax_optim.h"
#include "ax_vm.h"

bool ax_lib_optim_open(ax_vm *vm);
extern const ax_foreign_class ax_optim_class;
extern const ax_foreign_class ax_sched_class;
/* The optimizer inside v, or NULL. */
ax_optim *ax_value_optim(ax_value v);
/* Parameters of a network (params()), a tensor or a list of tensors, as a list value. */
bool ax_collect_params(ax_vm *vm, const char *fn, ax_value m, ax_value *list_out);

#endif
