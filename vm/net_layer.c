/* vm/net_layer.c — layer kinds: property parsing (kinds, synonyms, near-miss errors), PyTorch's
** parameter names, layouts and default initialisation, lazy building, and forward passes written
** with runtime ops so autograd covers them.
** Invariant: a layer's tensors are owned by it (one runtime reference each); script values that
** show them (Net.fc.weight) hold their own references. */
#include "net_layer.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_nn.h"
#include "ax_ops.h"
#include "debug.h"
#include "lib_nn.h"
#include "lib_tensor.h"

const char *const ax_layer_kind_names[AX_L__COUNT] = {
#define AX_X(e, s) s,
  AX_LAYER_KINDS(AX_X)
#undef AX_X
};

/* ---- kinds, synonyms, inference ---- */

static const struct { const char *name; ax_layer_kind kind; } synonyms[] = {
  {"input", AX_L_INPUT}, {"dense", AX_L_DENSE}, {"linear", AX_L_DENSE}, {"fc", AX_L_DENSE},
  {"fullyconnected", AX_L_DENSE}, {"conv2d", AX_L_CONV2D}, {"conv", AX_L_CONV2D}, {"convolution", AX_L_CONV2D},
  {"convolution2d", AX_L_CONV2D}, {"conv_transpose2d", AX_L_CONVT2D}, {"convtranspose2d", AX_L_CONVT2D},
  {"deconv", AX_L_CONVT2D}, {"conv2dtranspose", AX_L_CONVT2D}, {"maxpool", AX_L_MAXPOOL}, {"maxpool2d", AX_L_MAXPOOL},
  {"max_pool", AX_L_MAXPOOL}, {"max_pool2d", AX_L_MAXPOOL}, {"maxpooling2d", AX_L_MAXPOOL}, {"pool", AX_L_MAXPOOL},
  {"avgpool", AX_L_AVGPOOL}, {"avgpool2d", AX_L_AVGPOOL}, {"avg_pool", AX_L_AVGPOOL}, {"avg_pool2d", AX_L_AVGPOOL},
  {"averagepooling2d", AX_L_AVGPOOL}, {"global_avg_pool", AX_L_GAP}, {"globalavgpool", AX_L_GAP},
  {"globalaveragepooling2d", AX_L_GAP}, {"gap", AX_L_GAP}, {"adaptive_avg_pool", AX_L_ADAPTIVE},
  {"adaptiveavgpool", AX_L_ADAPTIVE}, {"adaptiveavgpool2d", AX_L_ADAPTIVE}, {"batchnorm", AX_L_BATCHNORM},
  {"batch_norm", AX_L_BATCHNORM}, {"batchnormalization", AX_L_BATCHNORM}, {"batchnorm2d", AX_L_BATCHNORM},
  {"batchnorm1d", AX_L_BATCHNORM}, {"layernorm", AX_L_LAYERNORM}, {"layer_norm", AX_L_LAYERNORM},
  {"layernormalization", AX_L_LAYERNORM}, {"groupnorm", AX_L_GROUPNORM}, {"group_norm", AX_L_GROUPNORM},
  {"instancenorm", AX_L_INSTANCENORM}, {"instance_norm", AX_L_INSTANCENORM}, {"instancenorm2d", AX_L_INSTANCENORM},
  {"rmsnorm", AX_L_RMSNORM}, {"rms_norm", AX_L_RMSNORM}, {"dropout", AX_L_DROPOUT}, {"embedding", AX_L_EMBEDDING},
  {"positional_encoding", AX_L_POSENC}, {"positionalencoding", AX_L_POSENC}, {"posenc", AX_L_POSENC},
  {"attention", AX_L_ATTENTION}, {"multiheadattention", AX_L_ATTENTION}, {"multi_head_attention", AX_L_ATTENTION},
  {"mha", AX_L_ATTENTION}, {"selfattention", AX_L_ATTENTION}, {"self_attention", AX_L_ATTENTION},
  {"feed_forward", AX_L_FFN}, {"feedforward", AX_L_FFN}, {"ffn", AX_L_FFN}, {"mlp_block", AX_L_FFN},
  {"encoder_block", AX_L_ENCODER}, {"encoderblock", AX_L_ENCODER}, {"transformer_encoder", AX_L_ENCODER},
  {"transformerencoderlayer", AX_L_ENCODER}, {"decoder_block", AX_L_DECODER}, {"decoderblock", AX_L_DECODER},
  {"transformerdecoderlayer", AX_L_DECODER}, {"rnn", AX_L_RNN}, {"lstm", AX_L_LSTM}, {"gru", AX_L_GRU},
  {"flatten", AX_L_FLATTEN}, {"identity", AX_L_IDENTITY}, {"mean_pool", AX_L_MEANPOOL}, {"meanpool", AX_L_MEANPOOL},
};
#define NSYN ((int)(sizeof synonyms / sizeof synonyms[0]))

int ax_layer_kind_parse(const char *name) {
  char low[64];
  size_t n = strlen(name);
  if (n >= sizeof low) return -1;
  for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)name[i]);
  for (int i = 0; i < NSYN; i++)
    if (strcmp(low, synonyms[i].name) == 0) return (int)synonyms[i].kind;
  return -1;
}

int ax_layer_kind_from_name(const char *name) {
  /* first word: up to '_' (Conv2D_1 -> conv2d, MaxPool_1 -> maxpool, PositionalEncoding -> itself) */
  char word[64];
  size_t i = 0;
  while (name[i] && name[i] != '_' && i + 1 < sizeof word) {
    word[i] = (char)tolower((unsigned char)name[i]);
    i++;
  }
  word[i] = 0;
  if (!i) return -1;
  int k = ax_layer_kind_parse(word);
  if (k >= 0) return k;
  /* trailing digits that are not part of a kind (Dense1 -> dense) */
  while (i > 0 && isdigit((unsigned char)word[i - 1])) word[--i] = 0;
  return i ? ax_layer_kind_parse(word) : -1;
}

/* ---- near-miss suggestions ---- */

/* Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), case-insensitive. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
      d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
      /* a swap of two neighbours counts as one edit (rleu -> relu) */
      if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1;
    }
  return d[la][lb];
}

static const char *nearest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
  int bd = 99;
  for (int i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int dd = edit_distance(word, cands[i]);
    if (dd < bd) { bd = dd; best = cands[i]; }
  }
  size_t len = strlen(word);
  return bd <= (len < 5 ? 1 : len < 9 ? 2 : 3) ? best : NULL;
}

/* ---- activations ---- */

static const char *const act_names[] = {"none", "relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "softmax",
                                        "log_softmax", "leaky_relu", "elu", "mish", "hardsigmoid", "hardswish",
                                        "custom"};

bool ax_act_parse(const char *name, ax_act *out) {
  static const struct { const char *s; ax_act a; } extra[] = {
    {"linear", AX_ACT_NONE}, {"identity", AX_ACT_NONE}, {"nil", AX_ACT_NONE}, {"swish", AX_ACT_SILU},
    {"logistic", AX_ACT_SIGMOID}, {"lrelu", AX_ACT_LEAKY_RELU},
  };
  for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]) - 1; i++)
    if (strcmp(name, act_names[i]) == 0) { *out = (ax_act)i; return true; }
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if (strcmp(name, extra[i].s) == 0) { *out = extra[i].a; return true; }
  return false;
}

const char *ax_act_name(ax_act a) { return (unsigned)a < sizeof act_names / sizeof act_names[0] ? act_names[a] : "?"; }

bool ax_apply_act(ax_vm *vm, ax_act a, ax_value fn, double slope, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_status st = AX_OK;
  switch (a) {
  case AX_ACT_NONE: *out = ax_tensor_retain(x); return true;
  case AX_ACT_RELU: st = ax_relu_reuse(x, out, &e); break;   /* x is the layer's own output */
  case AX_ACT_GELU: st = ax_gelu(x, out, &e); break;
  case AX_ACT_GELU_TANH: st = ax_nn_activation(x, "gelu_tanh", 0, out, &e); break;
  case AX_ACT_SILU: st = ax_silu(x, out, &e); break;
  case AX_ACT_SIGMOID: st = ax_sigmoid(x, out, &e); break;
  case AX_ACT_TANH: st = ax_tanh(x, out, &e); break;
  case AX_ACT_SOFTMAX: st = ax_softmax(x, -1, out, &e); break;
  case AX_ACT_LOG_SOFTMAX: st = ax_log_softmax(x, -1, out, &e); break;
  case AX_ACT_LEAKY_RELU: st = ax_nn_activation(x, "leaky_relu", slope, out, &e); break;
  case AX_ACT_ELU: st = ax_nn_activation(x, "elu", 1.0, out, &e); break;
  case AX_ACT_MISH: st = ax_nn_activation(x, "mish", 0, out, &e); break;
  case AX_ACT_HARDSIGMOID: st = ax_nn_activation(x, "hardsigmoid", 0, out, &e); break;
  case AX_ACT_HARDSWISH: st = ax_nn_activation(x, "hardswish", 0, out, &e); break;
  case AX_ACT_CUSTOM: {
    ax_value xv, r;
    if (!ax_push_tensor(vm, ax_tensor_retain(x), &xv)) return false;
    ax_vm_push_root(vm, xv);
    bool ok = ax_vm_call(vm, fn, 1, &xv, NULL, &r);
    ax_vm_pop_root(vm, 1);
    if (!ok) return false;
    ax_tensor *t = ax_value_tensor(r);
    if (!t) return ax_vm_raise(vm, "type", "activation function returned %s, not a tensor", ax_type_name(r));
    *out = ax_tensor_retain(t);
    return true;
  }
  }
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* ---- construction ---- */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = ax_malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}
static void freestr(char *s) { if (s) ax_free(s, strlen(s) + 1); }

static ax_layer *layer_new(ax_layer_kind kind, const char *name, int line) {
  ax_layer *l = ax_calloc(1, sizeof *l);
  if (!l) return NULL;
  l->name = dupstr(name ? name : "");
  if (!l->name) {
    ax_free(l, sizeof *l);
    return NULL;
  }
  l->kind = kind;
  l->line = line;
  l->ks[0] = l->ks[1] = 0;
  l->stride[0] = l->stride[1] = 0;
  l->dil[0] = l->dil[1] = 1;
  l->groups = 1;
  l->bias = 1;
  l->momentum = 0.1;
  l->eps = kind == AX_L_RMSNORM ? 1e-6 : 1e-5;
  l->slope = 0.01;
  l->batch_first = 1;
  l->nlayers = 1;
  l->padding_idx = -1;
  l->act_fn = AX_NIL;
  l->ffn_act = AX_ACT_RELU;
  l->training = 1;
  l->count_include_pad = 1;
  l->out_size[0] = l->out_size[1] = 1;
  if (kind == AX_L_ENCODER || kind == AX_L_DECODER) l->p = 0.1;
  if (kind == AX_L_DROPOUT) l->p = -1;   /* unset: 0.5 as nn.Dropout (check_required) */
  return l;
}

void ax_layer_free(ax_layer *l) {
  if (!l) return;
  for (int i = 0; i < l->nparams; i++) {
    freestr(l->params[i].name);
    ax_tensor_release(l->params[i].t);
  }
  for (int i = 0; i < l->nbuffers; i++) {
    freestr(l->buffers[i].name);
    ax_tensor_release(l->buffers[i].t);
  }
  for (int i = 0; i < l->nsubs; i++) ax_layer_free(l->subs[i]);
  ax_tensor_release(l->cache_k);
  ax_tensor_release(l->cache_v);
  ax_tensor_release(l->h_n);
  ax_tensor_release(l->c_n);
  freestr(l->name);
  ax_free(l, sizeof *l);
}

void ax_layer_mark(ax_vm *vm, ax_layer *l) {
  ax_vm_mark_value(vm, l->act_fn);
  for (int i = 0; i < l->nsubs; i++) ax_layer_mark(vm, l->subs[i]);
}

void ax_layer_set_training(ax_layer *l, int on) {
  l->training = on;
  for (int i = 0; i < l->nsubs; i++) ax_layer_set_training(l->subs[i], on);
}

/* ---- reading properties ---- */

typedef struct {
  ax_vm *vm;
  const char *lname;   /* "neuron 'a' (line 3)" */
} pctx;

