/* vm/lib_data.h — the `data` native module (IDX/MNIST, npy, CSV, text, loader). */
#ifndef AX_LIB_DATA_H
#define AX_LIB_DATA_H

#include "ax_vm.h"

bool ax_lib_data_open(ax_vm *vm);
extern const ax_foreign_class ax_loader_class;
/* A loader over x (and y, or nil) without a transform (train() and evaluate() on tensors). */
bool ax_loader_new(ax_vm *vm, ax_value x, ax_value y, int64_t batch, bool shuffle, int64_t seed, ax_value *out);
/* End a pass over a loader early (train(), evaluate()): state is the iteration state its iter
** hook made; the pass's prefetch thread stops now instead of when the state is collected. */
void ax_loader_iter_close(ax_value state);

#endif
