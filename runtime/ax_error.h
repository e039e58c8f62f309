/* runtime/ax_error.h — status codes and the error record every runtime function fills.
** The runtime never exits, aborts or longjmps: a function returns an ax_status and, when it is
** not AX_OK, has written a one-line message ("matmul: shape mismatch [32, 64] @ [32, 10]"). */
#ifndef AX_ERROR_H
#define AX_ERROR_H

typedef enum {
  AX_OK = 0,
  AX_E_SHAPE,        /* shapes do not fit the op */
  AX_E_DTYPE,        /* dtype not supported or mismatched */
  AX_E_DEVICE,       /* tensors on different devices, or device not available */
  AX_E_NOMEM,        /* an allocation could not be satisfied */
  AX_E_VALUE,        /* bad argument value */
  AX_E_INDEX,        /* index out of range */
  AX_E_IO,           /* file could not be read or written */
  AX_E_FORMAT,       /* a file is corrupt, truncated or of the wrong kind */
  AX_E_UNSUPPORTED,  /* op has no kernel on this backend */
  AX_E_INTERRUPT,    /* interrupted by the user (Ctrl-C) */
  AX_E_LIMIT,        /* a configured limit (memory, size) was exceeded */
  AX_E_RUNTIME       /* anything else */
} ax_status;

typedef struct {
  ax_status code;
  char msg[512];
} ax_err;

/* Fill err (may be NULL) and return code, so callers write `return ax_err_set(e, AX_E_SHAPE, ...)`. */
ax_status ax_err_set(ax_err *err, ax_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *ax_status_name(ax_status code);   /* "shape error", "out of memory", ... */

#endif