static const char *sym_of(ax_value v) {
  if (AX_IS_STRING(v)) return AX_AS_STRING(v)->chars;
  if (ax_is_kind(v, AX_O_NATIVE)) return AX_AS_NATIVE(v)->name->chars;
  return NULL;
}

static bool p_int(pctx *c, const char *key, ax_value v, int64_t *out, int64_t min) {
  if (AX_IS_INT(v)) *out = v.as.i;
  else if (AX_IS_FLOAT(v) && v.as.f == floor(v.as.f) && fabs(v.as.f) < 9e18) *out = (int64_t)v.as.f;
  else return ax_vm_raise(c->vm, "network", "%s: %s: must be an int, got %s", c->lname, key, ax_type_name(v));
  if (*out < min) return ax_vm_raise(c->vm, "network", "%s: %s: must be >= %lld, got %lld", c->lname, key, (long long)min, (long long)*out);
  return true;
}

static bool p_num(pctx *c, const char *key, ax_value v, double *out) {
  if (AX_IS_INT(v)) *out = (double)v.as.i;
  else if (AX_IS_FLOAT(v)) *out = v.as.f;
  else return ax_vm_raise(c->vm, "network", "%s: %s: must be a number, got %s", c->lname, key, ax_type_name(v));
  return true;
}

static bool p_bool(pctx *c, const char *key, ax_value v, int *out) {
  if (AX_IS_BOOL(v)) { *out = v.as.b; return true; }
  if (AX_IS_INT(v)) { *out = v.as.i != 0; return true; }
  return ax_vm_raise(c->vm, "network", "%s: %s: must be true or false, got %s", c->lname, key, ax_type_name(v));
}

static bool p_pair(pctx *c, const char *key, ax_value v, int64_t out[2], int64_t min) {
  if (AX_IS_LIST(v) && AX_AS_LIST(v)->len == 2)
    return p_int(c, key, AX_AS_LIST(v)->items[0], &out[0], min) && p_int(c, key, AX_AS_LIST(v)->items[1], &out[1], min);
  if (!p_int(c, key, v, &out[0], min)) return false;
  out[1] = out[0];
  return true;
}

static bool p_act(pctx *c, const char *key, ax_value v, ax_act *a, ax_value *fn) {
  if (AX_IS_NIL(v) || (AX_IS_BOOL(v) && !v.as.b)) { *a = AX_ACT_NONE; return true; }
  const char *s = sym_of(v);
  if (s) {
    if (ax_act_parse(s, a)) return true;
    const char *cands[] = {"relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu",
                           "mish", "hardsigmoid", "hardswish", "linear", "gelu_tanh"};
    const char *n = nearest(s, cands, (int)(sizeof cands / sizeof cands[0]));
    if (ax_is_kind(v, AX_O_NATIVE) && !n) {
      /* a native that is not a known activation (e.g. exp): call it */
      *a = AX_ACT_CUSTOM;
      *fn = v;
      return true;
    }
    return ax_vm_raise(c->vm, "network", "%s: unknown %s '%s'%s%s%s (relu gelu silu sigmoid tanh softmax "
                       "leaky_relu elu mish hardsigmoid hardswish linear)", c->lname, key, s,
                       n ? "; did you mean '" : "", n ? n : "", n ? "'?" : "");
  }
  if (ax_is_kind(v, AX_O_CLOSURE) || ax_is_kind(v, AX_O_BOUND)) {
    *a = AX_ACT_CUSTOM;
    *fn = v;
    return true;
  }
  return ax_vm_raise(c->vm, "network", "%s: %s: must be an activation name or a function, got %s", c->lname, key,
                     ax_type_name(v));
}

static bool p_shape(pctx *c, const char *key, ax_value v, ax_layer *l) {
  if (!AX_IS_LIST(v) || AX_AS_LIST(v)->len < 1 || AX_AS_LIST(v)->len >= AX_MAX_DIMS)
    return ax_vm_raise(c->vm, "network", "%s: %s: must be a list of dims without the batch, e.g. [1, 28, 28]",
                       c->lname, key);
  ax_list *lst = AX_AS_LIST(v);
  l->input_nd = (int)lst->len;
  for (int64_t i = 0; i < lst->len; i++)
    if (!p_int(c, key, lst->items[i], &l->input_shape[i], 1)) return false;
  return true;
}

/* Keys each kind accepts (synonyms included); common keys are accepted by every kind. */
static const char *const common_keys[] = {"kind", "type", "layer_type", "activation", "dropout", "merge",
                                          "input", "shape", "name", NULL};
static const char *const *kind_keys(ax_layer_kind k) {
  static const char *const input[] = {NULL};
  static const char *const dense[] = {"units", "size", "out_features", "bias", "use_bias", "batch_norm", "residual",
                                      "init", "kernel_initializer", NULL};
  static const char *const conv[] = {"filters", "out_channels", "kernel_size", "kernel", "stride", "strides", "padding",
                                     "dilation", "groups", "bias", "use_bias", "batch_norm", "residual", "init",
                                     "kernel_initializer", NULL};
  static const char *const convt[] = {"filters", "out_channels", "kernel_size", "kernel", "stride", "strides",
                                      "padding", "output_padding", "dilation", "groups", "bias", "use_bias", "init",
                                      "kernel_initializer", NULL};
  static const char *const pool[] = {"pool_size", "kernel_size", "stride", "strides", "padding", "ceil_mode",
                                     "count_include_pad", NULL};
  static const char *const none[] = {NULL};
  static const char *const adaptive[] = {"output_size", NULL};
  static const char *const bn[] = {"momentum", "eps", "epsilon", NULL};
  static const char *const ln[] = {"eps", "epsilon", NULL};
  static const char *const gn[] = {"groups", "num_groups", "eps", "epsilon", NULL};
  static const char *const inorm[] = {"eps", "epsilon", "affine", NULL};
  static const char *const drop[] = {"rate", "p", NULL};
  static const char *const emb[] = {"vocab_size", "num_embeddings", "embed_dim", "d_model", "embedding_dim",
                                    "padding_idx", NULL};
  static const char *const pe[] = {"max_len", "learned", "rotary", "embed_dim", "d_model", NULL};
  static const char *const attn[] = {"heads", "num_heads", "embed_dim", "d_model", "causal", "bias", NULL};
  static const char *const ffn[] = {"ff_dim", "d_ff", "embed_dim", "d_model", NULL};
  static const char *const enc[] = {"heads", "num_heads", "embed_dim", "d_model", "ff_dim", "d_ff", "norm_first",
                                    "causal", "eps", NULL};
  static const char *const rnn[] = {"hidden", "hidden_size", "units", "layers", "num_layers", "bidirectional",
                                    "batch_first", "bias", NULL};
  switch (k) {
  case AX_L_INPUT: return input;
  case AX_L_DENSE: return dense;
  case AX_L_CONV2D: return conv;
  case AX_L_CONVT2D: return convt;
  case AX_L_MAXPOOL:
  case AX_L_AVGPOOL: return pool;
  case AX_L_ADAPTIVE: return adaptive;
  case AX_L_BATCHNORM: return bn;
  case AX_L_LAYERNORM:
  case AX_L_RMSNORM: return ln;
  case AX_L_GROUPNORM: return gn;
  case AX_L_INSTANCENORM: return inorm;
  case AX_L_DROPOUT: return drop;
  case AX_L_EMBEDDING: return emb;
  case AX_L_POSENC: return pe;
  case AX_L_ATTENTION: return attn;
  case AX_L_FFN: return ffn;
  case AX_L_ENCODER:
  case AX_L_DECODER: return enc;
  case AX_L_RNN:
  case AX_L_LSTM:
  case AX_L_GRU: return rnn;
  default: return none;
  }
}

/* Keys positional arguments fill, in order: the leading arguments of the matching PyTorch/Keras constructor
** without synonyms (conv2d(32, 3) is filters 32, kernel_size 3; never out_channels). */
const char *const *ax_layer_positional_keys(int kind) {
  static const char *const none[] = {NULL};
  static const char *const dense[] = {"units", NULL};
  static const char *const conv[] = {"filters", "kernel_size", "stride", "padding", NULL};
  static const char *const pool[] = {"pool_size", "stride", "padding", NULL};
  static const char *const adaptive[] = {"output_size", NULL};
  static const char *const gn[] = {"groups", NULL};
  static const char *const drop[] = {"rate", NULL};
  static const char *const emb[] = {"vocab_size", "embed_dim", NULL};
  static const char *const pe[] = {"max_len", NULL};
  static const char *const attn[] = {"heads", NULL};
  static const char *const ffn[] = {"ff_dim", NULL};
  static const char *const enc[] = {"heads", "ff_dim", NULL};
  static const char *const rnn[] = {"hidden", "layers", NULL};
  static const char *const input[] = {"shape", NULL};
  switch ((ax_layer_kind)kind) {
  case AX_L_INPUT: return input;
  case AX_L_DENSE: return dense;
  case AX_L_CONV2D:
  case AX_L_CONVT2D: return conv;
  case AX_L_MAXPOOL:
  case AX_L_AVGPOOL: return pool;
  case AX_L_ADAPTIVE: return adaptive;
  case AX_L_GROUPNORM: return gn;
  case AX_L_DROPOUT: return drop;
  case AX_L_EMBEDDING: return emb;
  case AX_L_POSENC: return pe;
  case AX_L_ATTENTION: return attn;
  case AX_L_FFN: return ffn;
  case AX_L_ENCODER:
  case AX_L_DECODER: return enc;
  case AX_L_RNN:
  case AX_L_LSTM:
  case AX_L_GRU: return rnn;
  default: return none;
  }
}

static bool key_allowed(ax_layer_kind k, const char *key) {
  for (const char *const *p = common_keys; *p; p++)
    if (strcmp(*p, key) == 0) return true;
  for (const char *const *p = kind_keys(k); *p; p++)
    if (strcmp(*p, key) == 0) return true;
  return false;
}

static bool unknown_key(pctx *c, ax_layer_kind k, const char *key) {
  const char *cands[64];
  int n = 0;
  for (const char *const *p = common_keys; *p && n < 60; p++) cands[n++] = *p;
  for (const char *const *p = kind_keys(k); *p && n < 60; p++) cands[n++] = *p;
  const char *near = nearest(key, cands, n);
  char list[512] = "";
  size_t pos = 0;
  for (const char *const *p = kind_keys(k); *p && pos < sizeof list - 40; p++)
    pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s%s", pos ? " " : "", *p);
  return ax_vm_raise(c->vm, "network", "%s: unknown key '%s' for %s%s%s%s%s%s%s", c->lname, key,
                     ax_layer_kind_names[k], near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "",
                     *list ? " (keys: " : "", list, *list ? ")" : "");
}

/* Infer the kind from keys (LANGUAGE.md section 4). */
#define has_key(props, key) ((props) && ax_map_get_str(vm, (props), (key), &(ax_value){0}))
static int kind_from_keys(ax_vm *vm, ax_map *props) {
  if (has_key(props, "filters") || has_key(props, "kernel_size")) return AX_L_CONV2D;
  if (has_key(props, "pool_size")) return AX_L_MAXPOOL;
  if ((has_key(props, "heads") || has_key(props, "num_heads")) && (has_key(props, "ff_dim") || has_key(props, "d_ff")))
    return AX_L_ENCODER;
  if (has_key(props, "heads") || has_key(props, "num_heads")) return AX_L_ATTENTION;
  if (has_key(props, "vocab_size")) return AX_L_EMBEDDING;
  if (has_key(props, "max_len")) return AX_L_POSENC;
  if (has_key(props, "units") || has_key(props, "size")) return AX_L_DENSE;
  if (has_key(props, "rate")) return AX_L_DROPOUT;
  return -1;
}

