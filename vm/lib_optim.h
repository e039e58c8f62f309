/* vm/lib_optim.h — the `optim` module: optimizers, learning-rate schedules, gradient clipping. */
#ifndef AX_LIB_OPTIM_H
#define AX_LIB_OPTIM_H

#include "ax_optim.h"
#include "ax_vm.h"

bool ax_lib_optim_open(ax_vm *vm);
extern const ax_foreign_class ax_optim_class;
extern const ax_foreign_class ax_sched_class;
/* optim.<kind>(m, lr: ..., ...) from C (train() builds the network's default optimizer with it). */
bool ax_optim_make(ax_vm *vm, ax_optim_kind kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
/* Collect a lazy network's parameters into its optimizer once they exist (before a step). */
bool ax_optim_resolve(ax_vm *vm, ax_value optv);
/* The optimizer inside v, or NULL. */
ax_optim *ax_value_optim(ax_value v);
/* Parameters of a network (params()), a tensor or a list of tensors, as a list value. */
bool ax_collect_params(ax_vm *vm, const char *fn, ax_value m, ax_value *list_out);

#endif
