/* vm/lib_data.h — the `data` native module (IDX/MNIST, npy, CSV, text, loader). */
#ifndef AX_LIB_DATA_H
#define AX_LIB_DATA_H

#include "ax_vm.h"

bool ax_lib_data_open(ax_vm *vm);
extern const ax_foreign_class ax_loader_class;

#endif