static bool apply_prop(pctx *c, ax_layer *l, const char *key, ax_value v) {
  ax_layer_kind k = l->kind;
  if (!key_allowed(k, key)) return unknown_key(c, k, key);
  if (!strcmp(key, "kind") || !strcmp(key, "type") || !strcmp(key, "layer_type") || !strcmp(key, "name")) return true;
  if (!strcmp(key, "activation")) {
    if (k == AX_L_FFN || k == AX_L_ENCODER || k == AX_L_DECODER) {
      ax_value custom_fn = AX_NIL;   /* rejected just below: the inner activation must be a name */
      if (!p_act(c, key, v, &l->ffn_act, &custom_fn)) return false;
      if (l->ffn_act == AX_ACT_CUSTOM) return ax_vm_raise(c->vm, "network", "%s: activation: must be a name here", c->lname);
      return true;
    }
    return p_act(c, key, v, &l->act, &l->act_fn);
  }
  if (!strcmp(key, "dropout") || !strcmp(key, "rate") || !strcmp(key, "p")) {
    if (!p_num(c, key, v, &l->p)) return false;
    if (l->p < 0 || l->p >= 1) return ax_vm_raise(c->vm, "network", "%s: %s: must be in [0, 1), got %g", c->lname, key, l->p);
    return true;
  }
  if (!strcmp(key, "merge")) {
    const char *s = sym_of(v);
    if (s && !strcmp(s, "concat")) { l->concat = 1; return true; }
    if (s && (!strcmp(s, "add") || !strcmp(s, "sum"))) { l->concat = 0; return true; }
    const char *cands[] = {"add", "concat", "sum"};
    const char *n = s ? nearest(s, cands, 3) : NULL;
    return ax_vm_raise(c->vm, "network", "%s: unknown merge '%s'%s%s%s (add or concat)", c->lname, s ? s : ax_type_name(v),
                       n ? "; did you mean '" : "", n ? n : "", n ? "'?" : "");
  }
  if (!strcmp(key, "input") || !strcmp(key, "shape")) return p_shape(c, key, v, l);
  if (!strcmp(key, "units") || !strcmp(key, "size") || !strcmp(key, "out_features")) {
    if (k == AX_L_RNN || k == AX_L_LSTM || k == AX_L_GRU) return p_int(c, key, v, &l->hidden, 1);
    return p_int(c, key, v, &l->units, 1);
  }
  if (!strcmp(key, "bias") || !strcmp(key, "use_bias")) return p_bool(c, key, v, &l->bias);
  if (!strcmp(key, "init") || !strcmp(key, "kernel_initializer")) {
    static const struct { const char *name, *scheme; } inits[] = {
      {"xavier_uniform", "xavier_uniform"}, {"glorot_uniform", "xavier_uniform"}, {"xavier_normal", "xavier_normal"},
      {"glorot_normal", "xavier_normal"}, {"kaiming_uniform", "kaiming_uniform"}, {"he_uniform", "kaiming_uniform"},
      {"kaiming_normal", "kaiming_normal"}, {"he_normal", "kaiming_normal"}, {"default", NULL}};
    const char *sname = sym_of(v);
    const char *cands[9];
    for (int i = 0; i < 9; i++) cands[i] = inits[i].name;
    for (int i = 0; sname && i < 9; i++)
      if (!strcmp(sname, inits[i].name)) {
        l->init = inits[i].scheme;
        return true;
      }
    const char *n = sname ? nearest(sname, cands, 9) : NULL;
    return ax_vm_raise(c->vm, "network", "%s: unknown %s '%s'%s%s%s (xavier_uniform xavier_normal kaiming_uniform "
                       "kaiming_normal, glorot_*/he_* synonyms, default)", c->lname, key, sname ? sname : ax_type_name(v),
                       n ? "; did you mean '" : "", n ? n : "", n ? "'?" : "");
  }
  if (!strcmp(key, "batch_norm")) return p_bool(c, key, v, &l->bn);
  if (!strcmp(key, "residual")) return p_bool(c, key, v, &l->residual);
  if (!strcmp(key, "filters") || !strcmp(key, "out_channels")) return p_int(c, key, v, &l->filters, 1);
  if (!strcmp(key, "kernel_size") || !strcmp(key, "kernel") || !strcmp(key, "pool_size")) return p_pair(c, key, v, l->ks, 1);
  if (!strcmp(key, "stride") || !strcmp(key, "strides")) return p_pair(c, key, v, l->stride, 1);
  if (!strcmp(key, "dilation")) return p_pair(c, key, v, l->dil, 1);
  if (!strcmp(key, "output_padding")) return p_pair(c, key, v, l->opad, 0);
  if (!strcmp(key, "padding")) {
    const char *s = sym_of(v);
    if (s) {
      if (!strcmp(s, "same")) { l->pad_same = 1; return true; }
      if (!strcmp(s, "valid")) { memset(l->pad, 0, sizeof l->pad); return true; }
      const char *cands[] = {"same", "valid"};
      const char *n = nearest(s, cands, 2);
      return ax_vm_raise(c->vm, "network", "%s: unknown padding '%s'%s%s%s (an int, [ph, pw], same or valid)",
                         c->lname, s, n ? "; did you mean '" : "", n ? n : "", n ? "'?" : "");
    }
    int64_t p[2];
    if (!p_pair(c, key, v, p, 0)) return false;
    l->pad[0] = l->pad[2] = p[0];
    l->pad[1] = l->pad[3] = p[1];
    return true;
  }
  if (!strcmp(key, "groups") || !strcmp(key, "num_groups")) {
    if (k == AX_L_GROUPNORM) return p_int(c, key, v, &l->num_groups, 1);
    return p_int(c, key, v, &l->groups, 1);
  }
  if (!strcmp(key, "ceil_mode") || !strcmp(key, "count_include_pad") || !strcmp(key, "affine")) {
    int b;
    if (!p_bool(c, key, v, &b)) return false;
    if (!strcmp(key, "ceil_mode")) l->ceil_mode = b;
    else if (!strcmp(key, "count_include_pad")) l->count_include_pad = b;
    else l->bias = b;   /* instancenorm: affine (weight and bias) */
    return true;
  }
  if (!strcmp(key, "output_size")) return p_pair(c, key, v, l->out_size, 1);
  if (!strcmp(key, "momentum")) {
    if (!p_num(c, key, v, &l->momentum)) return false;
    if (l->momentum >= 0.5 && l->momentum < 1) {
      static int noted;
      if (!noted) {
        fprintf(stderr, "note: %s: momentum %g read in the Keras convention (decay of the running average); "
                "using PyTorch momentum %g\n", c->lname, l->momentum, 1 - l->momentum);
        noted = 1;
      }
      l->momentum = 1 - l->momentum;
    }
    if (l->momentum < 0 || l->momentum > 1) return ax_vm_raise(c->vm, "network", "%s: momentum must be in [0, 1]", c->lname);
    return true;
  }
  if (!strcmp(key, "eps") || !strcmp(key, "epsilon")) return p_num(c, key, v, &l->eps);
  if (!strcmp(key, "vocab_size") || !strcmp(key, "num_embeddings")) return p_int(c, key, v, &l->vocab, 1);
  if (!strcmp(key, "embed_dim") || !strcmp(key, "d_model") || !strcmp(key, "embedding_dim"))
    return p_int(c, key, v, &l->embed_dim, 1);
  if (!strcmp(key, "padding_idx")) return p_int(c, key, v, &l->padding_idx, 0);
  if (!strcmp(key, "max_len")) return p_int(c, key, v, &l->max_len, 1);
  if (!strcmp(key, "learned")) return p_bool(c, key, v, &l->learned);
  if (!strcmp(key, "rotary")) return p_bool(c, key, v, &l->rotary);
  if (!strcmp(key, "heads") || !strcmp(key, "num_heads")) return p_int(c, key, v, &l->heads, 1);
  if (!strcmp(key, "causal")) return p_bool(c, key, v, &l->causal);
  if (!strcmp(key, "ff_dim") || !strcmp(key, "d_ff")) return p_int(c, key, v, &l->ff_dim, 1);
  if (!strcmp(key, "norm_first")) return p_bool(c, key, v, &l->norm_first);
  if (!strcmp(key, "hidden") || !strcmp(key, "hidden_size")) return p_int(c, key, v, &l->hidden, 1);
  if (!strcmp(key, "layers") || !strcmp(key, "num_layers")) return p_int(c, key, v, &l->nlayers, 1);
  if (!strcmp(key, "bidirectional")) return p_bool(c, key, v, &l->bidirectional);
  if (!strcmp(key, "batch_first")) return p_bool(c, key, v, &l->batch_first);
  return unknown_key(c, k, key);
}

static bool check_required(pctx *c, ax_layer *l) {
  switch (l->kind) {
  case AX_L_DENSE:
    if (!l->units) return ax_vm_raise(c->vm, "network", "%s: dense needs units:", c->lname);
    break;
  case AX_L_DROPOUT:
    if (l->p < 0) l->p = 0.5;
    break;
  case AX_L_CONV2D:
  case AX_L_CONVT2D:
    if (l->kind == AX_L_CONVT2D && l->pad_same)
      return ax_vm_raise(c->vm, "network", "%s: conv_transpose2d: padding: same is not supported (as in PyTorch); give an int "
                         "or [ph, pw]", c->lname);
    if (!l->filters) return ax_vm_raise(c->vm, "network", "%s: %s needs filters:", c->lname, ax_layer_kind_names[l->kind]);
    if (!l->ks[0]) return ax_vm_raise(c->vm, "network", "%s: %s needs kernel_size:", c->lname, ax_layer_kind_names[l->kind]);
    if (!l->stride[0]) l->stride[0] = l->stride[1] = 1;
    break;
  case AX_L_MAXPOOL:
  case AX_L_AVGPOOL:
    if (!l->ks[0]) l->ks[0] = l->ks[1] = 2;
    if (!l->stride[0]) { l->stride[0] = l->ks[0]; l->stride[1] = l->ks[1]; }
    break;
  case AX_L_GROUPNORM:
    if (!l->num_groups) return ax_vm_raise(c->vm, "network", "%s: groupnorm needs groups:", c->lname);
    break;
  case AX_L_EMBEDDING:
    if (!l->vocab) return ax_vm_raise(c->vm, "network", "%s: embedding needs vocab_size:", c->lname);
    if (!l->embed_dim) return ax_vm_raise(c->vm, "network", "%s: embedding needs embed_dim: (or d_model:)", c->lname);
    break;
  case AX_L_POSENC:
    if (!l->max_len) l->max_len = 5000;
    break;
  case AX_L_ATTENTION:
  case AX_L_ENCODER:
  case AX_L_DECODER:
    if (!l->heads) return ax_vm_raise(c->vm, "network", "%s: %s needs heads: (or num_heads:)", c->lname,
                                      ax_layer_kind_names[l->kind]);
    break;
  case AX_L_RNN:
  case AX_L_LSTM:
  case AX_L_GRU:
    if (!l->hidden) return ax_vm_raise(c->vm, "network", "%s: %s needs hidden:", c->lname, ax_layer_kind_names[l->kind]);
    if (l->nlayers * (l->bidirectional ? 2 : 1) > AX_RNN_MAX_STACK)
      return ax_vm_raise(c->vm, "network", "%s: %s: at most %d layers x directions, got %lld", c->lname,
                         ax_layer_kind_names[l->kind], AX_RNN_MAX_STACK, (long long)(l->nlayers * (l->bidirectional ? 2 : 1)));
    break;
  default: break;
  }
  return true;
}

bool ax_layer_from_props(ax_vm *vm, const char *name, int line, ax_map *props, int kind, ax_layer **out) {
  char lname[160];
  snprintf(lname, sizeof lname, "neuron '%s' (line %d)", name, line);
  pctx c = {vm, lname};
  const char *from = kind >= 0 ? "the constructor" : "kind:";
  if (kind < 0 && props) {
    ax_value kv;
    if (ax_map_get_str(vm, props, "kind", &kv) || ax_map_get_str(vm, props, "type", &kv) ||
        ax_map_get_str(vm, props, "layer_type", &kv)) {
      const char *s = sym_of(kv);
      if (!s) return ax_vm_raise(vm, "network", "%s: kind: must be a layer kind name, got %s", lname, ax_type_name(kv));
      kind = ax_layer_kind_parse(s);
      if (kind < 0) {
        const char *n = nearest(s, (const char *const *)ax_layer_kind_names, AX_L__COUNT);
        return ax_vm_raise(vm, "network", "%s: unknown kind '%s'%s%s%s", lname, s, n ? "; did you mean '" : "",
                           n ? n : "", n ? "'?" : "");
      }
    }
  }
  if (kind < 0) {
    kind = ax_layer_kind_from_name(name);
    from = "the name";
  }
  if (kind < 0) {
    kind = kind_from_keys(vm, props);
    from = "the keys";
  }
  if (kind < 0) {
    char list[600] = "";
    size_t pos = 0;
    for (int i = 0; i < AX_L__COUNT; i++)
      pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s%s", i ? " " : "", ax_layer_kind_names[i]);
    return ax_vm_raise(vm, "network", "%s: cannot tell the layer kind: add kind: one of %s (or units: for dense, "
                       "filters: for conv2d, pool_size: for maxpool)", lname, list);
  }
  ax_layer *l = layer_new((ax_layer_kind)kind, name, line);
  if (!l) return ax_vm_oom(vm);
  l->kind_from = from;
  l->device = ax_vm_device(vm);   /* anx --device; Net.to changes it */
  if (l->kind == AX_L_INSTANCENORM) l->bias = 0;   /* affine=False by default, as PyTorch */
  if (props) {
    ax_table *t = &props->t;
    for (uint32_t i = 0; i < t->used; i++) {
      ax_entry *e = &t->entries[i];
      if (AX_IS_UNDEF(e->key) || !AX_IS_STRING(e->key)) continue;
      if (!apply_prop(&c, l, AX_AS_STRING(e->key)->chars, e->val)) {
        ax_layer_free(l);
        return false;
      }
    }
  }
  if (!check_required(&c, l)) {
    ax_layer_free(l);
    return false;
  }
  *out = l;
  return true;
}

