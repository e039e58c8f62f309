/* parser/parse.c — ax_parse: runs the lexer and the Bison parser over one source text.
** Copies the source behind a NUL sentinel, then checks the depth of the finished tree.
** Invariant: a non-NULL result means no diagnostics and a tree no deeper than AX_MAX_AST_DEPTH. */
#include "lexer.h"

#include <ax_mem.h>
#include <string.h>

/* Depth of the tree, stopping at the first node past the limit (so recursion stays bounded). */
static const ax_node *too_deep(const ax_node *n, int depth) {
  if (!n) return NULL;
  if (depth > AX_MAX_AST_DEPTH) return n;
  const ax_node *kids[3] = {n->a, n->b, n->c};
  for (int i = 0; i < 3; i++) {
    const ax_node *d = too_deep(kids[i], depth + 1);
    if (d) return d;
  }
  const ax_nodelist *lists[2] = {&n->list, &n->list2};
  for (int l = 0; l < 2; l++)
    for (int i = 0; i < lists[l]->n; i++) {
      const ax_node *d = too_deep(lists[l]->items[i], depth + 1);
      if (d) return d;
    }
  return NULL;
}

ax_node *ax_parse(ax_arena *arena, const char *file, const char *src, size_t len, ax_diags *diags) {
  ax_parser P;
  memset(&P, 0, sizeof P);
  int before = diags->n;
  diags->incomplete = 0;
  if (!file) file = "<input>";
  P.arena = arena;
  P.diags = diags;
  P.file = ax_arena_strdup(arena, file, strlen(file));
  char *buf = NULL;
  if (P.file) {
    ax_arena_set_file(arena, P.file);
    buf = len < SIZE_MAX ? ax_malloc(len + 1) : NULL;
  }
  if (!buf) {
    ax_diags_add(diags, P.file ? P.file : "?", 1, 1, "out of memory");
    return NULL;
  }
  if (len) memcpy(buf, src, len);
  buf[len] = '\0';
  P.buf = buf;
  P.len = len;
  P.last_end_line = 1;
  P.last_end_col = 1;
  ax_lex_init(&P);

  int rc = ax_yyparse(&P);
  ax_free(buf, len + 1);

  if (P.oom || rc == 2) {
    if (!(rc == 2 && P.fatal && !P.oom)) ax_diags_add(diags, P.file, P.line, 1, "out of memory");
    return NULL;
  }
  if (diags->n == before && rc == 0 && P.program) {
    const ax_node *d = too_deep(P.program, 1);
    if (d) {
      ax_diags_add(diags, P.file, d->line, d->col,
                   "expression nested too deeply (more than %d levels)", AX_MAX_AST_DEPTH);
      return NULL;
    }
    return P.program;
  }
  if (diags->n == before) ax_diags_add(diags, P.file, P.line, 1, "syntax error");
  diags->incomplete = P.eof_incomplete && P.hard_errors == 0;
  return NULL;
}
