/* tests/fuzz/fuzz_parse.c — libFuzzer target: bytes -> lexer + parser (ax_parse) -> compiler
** (ax_compile) -> disassembler, plus the caret formatter on every diagnostic. Nothing is run.
** Invariant: one VM per process (as the REPL keeps one); each input gets a fresh module that the
** GC reclaims, so an input's outcome does not depend on the ones before it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anx.h"
#include "ast.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"
#include "fuzz_common.h"

static anx_vm *vm;
static FILE *devnull;
static unsigned long runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!vm) {
    vm = anx_vm_new();
    devnull = fopen("/dev/null", "w");
    if (!vm || !devnull) abort();
  }
  ax_arena *arena = ax_arena_new();
  if (!arena) abort();
  ax_diags diags = {0};
  ax_node *prog = ax_parse(arena, "fuzz.anx", (const char *)data, size, &diags);
  if (prog && diags.n == 0) {
    ax_string *name = ax_str_cstr(vm, "fuzz.anx");
    ax_module *m = name ? ax_module_new(vm, name) : NULL;
    if (m) {
      vm->main_module = m;
      ax_compile_opts opts = {(int)(size & 1)};   /* odd sizes compile in REPL mode */
      ax_proto *p = ax_compile(vm, m, prog, "fuzz.anx", &opts, &diags);
      if (p) ax_disasm_proto(vm, p, devnull);
      vm->main_module = NULL;
    }
  }
  for (int i = 0; i < diags.n; i++) {
    char out[4096];
    ax_diag_format(out, sizeof out, "fuzz.anx", (const char *)data, size, diags.items[i].line,
                   diags.items[i].col, "error", diags.items[i].msg);
  }
  ax_diags_free(&diags);
  ax_arena_free(arena);
  ax_vm_reset(vm);
  if (++runs % 64 == 0) ax_gc_collect(vm);   /* keep the heap small without a GC per input */
  return 0;
}