bool ax_layer_from_kw(ax_vm *vm, const char *kind, const ax_kw *kw, ax_value *args, int argc, ax_layer **out) {
  int k = ax_layer_kind_parse(kind);
  if (k < 0) return ax_vm_raise(vm, "network", "unknown layer kind '%s'", kind);
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  ax_vm_push_root(vm, ax_obj_value(m));
  bool ok = true;
  /* positional arguments fill the kind's first keys (dense(64), conv2d(32, 3)) */
  const char *const *keys = ax_layer_positional_keys(k);
  for (int i = 0; i < argc && ok; i++) {
    if (!keys[i]) {
      ok = ax_vm_raise(vm, "argument", "nn.%s: too many positional arguments", kind);
      break;
    }
    ok = ax_map_set_str(vm, m, keys[i], args[i]);
  }
  for (int i = 0; kw && i < kw->n && ok; i++) ok = ax_map_set(vm, m, ax_obj_value(kw->names[i]), kw->vals[i]);
  char nm[80];
  snprintf(nm, sizeof nm, "%s", kind);
  if (ok) ok = ax_layer_from_props(vm, nm, 0, m, k, out);
  ax_vm_pop_root(vm, 1);
  return ok;
}

/* ---- parameters ---- */

static bool add_tensor(ax_vm *vm, ax_layer *l, const char *name, ax_tensor *t, int buffer) {
  ax_named *arr = buffer ? l->buffers : l->params;
  int *n = buffer ? &l->nbuffers : &l->nparams;
  if (*n >= (buffer ? AX_LAYER_MAX_BUFFERS : AX_LAYER_MAX_PARAMS)) {
    ax_tensor_release(t);
    return ax_vm_raise(vm, "network", "layer '%s': too many tensors", l->name);
  }
  ax_tensor *p = t;
  if (!buffer) {
    ax_err e;
    ax_status st = ax_param(t, &p, &e);
    ax_tensor_release(t);
    if (st) return ax_raise_rt(vm, st, &e);
  }
  arr[*n].name = dupstr(name);
  if (!arr[*n].name) {
    ax_tensor_release(p);
    return ax_vm_oom(vm);
  }
  arr[*n].t = p;
  (*n)++;
  return true;
}

static ax_tensor *find_tensor(ax_layer *l, const char *name) {
  for (int i = 0; i < l->nparams; i++)
    if (!strcmp(l->params[i].name, name)) return l->params[i].t;
  for (int i = 0; i < l->nbuffers; i++)
    if (!strcmp(l->buffers[i].name, name)) return l->buffers[i].t;
  return NULL;
}

/* U(-bound, bound) of the given shape, float32. */
static bool uniform(ax_vm *vm, const int64_t *shape, int nd, double bound, ax_tensor **out) {
  ax_err e;
  ax_tensor *r = NULL, *a = NULL, *s = NULL, *sh = NULL;
  ax_status st = ax_rand(shape, nd, AX_FLOAT32, &r, &e);
  if (!st) st = ax_scalar_f64(2 * bound, &s, &e);
  if (!st) st = ax_mul(r, s, &a, &e);
  ax_tensor_release(s);
  s = NULL;
  if (!st) st = ax_scalar_f64(bound, &s, &e);
  if (!st) st = ax_sub(a, s, &sh, &e);
  ax_tensor_release(r);
  ax_tensor_release(a);
  ax_tensor_release(s);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = sh;
  return true;
}

static bool normal(ax_vm *vm, const int64_t *shape, int nd, double std, ax_tensor **out) {
  ax_err e;
  ax_tensor *r = NULL, *s = NULL;
  ax_status st = ax_randn(shape, nd, AX_FLOAT32, &r, &e);
  if (!st && std != 1.0) {
    st = ax_scalar_f64(std, &s, &e);
    ax_tensor *m = NULL;
    if (!st) st = ax_mul(r, s, &m, &e);
    ax_tensor_release(r);
    r = m;
  }
  ax_tensor_release(s);
  if (st) {
    ax_tensor_release(r);
    return ax_raise_rt(vm, st, &e);
  }
  *out = r;
  return true;
}

static bool filled(ax_vm *vm, const int64_t *shape, int nd, double v, ax_dtype dt, ax_tensor **out) {
  ax_err e;
  ax_status st = ax_full(shape, nd, v, dt, out, &e);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* PyTorch's default Linear/Conv init: kaiming_uniform(a=sqrt(5)) -> bound 1/sqrt(fan_in) for both. */
static bool linear_params(ax_vm *vm, ax_layer *l, const char *wname, const char *bname, int64_t out_f, int64_t in_f,
                          int bias) {
  int64_t ws[2] = {out_f, in_f}, bs[1] = {out_f};
  double bound = 1.0 / sqrt((double)in_f);
  ax_tensor *w, *b;
  if (!uniform(vm, ws, 2, bound, &w) || !add_tensor(vm, l, wname, w, 0)) return false;
  if (bias && (!uniform(vm, bs, 1, bound, &b) || !add_tensor(vm, l, bname, b, 0))) return false;
  return true;
}

static bool add_sub(ax_vm *vm, ax_layer *l, ax_layer_kind kind, const char *name, ax_layer **out) {
  if (l->nsubs >= AX_LAYER_MAX_SUBS) return ax_vm_raise(vm, "network", "layer '%s': too many parts", l->name);
  ax_layer *s = layer_new(kind, name, l->line);
  if (!s) return ax_vm_oom(vm);
  s->training = l->training;
  s->device = l->device;
  s->use_cache = l->use_cache;   /* generate() may switch the cache on before a lazy block builds */
  l->subs[l->nsubs++] = s;
  *out = s;
  return true;
}

static ax_layer *sub(ax_layer *l, const char *name) {
  for (int i = 0; i < l->nsubs; i++)
    if (!strcmp(l->subs[i]->name, name)) return l->subs[i];
  return NULL;
}

static bool norm_params(ax_vm *vm, ax_layer *l, int64_t c, int bn) {
  int64_t s[1] = {c};
  ax_tensor *w, *b, *rm, *rv, *nb;
  if (!filled(vm, s, 1, 1, AX_FLOAT32, &w) || !add_tensor(vm, l, "weight", w, 0)) return false;
  if (l->kind != AX_L_RMSNORM && (!filled(vm, s, 1, 0, AX_FLOAT32, &b) || !add_tensor(vm, l, "bias", b, 0))) return false;
  if (bn) {
    int64_t s0[1];
    if (!filled(vm, s, 1, 0, AX_FLOAT32, &rm) || !add_tensor(vm, l, "running_mean", rm, 1) ||
        !filled(vm, s, 1, 1, AX_FLOAT32, &rv) || !add_tensor(vm, l, "running_var", rv, 1) ||
        !filled(vm, s0, 0, 0, AX_INT64, &nb) || !add_tensor(vm, l, "num_batches_tracked", nb, 1))
      return false;
  }
  return true;
}

static bool mha_params(ax_vm *vm, ax_layer *l, int64_t d) {
  if (d % l->heads)
    return ax_vm_raise(vm, "network", "attention '%s': embed_dim %lld is not divisible by %lld heads", l->name,
                       (long long)d, (long long)l->heads);
  l->embed_dim = d;
  int64_t ws[2] = {3 * d, d}, bs[1] = {3 * d};
  ax_tensor *w, *b;
  /* xavier_uniform on in_proj_weight (fan_in d, fan_out 3d), zero biases, as nn.MultiheadAttention */
  if (!uniform(vm, ws, 2, sqrt(6.0 / (double)(d + 3 * d)), &w) || !add_tensor(vm, l, "in_proj_weight", w, 0)) return false;
  if (l->bias && (!filled(vm, bs, 1, 0, AX_FLOAT32, &b) || !add_tensor(vm, l, "in_proj_bias", b, 0))) return false;
  ax_layer *op;
  if (!add_sub(vm, l, AX_L_DENSE, "out_proj", &op)) return false;
  op->units = d;
  op->bias = l->bias;
  if (!linear_params(vm, op, "weight", "bias", d, d, l->bias)) return false;
  if (l->bias) {
    /* nn.MultiheadAttention zeroes out_proj.bias */
    ax_tensor *ob = find_tensor(op, "bias");
    ax_err e;
    if (ob && ax_fill_(ob, 0, &e)) return ax_raise_rt(vm, AX_E_RUNTIME, &e);
  }
  op->built = 1;
  return true;
}

static bool dense_sub(ax_vm *vm, ax_layer *l, const char *name, int64_t out_f, int64_t in_f) {
  ax_layer *s = NULL;
  if (!add_sub(vm, l, AX_L_DENSE, name, &s)) return false;
  s->units = out_f;
  if (!linear_params(vm, s, "weight", "bias", out_f, in_f, 1)) return false;
  s->built = 1;
  return true;
}

static bool ln_sub(ax_vm *vm, ax_layer *l, const char *name, int64_t d, double eps) {
  ax_layer *s = NULL;
  if (!add_sub(vm, l, AX_L_LAYERNORM, name, &s)) return false;
  s->eps = eps;
  if (!norm_params(vm, s, d, 0)) return false;
  s->built = 1;
  return true;
}

static bool attn_sub(ax_vm *vm, ax_layer *l, const char *name, int64_t d, int causal) {
  ax_layer *s = NULL;
  if (!add_sub(vm, l, AX_L_ATTENTION, name, &s)) return false;
  s->heads = l->heads;
  s->p = l->p;
  s->causal = causal;
  if (!mha_params(vm, s, d)) return false;
  s->built = 1;
  return true;
}

static const char *rnn_suffix(int layer, int rev, char *buf, size_t n) {
  snprintf(buf, n, "_l%d%s", layer, rev ? "_reverse" : "");
  return buf;
}

bool ax_layer_build(ax_vm *vm, ax_layer *l, const int64_t *shape, int nd) {
  if (l->built) return true;
  char sb[96];
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);   /* initialisation is not part of any graph */
  bool ok = true;
  int64_t last = nd ? shape[nd - 1] : 0;
  switch (l->kind) {
  case AX_L_DENSE: {
    int64_t in_f = nd >= 4 ? 1 : last;
    if (nd >= 4)
      for (int i = 1; i < nd; i++) in_f *= shape[i];
    ok = linear_params(vm, l, "weight", "bias", l->units, in_f, l->bias);
    if (ok && l->bn) {
      ax_layer *b;
      ok = add_sub(vm, l, AX_L_BATCHNORM, "bn", &b) && norm_params(vm, b, l->units, 1);
      if (ok) b->built = 1;
    }
    break;
  }
  case AX_L_CONV2D:
  case AX_L_CONVT2D: {
    if (nd != 4) {
      ok = ax_vm_raise(vm, "shape", "%s '%s': input must be [N, C, H, W], got %s", ax_layer_kind_names[l->kind], l->name,
                       ax_shape_str(shape, nd, sb, sizeof sb));
      break;
    }
    int64_t cin = shape[1];
    if (cin % l->groups || l->filters % l->groups) {
      ok = ax_vm_raise(vm, "shape", "%s '%s': %lld input and %lld output channels are not divisible into %lld groups",
                       ax_layer_kind_names[l->kind], l->name, (long long)cin, (long long)l->filters, (long long)l->groups);
      break;
    }
    int64_t ws[4];
    double fan_in;
    if (l->kind == AX_L_CONV2D) {
      ws[0] = l->filters; ws[1] = cin / l->groups;
      fan_in = (double)(cin / l->groups * l->ks[0] * l->ks[1]);
    } else {
      ws[0] = cin; ws[1] = l->filters / l->groups;
      fan_in = (double)(l->filters / l->groups * l->ks[0] * l->ks[1]);   /* PyTorch: weight.size(1) * k */
    }
    ws[2] = l->ks[0];
    ws[3] = l->ks[1];
    int64_t bs[1] = {l->filters};
    ax_tensor *w, *b;
    double bound = 1.0 / sqrt(fan_in);
    ok = uniform(vm, ws, 4, bound, &w) && add_tensor(vm, l, "weight", w, 0);
    if (ok && l->bias) ok = uniform(vm, bs, 1, bound, &b) && add_tensor(vm, l, "bias", b, 0);
    if (ok && l->bn) {
      ax_layer *bn;
      ok = add_sub(vm, l, AX_L_BATCHNORM, "bn", &bn) && norm_params(vm, bn, l->filters, 1);
      if (ok) bn->built = 1;
    }
    break;
  }
  case AX_L_BATCHNORM:
    if (nd < 2) ok = ax_vm_raise(vm, "shape", "batchnorm '%s': input needs a channel dim, got %s", l->name, ax_shape_str(shape, nd, sb, sizeof sb));
    else ok = norm_params(vm, l, shape[1], 1);
    break;
  case AX_L_LAYERNORM:
  case AX_L_RMSNORM: ok = norm_params(vm, l, last, 0); break;
  case AX_L_GROUPNORM:
    if (nd < 2 || shape[1] % l->num_groups)
      ok = ax_vm_raise(vm, "shape", "groupnorm '%s': %lld channels are not divisible into %lld groups", l->name,
                       (long long)(nd >= 2 ? shape[1] : 0), (long long)l->num_groups);
    else ok = norm_params(vm, l, shape[1], 0);
    break;
  case AX_L_INSTANCENORM:
    if (l->bias && nd >= 2) ok = norm_params(vm, l, shape[1], 0);
    break;
  case AX_L_EMBEDDING: {
    int64_t ws[2] = {l->vocab, l->embed_dim};
    ax_tensor *w;
    ok = normal(vm, ws, 2, 1.0, &w);
    if (ok && l->padding_idx >= 0) {
      if (l->padding_idx >= l->vocab) {
        ax_tensor_release(w);
        ok = ax_vm_raise(vm, "network", "embedding '%s': padding_idx %lld out of range", l->name, (long long)l->padding_idx);
        break;
      }
      ax_tensor *row = NULL;
      ax_err e;
      if (!ax_select(w, 0, l->padding_idx, &row, &e)) ax_fill_(row, 0, &e);
      ax_tensor_release(row);
    }
    if (ok) ok = add_tensor(vm, l, "weight", w, 0);
    break;
  }
  case AX_L_POSENC:
    if (l->learned) {
      int64_t ws[2] = {l->max_len, last};
      ax_tensor *w;
      ok = normal(vm, ws, 2, 0.02, &w) && add_tensor(vm, l, "weight", w, 0);
    }
    break;
  case AX_L_ATTENTION: ok = mha_params(vm, l, l->embed_dim ? l->embed_dim : last); break;
  case AX_L_FFN: {
    int64_t d = l->embed_dim ? l->embed_dim : last, ff = l->ff_dim ? l->ff_dim : 4 * d;
    ok = dense_sub(vm, l, "linear1", ff, d) && dense_sub(vm, l, "linear2", d, ff);
    break;
  }
  case AX_L_ENCODER:
  case AX_L_DECODER: {
    int64_t d = l->embed_dim ? l->embed_dim : last, ff = l->ff_dim ? l->ff_dim : 2048;
    l->embed_dim = d;
    ok = attn_sub(vm, l, "self_attn", d, l->causal || l->kind == AX_L_DECODER);
    if (ok && l->kind == AX_L_DECODER) ok = attn_sub(vm, l, "multihead_attn", d, 0);
    if (ok) ok = dense_sub(vm, l, "linear1", ff, d) && dense_sub(vm, l, "linear2", d, ff);
    if (ok) ok = ln_sub(vm, l, "norm1", d, l->eps) && ln_sub(vm, l, "norm2", d, l->eps);
    if (ok && l->kind == AX_L_DECODER) ok = ln_sub(vm, l, "norm3", d, l->eps);
    break;
  }
  case AX_L_RNN:
  case AX_L_LSTM:
  case AX_L_GRU: {
    int64_t gates = l->kind == AX_L_LSTM ? 4 : l->kind == AX_L_GRU ? 3 : 1, h = l->hidden;
    int dirs = l->bidirectional ? 2 : 1;
    double bound = 1.0 / sqrt((double)h);
    for (int layer = 0; layer < l->nlayers && ok; layer++)
      for (int d = 0; d < dirs && ok; d++) {
        int64_t in_f = layer == 0 ? last : h * dirs;
        int64_t wih[2] = {gates * h, in_f}, whh[2] = {gates * h, h}, bs[1] = {gates * h};
        char suf[32], nm[64];
        rnn_suffix(layer, d, suf, sizeof suf);
        ax_tensor *t;
        snprintf(nm, sizeof nm, "weight_ih%s", suf);
        ok = uniform(vm, wih, 2, bound, &t) && add_tensor(vm, l, nm, t, 0);
        snprintf(nm, sizeof nm, "weight_hh%s", suf);
        if (ok) ok = uniform(vm, whh, 2, bound, &t) && add_tensor(vm, l, nm, t, 0);
        snprintf(nm, sizeof nm, "bias_ih%s", suf);
        if (ok && l->bias) ok = uniform(vm, bs, 1, bound, &t) && add_tensor(vm, l, nm, t, 0);
        snprintf(nm, sizeof nm, "bias_hh%s", suf);
        if (ok && l->bias) ok = uniform(vm, bs, 1, bound, &t) && add_tensor(vm, l, nm, t, 0);
      }
    break;
  }
  default: break;
  }
  if (ok && l->init && (l->kind == AX_L_DENSE || l->kind == AX_L_CONV2D || l->kind == AX_L_CONVT2D)) {
    /* init: replaces PyTorch's default for the weight (kaiming: He et al., a = 0, relu gain; xavier: gain 1) */
    ax_err e;
    ax_status st = ax_nn_init(find_tensor(l, "weight"), l->init, l->init[0] == 'k' ? 0.0 : 1.0, 0, "relu", &e);
    if (st) ok = ax_raise_rt(vm, st, &e);
  }
  ax_set_grad_enabled(was);
  /* parameters are made and initialised on the CPU (one random stream for every device), then moved */
  if (ok && l->device.type != AX_DEV_CPU) ok = ax_layer_to(vm, l, l->device);
  if (ok) l->built = 1;
  return ok;
}

