/* vm/net_layer.h — layers: the runtime modules that network declarations are made of.
** A layer has a kind, a configuration read from its property block, parameters and buffers under
** PyTorch's names and layouts, and sub-layers (a conv's batch norm, an encoder block's attention).
** Invariant: parameters are created at the first forward (lazy shapes) or by net_layer_build with
** an explicit input shape, and never change shape afterwards. */
#ifndef AX_NET_LAYER_H
#define AX_NET_LAYER_H

#include "ax_tensor.h"
#include "ax_vm.h"

#define AX_LAYER_KINDS(X)                                                                         \
  X(INPUT, "input") X(DENSE, "dense") X(CONV2D, "conv2d") X(CONVT2D, "conv_transpose2d")          \
  X(MAXPOOL, "maxpool") X(AVGPOOL, "avgpool") X(GAP, "global_avg_pool")                            \
  X(ADAPTIVE, "adaptive_avg_pool") X(BATCHNORM, "batchnorm") X(LAYERNORM, "layernorm")            \
  X(GROUPNORM, "groupnorm") X(INSTANCENORM, "instancenorm") X(RMSNORM, "rmsnorm")                 \
  X(DROPOUT, "dropout") X(EMBEDDING, "embedding") X(POSENC, "positional_encoding")                 \
  X(ATTENTION, "attention") X(FFN, "feed_forward") X(ENCODER, "encoder_block")                    \
  X(DECODER, "decoder_block") X(RNN, "rnn") X(LSTM, "lstm") X(GRU, "gru") X(FLATTEN, "flatten")    \
  X(IDENTITY, "identity") X(MEANPOOL, "mean_pool")

typedef enum {
#define AX_X(e, s) AX_L_##e,
  AX_LAYER_KINDS(AX_X)
#undef AX_X
  AX_L__COUNT
} ax_layer_kind;

extern const char *const ax_layer_kind_names[AX_L__COUNT];

typedef enum {
  AX_ACT_NONE, AX_ACT_RELU, AX_ACT_GELU, AX_ACT_GELU_TANH, AX_ACT_SILU, AX_ACT_SIGMOID, AX_ACT_TANH,
  AX_ACT_SOFTMAX, AX_ACT_LOG_SOFTMAX, AX_ACT_LEAKY_RELU, AX_ACT_ELU, AX_ACT_MISH, AX_ACT_HARDSIGMOID,
  AX_ACT_HARDSWISH, AX_ACT_CUSTOM
} ax_act;

#define AX_LAYER_MAX_PARAMS 128   /* an rnn of 16 bidirectional layers has 128 */
#define AX_LAYER_MAX_BUFFERS 8
#define AX_RNN_MAX_STACK 32       /* layers x directions of one recurrent layer */
#define AX_LAYER_MAX_SUBS 16

typedef struct ax_layer ax_layer;

typedef struct {
  char *name;        /* "weight", "in_proj_weight", ... (ax_malloc'd) */
  ax_tensor *t;
} ax_named;

