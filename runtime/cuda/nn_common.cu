/* runtime/cuda/nn_common.cu — the helpers of nn.cuh: dtype checks, contiguous packing, index
** downloads and the CPU-0-d-input wrapper every neural row on the device goes through.
** Invariant: on failure nothing is left allocated and the outputs are NULL. */
#include "nn.cuh"

ax_status cu_nn_float_inputs(const char *op, ax_tensor *const *in, int nin, ax_err *err) {
  ax_dtype dt = in[0]->dtype;
  if (dt != AX_FLOAT32 && dt != AX_FLOAT64)
    return ax_err_set(err, AX_E_DTYPE, "%s: input must be float32 or float64, got %s", op, ax_dtype_name(dt));
  for (int i = 1; i < nin; i++)
    if (in[i] && in[i]->dtype != dt && (in[i]->dtype == AX_FLOAT32 || in[i]->dtype == AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: input is %s but argument %d is %s", op, ax_dtype_name(dt), i + 1,
                        ax_dtype_name(in[i]->dtype));
  return AX_OK;
}

void cu_nn_release(ax_tensor **t, int n) {
  for (int i = 0; i < n; i++) {
    ax_tensor_release(t[i]);
    t[i] = NULL;
  }
}

ax_status cu_nn_packed(ax_cuda_ctx *c, ax_tensor *const *in, int n, ax_dtype dt, ax_tensor **p, ax_err *err) {
  for (int i = 0; i < n; i++) p[i] = NULL;
  for (int i = 0; i < n; i++) {
    ax_status s = AX_OK;
    if (!in[i]) continue;
    if (in[i]->dtype == dt && ax_is_contiguous(in[i])) {
      p[i] = ax_tensor_retain(in[i]);
    } else if (!(s = cu_new(in[i]->shape, in[i]->ndim, dt, &p[i], err))) {
      s = cu_copy_into(c, p[i], in[i], err);
    }
    if (s) {
      cu_nn_release(p, i + 1);
      return s;
    }
  }
  return AX_OK;
}

ax_status cu_nn_download_i64(ax_cuda_ctx *c, const char *op, const ax_tensor *t, int64_t **out, int64_t *n, ax_err *err) {
  *out = NULL;
  *n = ax_numel(t);
  ax_tensor *packed = NULL;
  ax_tensor *const in[1] = {(ax_tensor *)t};
  ax_status s = cu_nn_packed(c, in, 1, AX_INT64, &packed, err);
  if (s) return s;
  size_t nb = sizeof(int64_t) * (size_t)(*n ? *n : 1);
  int64_t *h = (int64_t *)ax_malloc(nb);
  if (!h) s = ax_err_set(err, AX_E_NOMEM, "%s: out of memory for %lld indices", op, (long long)*n);
  else if (*n && (s = cu_download(c, h, CU_P(int64_t, packed), sizeof(int64_t) * (size_t)*n, err))) ax_free(h, nb);
  ax_tensor_release(packed);
  if (!s) *out = h;
  return s;
}

#define CU_NN_MAXIN 8

ax_status cu_nn_run(cu_nn_body body, ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, int nout,
                    ax_err *err) {
  if (nin > CU_NN_MAXIN) return ax_err_set(err, AX_E_VALUE, "cuda: %d inputs are more than a neural row takes", nin);
  ax_cuda_ctx *c;
  ax_tensor *in[CU_NN_MAXIN];
  ax_status s = cu_ctx(&c, err);
  if (s || (s = cu_inputs(in0, nin, in, err))) return s;
  s = body(c, in, nin, at, out, err);
  cu_inputs_free(in, nin);
  if (s) cu_nn_release(out, nout);
  return s;
}
