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

/* The stream of data.* transforms for batch b (0-based) of a loader's epoch-th iteration (1-based):
** each batch has its own, so a batch's augmentation does not depend on who computes it or when. */
static inline uint64_t ax_data_batch_stream(int64_t seed, int64_t epoch, int64_t b) {
  return (uint64_t)seed * 0xA24BAED4963EE407ull ^ (uint64_t)epoch * 0x9FB21C651E98DF25ull ^
         (uint64_t)(b + 1) * 0xD1B54A32D192ED03ull;
}

/* Apply a transform map (or a list of them) to a batch x; *out is a new tensor. */
bool ax_data_apply_transform(ax_vm *vm, ax_value tr, ax_tensor *x, uint64_t *rs, ax_tensor **out);

/* A compiled transform: the maps read and checked against the batch shape on the main thread,
** then run as plain C on float buffers (no VM, no allocation, no errors): safe on any thread. */
typedef struct ax_aug_step ax_aug_step;
typedef struct {
  ax_aug_step *steps;
  int n, cap;
  float *chan;             /* normalize: per-channel means and inverse stds */
  size_t chan_len, chan_cap;
  int rank3;               /* batches are [N, H, W] (else [N, C, H, W]) */
  int64_t c, h, w;         /* input sample */
  int64_t oh, ow;          /* output plane (the sample is [c, oh, ow]) */
  int resizes;             /* crop / resize / rotation steps: each writes a new buffer */
  size_t max_sample;       /* most floats one sample takes at any step */
} ax_aug_plan;

/* Compile transform tr for float batches of this shape; raises (and leaves *out empty) on error. */
bool ax_data_plan_compile(ax_vm *vm, ax_value tr, const int64_t *shape, int ndim, ax_dtype dt, ax_aug_plan *out);
void ax_data_plan_free(ax_aug_plan *p);
/* Run on n samples. Without resizing steps the batch is transformed in place in out (a, b
** unused). Otherwise the input is in a and the result lands in out; a and b hold n * max_sample
** floats each (b is used only when resizes > 1). */
void ax_data_plan_run(const ax_aug_plan *p, int64_t n, float *a, float *b, float *out, uint64_t *rs);
/* Samples per epoch for a sampler over n items (validates it). */
bool ax_data_sampler_size(ax_vm *vm, ax_value sampler, int64_t n, int64_t *size);
/* Fill order[0..count) with the epoch's item indices. */
bool ax_data_sampler_order(ax_vm *vm, ax_value sampler, int64_t n, bool shuffle, uint64_t *rs, int64_t *order,
                           int64_t count);

#endif