static bool move_named(ax_vm *vm, ax_named *arr, int n, ax_device d) {
  for (int i = 0; i < n; i++) {
    if (!ax_dtype_is_float(arr[i].t->dtype)) continue;   /* num_batches_tracked: counted on the CPU */
    ax_err e;
    ax_status st = ax_tensor_move_(arr[i].t, d, &e);
    if (st) return ax_raise_rt(vm, st, &e);
  }
  return true;
}

static bool move_state(ax_vm *vm, ax_tensor **t, ax_device d) {
  if (!*t) return true;
  ax_tensor *m = NULL;
  ax_err e;
  ax_status st = ax_to(*t, d, &m, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  ax_tensor_release(*t);
  *t = m;
  return true;
}

bool ax_layer_to(ax_vm *vm, ax_layer *l, ax_device d) {
  l->device = d;
  if (!move_named(vm, l->params, l->nparams, d) || !move_named(vm, l->buffers, l->nbuffers, d) ||
      !move_state(vm, &l->cache_k, d) || !move_state(vm, &l->cache_v, d) || !move_state(vm, &l->h_n, d) ||
      !move_state(vm, &l->c_n, d))
    return false;
  for (int i = 0; i < l->nsubs; i++)
    if (!ax_layer_to(vm, l->subs[i], d)) return false;
  return true;
}

/* ---- forward helpers ---- */

#define CHECK_RT(st, e) do { if (st) { return ax_raise_rt(vm, st, &(e)); } } while (0)

/* A runtime error inside layer l, prefixed with the layer ("conv2d 'c1': conv2d: output size would be 0 ..."). */
static bool raise_in(ax_vm *vm, const ax_layer *l, ax_status st, const ax_err *e) {
  ax_err p;
  p.code = e->code;
  snprintf(p.msg, sizeof p.msg, "%s '%.60s': %.400s", ax_layer_kind_names[l->kind], l->name, e->msg);
  return ax_raise_rt(vm, st, &p);
}

static bool apply_tail(ax_vm *vm, ax_layer *l, ax_tensor *y, ax_tensor **out) {
  /* activation, then dropout: the Keras order for dense/conv blocks */
  ax_tensor *a = NULL, *d = NULL;
  if (!ax_apply_act(vm, l->act, l->act_fn, l->slope, y, &a)) return false;
  if (l->p > 0 && l->kind != AX_L_DROPOUT && l->kind != AX_L_ATTENTION && l->kind != AX_L_ENCODER &&
      l->kind != AX_L_DECODER && l->kind != AX_L_FFN && l->kind != AX_L_RNN && l->kind != AX_L_LSTM &&
      l->kind != AX_L_GRU) {
    ax_err e;
    ax_status st = ax_nn_dropout(a, l->p, l->training, &d, &e);
    ax_tensor_release(a);
    CHECK_RT(st, e);
    a = d;
  }
  *out = a;
  return true;
}

static bool dense_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_tensor *in = ax_tensor_retain(x), *y = NULL;
  if (x->ndim >= 4) {
    ax_tensor *f = NULL;
    ax_status st = ax_flatten(x, 1, -1, &f, &e);
    ax_tensor_release(in);
    CHECK_RT(st, e);
    in = f;
  }
  ax_tensor *w = find_tensor(l, "weight");
  if (in->ndim < 1 || in->shape[in->ndim - 1] != w->shape[1]) {
    ax_tensor_release(in);
    return ax_vm_raise(vm, "shape", "dense '%s': input has %lld features, expected %lld", l->name,
                       (long long)(in->ndim ? in->shape[in->ndim - 1] : 0), (long long)w->shape[1]);
  }
  ax_status st = ax_nn_linear(in, w, find_tensor(l, "bias"), &y, &e);
  ax_tensor_release(in);
  CHECK_RT(st, e);
  *out = y;
  return true;
}

static bool bn_forward(ax_vm *vm, ax_layer *b, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_tensor *nb = find_tensor(b, "num_batches_tracked");
  if (b->training && nb) {
    if (nb->storage->device.type == AX_DEV_CPU) {   /* Net.to leaves the counter on the CPU */
      int64_t *p = (int64_t *)nb->storage->data + nb->offset;
      (*p)++;
    } else {   /* moved by hand (a loaded state on a device): read, add one, write back */
      int64_t v = 0;
      ax_status cs = ax_item_i64(nb, &v, &e);
      if (!cs) cs = ax_fill_(nb, (double)(v + 1), &e);
      if (cs) return raise_in(vm, b, cs, &e);
    }
  }
  ax_status st = ax_batch_norm(x, find_tensor(b, "running_mean"), find_tensor(b, "running_var"), find_tensor(b, "weight"),
                               find_tensor(b, "bias"), b->training, b->momentum, b->eps, out, &e);
  return st ? raise_in(vm, b, st, &e) : true;
}

static void same_pad(ax_layer *l, const ax_tensor *x, int64_t pad[4]) {
  for (int i = 0; i < 2; i++) {
    int64_t in = x->shape[2 + i], s = l->stride[i], k = l->ks[i], d = l->dil[i];
    int64_t outn = (in + s - 1) / s;
    int64_t total = (outn - 1) * s + (k - 1) * d + 1 - in;
    if (total < 0) total = 0;
    pad[i] = total / 2;
    pad[i + 2] = total - total / 2;
  }
}

/* Split heads: [B, T, D] -> [B, H, T, D/H]. */
static ax_status split_heads(ax_tensor *x, int64_t h, ax_tensor **out, ax_err *e) {
  int64_t s[4] = {x->shape[0], x->shape[1], h, x->shape[2] / h};
  ax_tensor *r = NULL;
  ax_status st = ax_reshape(x, s, 4, &r, e);
  if (!st) st = ax_transpose(r, 1, 2, out, e);
  ax_tensor_release(r);
  return st;
}

