/* runtime/ax_error.c — filling ax_err records (see ax_error.h). */
#include "ax_error.h"

#include <stdarg.h>
#include <stdio.h>

ax_status ax_err_set(ax_err *err, ax_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

const char *ax_status_name(ax_status code) {
  switch (code) {
  case AX_OK: return "ok";
  case AX_E_SHAPE: return "shape error";
  case AX_E_DTYPE: return "dtype error";
  case AX_E_DEVICE: return "device error";
  case AX_E_NOMEM: return "out of memory";
  case AX_E_VALUE: return "value error";
  case AX_E_INDEX: return "index error";
  case AX_E_IO: return "io error";
  case AX_E_FORMAT: return "format error";
  case AX_E_UNSUPPORTED: return "unsupported";
  case AX_E_INTERRUPT: return "interrupted";
  case AX_E_LIMIT: return "limit exceeded";
  case AX_E_RUNTIME: return "runtime error";
  }
  return "error";
}
