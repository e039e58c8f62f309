/* lexer/anx.re — the re2c lexer of anx: tokens with line/col, literals, comments, statement ends.
** scan() finds the next raw token; ax_yylex() adds automatic TERMs, keyword-as-name and brackets.
** Invariant: every token handed to the parser went through bracket tracking exactly once. */
#include "lexer.h"

#include <ax_mem.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL(P, p) ((int)((p) - (P)->line_start) + 1)

void ax_perror(ax_parser *P, int hard, int line, int col, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (hard) P->hard_errors++;
  if (++P->nerrors > AX_MAX_ERRORS) {
    if (!P->fatal) ax_diags_add(P->diags, P->file, line, col, "too many errors; stopping");
    P->fatal = 1;
    P->hard_errors++;
    return;
  }
  if (ax_diags_add(P->diags, P->file, line, col, "%s", msg) != 0) {
    P->oom = 1;
    P->fatal = 1;
  }
}

static ax_node *lex_node(ax_parser *P, ax_node_kind kind, int line, int col) {
  ax_node *n = ax_node_new(P->arena, kind, line, col);
  if (!n) {
    P->oom = 1;
    P->fatal = 1;
  }
  return n;
}

static void newline_at(ax_parser *P, const unsigned char *after) {
  P->line++;
  P->line_start = after;
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int hex_val(unsigned c) { return is_digit(c) ? (int)c - '0' : (int)(c | 0x20) - 'a' + 10; }
static int is_word(unsigned c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* ---- numbers: 42 1_000 0xff 3.14 .5 1e-3; a number glued to letters or a second '.5' is bad ---- */

/* Digits with single '_' between them; returns the count of digits read. */
static int digits(const unsigned char **pp, int hex) {
  const unsigned char *p = *pp;
  int n = 0;
  while (hex ? is_hex(*p) : is_digit(*p)) {
    p++;
    n++;
    if (*p == '_' && (hex ? is_hex(p[1]) : is_digit(p[1]))) p++;
  }
  *pp = p;
  return n;
}

static int scan_number(ax_parser *P, ax_token *t) {
  const unsigned char *s = P->tok, *p = s;
  int is_float = 0, bad = 0;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    p += 2;
    if (!digits(&p, 1)) bad = 1;
  } else {
    digits(&p, 0);
    if (*p == '.' && is_digit(p[1])) {
      p++;
      digits(&p, 0);
      is_float = 1;
    }
    if (*p == 'e' || *p == 'E') {
      const unsigned char *q = p + 1;
      if (*q == '+' || *q == '-') q++;
      if (is_digit(*q)) {
        p = q;
        digits(&p, 0);
        is_float = 1;
      } else {
        bad = 1;
      }
    }
  }
  if (is_word(*p) || (*p == '.' && is_digit(p[1]))) bad = 1;
  if (bad) {
    while (is_word(*p) || (*p == '.' && is_digit(p[1])) ||
           ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E') && p[-2] != 'x' && p[-2] != 'X'))
      p++;
  }
  P->cur = p;
  t->text = (const char *)s;
  t->textlen = (size_t)(p - s);
  int len = (int)(t->textlen > 40 ? 40 : t->textlen);
  if (bad) {
    ax_perror(P, 1, t->line, t->col, "malformed number '%.*s%s'", len, (const char *)s,
              t->textlen > 40 ? "..." : "");
  }
  if (is_float) {
    char clean[512];
    size_t n = 0;
    for (const unsigned char *q = s; q < p && n + 1 < sizeof clean; q++)
      if (*q != '_') clean[n++] = (char)*q;
    clean[n] = '\0';
    double v = bad ? 0.0 : strtod(clean, NULL);
    if (!bad && (isinf(v) || t->textlen >= sizeof clean)) {
      ax_perror(P, 1, t->line, t->col, "float literal out of range");
      v = 0.0;
    }
    t->node = lex_node(P, AX_N_FLOAT, t->line, t->col);
    if (t->node) t->node->fval = v;
    return T_FLOAT;
  }
  uint64_t v = 0;
  int over = 0;
  if (!bad) {
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    for (const unsigned char *q = s + (hex ? 2 : 0); q < p; q++) {
      if (*q == '_') continue;
      uint64_t d = (uint64_t)hex_val(*q), base = hex ? 16 : 10;
      if (v > (INT64_MAX - d) / base) { over = 1; break; }
      v = v * base + d;
    }
    if (over) ax_perror(P, 1, t->line, t->col, "integer literal too large");
  }
  t->node = lex_node(P, AX_N_INT, t->line, t->col);
  if (t->node) t->node->ival = over || bad ? 0 : (int64_t)v;
  return T_INT;
}

/* ---- strings: "..." or '...' with \n \t \r \0 \\ \" \' \u{...}; may span lines ---- */

/* Length of a valid UTF-8 sequence at p (< end), or 0 when invalid. */
static int utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  int n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (end - p < n) return 0;
  for (int i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

static size_t utf8_encode(char *out, uint32_t cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int scan_string(ax_parser *P, ax_token *t) {
  const unsigned char *s = P->tok, *p = s + 1, *end;
  unsigned char q = s[0];
  /* pass 1: find the closing quote */
  while (p < P->lim && *p != q) p += (*p == '\\' && p + 1 < P->lim) ? 2 : 1;
  if (p >= P->lim) {
    P->at_eof = 1;
    P->eof_incomplete = 1;
    ax_perror(P, 0, t->line, t->col, "unterminated string");
    P->fatal = 1;
    P->cur = P->lim;
    return T_AX_YYerror;
  }
  end = p;
  P->cur = end + 1;
  /* pass 2: decode into the arena; the result is never longer than the source */
  char *out = ax_arena_alloc(P->arena, (size_t)(end - s));
  if (!out) {
    P->oom = P->fatal = 1;
    return T_AX_YYerror;
  }
  size_t n = 0;
  int bad_utf8 = 0;
  for (p = s + 1; p < end;) {
    unsigned c = *p;
    if (c == '\\') {
      int line = P->line, col = COL(P, p);
      unsigned e = p[1];
      p += 2;
      switch (e) {
      case 'n': out[n++] = '\n'; break;
      case 't': out[n++] = '\t'; break;
      case 'r': out[n++] = '\r'; break;
      case '0': out[n++] = '\0'; break;
      case '\\': out[n++] = '\\'; break;
      case '"': out[n++] = '"'; break;
      case '\'': out[n++] = '\''; break;
      case 'u': {
        uint32_t cp = 0;
        int nd = 0, ok = *p == '{';
        if (ok) {
          p++;
          while (p < end && is_hex(*p) && nd < 7) { cp = cp * 16 + (uint32_t)hex_val(*p); p++; nd++; }
          ok = p < end && *p == '}' && nd >= 1 && nd <= 6 && cp <= 0x10FFFF &&
               !(cp >= 0xD800 && cp <= 0xDFFF);
          if (p < end && *p == '}') p++;
        }
        if (ok) {
          n += utf8_encode(out + n, cp);   /* \u{X} is at least 5 bytes, UTF-8 at most 4 */
        } else {
          ax_perror(P, 1, line, col, "invalid unicode escape (write \\u{hex}, up to 10FFFF)");
        }
        break;
      }
      default:
        if (e == '\n') {
          newline_at(P, p);
          ax_perror(P, 1, line, col, "invalid escape sequence: '\\' at the end of a line");
        } else if (e >= 0x21 && e < 0x7f) {
          ax_perror(P, 1, line, col, "invalid escape sequence '\\%c'", (char)e);
        } else {
          ax_perror(P, 1, line, col, "invalid escape sequence");
        }
        break;
      }
      continue;
    }
    if (c < 0x80) {
      out[n++] = (char)c;
      p++;
      if (c == '\n') newline_at(P, p);
      continue;
    }
    int k = utf8_len(p, end);
    if (k == 0) {
      if (!bad_utf8) ax_perror(P, 1, P->line, COL(P, p), "invalid UTF-8 in string literal");
      bad_utf8 = 1;
      p++;
      continue;
    }
    memcpy(out + n, p, (size_t)k);
    n += (size_t)k;
    p += k;
  }
  t->text = (const char *)s;
  t->textlen = (size_t)(P->cur - s);
  t->node = lex_node(P, AX_N_STRING, t->line, t->col);
  if (t->node) {
    t->node->str = out;
    t->node->len = n;
  }
  return T_STRING;
}

/* ---- comments ---- */

static void line_comment(ax_parser *P) {
  const unsigned char *p = P->cur;
  while (p < P->lim && *p != '\n') p++;
  P->cur = p;
}

static void block_comment(ax_parser *P, int line, int col) {
  const unsigned char *p = P->cur;
  int multi = 0;
  for (; p < P->lim; p++) {
    if (*p == '\n') {
      newline_at(P, p + 1);
      multi = 1;
    } else if (*p == '*' && p + 1 < P->lim && p[1] == '/') {
      P->cur = p + 2;
      if (multi) P->nl_seen = 1;   /* a comment spanning lines ends a statement like a newline */
      return;
    }
  }
  P->cur = P->lim;
  P->at_eof = 1;
  P->eof_incomplete = 1;
  ax_perror(P, 0, line, col, "unterminated comment");
  P->fatal = 1;
}

static int bad_char(ax_parser *P, ax_token *t) {
  const unsigned char *p = P->tok;
  unsigned c = *p;
  if (c >= 0x80) {
    int k = utf8_len(p, P->lim);
    if (k > 1) {
      P->cur = p + k;
      ax_perror(P, 1, t->line, t->col, "unexpected character '%.*s'", k, (const char *)p);
    } else {
      P->cur = p + 1;
      ax_perror(P, 1, t->line, t->col, "invalid UTF-8 byte 0x%02x", c);
    }
  } else if (c == 0) {
    ax_perror(P, 1, t->line, t->col, "unexpected NUL byte");
  } else if (c < 0x20 || c == 0x7f) {
    ax_perror(P, 1, t->line, t->col, "unexpected control character 0x%02x", c);
  } else {
    ax_perror(P, 1, t->line, t->col, "unexpected character '%c'", (char)c);
  }
  return T_AX_YYerror;
}

/* The raw scanner. Sets t->kind, position, text; t->node for literals. */
static void scan(ax_parser *P, ax_token *t) {
  const unsigned char *YYMARKER = NULL;
  int kind;
  for (;;) {
    P->tok = P->cur;
    t->file = P->file;
    t->line = P->line;
    t->col = COL(P, P->tok);
    t->node = NULL;
    /*!re2c
      re2c:define:YYCTYPE = "unsigned char";
      re2c:define:YYCURSOR = "P->cur";
      re2c:define:YYLIMIT = "P->lim";
      re2c:yyfill:enable = 0;
      re2c:eof = 0;

      $ { kind = T_YYEOF; break; }
      [ \t\r\f\v]+ { continue; }
      "\n" { newline_at(P, P->cur); P->nl_seen = 1; continue; }
      "#" | "//" { line_comment(P); continue; }
      "/*" { block_comment(P, t->line, t->col); if (P->fatal) { kind = T_YYEOF; break; } continue; }

      "let" { kind = T_LET; break; }
      "var" { kind = T_VAR; break; }
      "synap" { kind = T_SYNAP; break; }
      "fn" { kind = T_FN; break; }
      "neuro" { kind = T_NEURO; break; }
      "function" { kind = T_FUNCTION; break; }
      "network" { kind = T_NETWORK; break; }
      "neuron" { kind = T_NEURON; break; }
      "layer" { kind = T_LAYER; break; }
      "pulse" { kind = T_PULSE; break; }
      "if" { kind = T_IF; break; }
      "else" { kind = T_ELSE; break; }
      "while" { kind = T_WHILE; break; }
      "for" { kind = T_FOR; break; }
      "in" { kind = T_IN; break; }
      "break" { kind = T_BREAK; break; }
      "continue" { kind = T_CONTINUE; break; }
      "return" { kind = T_RETURN; break; }
      "import" { kind = T_IMPORT; break; }
      "from" { kind = T_FROM; break; }
      "as" { kind = T_AS; break; }
      "and" { kind = T_AND; break; }
      "or" { kind = T_OR; break; }
      "not" { kind = T_NOT; break; }
      "true" { kind = T_TRUE; break; }
      "false" { kind = T_FALSE; break; }
      "nil" | "null" { kind = T_NIL; break; }
      "self" { kind = T_SELF; break; }
      "try" { kind = T_TRY; break; }
      "catch" { kind = T_CATCH; break; }
      "throw" { kind = T_THROW; break; }
      [A-Za-z_][A-Za-z0-9_]* { kind = T_IDENT; break; }

      [0-9] | "." [0-9] { P->cur = P->tok; kind = scan_number(P, t); goto done; }
      ["'] { kind = scan_string(P, t); goto done; }

      "**" { kind = T_POW; break; }
      "+=" { kind = T_PLUSEQ; break; }
      "-=" { kind = T_MINUSEQ; break; }
      "*=" { kind = T_STAREQ; break; }
      "/=" { kind = T_SLASHEQ; break; }
      "->" { kind = T_ARROW; break; }
      "=>" { kind = T_FATARROW; break; }
      "==" { kind = T_EQ; break; }
      "!=" { kind = T_NE; break; }
      "<=" { kind = T_LE; break; }
      ">=" { kind = T_GE; break; }
      "&&" { kind = T_AND; break; }
      "||" { kind = T_OR; break; }
      "!" { kind = T_NOT; break; }
      ".." { kind = T_DOTDOT; break; }
      ";" { kind = T_TERM; break; }
      [-+*/%@<>=.,:()[\]{}?] { kind = P->tok[0]; break; }

      * { kind = bad_char(P, t); break; }
    */
  }
  t->text = (const char *)P->tok;
  t->textlen = (size_t)(P->cur - P->tok);
done:
  (void)YYMARKER;
  t->kind = kind;
  t->end_line = P->line;
  t->end_col = COL(P, P->cur);
}

/* ---- the cooked layer: what the parser sees ---- */

static int is_keyword(int k) { return k >= T_LET && k <= T_THROW; }

/* Tokens after which a newline ends the statement (LANGUAGE.md section 1). */
static int can_end(int k) {
  switch (k) {
  case T_IDENT: case T_INT: case T_FLOAT: case T_STRING: case ')': case ']': case '}':
  case T_BREAK: case T_CONTINUE: case T_RETURN: case T_TRUE: case T_FALSE: case T_NIL: case T_SELF:
  case T_AX_YYerror:   /* a bad character: its line still ends, so recovery resyncs right there */
    return 1;
  default:
    return 0;
  }
}

/* A line starting with one of these continues the previous one. */
static int continues(int k) { return k == '.' || k == T_ARROW || k == T_ELSE || k == T_AND || k == T_OR; }

/* Input ending right after this token is unfinished (the REPL asks for more): no TERM follows
** it, so the next line would continue the statement (`x = 1 +`, `f(a,`, `for x in`, `else`). */
static int wants_more(int k) { return k != 0 && k != T_TERM && k != T_AX_YYerror && !can_end(k); }

static int closer_of(int open) { return open == '(' ? ')' : open == '[' ? ']' : '}'; }

/* After a keyword: is the next thing (spaces allowed) a single ':'? */
static int colon_follows(const ax_parser *P) {
  const unsigned char *p = P->cur;
  while (p < P->lim && (*p == ' ' || *p == '\t')) p++;
  return p < P->lim && *p == ':' && (p + 1 >= P->lim || p[1] != ':');
}

void ax_lex_brace_discarded(ax_parser *P) {
  /* only the '}' just handed out, only if it closed a bracket, and only once */
  if (P->last_kind == '}' && P->close_tok.text && P->cur_text == P->close_tok.text &&
      P->replayed_at != P->close_tok.text)
    P->brace_replay = 1;
}

void ax_lex_init(ax_parser *P) {
  P->cur = (const unsigned char *)P->buf;
  P->lim = P->cur + P->len;
  P->line_start = P->cur;
  P->line = 1;
  if (P->len >= 3 && memcmp(P->buf, "\xEF\xBB\xBF", 3) == 0) P->cur += 3;   /* UTF-8 BOM */
}

int ax_yylex(AX_YYSTYPE *lval, AX_YYLTYPE *lloc, ax_parser *P) {
  ax_token t;
  int why = 0;   /* an automatic TERM: 'n' newline, '}' before a brace, 'e' end of input */
  memset(&t, 0, sizeof t);
  if (P->brace_replay && !P->fatal) {
    P->brace_replay = 0;
    P->replayed_at = P->close_tok.text;
    P->depth = P->close_depth;
    P->pending = P->close_tok;
    P->has_pending = 1;
    why = '}';
    t.kind = T_TERM;
    t.line = t.end_line = P->last_end_line;
    t.col = t.end_col = P->last_end_col;
    t.text = "}";
    t.textlen = 1;
  } else if (P->fatal) {
    t.kind = T_YYEOF;
    t.line = t.end_line = P->last_end_line;
    t.col = t.end_col = P->last_end_col;
  } else if (P->has_pending) {
    t = P->pending;
    P->has_pending = 0;
  } else {
    P->nl_seen = 0;
    scan(P, &t);
    t.nl = P->nl_seen;
    if (P->fatal) {   /* nesting, unterminated string/comment, too many errors, OOM */
      t.kind = T_YYEOF;
    }
    if (is_keyword(t.kind) && t.textlen && is_word((unsigned char)t.text[0])) {
      int inner = P->depth ? P->br[P->depth - 1].ch : 0;
      if (P->last_kind == '.' || (inner != '[' && colon_follows(P))) t.kind = T_IDENT;
    }
    if (t.kind == T_IDENT) {
      t.node = lex_node(P, AX_N_NAME, t.line, t.col);
      if (t.node) {
        t.node->name = ax_arena_strdup(P->arena, t.text, t.textlen);
        if (!t.node->name) P->oom = P->fatal = 1;
      }
    }
    if (t.kind == T_YYEOF) {
      /* the end sits right after the last token, so its messages point at real text */
      t.line = t.end_line = P->last_end_line;
      t.col = t.end_col = P->last_end_col;
      if (!P->at_eof && (P->depth > 0 || wants_more(P->last_kind))) P->eof_incomplete = 1;
      P->at_eof = 1;
    }
    /* automatic statement end (LANGUAGE.md section 1) */
    if (can_end(P->last_kind) && !P->fatal) {
      int inner = P->depth ? P->br[P->depth - 1].ch : 0;
      if (inner == '(' || inner == '[') why = 0;
      else if (t.kind == T_YYEOF) why = 'e';
      else if (t.nl && !continues(t.kind)) why = 'n';
      else if (t.kind == '}') why = '}';
      if (why) {
        P->pending = t;
        P->has_pending = 1;
        memset(&t, 0, sizeof t);
        t.kind = T_TERM;
        t.line = t.end_line = P->last_end_line;
        t.col = t.end_col = P->last_end_col;
        t.text = why == '}' ? "}" : why == 'e' ? "" : "\n";
        t.textlen = 1;
      }
    }
  }

  /* brackets: nesting limit, context for messages */
  P->ctx.ch = 0;
  if (P->depth) P->ctx = P->br[P->depth - 1];
  switch (t.kind) {
  case '(': case '[': case '{':
    if (P->depth >= AX_MAX_NESTING) {
      ax_perror(P, 1, t.line, t.col, "nesting too deep: more than %d open brackets", AX_MAX_NESTING);
      P->fatal = 1;
      t.kind = T_YYEOF;
      break;
    }
    P->br[P->depth].ch = t.kind;
    P->br[P->depth].line = t.line;
    P->br[P->depth].col = t.col;
    P->depth++;
    break;
  case ')': case ']': case '}': {
    /* A closer shuts its bracket and any left open inside it. `(1]` is taken as a typo: reported
    ** here and handed to the parser as the right closer, so both agree and recovery stays in
    ** step. A stray ')' or ']' in a block leaves the '{' open (the parser reports it). */
    int i = P->depth - 1;
    while (i >= 0 && closer_of(P->br[i].ch) != t.kind) i--;
    if (i >= 0) {
      if (t.kind == '}') {
        P->close_tok = t;
        P->close_depth = P->depth;
      }
      P->depth = i;
    } else if (P->depth && P->br[P->depth - 1].ch != '{' && t.kind != '}') {
      ax_bracket *b = &P->br[--P->depth];
      ax_perror(P, 1, t.line, t.col, "unexpected '%c': expected '%c' (to close '%c' at line %d)",
                t.kind, closer_of(b->ch), b->ch, b->line);
      t.kind = closer_of(b->ch);
    }
    break;
  }
  default:
    break;
  }

  if (t.kind != T_YYEOF && !why) {
    P->last_end_line = t.end_line;
    P->last_end_col = t.end_col;
  }
  t.file = P->file;
  P->last_kind = t.kind;
  P->cur_kind = t.kind;
  P->cur_auto = why;
  P->cur_text = t.text;
  P->cur_textlen = t.textlen;
  lloc->first_line = t.line;
  lloc->first_column = t.col;
  lloc->last_line = t.end_line;
  lloc->last_column = t.end_col;
  lval->node = t.node;
  return t.kind;
}