static bool mha_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor *ctx, ax_tensor *mask, ax_tensor **out) {
  ax_err e;
  ax_status st = AX_OK;
  char a[96];
  if (x->ndim != 3) return ax_vm_raise(vm, "shape", "attention '%s': input must be [B, T, D], got %s", l->name, ax_shape_str(x->shape, x->ndim, a, sizeof a));
  int64_t d = l->embed_dim;
  if (x->shape[2] != d)
    return ax_vm_raise(vm, "shape", "attention '%s': input has %lld features, expected %lld", l->name, (long long)x->shape[2], (long long)d);
  ax_tensor *src = ctx ? ctx : x;
  ax_tensor *w = find_tensor(l, "in_proj_weight"), *b = find_tensor(l, "in_proj_bias");
  ax_tensor *wq = NULL, *wk = NULL, *wv = NULL, *bq = NULL, *bk = NULL, *bv = NULL;
  ax_tensor *q = NULL, *k = NULL, *v = NULL, *qh = NULL, *kh = NULL, *vh = NULL, *o = NULL, *ot = NULL, *oc = NULL, *y = NULL;
  st = ax_narrow(w, 0, 0, d, &wq, &e);
  if (!st) st = ax_narrow(w, 0, d, d, &wk, &e);
  if (!st) st = ax_narrow(w, 0, 2 * d, d, &wv, &e);
  if (!st && b) st = ax_narrow(b, 0, 0, d, &bq, &e);
  if (!st && b) st = ax_narrow(b, 0, d, d, &bk, &e);
  if (!st && b) st = ax_narrow(b, 0, 2 * d, d, &bv, &e);
  if (!st) st = ax_nn_linear(x, wq, bq, &q, &e);
  if (!st) st = ax_nn_linear(src, wk, bk, &k, &e);
  if (!st) st = ax_nn_linear(src, wv, bv, &v, &e);
  if (!st) st = split_heads(q, l->heads, &qh, &e);
  if (!st) st = split_heads(k, l->heads, &kh, &e);
  if (!st) st = split_heads(v, l->heads, &vh, &e);
  if (!st && l->use_cache && !ctx) {
    /* incremental decoding: append this call's keys/values to the cache (along T) */
    if (l->cache_k) {
      ax_tensor *ks[2] = {l->cache_k, kh}, *vs[2] = {l->cache_v, vh}, *nk = NULL, *nv = NULL;
      st = ax_cat(ks, 2, 2, &nk, &e);
      if (!st) st = ax_cat(vs, 2, 2, &nv, &e);
      if (!st) {
        ax_tensor_release(kh);
        ax_tensor_release(vh);
        kh = ax_tensor_retain(nk);
        vh = ax_tensor_retain(nv);
        ax_tensor_release(l->cache_k);
        ax_tensor_release(l->cache_v);
        l->cache_k = nk;
        l->cache_v = nv;
      } else {
        ax_tensor_release(nk);
        ax_tensor_release(nv);
      }
    } else {
      l->cache_k = ax_tensor_retain(kh);
      l->cache_v = ax_tensor_retain(vh);
    }
  }
  ax_tensor *m = NULL;
  if (!st && mask) {
    /* a [B, S] mask (key padding: true = attend) broadcasts over heads and queries */
    if (mask->ndim == 2 && mask->shape[0] == x->shape[0] && mask->shape[1] == src->shape[1]) {
      int64_t ms[4] = {mask->shape[0], 1, 1, mask->shape[1]};
      st = ax_reshape(mask, ms, 4, &m, &e);
    } else {
      m = ax_tensor_retain(mask);
    }
  }
  if (!st) st = ax_nn_attention(qh, kh, vh, m, l->causal && !ctx, l->p, l->training, 0, &o, &e);
  if (!st) st = ax_transpose(o, 1, 2, &ot, &e);
  if (!st) {
    int64_t s[3] = {x->shape[0], x->shape[1], d};
    st = ax_reshape(ot, s, 3, &oc, &e);
  }
  ax_layer *op = sub(l, "out_proj");
  if (!st) st = ax_nn_linear(oc, find_tensor(op, "weight"), find_tensor(op, "bias"), &y, &e);
  ax_tensor *all[] = {wq, wk, wv, bq, bk, bv, q, k, v, qh, kh, vh, o, ot, oc, m};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ax_tensor_release(all[i]);
  if (st) {
    ax_tensor_release(y);
    return ax_raise_rt(vm, st, &e);
  }
  *out = y;
  return true;
}

static bool sub_linear(ax_vm *vm, ax_layer *s, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_status st = ax_nn_linear(x, find_tensor(s, "weight"), find_tensor(s, "bias"), out, &e);
  CHECK_RT(st, e);
  return true;
}

static bool sub_ln(ax_vm *vm, ax_layer *s, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_status st = ax_layer_norm(x, 1, find_tensor(s, "weight"), find_tensor(s, "bias"), s->eps, out, &e);
  CHECK_RT(st, e);
  return true;
}

static bool ffn_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor **out) {
  ax_tensor *h = NULL, *a = NULL, *d = NULL;
  ax_err e;
  if (!sub_linear(vm, sub(l, "linear1"), x, &h)) return false;
  bool ok = ax_apply_act(vm, l->ffn_act, AX_NIL, l->slope, h, &a);
  ax_tensor_release(h);
  if (!ok) return false;
  ax_status st = ax_nn_dropout(a, l->p, l->training, &d, &e);
  ax_tensor_release(a);
  CHECK_RT(st, e);
  ok = sub_linear(vm, sub(l, "linear2"), d, out);
  ax_tensor_release(d);
  return ok;
}

/* y = x + dropout(f(x)) */
static bool residual_add(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor *fx, ax_tensor **out) {
  ax_err e;
  ax_tensor *d = NULL;
  ax_status st = ax_nn_dropout(fx, l->p, l->training, &d, &e);
  if (!st) st = ax_add(x, d, out, &e);
  ax_tensor_release(d);
  CHECK_RT(st, e);
  return true;
}

static bool block_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor *mem, ax_tensor *mask, ax_tensor **out) {
  ax_layer *sa = sub(l, "self_attn"), *n1 = sub(l, "norm1"), *n2 = sub(l, "norm2"), *n3 = sub(l, "norm3");
  ax_layer *ca = sub(l, "multihead_attn");
  ax_layer ffn = *l;   /* the block's feed-forward uses linear1/linear2 with the block's activation */
  ffn.kind = AX_L_FFN;
  ax_tensor *cur = ax_tensor_retain(x), *t1 = NULL, *t2 = NULL, *t3 = NULL;
  bool ok = true;
#define STEP(expr) do { if (ok) ok = (expr); } while (0)
  /* self-attention */
  if (l->norm_first) {
    STEP(sub_ln(vm, n1, cur, &t1));
    STEP(mha_forward(vm, sa, t1, NULL, mask, &t2));
    STEP(residual_add(vm, l, cur, t2, &t3));
  } else {
    STEP(mha_forward(vm, sa, cur, NULL, mask, &t2));
    STEP(residual_add(vm, l, cur, t2, &t1));
    STEP(sub_ln(vm, n1, t1, &t3));
  }
  ax_tensor_release(cur); ax_tensor_release(t1); ax_tensor_release(t2);
  cur = t3; t1 = t2 = t3 = NULL;
  ax_layer *nf = n2;
  if (ok && ca) {
    if (!mem) {
      ax_tensor_release(cur);
      return ax_vm_raise(vm, "argument", "decoder_block '%s': call it with the encoder output: %s(x, memory)", l->name, l->name);
    }
    if (l->norm_first) {
      STEP(sub_ln(vm, n2, cur, &t1));
      STEP(mha_forward(vm, ca, t1, mem, NULL, &t2));
      STEP(residual_add(vm, l, cur, t2, &t3));
    } else {
      STEP(mha_forward(vm, ca, cur, mem, NULL, &t2));
      STEP(residual_add(vm, l, cur, t2, &t1));
      STEP(sub_ln(vm, n2, t1, &t3));
    }
    ax_tensor_release(cur); ax_tensor_release(t1); ax_tensor_release(t2);
    cur = t3; t1 = t2 = t3 = NULL;
    nf = n3;
  }
  if (l->norm_first) {
    STEP(sub_ln(vm, nf, cur, &t1));
    STEP(ffn_forward(vm, &ffn, t1, &t2));
    STEP(residual_add(vm, l, cur, t2, &t3));
  } else {
    STEP(ffn_forward(vm, &ffn, cur, &t2));
    STEP(residual_add(vm, l, cur, t2, &t1));
    STEP(sub_ln(vm, nf, t1, &t3));
  }
#undef STEP
  ax_tensor_release(cur); ax_tensor_release(t1); ax_tensor_release(t2);
  if (!ok) {
    ax_tensor_release(t3);
    return false;
  }
  *out = t3;
  return true;
}

/* One direction of one recurrent layer over x [B, T, I] -> [B, T, H]; h0/c0 [B, H] may be NULL (zeros). */
static ax_status rnn_dir(ax_layer *l, ax_tensor *x, int layer, int rev, ax_tensor *h0, ax_tensor *c0, ax_tensor **out,
                         ax_tensor **hn, ax_tensor **cn, ax_err *e) {
  char suf[32], nm[64];
  rnn_suffix(layer, rev, suf, sizeof suf);
  snprintf(nm, sizeof nm, "weight_ih%s", suf);
  ax_tensor *wih = find_tensor(l, nm);
  snprintf(nm, sizeof nm, "weight_hh%s", suf);
  ax_tensor *whh = find_tensor(l, nm);
  snprintf(nm, sizeof nm, "bias_ih%s", suf);
  ax_tensor *bih = find_tensor(l, nm);
  snprintf(nm, sizeof nm, "bias_hh%s", suf);
  ax_tensor *bhh = find_tensor(l, nm);
  int64_t b = x->shape[0], t = x->shape[1], h = l->hidden;
  ax_tensor *xp = NULL, *hcur = NULL, *ccur = NULL;
  ax_tensor **outs = ax_calloc((size_t)t, sizeof(ax_tensor *));
  if (!outs) return ax_err_set(e, AX_E_NOMEM, "%s: out of memory", ax_layer_kind_names[l->kind]);
  int64_t hs[2] = {b, h};
  ax_status st = ax_nn_linear(x, wih, bih, &xp, e);   /* all time steps at once: [B, T, G*H] */
  if (!st) {
    if (h0) hcur = ax_tensor_retain(h0);
    else st = ax_full_on(hs, 2, 0, x->dtype, x->storage->device, &hcur, e);
  }
  if (!st && l->kind == AX_L_LSTM) {
    if (c0) ccur = ax_tensor_retain(c0);
    else st = ax_full_on(hs, 2, 0, x->dtype, x->storage->device, &ccur, e);
  }
  for (int64_t s = 0; s < t && !st; s++) {
    int64_t ti = rev ? t - 1 - s : s;
    ax_tensor *xt = NULL, *hp = NULL, *g = NULL, *hn_t = NULL;
    st = ax_select(xp, 1, ti, &xt, e);
    if (!st) st = ax_nn_linear(hcur, whh, bhh, &hp, e);
    if (!st && l->kind == AX_L_RNN) {
      st = ax_add(xt, hp, &g, e);
      if (!st) st = ax_tanh(g, &hn_t, e);
    } else if (!st && l->kind == AX_L_LSTM) {
      ax_tensor *gs = NULL, *i = NULL, *f = NULL, *gg = NULL, *o = NULL, *si = NULL, *sf = NULL, *tg = NULL, *so = NULL;
      ax_tensor *fc = NULL, *ig = NULL, *cnew = NULL, *tc = NULL;
      st = ax_add(xt, hp, &gs, e);
      if (!st) st = ax_narrow(gs, 1, 0, h, &i, e);
      if (!st) st = ax_narrow(gs, 1, h, h, &f, e);
      if (!st) st = ax_narrow(gs, 1, 2 * h, h, &gg, e);
      if (!st) st = ax_narrow(gs, 1, 3 * h, h, &o, e);
      if (!st) st = ax_sigmoid(i, &si, e);
      if (!st) st = ax_sigmoid(f, &sf, e);
      if (!st) st = ax_tanh(gg, &tg, e);
      if (!st) st = ax_sigmoid(o, &so, e);
      if (!st) st = ax_mul(sf, ccur, &fc, e);
      if (!st) st = ax_mul(si, tg, &ig, e);
      if (!st) st = ax_add(fc, ig, &cnew, e);
      if (!st) st = ax_tanh(cnew, &tc, e);
      if (!st) st = ax_mul(so, tc, &hn_t, e);
      if (!st) {
        ax_tensor_release(ccur);
        ccur = cnew;
        cnew = NULL;
      }
      ax_tensor *all[] = {gs, i, f, gg, o, si, sf, tg, so, fc, ig, cnew, tc};
      for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) ax_tensor_release(all[k]);
    } else if (!st) {
      /* GRU (PyTorch): r, z from x and h; n = tanh(x_n + r * (W_hn h + b_hn)); h = (1 - z) n + z h */
      ax_tensor *xr = NULL, *xz = NULL, *xn = NULL, *hr = NULL, *hz = NULL, *hnn = NULL;
      ax_tensor *r = NULL, *z = NULL, *ar = NULL, *az = NULL, *rh = NULL, *an = NULL, *n = NULL;
      ax_tensor *one = NULL, *omz = NULL, *p1 = NULL, *p2 = NULL;
      st = ax_narrow(xt, 1, 0, h, &xr, e);
      if (!st) st = ax_narrow(xt, 1, h, h, &xz, e);
      if (!st) st = ax_narrow(xt, 1, 2 * h, h, &xn, e);
      if (!st) st = ax_narrow(hp, 1, 0, h, &hr, e);
      if (!st) st = ax_narrow(hp, 1, h, h, &hz, e);
      if (!st) st = ax_narrow(hp, 1, 2 * h, h, &hnn, e);
      if (!st) st = ax_add(xr, hr, &ar, e);
      if (!st) st = ax_sigmoid(ar, &r, e);
      if (!st) st = ax_add(xz, hz, &az, e);
      if (!st) st = ax_sigmoid(az, &z, e);
      if (!st) st = ax_mul(r, hnn, &rh, e);
      if (!st) st = ax_add(xn, rh, &an, e);
      if (!st) st = ax_tanh(an, &n, e);
      if (!st) st = ax_scalar_f64(1.0, &one, e);
      if (!st) st = ax_sub(one, z, &omz, e);
      if (!st) st = ax_mul(omz, n, &p1, e);
      if (!st) st = ax_mul(z, hcur, &p2, e);
      if (!st) st = ax_add(p1, p2, &hn_t, e);
      ax_tensor *all[] = {xr, xz, xn, hr, hz, hnn, r, z, ar, az, rh, an, n, one, omz, p1, p2};
      for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) ax_tensor_release(all[k]);
    }
    ax_tensor_release(xt);
    ax_tensor_release(hp);
    ax_tensor_release(g);
    if (!st) {
      ax_tensor_release(hcur);
      hcur = hn_t;
      outs[ti] = ax_tensor_retain(hn_t);
    } else {
      ax_tensor_release(hn_t);
    }
  }
  if (!st) st = ax_stack(outs, (int)t, 1, out, e);
  for (int64_t s = 0; s < t; s++) ax_tensor_release(outs[s]);
  ax_free(outs, sizeof(ax_tensor *) * (size_t)t);
  ax_tensor_release(xp);
  if (st) {
    ax_tensor_release(hcur);
    ax_tensor_release(ccur);
    return st;
  }
  *hn = hcur;
  *cn = ccur;
  return AX_OK;
}

