/* vm/data_aug.h — loader transforms and samplers of the `data` module (vm/data_aug.c). */
#ifndef AX_DATA_AUG_H
#define AX_DATA_AUG_H

#include <stdint.h>

#include "ax_tensor.h"
#include "ax_vm.h"

/* The data module's seeded stream (splitmix64) and an unbiased bounded draw, from lib_data.c. */
uint64_t ax_data_mix64(uint64_t *state);
uint64_t ax_data_bounded(uint64_t *state, uint64_t n);

/* Constructors (natives of the data module). */
bool ax_data_normalize(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_random_flip(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_random_crop(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_center_crop(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_resize(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_random_rotation(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_color_jitter(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_compose(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_weighted(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_data_subset(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out);

/* Apply a transform map (or a list of them) to a batch x; *out is a new tensor. */
bool ax_data_apply_transform(ax_vm *vm, ax_value tr, ax_tensor *x, uint64_t *rs, ax_tensor **out);
/* Samples per epoch for a sampler over n items (validates it). */
bool ax_data_sampler_size(ax_vm *vm, ax_value sampler, int64_t n, int64_t *size);
/* Fill order[0..count) with the epoch's item indices. */
bool ax_data_sampler_order(ax_vm *vm, ax_value sampler, int64_t n, bool shuffle, uint64_t *rs, int64_t *order,
                           int64_t count);

#endif