struct ax_layer {
  ax_layer_kind kind;
  char *name;                 /* member name in the network, or the sub-layer's PyTorch name */
  int line;                   /* declaration line, for errors */
  const char *kind_from;      /* how the kind was chosen (anx --explain): "kind:", "the name", "the keys", ... */
  /* configuration */
  int64_t units, filters, ks[2], stride[2], pad[4], dil[2], groups, opad[2];
  int64_t heads, embed_dim, ff_dim, vocab, max_len, hidden, nlayers, out_size[2], num_groups, padding_idx;
  double p, momentum, eps, slope;
  int pad_same, bias, bn, bidirectional, batch_first, causal, learned, rotary, norm_first, residual;
  int concat;                 /* merge: concat (several inputs) */
  int ceil_mode, count_include_pad;   /* pools */
  const char *init;           /* dense/conv weight initialiser (ax_nn_init scheme), NULL: PyTorch's default */
  ax_act act;
  ax_value act_fn;            /* AX_ACT_CUSTOM: a callable (GC-marked through the owning network) */
  ax_act ffn_act;             /* feed_forward / encoder activation */
  int64_t input_shape[AX_MAX_DIMS];   /* `input:` / `shape:` without the batch dim */
  int input_nd;
  /* state */
  ax_named params[AX_LAYER_MAX_PARAMS];
  int nparams;
  ax_named buffers[AX_LAYER_MAX_BUFFERS];
  int nbuffers;
  ax_layer *subs[AX_LAYER_MAX_SUBS];
  int nsubs;
  int built, training;
  ax_device device;           /* where the parameters live: built on the CPU, then moved here (Net.to) */
  int64_t in_shape[AX_MAX_DIMS], out_shape[AX_MAX_DIMS];
  int in_nd, out_nd;          /* last forward's shapes (summary) */
  /* attention key/value cache for incremental decoding (generate) */
  int use_cache;
  ax_tensor *cache_k, *cache_v;
  int64_t cache_pos;          /* positional encodings: positions already consumed */
  /* recurrent layers: last hidden (and cell) state [layers*dirs, B, H] */
  ax_tensor *h_n, *c_n;
};

/* A layer from a neuron's evaluated property map (keys -> values). kind < 0: infer from the name
** and keys; errors name the layer and line ("neuron 'a' (line 3): unknown key 'unit' for dense;
** did you mean 'units'?"). */
bool ax_layer_from_props(ax_vm *vm, const char *name, int line, ax_map *props, int kind, ax_layer **out);
/* Same, with the kind given (nn.dense(units: 64) ...) and keyword arguments as properties. */
bool ax_layer_from_kw(ax_vm *vm, const char *kind, const ax_kw *kw, ax_value *args, int argc, ax_layer **out);
/* Parse a kind name with synonyms ("linear" -> dense); -1 when unknown. */
int ax_layer_kind_parse(const char *name);
/* The keys positional arguments fill, in order (dense(64) -> units, conv2d(32, 3) -> filters, kernel_size),
** NULL-terminated. */
const char *const *ax_layer_positional_keys(int kind);
/* Kind from a name's first word ("Conv2D_1" -> conv2d); -1 when none. */
int ax_layer_kind_from_name(const char *name);

void ax_layer_free(ax_layer *l);
void ax_layer_mark(ax_vm *vm, ax_layer *l);
void ax_layer_set_training(ax_layer *l, int on);

/* Forward: x (and ctx for cross attention / decoder memory, may be NULL). New reference in *out. */
bool ax_layer_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor *ctx, ax_tensor *mask, ax_tensor **out);
/* Build parameters for an input of the given shape (batch dim included). */
bool ax_layer_build(ax_vm *vm, ax_layer *l, const int64_t *shape, int nd);
/* Put the layer (and its parts) on device d: parameters and float buffers that exist move in place
** (optimizers keep working), ones built later are made there. Integer counters stay on the CPU. */
bool ax_layer_to(ax_vm *vm, ax_layer *l, ax_device d);

/* Parameters and buffers with dotted names, in declaration order (sub-layers after their parent's
** own tensors, as PyTorch's state_dict). visit returns false to stop. */
typedef bool (*ax_layer_visit)(void *ud, const char *name, ax_tensor *t, int is_buffer);
bool ax_layer_visit_tensors(ax_layer *l, const char *prefix, ax_layer_visit visit, void *ud);
int64_t ax_layer_param_count(ax_layer *l);

/* The foreign class wrapping a layer as a script value (callable, fields weight/bias/...). */
extern const ax_foreign_class ax_layer_class;
ax_layer *ax_value_layer(ax_value v);
bool ax_layer_value(ax_vm *vm, ax_layer *l, ax_value *out);   /* takes ownership of l */

/* Activation by name ("relu", a native's name, ...); false when unknown. */
bool ax_act_parse(const char *name, ax_act *out);
const char *ax_act_name(ax_act a);
bool ax_apply_act(ax_vm *vm, ax_act a, ax_value fn, double slope, ax_tensor *x, ax_tensor **out);

#endif
