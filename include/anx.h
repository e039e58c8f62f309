/* include/anx.h — the public embedding API of anx (the only header an embedder needs).
** A VM holds one interpreter: its prelude, loaded modules and the main module's globals.
** Invariant: functions never exit or abort; they return an exit-style status. */
#ifndef ANX_H
#define ANX_H

#include <stddef.h>

#define ANX_VERSION "0.1.0"

typedef struct ax_vm anx_vm;

/* Status codes double as process exit codes (sysexits style, as the CLI uses them). */
enum {
  ANX_OK = 0,
  ANX_COMPILE_ERROR = 65,
  ANX_RUNTIME_ERROR = 70,
  ANX_INTERRUPTED = 130
};

anx_vm *anx_vm_new(void);                 /* NULL when out of memory */
void anx_vm_free(anx_vm *vm);

/* Script arguments returned by os.args() (argv[0] is the first argument after the file). */
int anx_vm_set_args(anx_vm *vm, int argc, char **argv);

/* Run a file / a string as the main module.  Errors are printed to stderr as
** "file:line:col: error: message", the source line, a caret and a stack trace. */
int anx_vm_run_file(anx_vm *vm, const char *path);
int anx_vm_run_string(anx_vm *vm, const char *name, const char *src, size_t len);

/* Parse and compile only (anx --check); with disasm != 0 print the bytecode to stdout. */
int anx_vm_check_file(anx_vm *vm, const char *path, int disasm);

/* `anx --explain`: networks report their layer kinds and shapes as they are built. */
void anx_vm_set_explain(anx_vm *vm, int on);

/* The default device (anx --device, ANX_DEVICE): tensor creation functions without device:, network
** parameters and the batches train()/evaluate()/infer() feed a network go there. "cpu" (the
** default), "cuda", "cuda:N". ANX_OK; 64 (usage) for a name that is no device; 70 when the device
** cannot be used (no GPU, a build without the CUDA backend); the reason is printed to stderr. */
int anx_vm_set_device(anx_vm *vm, const char *name);

/* Limits and the sandbox for untrusted scripts (anx --max-steps, --sandbox, --allow-read,
** --allow-write; docs/security.md). The strings must outlive the VM (the CLI passes argv). */
typedef struct {
  long long max_steps;              /* backward jumps + calls before "step limit of N exceeded"; 0: none */
  int sandbox;                      /* 1: files only under the directories below; no environment */
  const char *const *allow_read;    /* directories a script may read (and list) below */
  int nallow_read;
  const char *const *allow_write;   /* directories a script may write below (and read) */
  int nallow_write;
} anx_policy;

/* Apply p before running anything. ANX_OK, or 64 (usage) with the reason printed to stderr when a
** directory does not exist or memory ran out. */
int anx_vm_set_policy(anx_vm *vm, const anx_policy *p);

/* Interactive read-eval-print loop on stdin (libedit on a terminal, plain lines otherwise). */
int anx_repl(anx_vm *vm);

/* Ask a running script to stop (safe to call from a signal handler): it unwinds with
** "interrupted" and the run returns ANX_INTERRUPTED. */
void anx_interrupt(void);

#endif
