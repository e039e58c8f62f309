/* runtime/optim/ax_optim.h — optimizers: state (moment buffers, per-parameter step counts) and
** the update of every parameter that has a gradient, in place, on the parameters' device.
** Invariant: state buffers have their parameter's shape, dtype and device, and are created at
** the first step that sees a gradient for that parameter (as PyTorch's lazy state). */
#ifndef AX_OPTIM_H
#define AX_OPTIM_H

#include "ax_tensor.h"

typedef enum {
  AX_OPTIM_SGD, AX_OPTIM_ADAM, AX_OPTIM_ADAMW, AX_OPTIM_RMSPROP, AX_OPTIM_ADAGRAD,
  AX_OPTIM_ADADELTA, AX_OPTIM_LAMB, AX_OPTIM_COUNT
} ax_optim_kind;

/* Hyperparameters; ax_optim_defaults fills PyTorch's defaults for a kind. */
typedef struct {
  ax_optim_kind kind;
  double lr, momentum, dampening, weight_decay;
  double beta1, beta2, eps;
  double alpha;                 /* rmsprop smoothing */
  double rho;                   /* adadelta */
  double lr_decay, initial_accumulator;   /* adagrad */
  int nesterov, amsgrad, centered, maximize;
} ax_optim_cfg;

void ax_optim_defaults(ax_optim_kind kind, ax_optim_cfg *cfg);
const char *ax_optim_kind_name(ax_optim_kind kind);    /* "sgd", "adam", ... */
int ax_optim_kind_parse(const char *name, ax_optim_kind *out);

#define AX_OPTIM_NSTATE 3

typedef struct {
  ax_tensor *param;                        /* retained leaf */
  ax_tensor *state[AX_OPTIM_NSTATE];       /* moment buffers, NULL until used */
  int64_t step;                            /* steps taken for this parameter */
} ax_optim_slot;

typedef struct ax_optim {
  ax_optim_cfg cfg;
  ax_optim_slot *slots;
  int n;
  int64_t steps;                           /* optimizer steps taken */
} ax_optim;

/* The state buffer names per kind, for checkpoints ("exp_avg", "exp_avg_sq", ...); NULL ends. */
const char *ax_optim_state_name(ax_optim_kind kind, int i);

ax_status ax_optim_new(const ax_optim_cfg *cfg, ax_tensor *const *params, int n, ax_optim **out,
                       ax_err *err);
void ax_optim_free(ax_optim *opt);
/* n == 0 in ax_optim_new makes an optimizer whose parameters come later, once, through this
** (networks with lazy shapes have none before their first forward pass). */
ax_status ax_optim_set_params(ax_optim *opt, ax_tensor *const *params, int n, ax_err *err);
ax_status ax_optim_check_params(const ax_optim_cfg *cfg, ax_tensor *const *params, int n, ax_err *err);
/* Update every parameter with a gradient; parameters without one are skipped (PyTorch). */
ax_status ax_optim_step(ax_optim *opt, ax_err *err);
void ax_optim_zero_grad(ax_optim *opt);    /* drops the gradients (set_to_none, PyTorch 2 default) */
/* Make sure the state buffers of slot i exist (zero-filled; adagrad: initial accumulator). */
ax_status ax_optim_ensure_state(ax_optim *opt, int i, ax_err *err);

/* Gradient clipping over a set of parameters (those without a gradient are skipped). */
ax_status ax_clip_grad_norm(ax_tensor *const *params, int n, double max_norm, double norm_type,
                            double *total_norm, ax_err *err);
ax_status ax_clip_grad_value(ax_tensor *const *params, int n, double clip, ax_err *err);

/* ---- gradient scaler (ax_scaler.c): dynamic loss scaling as torch.amp.GradScaler ----
** One iteration: scale(loss), backward, [unscale (before clipping)], step (skipped when a gradient
** is inf/nan), update: after a skipped step the scale is multiplied by backoff_factor; after
** growth_interval good steps in a row by growth_factor. Disabled, every call is a pass-through. */
typedef enum { AX_SCALER_READY, AX_SCALER_UNSCALED, AX_SCALER_STEPPED } ax_scaler_stage;
typedef struct {
  double scale, growth_factor, backoff_factor;
  int64_t growth_interval, growth_tracker;   /* tracker: good steps since the last change */
  int enabled;
  int found_inf;                             /* the last unscale saw an inf or nan */
  ax_scaler_stage stage;                     /* what happened since the last update */
} ax_grad_scaler;

void ax_grad_scaler_init(ax_grad_scaler *s);   /* PyTorch's defaults: 65536, x2 every 2000 steps, x0.5 */
ax_status ax_grad_scaler_check(const ax_grad_scaler *s, ax_err *err);   /* the hyperparameters' ranges */
ax_status ax_grad_scaler_scale(const ax_grad_scaler *s, ax_tensor *loss, ax_tensor **out, ax_err *err);
/* Divide the gradients of opt's parameters by the scale (replacing each parameter's grad) and note
** whether any element is inf or nan. At most once between updates; an error when no gradient exists. */
ax_status ax_grad_scaler_unscale(ax_grad_scaler *s, ax_optim *opt, ax_err *err);
/* Unscale unless done, then step opt unless a gradient was inf/nan; *stepped tells which. */
ax_status ax_grad_scaler_step(ax_grad_scaler *s, ax_optim *opt, int *stepped, ax_err *err);
ax_status ax_grad_scaler_update(ax_grad_scaler *s, ax_err *err);
void ax_grad_scaler_set_scale(ax_grad_scaler *s, double scale);   /* update(new_scale) */

#endif
