/* tests/parse/parsetest.c — anx_parsetest: parse one file, print the AST dump or the diagnostics.
** Usage: anx_parsetest [-q] [-i] FILE ("-" reads stdin). Exit 0 when it parses, 65 on errors.
** -q prints nothing on success, -i appends "incomplete: 0|1" (the REPL continuation flag). */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit(void *ud, const char *s) { fputs(s, (FILE *)ud); }

static char *read_all(FILE *f, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) { free(buf); return NULL; }
      buf = nb;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    if (k == 0) break;
    n += k;
  }
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  int quiet = 0, incomplete = 0;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-q") == 0) quiet = 1;
    else if (strcmp(argv[i], "-i") == 0) incomplete = 1;
    else path = argv[i];
  }
  if (!path) {
    fprintf(stderr, "usage: anx_parsetest [-q] [-i] FILE\n");
    return 2;
  }
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) { perror(path); return 2; }
  size_t len = 0;
  char *src = read_all(f, &len);
  if (f != stdin) fclose(f);
  if (!src) { fprintf(stderr, "out of memory\n"); return 2; }

  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  ax_arena *arena = ax_arena_new();
  ax_diags diags = {0};
  ax_node *prog = arena ? ax_parse(arena, name, src, len, &diags) : NULL;
  int rc = 0;
  if (!arena || (!prog && diags.n == 0)) printf("%s: out of memory\n", name);
  if (prog) {
    if (!quiet) ax_ast_dump(prog, 0, emit, stdout);
  } else {
    rc = 65;
    for (int i = 0; i < diags.n; i++) {
      char out[1024];
      ax_diag_format(out, sizeof out, diags.items[i].file, src, len, diags.items[i].line,
                     diags.items[i].col, "error", diags.items[i].msg);
      fputs(out, stdout);
    }
  }
  if (incomplete) printf("incomplete: %d\n", diags.incomplete);
  ax_diags_free(&diags);
  ax_arena_free(arena);
  free(src);
  return rc;
}
