/* vm/lib_nn.h — `nn` functional ops and losses (lib_nn.c) and the layer/network machinery
** (lib_net.c) that uses them. Compositions here are runtime ops, so autograd sees every step. */
#ifndef AX_LIB_NN_H
#define AX_LIB_NN_H

#include "ax_tensor.h"
#include "ax_vm.h"

bool ax_lib_nn_open(ax_vm *vm);

/* Functional building blocks shared with the layers (status + ax_err, like the runtime). */
ax_status ax_nn_linear(ax_tensor *x, ax_tensor *w, ax_tensor *b, ax_tensor **out, ax_err *err);
ax_status ax_nn_dropout(ax_tensor *x, double p, int training, ax_tensor **out, ax_err *err);
ax_status ax_nn_embedding(ax_tensor *ids, ax_tensor *w, ax_tensor **out, ax_err *err);
ax_status ax_nn_attention(ax_tensor *q, ax_tensor *k, ax_tensor *v, ax_tensor *mask, int causal, double dropout,
                          int training, double scale, ax_tensor **out, ax_err *err);
/* Both are made on the CPU and moved to dev (the device of the tensors they join). */
ax_status ax_nn_causal_mask(int64_t t, int64_t s, ax_device dev, ax_tensor **out, ax_err *err);
ax_status ax_nn_positional_table(int64_t t, int64_t d, ax_device dev, ax_tensor **out, ax_err *err);
ax_status ax_nn_rotary(ax_tensor *x, double base, int64_t offset, ax_tensor **out, ax_err *err);
/* red: 0 none, 1 mean, 2 sum; logits_are_logprobs: nll. */
ax_status ax_nn_cross_entropy(ax_tensor *logits, ax_tensor *target, ax_tensor *weight, int64_t ignore_index,
                              int red, double smoothing, int logits_are_logprobs, ax_tensor **out, ax_err *err);

ax_status ax_nn_group_norm(ax_tensor *x, int64_t groups, ax_tensor *w, ax_tensor *b, double eps, ax_tensor **out,
                           ax_err *err);
ax_status ax_nn_rms_norm(ax_tensor *x, int nd, ax_tensor *w, double eps, ax_tensor **out, ax_err *err);
/* leaky_relu (param = slope), elu (param = alpha), mish, hardsigmoid, hardswish, gelu_tanh, softplus. */
ax_status ax_nn_activation(ax_tensor *x, const char *name, double param, ax_tensor **out, ax_err *err);

/* torch.nn.init in place on t (>= 2 dims): scheme xavier_uniform/xavier_normal (gain_or_a = gain) or
** kaiming_uniform/kaiming_normal (gain_or_a = a, fan_out_mode, nonlinearity as calculate_gain). */
ax_status ax_nn_init(ax_tensor *t, const char *scheme, double gain_or_a, int fan_out_mode, const char *nonlin,
                     ax_err *err);

/* Layer constructors nn.dense(units: 64), nn.conv2d(filters: 32, ...) ... (lib_net.c). */
bool ax_nn_layer_ctor(ax_vm *vm, const char *kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out);

#endif