static bool rnn_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor **out) {
  ax_err e;
  ax_status st = AX_OK;
  char a[96];
  if (x->ndim != 3) return ax_vm_raise(vm, "shape", "%s '%s': input must be 3-d, got %s", ax_layer_kind_names[l->kind], l->name, ax_shape_str(x->shape, x->ndim, a, sizeof a));
  ax_tensor *cur = NULL;
  if (!l->batch_first) st = ax_transpose(x, 0, 1, &cur, &e);
  else cur = ax_tensor_retain(x);
  int dirs = l->bidirectional ? 2 : 1;
  ax_tensor *hs[AX_RNN_MAX_STACK] = {0}, *cs[AX_RNN_MAX_STACK] = {0};
  int nh = 0;
  for (int layer = 0; layer < l->nlayers && !st; layer++) {
    ax_tensor *ys[2] = {0};
    for (int d = 0; d < dirs && !st; d++) {
      if (nh >= AX_RNN_MAX_STACK) { st = ax_err_set(&e, AX_E_VALUE, "%s: too many layers", ax_layer_kind_names[l->kind]); break; }
      /* with generate()'s cache the state carries over from the previous call (one new token at a time) */
      ax_tensor *h0 = NULL, *c0 = NULL;
      if (l->use_cache && l->h_n && l->h_n->shape[0] > nh && l->h_n->shape[1] == cur->shape[0]) {
        st = ax_select(l->h_n, 0, nh, &h0, &e);
        if (!st && l->c_n) st = ax_select(l->c_n, 0, nh, &c0, &e);
      }
      if (!st) st = rnn_dir(l, cur, layer, d, h0, c0, &ys[d], &hs[nh], &cs[nh], &e);
      ax_tensor_release(h0);
      ax_tensor_release(c0);
      if (!st) nh++;
    }
    ax_tensor *y = NULL;
    if (!st) st = dirs == 2 ? ax_cat(ys, 2, 2, &y, &e) : (y = ax_tensor_retain(ys[0]), AX_OK);
    ax_tensor_release(ys[0]);
    ax_tensor_release(ys[1]);
    if (!st && l->p > 0 && layer + 1 < l->nlayers) {
      ax_tensor *dy = NULL;
      st = ax_nn_dropout(y, l->p, l->training, &dy, &e);
      ax_tensor_release(y);
      y = dy;
    }
    ax_tensor_release(cur);
    cur = y;
  }
  if (!st && !l->batch_first) {
    ax_tensor *t = NULL;
    st = ax_transpose(cur, 0, 1, &t, &e);
    ax_tensor_release(cur);
    cur = t;
  }
  if (!st) {
    ax_tensor *hn = NULL, *cn = NULL;
    st = ax_stack(hs, nh, 0, &hn, &e);
    if (!st && l->kind == AX_L_LSTM) st = ax_stack(cs, nh, 0, &cn, &e);
    ax_tensor_release(l->h_n);
    ax_tensor_release(l->c_n);
    l->h_n = hn;
    l->c_n = cn;
  }
  for (int i = 0; i < nh; i++) {
    ax_tensor_release(hs[i]);
    ax_tensor_release(cs[i]);
  }
  if (st) {
    ax_tensor_release(cur);
    return ax_raise_rt(vm, st, &e);
  }
  *out = cur;
  return true;
}

bool ax_layer_forward(ax_vm *vm, ax_layer *l, ax_tensor *x, ax_tensor *ctx, ax_tensor *mask, ax_tensor **out) {
  ax_err e;
  ax_status st = AX_OK;
  char a[96], b[96];
  if (l->kind == AX_L_INPUT && l->input_nd) {
    if (x->ndim != l->input_nd + 1 || memcmp(x->shape + 1, l->input_shape, sizeof(int64_t) * (size_t)l->input_nd))
      return ax_vm_raise(vm, "shape", "input '%s': expected [batch] + %s, got %s", l->name,
                         ax_shape_str(l->input_shape, l->input_nd, a, sizeof a), ax_shape_str(x->shape, x->ndim, b, sizeof b));
  }
  if (!l->built && !ax_layer_build(vm, l, x->shape, x->ndim)) return false;
  ax_tensor *y = NULL;
  bool ok = true;
  switch (l->kind) {
  case AX_L_INPUT:
  case AX_L_IDENTITY: y = ax_tensor_retain(x); break;
  case AX_L_DENSE: {
    ok = dense_forward(vm, l, x, &y);
    if (ok && l->bn) {
      ax_tensor *t = NULL;
      ok = bn_forward(vm, sub(l, "bn"), y, &t);
      ax_tensor_release(y);
      y = t;
    }
    break;
  }
  case AX_L_CONV2D:
  case AX_L_CONVT2D: {
    if (x->ndim != 4)
      return ax_vm_raise(vm, "shape", "%s '%s': input must be [N, C, H, W], got %s", ax_layer_kind_names[l->kind], l->name,
                         ax_shape_str(x->shape, x->ndim, a, sizeof a));
    ax_tensor *w = find_tensor(l, "weight");
    int64_t cin = l->kind == AX_L_CONV2D ? w->shape[1] * l->groups : w->shape[0];
    if (x->shape[1] != cin)
      return ax_vm_raise(vm, "shape", "%s '%s': input has %lld channels, expected %lld", ax_layer_kind_names[l->kind],
                         l->name, (long long)x->shape[1], (long long)cin);
    int64_t pad[4];
    memcpy(pad, l->pad, sizeof pad);
    if (l->pad_same) same_pad(l, x, pad);
    if (l->kind == AX_L_CONV2D) {
      st = ax_conv2d(x, w, find_tensor(l, "bias"), l->stride, pad, l->dil, l->groups, &y, &e);
    } else {
      int64_t p2[2] = {pad[0], pad[1]};
      st = ax_conv_transpose2d(x, w, find_tensor(l, "bias"), l->stride, p2, l->opad, l->dil, l->groups, &y, &e);
    }
    if (st) return raise_in(vm, l, st, &e);
    if (l->bn) {
      ax_tensor *t = NULL;
      ok = bn_forward(vm, sub(l, "bn"), y, &t);
      ax_tensor_release(y);
      y = t;
    }
    break;
  }
  case AX_L_MAXPOOL:
  case AX_L_AVGPOOL: {
    int64_t p2[2] = {l->pad[0], l->pad[1]}, d1[2] = {1, 1};
    st = l->kind == AX_L_MAXPOOL ? ax_max_pool2d(x, l->ks, l->stride, p2, d1, l->ceil_mode, &y, &e)
                                 : ax_avg_pool2d(x, l->ks, l->stride, p2, l->ceil_mode, l->count_include_pad, &y, &e);
    break;
  }
  case AX_L_GAP: {
    int64_t dims[2] = {2, 3}, d1[1] = {1};
    if (x->ndim == 4) st = ax_mean(x, dims, 2, 0, &y, &e);
    else if (x->ndim == 3) st = ax_mean(x, d1, 1, 0, &y, &e);
    else return ax_vm_raise(vm, "shape", "global_avg_pool '%s': input must be [N, C, H, W] or [N, T, C], got %s", l->name,
                            ax_shape_str(x->shape, x->ndim, a, sizeof a));
    break;
  }
  case AX_L_MEANPOOL: {
    int64_t d1[1] = {1};
    st = ax_mean(x, d1, 1, 0, &y, &e);
    break;
  }
  case AX_L_ADAPTIVE: st = ax_adaptive_avg_pool2d(x, l->out_size[0], l->out_size[1], &y, &e); break;
  case AX_L_BATCHNORM: ok = bn_forward(vm, l, x, &y); break;
  case AX_L_LAYERNORM: st = ax_layer_norm(x, 1, find_tensor(l, "weight"), find_tensor(l, "bias"), l->eps, &y, &e); break;
  case AX_L_RMSNORM: st = ax_nn_rms_norm(x, 1, find_tensor(l, "weight"), l->eps, &y, &e); break;
  case AX_L_GROUPNORM: st = ax_nn_group_norm(x, l->num_groups, find_tensor(l, "weight"), find_tensor(l, "bias"), l->eps, &y, &e); break;
  case AX_L_INSTANCENORM:
    st = ax_nn_group_norm(x, x->ndim >= 2 ? x->shape[1] : 1, find_tensor(l, "weight"), find_tensor(l, "bias"), l->eps, &y, &e);
    break;
  case AX_L_DROPOUT: st = ax_nn_dropout(x, l->p, l->training, &y, &e); break;
  case AX_L_FLATTEN: st = ax_flatten(x, 1, -1, &y, &e); break;
  case AX_L_EMBEDDING:
    st = ax_nn_embedding(x, find_tensor(l, "weight"), &y, &e);
    if (!st && l->padding_idx >= 0) {
      /* as nn.Embedding: the padding_idx row gets no gradient (its output rows are detached) */
      ax_tensor *pad = NULL, *is_pad = NULL, *m = NULL, *det = NULL, *r = NULL;
      st = ax_scalar_i64(l->padding_idx, &pad, &e);
      if (!st) st = ax_eq(x, pad, &is_pad, &e);
      if (!st) st = ax_unsqueeze(is_pad, -1, &m, &e);
      if (!st) st = ax_detach(y, &det, &e);
      if (!st) st = ax_where(m, det, y, &r, &e);
      ax_tensor_release(pad);
      ax_tensor_release(is_pad);
      ax_tensor_release(m);
      ax_tensor_release(det);
      if (!st) {
        ax_tensor_release(y);
        y = r;
      }
    }
    break;
  case AX_L_POSENC: {
    if (x->ndim < 2) return ax_vm_raise(vm, "shape", "positional_encoding '%s': input must be [B, T, D], got %s", l->name, ax_shape_str(x->shape, x->ndim, a, sizeof a));
    int64_t t = x->shape[x->ndim - 2], d = x->shape[x->ndim - 1];
    if (l->embed_dim && d != l->embed_dim)
      return ax_vm_raise(vm, "shape", "positional_encoding '%s': input has %lld features, expected %lld", l->name,
                         (long long)d, (long long)l->embed_dim);
    /* with a key/value cache the positions continue after the cached ones */
    int64_t off = l->use_cache ? l->cache_pos : 0;
    if (t + off > l->max_len)
      return ax_vm_raise(vm, "shape", "positional_encoding '%s': sequence of %lld positions is longer than max_len %lld",
                         l->name, (long long)(t + off), (long long)l->max_len);
    if (l->rotary) {
      st = ax_nn_rotary(x, 10000, off, &y, &e);
    } else {
      ax_tensor *table = NULL, *part = NULL, *tc = NULL;
      if (l->learned) st = ax_narrow(find_tensor(l, "weight"), 0, off, t, &part, &e);
      else {
        st = ax_nn_positional_table(t + off, d, x->storage->device, &table, &e);
        if (!st) st = ax_narrow(table, 0, off, t, &part, &e);
      }
      if (!st) st = ax_cast(part, x->dtype, &tc, &e);
      if (!st) st = ax_add(x, tc, &y, &e);
      ax_tensor_release(table);
      ax_tensor_release(part);
      ax_tensor_release(tc);
    }
    if (!st && l->use_cache) l->cache_pos = off + t;   /* the next call continues here */
    break;
  }
  case AX_L_ATTENTION: ok = mha_forward(vm, l, x, ctx, mask, &y); break;
  case AX_L_FFN: ok = ffn_forward(vm, l, x, &y); break;
  case AX_L_ENCODER:
  case AX_L_DECODER: ok = block_forward(vm, l, x, ctx, mask, &y); break;
  case AX_L_RNN:
  case AX_L_LSTM:
  case AX_L_GRU: ok = rnn_forward(vm, l, x, &y); break;
  default: return ax_vm_raise(vm, "network", "layer '%s': kind %d cannot run", l->name, (int)l->kind);
  }
  if (st) {
    ax_tensor_release(y);
    return raise_in(vm, l, st, &e);
  }
  if (!ok) {
    ax_tensor_release(y);
    return false;
  }
  if (l->residual) {
    if (y->ndim == x->ndim && !memcmp(y->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim)) {
      ax_tensor *r = NULL;
      st = ax_add(y, x, &r, &e);
      ax_tensor_release(y);
      if (st) return ax_raise_rt(vm, st, &e);
      y = r;
    } else {
      ax_tensor_release(y);
      return ax_vm_raise(vm, "shape", "layer '%s': residual: needs the output %s to match the input %s", l->name,
                         ax_shape_str(y->shape, y->ndim, a, sizeof a), ax_shape_str(x->shape, x->ndim, b, sizeof b));
    }
  }
  ax_tensor *z = NULL;
  ok = apply_tail(vm, l, y, &z);
  ax_tensor_release(y);
  if (!ok) return false;
  l->in_nd = x->ndim;
  memcpy(l->in_shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  l->out_nd = z->ndim;
  memcpy(l->out_shape, z->shape, sizeof(int64_t) * (size_t)z->ndim);
  *out = z;
  return true;
}

/* ---- visiting tensors ---- */

bool ax_layer_visit_tensors(ax_layer *l, const char *prefix, ax_layer_visit visit, void *ud) {
  char name[256];
  for (int i = 0; i < l->nparams; i++) {
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", l->params[i].name);
    if (!visit(ud, name, l->params[i].t, 0)) return false;
  }
  for (int i = 0; i < l->nbuffers; i++) {
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", l->buffers[i].name);
    if (!visit(ud, name, l->buffers[i].t, 1)) return false;
  }
  for (int i = 0; i < l->nsubs; i++) {
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", l->subs[i]->name);
    if (!ax_layer_visit_tensors(l->subs[i], name, visit, ud)) return false;
  }
  return true;
}

static bool count_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  (void)name;
  if (!is_buffer) *(int64_t *)ud += ax_numel(t);
  return true;
}

