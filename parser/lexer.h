/* parser/lexer.h — state shared by one parse: the re2c lexer (lexer/anx.re), the Bison parser
** (grammar/anx.y) and the driver (parser/parse.c). Internal to anx_front, not for the VM.
** Invariant: cur never passes lim, and buf[len] is a NUL sentinel (the source may hold NULs). */
#ifndef AX_LEXER_H
#define AX_LEXER_H

#include "anx_parser.h"
#include "ast.h"

#define AX_MAX_ERRORS 50   /* after this many diagnostics the parse stops */

typedef struct {
  int ch, line, col;       /* '(' '[' or '{' and where it was opened */
} ax_bracket;

typedef struct {
  int kind;                /* Bison token kind (T_* or a character) */
  const char *file;        /* the parse's file name (arena copy) */
  int line, col, end_line, end_col;   /* end_col: one past the last byte */
  const char *text;        /* source slice, for messages */
  size_t textlen;
  ax_node *node;           /* NAME / INT / FLOAT / STRING node for literals and names */
  int nl;                  /* a newline (or a multi-line comment) came before it */
} ax_token;

struct ax_parser {
  ax_arena *arena;
  ax_diags *diags;
  const char *file;        /* arena copy */
  const char *buf;         /* NUL-terminated copy of the source */
  size_t len;
  const unsigned char *cur, *lim, *tok, *line_start;
  int line;
  int nl_seen;

  ax_bracket br[AX_MAX_NESTING];
  int depth;
  ax_token pending;        /* the real token held back behind an automatic TERM */
  int has_pending;
  int last_kind;           /* last token handed to the parser (0 at the start) */
  int last_end_line, last_end_col;

  /* the parser's current lookahead, for error messages */
  int cur_kind, cur_auto;  /* cur_auto: a TERM made by a newline, '}' or the end */
  const char *cur_text;
  size_t cur_textlen;
  ax_bracket ctx;          /* innermost open bracket before the lookahead (ch 0: none) */

  /* error recovery: a '}' the parser throws away while resyncing on TERM is given back behind a
  ** TERM, so `neuron\n}` does not swallow the network's closing brace (once per brace) */
  ax_token close_tok;      /* the last '}' handed out */
  int close_depth;         /* bracket depth before it */
  int brace_replay;
  const char *replayed_at;

  int fatal;               /* stop: nesting limit, too many errors or out of memory */
  int oom;
  int at_eof;              /* the lexer has reached the end of the input */
  int eof_incomplete;      /* the input ended where more text could complete it */
  int hard_errors;         /* errors that more input could not fix */
  int nerrors;             /* diagnostics added by this parse */
  ax_node *program;
};

int ax_yylex(AX_YYSTYPE *lval, AX_YYLTYPE *lloc, ax_parser *P);
void ax_lex_init(ax_parser *P);
/* Add a diagnostic; hard = 0 for errors caused by the end of the input (REPL: ask for more). */
void ax_perror(ax_parser *P, int hard, int line, int col, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));
void ax_arena_set_file(ax_arena *arena, const char *file);
/* A syntax error at the '}' just handed out: recovery will drop it unless a `'{' error '}'` rule
** takes it (those actions clear brace_replay); the next ax_yylex then gives back TERM and '}'. */
void ax_lex_brace_discarded(ax_parser *P);

#endif
