/* vm/lib_train.h — train(), evaluate(), infer(), checkpoints, callbacks, regularizers, plot(). */
#ifndef AX_LIB_TRAIN_H
#define AX_LIB_TRAIN_H

#include "ax_vm.h"

bool ax_lib_train_open(ax_vm *vm);
/* A regularizer value for train(regularize:): kind "l1", "l2" or "elastic_net". */
bool ax_make_regularizer(ax_vm *vm, const char *kind, double l1, double l2, ax_value *out);

#endif
