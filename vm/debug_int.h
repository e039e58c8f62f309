/* vm/debug_int.h — state shared by the debugger's files: vm/debug.c (the VM and layer hooks,
** evaluation, stops) and vm/debug_cmd.c (commands and the driver).
** Invariant: one ax_debugger per `anx debug` session; vm->debugger points at it while a program runs. */
#ifndef AX_DEBUG_INT_H
#define AX_DEBUG_INT_H

#include "debug.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"
#include "lib_tensor.h"
#include "net.h"
#include "net_layer.h"

ax_proto *ax_vm_compile_source(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                               bool repl, bool quiet, bool *incomplete);
int ax_vm_finish(ax_vm *vm, bool ok);
char *ax_read_file(const char *path, size_t *len);

#define MAX_BPS 256
#define MAX_DISPLAYS 32
#define MAX_LAYERS 64      /* nested layer frames shown by backtrace */
#define TRACK_SLOTS 4096   /* tensor -> creation line (memory) */
#define PROF_LINES 4096

typedef enum { BP_LINE, BP_FUNC, BP_LAYER } bp_kind;

typedef struct {
  int id;
  bp_kind kind;
  char *file;      /* BP_LINE: NULL = the main script */
  int line;
  char *name;      /* function or layer name */
  bool at_exit;    /* BP_LAYER: after the layer */
  char *cond;      /* NULL: always */
  bool enabled, temp;
  int hits;
} bp;

typedef struct {
  int id;
  char *expr;
  bool watch;      /* watch: stop when the printed value changes */
  char *last;      /* watch: last printed value */
} display;

typedef struct {
  const char *net, *member;
  ax_layer *l;
  int vm_depth;            /* vm->nframes when the layer was entered */
  int64_t in_shape[AX_MAX_DIMS];
  int in_nd;
  double t0;
  size_t mem0;
} layer_frame;

typedef enum { M_CONT, M_STEP, M_NEXT, M_FINISH, M_UNTIL } run_mode;

typedef struct { const void *t; int line; } track_slot;
typedef struct { const char *key; double secs; long calls; size_t alloc; } prof_layer;

typedef struct ax_debugger {
  ax_vm *vm;
  const char *file;
  char *src;               /* the script as read at start (list before run) */
  size_t srclen;
  int argc;
  char **argv;
  const anx_policy *policy;   /* applied to every VM the program runs in (NULL: none) */
  const char *device;         /* anx --device for those VMs (NULL: the CPU) */
  FILE *in;
  bool tty, echo;
  char last_cmd[512];
  /* program state */
  bool running, stopped_once;
  enum { END_NONE, END_KILL, END_RESTART, END_QUIT } end;
  run_mode mode;
  int mode_depth, until_line;
  bool pause_req;
  int depth;               /* frames seen at the last step */
  int *lines;              /* per frame depth: the line last reported */
  int *pcs;                /* per frame depth: the pc last seen */
  bool native_stop;        /* stopped inside a native (layer, backward): callers' ip is past the call */
  ax_proto *row_proto;     /* cached line-table row of the innermost frame */
  int row_depth, row_lo, row_hi, row_line;
  bool evaluating, quiet;
  int sel;                 /* selected frame (0 = innermost, layers included) */
  /* finish */
  ax_value ret_val;
  bool have_ret;
  /* breakpoints, displays, watches */
  bp bps[MAX_BPS];
  int nbps, next_id;
  display disp[MAX_DISPLAYS];
  int ndisp, next_disp;
  /* layers */
  layer_frame layers[MAX_LAYERS];
  int nlayers;
  layer_frame last_layer;  /* the last layer that finished (for `layer` after a stop past it) */
  bool have_last_layer;
  int64_t last_out_shape[AX_MAX_DIMS];
  int last_out_nd;
  /* catch nan */
  bool catch_nan;
  const void *last_checked;
  int backward_depth;      /* a backward() call is under way at this depth (0: none) */
  /* memory tracking */
  track_slot track[TRACK_SLOTS];
  const void *last_top;
  /* profile */
  bool profiling;
  double prof_t, prof_lines_t[PROF_LINES];
  long prof_lines_n[PROF_LINES];
  size_t prof_lines_alloc[PROF_LINES], prof_mem, prof_peak;
  int prof_line;
  prof_layer prof_layers[128];
  int nprof_layers;
} dbg;

typedef struct { double min, max, mean, std, norm; int64_t nan, inf, n; } tstats;

/* shared helpers (vm/debug.c, except ax_dbg_sel_vm_frame and ax_dbg_cmd_loop: vm/debug_cmd.c) */
void ax_dbg_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double ax_dbg_now(void);
char *ax_dbg_dupstr(const char *s);
const char *ax_dbg_skip_ws(const char *s);
const char *ax_dbg_base_name(const char *p);
bool ax_dbg_source_line(ax_module *m, int line, char *buf, size_t n);
int ax_dbg_frame_pc(ax_vm *vm, int i);
ax_value ax_dbg_local_value(ax_frame *f, const ax_locvar *lv);
int ax_dbg_frame_line(ax_vm *vm, int i);
void ax_dbg_value_text(ax_vm *vm, ax_value v, char *buf, size_t n, size_t maxlen);
void ax_dbg_tensor_head(const ax_tensor *t, char *buf, size_t n);
bool ax_dbg_tensor_stats(const ax_tensor *t, tstats *s);
void ax_dbg_print_tensor(ax_vm *vm, const char *label, ax_value v, const ax_tensor *t);
void ax_dbg_print_value(ax_vm *vm, const char *label, ax_value v);
bool ax_dbg_eval_sel(dbg *d, const char *src, ax_value *res);
void ax_dbg_print_frame_head(dbg *d, int fi);
void ax_dbg_print_source_line(ax_module *m, int line);
void ax_dbg_do_displays(dbg *d);
void ax_dbg_delete_bp_at(dbg *d, int i);
int ax_dbg_cur_line(dbg *d);
int ax_dbg_tracked_line(dbg *d, const void *t);
void ax_dbg_prof_account(dbg *d);
void ax_dbg_layer_title(layer_frame *lf, char *buf, size_t n);
int ax_dbg_sel_vm_frame(dbg *d, int *layer_idx);
void ax_dbg_cmd_loop(dbg *d);

#endif