int64_t ax_layer_param_count(ax_layer *l) {
  int64_t n = 0;
  ax_layer_visit_tensors(l, "", count_visit, &n);
  return n;
}

/* ---- the layer as a script value ---- */

typedef struct {
  ax_layer *l;
  ax_value owner;   /* a sub-layer's value (Net.enc.self_attn) borrows l and keeps its owner alive */
} layer_box;

static void lb_finalize(ax_vm *vm, void *data) {
  layer_box *b = data;
  if (AX_IS_NIL(b->owner)) ax_layer_free(b->l);
  ax_free(b, sizeof *b);
}

static void lb_mark(ax_vm *vm, void *data) {
  layer_box *b = data;
  ax_vm_mark_value(vm, b->owner);
  ax_layer_mark(vm, b->l);
}

ax_layer *ax_value_layer(ax_value v) {
  layer_box *b = ax_foreign_data(v, &ax_layer_class);
  return b ? b->l : NULL;
}

bool ax_layer_value(ax_vm *vm, ax_layer *l, ax_value *out) {
  layer_box *b = ax_calloc(1, sizeof *b);
  if (!b) {
    ax_layer_free(l);
    return ax_vm_oom(vm);
  }
  b->l = l;
  b->owner = AX_NIL;
  *out = ax_foreign_new(vm, &ax_layer_class, b);
  if (AX_IS_NIL(*out)) {
    ax_layer_free(l);
    ax_free(b, sizeof *b);
    return false;
  }
  return true;
}

/* A value showing sub-layer l of the layer value owner (not owning l). */
static bool sub_value(ax_vm *vm, ax_value owner, ax_layer *l, ax_value *out) {
  layer_box *b = ax_calloc(1, sizeof *b);
  if (!b) return ax_vm_oom(vm);
  b->l = l;
  b->owner = owner;
  ax_vm_push_root(vm, owner);
  *out = ax_foreign_new(vm, &ax_layer_class, b);
  ax_vm_pop_root(vm, 1);
  if (AX_IS_NIL(*out)) {
    ax_free(b, sizeof *b);
    return false;
  }
  return true;
}

static int lb_call(ax_vm *vm, ax_value self, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_layer *l = ax_value_layer(self);
  if (argc < 1 || argc > 2)
    return ax_vm_raise(vm, "argument", "layer '%s' takes an input (and for attention/decoders a context)", l->name) ? AX_HOOK_OK : AX_HOOK_ERR;
  ax_tensor *x = NULL, *ctx = NULL, *mask = NULL;
  ax_value mv;
  if (!ax_value_to_tensor(vm, l->name, args[0], AX_NDTYPES, &x)) return AX_HOOK_ERR;
  if (argc > 1 && !AX_IS_NIL(args[1]) && !ax_value_to_tensor(vm, l->name, args[1], AX_NDTYPES, &ctx)) {
    ax_tensor_release(x);
    return AX_HOOK_ERR;
  }
  if (ax_kw_get(kw, "mask", &mv) && !AX_IS_NIL(mv) && !ax_value_to_tensor(vm, l->name, mv, AX_NDTYPES, &mask)) {
    ax_tensor_release(x);
    ax_tensor_release(ctx);
    return AX_HOOK_ERR;
  }
  ax_tensor *y = NULL;
  bool dbg = ax_debug_attached(vm);   /* a layer called directly (pulse methods): vm/debug.c */
  bool ok = !dbg || ax_debug_layer(vm, AX_DEBUG_LAYER_ENTER, NULL, l->name, l, x);
  ok = ok && ax_layer_forward(vm, l, x, ctx, mask, &y);
  if (dbg && !ax_debug_layer(vm, ok ? AX_DEBUG_LAYER_EXIT : AX_DEBUG_LAYER_ABORT, NULL, l->name, l, ok ? y : NULL) && ok) {
    ax_tensor_release(y);
    ok = false;
  }
  ax_tensor_release(x);
  ax_tensor_release(ctx);
  ax_tensor_release(mask);
  if (!ok) return AX_HOOK_ERR;
  return ax_push_tensor(vm, y, out) ? AX_HOOK_OK : AX_HOOK_ERR;
}

static ax_tensor *find_dotted(ax_layer *l, const char *name) {
  ax_tensor *t = find_tensor(l, name);
  if (t) return t;
  const char *dot = strchr(name, '.');
  if (!dot) return NULL;
  char head[128];
  size_t n = (size_t)(dot - name);
  if (n >= sizeof head) return NULL;
  memcpy(head, name, n);
  head[n] = 0;
  ax_layer *s = sub(l, head);
  return s ? find_dotted(s, dot + 1) : NULL;
}

static int lb_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  ax_layer *l = ax_value_layer(self);
  const char *n = name->chars;
  ax_tensor *t = find_dotted(l, n);
  if (t) return ax_push_tensor(vm, ax_tensor_retain(t), out) ? AX_HOOK_OK : AX_HOOK_ERR;
  ax_layer *sl = sub(l, n);
  if (sl) return sub_value(vm, self, sl, out) ? AX_HOOK_OK : AX_HOOK_ERR;
  if (!strcmp(n, "kind")) { *out = ax_str_value(vm, ax_layer_kind_names[l->kind]); return AX_HOOK_OK; }
  if (!strcmp(n, "name")) { *out = ax_str_value(vm, l->name); return AX_HOOK_OK; }
  if (!strcmp(n, "training")) { *out = ax_bool(l->training); return AX_HOOK_OK; }
  if (!strcmp(n, "h_n")) {
    if (!l->h_n) { *out = AX_NIL; return AX_HOOK_OK; }
    return ax_push_tensor(vm, ax_tensor_retain(l->h_n), out) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  if (!strcmp(n, "c_n")) {
    if (!l->c_n) { *out = AX_NIL; return AX_HOOK_OK; }
    return ax_push_tensor(vm, ax_tensor_retain(l->c_n), out) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  if (!strcmp(n, "output_shape") || !strcmp(n, "input_shape")) {
    int nd = n[0] == 'o' ? l->out_nd : l->in_nd;
    const int64_t *s = n[0] == 'o' ? l->out_shape : l->in_shape;
    ax_list *lst = ax_list_new(vm, nd);
    if (!lst) return AX_HOOK_ERR;
    for (int i = 0; i < nd; i++)
      if (!ax_list_push(vm, lst, ax_int(s[i]))) return AX_HOOK_ERR;
    *out = ax_obj_value(lst);
    return AX_HOOK_OK;
  }
  if (!strcmp(n, "params")) {
    /* l.params is a list of the layer's parameter tensors (methods on networks; a field here) */
    ax_list *lst = ax_list_new(vm, 8);
    if (!lst) return AX_HOOK_ERR;
    ax_vm_push_root(vm, ax_obj_value(lst));
    bool ok = true;
    for (int i = 0; i < l->nparams && ok; i++) {
      ax_value v;
      ok = ax_push_tensor(vm, ax_tensor_retain(l->params[i].t), &v) && ax_list_push(vm, lst, v);
    }
    ax_vm_pop_root(vm, 1);
    *out = ax_obj_value(lst);
    return ok ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  return AX_HOOK_MISSING;
}

static bool lb_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  ax_layer *l = ax_value_layer(self);
  ax_string *s = ax_str_fmt(vm, "<layer %s (%s), %lld parameters>", l->name, ax_layer_kind_names[l->kind],
                            (long long)ax_layer_param_count(l));
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_layer_class = {
  .name = "layer",
  .finalize = lb_finalize,
  .mark = lb_mark,
  .tostring = lb_tostring,
  .get_field = lb_get_field,
  .call = lb_call,
};
