/* vm/debug.h — the step debugger (`anx debug FILE`, the REPL's `:debug FILE`).
** The VM calls ax_debug_step (vm/ax_vmint.h) before each instruction while a debugger is attached;
** networks report layer entry/exit through ax_debug_layer. Both are no-ops when none is attached. */
#ifndef AX_DEBUG_H
#define AX_DEBUG_H

#include <stdbool.h>
#include <stdio.h>

#include "anx.h"
#include "ax_vm.h"

struct ax_layer;
struct ax_tensor;

/* Runs the debugger on a script: commands from `commands` (a file; NULL: stdin, with libedit when
** it is a terminal); policy (NULL: none) is applied to every run's VM (--max-steps, --sandbox), and
** so is device (anx --device; NULL: the CPU). Returns the process exit code (0; 64 usage; 66 unreadable). */
int ax_debug_main(const char *file, int argc, char **argv, const char *commands, const anx_policy *policy,
                  const char *device);

/* The REPL's `:debug FILE [ARGS]`: split args on blanks and run ax_debug_main on stdin. */
int ax_debug_args(const char *args, const anx_policy *policy, const char *device);

/* true while a debugger is attached to vm (cheap: one load). */
bool ax_debug_attached(ax_vm *vm);

/* Layer events from networks: phase 0 = entry (t: its input), 1 = exit (t: its output),
** 2 = the forward failed (t: NULL). net may be NULL (a layer called directly). false: raise. */
enum { AX_DEBUG_LAYER_ENTER, AX_DEBUG_LAYER_EXIT, AX_DEBUG_LAYER_ABORT };
bool ax_debug_layer(ax_vm *vm, int phase, const char *net, const char *member, struct ax_layer *l,
                    struct ax_tensor *t);

#endif
