/* vm/net.h — network instances: what `network` declarations, nn.sequential and nn.repeat make.
** A network holds members (layers, nested networks, plain values) in declaration order, its
** configuration (`key: value` items), methods and an optional explicit forward (`pulse`).
** Invariant: member order is the order of parameters, of the state dict and of the summary. */
#ifndef AX_NET_H
#define AX_NET_H

#include "ax_io.h"
#include "ax_vm.h"
#include "net_layer.h"

typedef struct ax_net ax_net;

bool ax_lib_net_open(ax_vm *vm);
/* Adds the layer constructors, sequential and repeat to the nn module (called by its init). */
bool ax_net_nn_init(ax_vm *vm, ax_module *m);

extern const ax_foreign_class ax_net_class;
extern const ax_foreign_class ax_net_ctor_class;
ax_net *ax_value_net(ax_value v);

/* Forward pass: Net(x, ...). */
bool ax_net_forward(ax_vm *vm, ax_value net, int argc, ax_value *args, const ax_kw *kw, ax_value *out);
void ax_net_set_training(ax_net *n, int on);
int ax_net_training(ax_net *n);
/* Net.to(d): every layer (nested networks included) to device d; false after raising. */
bool ax_net_to(ax_vm *vm, ax_net *n, ax_device d);
/* Where the network's parameters are (made): its batches go there in train()/evaluate()/infer(). */
ax_device ax_net_device(ax_net *n);
/* Whether the forward pass treats the rows of a batch independently, whatever their number: no
** pulse, members that are built-in layers without a script activation (every kind is row-wise in
** evaluation mode: batch norm then uses its running statistics), nested such networks or lists of
** them. evaluate()/infer() run big batches in row chunks then, with the same result. */
int ax_net_rowwise(ax_net *n);
/* Visit parameters (and buffers) with their dotted state-dict names. */
bool ax_net_visit(ax_net *n, const char *prefix, ax_layer_visit visit, void *ud);
/* The network's config value for key (nil when absent). */
ax_value ax_net_config(ax_vm *vm, ax_net *n, const char *key);
const char *ax_net_name(ax_net *n);
/* When the last layer ends in softmax: skip it (train() feeds logits to cross-entropy). Returns the
** previous setting; *has_softmax tells whether there is such a layer. */
int ax_net_set_logits_mode(ax_net *n, int on, int *has_softmax);
/* Copy a dict of tensors into the network (strict: names and shapes must match). */
ax_status ax_net_load_dict(ax_net *n, const ax_tensor_dict *d, const char *path, ax_err *err);
ax_status ax_net_to_dict(ax_net *n, ax_tensor_dict *d, ax_err *err);

#endif
