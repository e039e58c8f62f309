/* runtime/neural/norm_pending.c — weak placeholders for the normalisation kernels of
** ax_nn_kernels.h until runtime/neural/norm.c provides them (its strong definitions win at link
** time). Each returns AX_E_UNSUPPORTED with a message: never a fake result. Delete this file once
** norm.c is in the build (#6). */
#include "ax_nn_kernels.h"

#define PENDING(name) \
  return ax_err_set(err, AX_E_UNSUPPORTED, "%s: this build lacks the normalisation kernels", name)

__attribute__((weak)) ax_status ax_nn_batch_norm_fwd_train_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *g,
    const float *b, double eps, double m, float *rm, float *rv, float *y, float *sm, float *sr, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_fwd_train_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *g,
    const double *b, double eps, double m, double *rm, double *rv, double *y, double *sm, double *sr, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_fwd_eval_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *g,
    const float *b, const float *rm, const float *rv, double eps, float *y, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_fwd_eval_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *g,
    const double *b, const double *rm, const double *rv, double eps, double *y, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *dy,
    const float *g, const float *sm, const float *sr, float *dx, float *dg, float *db, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_bwd_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *dy,
    const double *g, const double *sm, const double *sr, double *dx, double *dg, double *db, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_bwd_eval_f32(int64_t n, int64_t c, int64_t hw, const float *x, const float *dy,
    const float *g, const float *rm, const float *rv, double eps, float *dx, float *dg, float *db, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_batch_norm_bwd_eval_f64(int64_t n, int64_t c, int64_t hw, const double *x, const double *dy,
    const double *g, const double *rm, const double *rv, double eps, double *dx, double *dg, double *db, ax_err *err) { PENDING("batch_norm"); }
__attribute__((weak)) ax_status ax_nn_layer_norm_fwd_f32(int64_t m, int64_t d, const float *x, const float *g, const float *b,
    double eps, float *y, float *mean, float *rstd, ax_err *err) { PENDING("layer_norm"); }
__attribute__((weak)) ax_status ax_nn_layer_norm_fwd_f64(int64_t m, int64_t d, const double *x, const double *g, const double *b,
    double eps, double *y, double *mean, double *rstd, ax_err *err) { PENDING("layer_norm"); }
__attribute__((weak)) ax_status ax_nn_layer_norm_bwd_f32(int64_t m, int64_t d, const float *x, const float *dy, const float *g,
    const float *mean, const float *rstd, float *dx, float *dg, float *db, ax_err *err) { PENDING("layer_norm"); }
__attribute__((weak)) ax_status ax_nn_layer_norm_bwd_f64(int64_t m, int64_t d, const double *x, const double *dy, const double *g,
    const double *mean, const double *rstd, double *dx, double *dg, double *db, ax_err *err) { PENDING("layer_norm"); }
