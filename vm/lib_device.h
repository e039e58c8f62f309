/* vm/lib_device.h — run-wide device settings in the prelude: synchronize(),
** set_float32_matmul_precision(), get_float32_matmul_precision() (vm/lib_device.c). */
#ifndef AX_LIB_DEVICE_H
#define AX_LIB_DEVICE_H

#include "ax_vm.h"

bool ax_lib_device_open(ax_vm *vm);

#endif
