/* parser/ast.c — the AST arena, node constructors and the indented dump used by tests and --ast.
** The arena is a chain of chunks from ax_malloc; nodes and strings are bump-allocated and zeroed.
** Invariant: nothing allocated here is freed alone; ax_arena_free releases a whole parse. */
#include "ast.h"

#include <ax_mem.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ax_node_kind_names[AX_N__COUNT] = {
#define AX_X(k) #k,
  AX_NODE_KINDS(AX_X)
#undef AX_X
};

/* ---- arena ---- */

#define CHUNK_MIN ((size_t)64 * 1024)
#define ALIGN_UP(n) (((n) + (sizeof(max_align_t) - 1)) & ~(sizeof(max_align_t) - 1))

typedef struct chunk {
  struct chunk *next;
  size_t size, used;        /* bytes of data[] */
  max_align_t data[];
} chunk;

struct ax_arena {
  chunk *head;
  const char *file;         /* copy of the parsed file name (ax_parse) */
};

ax_arena *ax_arena_new(void) { return ax_calloc(1, sizeof(ax_arena)); }

void ax_arena_free(ax_arena *arena) {
  if (!arena) return;
  chunk *c = arena->head;
  while (c) {
    chunk *next = c->next;
    ax_free(c, sizeof(chunk) + c->size);
    c = next;
  }
  ax_free(arena, sizeof(ax_arena));
}

void *ax_arena_alloc(ax_arena *arena, size_t size) {
  if (!arena || size > SIZE_MAX / 4) return NULL;
  size = ALIGN_UP(size ? size : 1);
  chunk *c = arena->head;
  if (!c || c->size - c->used < size) {
    size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
    chunk *n = ax_malloc(sizeof(chunk) + cap);
    if (!n) return NULL;
    n->size = cap;
    n->used = 0;
    if (c && size > CHUNK_MIN) {
      /* a big block goes behind the head so the head's free space stays usable */
      n->next = c->next;
      c->next = n;
    } else {
      n->next = c;
      arena->head = n;
    }
    c = n;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *ax_arena_strdup(ax_arena *arena, const char *s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *p = ax_arena_alloc(arena, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

const char *ax_arena_file(const ax_arena *arena) { return arena ? arena->file : NULL; }

/* parse.c records the file name here (declared in lexer.h, not public). */
void ax_arena_set_file(ax_arena *arena, const char *file);
void ax_arena_set_file(ax_arena *arena, const char *file) { arena->file = file; }

ax_node *ax_node_new(ax_arena *arena, ax_node_kind kind, int line, int col) {
  ax_node *n = ax_arena_alloc(arena, sizeof(ax_node));
  if (!n) return NULL;
  n->kind = kind;
  n->line = line;
  n->col = col;
  return n;
}

int ax_nodelist_push(ax_arena *arena, ax_nodelist *list, ax_node *node) {
  if (list->n == list->cap) {
    if (list->cap > (1 << 28)) return -1;
    int cap = list->cap ? list->cap * 2 : 4;
    ax_node **items = ax_arena_alloc(arena, (size_t)cap * sizeof(ax_node *));
    if (!items) return -1;
    if (list->n) memcpy(items, list->items, (size_t)list->n * sizeof(ax_node *));
    list->items = items;   /* the old array stays in the arena until the parse is freed */
    list->cap = cap;
  }
  list->items[list->n++] = node;
  return 0;
}

const char *ax_binop_symbol(int op) {
  switch (op) {
  case AX_OP_ADD: return "+";
  case AX_OP_SUB: return "-";
  case AX_OP_MUL: return "*";
  case AX_OP_DIV: return "/";
  case AX_OP_MOD: return "%";
  case AX_OP_POW: return "**";
  case AX_OP_MATMUL: return "@";
  case AX_OP_EQ: return "==";
  case AX_OP_NE: return "!=";
  case AX_OP_LT: return "<";
  case AX_OP_LE: return "<=";
  case AX_OP_GT: return ">";
  case AX_OP_GE: return ">=";
  case '=': return "=";
  default: return "?";
  }
}

/* ---- dump ---- */

typedef struct {
  char buf[640];
  size_t n;
} line_buf;

static void lb_put(line_buf *lb, const char *s, size_t len) {
  size_t room = sizeof lb->buf - 1 - lb->n;
  if (len > room) len = room;
  memcpy(lb->buf + lb->n, s, len);
  lb->n += len;
  lb->buf[lb->n] = '\0';
}

static void lb_printf(line_buf *lb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_printf(line_buf *lb, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (k < 0) return;
  lb_put(lb, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Shortest "%.Ng" that reads back to the same double. */
static void fmt_double(char *out, size_t outsz, double v) {
  if (isinf(v)) { snprintf(out, outsz, v > 0 ? "inf" : "-inf"); return; }
  if (isnan(v)) { snprintf(out, outsz, "nan"); return; }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, outsz, "%.*g", prec, v);
    if (strtod(out, NULL) == v) break;
  }
  if (!strpbrk(out, ".einn")) {   /* keep floats recognisable: 1 -> 1.0 */
    size_t k = strlen(out);
    if (k + 3 <= outsz) memcpy(out + k, ".0", 3);
  }
}

static void put_quoted(line_buf *lb, const char *s, size_t len) {
  size_t shown = len > 200 ? 200 : len;
  lb_put(lb, "\"", 1);
  for (size_t i = 0; i < shown; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    switch (ch) {
    case '\n': lb_put(lb, "\\n", 2); break;
    case '\t': lb_put(lb, "\\t", 2); break;
    case '\r': lb_put(lb, "\\r", 2); break;
    case '\\': lb_put(lb, "\\\\", 2); break;
    case '"': lb_put(lb, "\\\"", 2); break;
    default:
      if (ch < 0x20 || ch == 0x7f) {
        snprintf(esc, sizeof esc, "\\x%02x", ch);
        lb_put(lb, esc, 4);
      } else {
        lb_put(lb, (const char *)&s[i], 1);
      }
    }
  }
  lb_put(lb, "\"", 1);
  if (shown < len) lb_printf(lb, "...(%zu bytes)", len);
}

static const char *const decl_names[] = {"?", "let", "var", "synap"};
static const char *const fn_names[] = {"?", "fn", "neuro", "function"};

static void describe(line_buf *lb, const ax_node *n) {
  const char *nm = n->name ? n->name : "";
  switch (n->kind) {
  case AX_N_INT: lb_printf(lb, " %lld", (long long)n->ival); break;
  case AX_N_FLOAT: {
    char num[64];
    fmt_double(num, sizeof num, n->fval);
    lb_printf(lb, " %s", num);
    break;
  }
  case AX_N_STRING: lb_put(lb, " ", 1); put_quoted(lb, n->str ? n->str : "", n->len); break;
  case AX_N_UNARY: lb_printf(lb, " %c", n->op); break;
  case AX_N_BINARY: lb_printf(lb, " %s", ax_binop_symbol(n->op)); break;
  case AX_N_ASSIGN:
    lb_printf(lb, " %s%s", n->op == '=' ? "" : ax_binop_symbol(n->op), "=");
    break;
  case AX_N_DECL: lb_printf(lb, " %s", decl_names[n->op >= 1 && n->op <= 3 ? n->op : 0]); break;
  case AX_N_FNDECL:
    lb_printf(lb, " %s %.200s", fn_names[n->op >= 1 && n->op <= 3 ? n->op : 0], nm);
    break;
  case AX_N_LAMBDA: if (n->op == 1) lb_printf(lb, " =>"); break;
  case AX_N_IMPORT:
    if (n->op == 1) { lb_put(lb, " ", 1); put_quoted(lb, n->str ? n->str : "", n->len); }
    if (n->name) lb_printf(lb, " as %.200s", n->name);
    break;
  case AX_N_TYPE: lb_printf(lb, " %.200s%s", nm, n->op == 1 ? "[]" : ""); break;
  case AX_N_NETWORK: lb_printf(lb, " %.200s%s", nm, n->op == 1 ? " (constructor)" : ""); break;
  case AX_N_LAYER: lb_printf(lb, " %.200s%s", nm, n->op == 1 ? " (args)" : ""); break;
  case AX_N_TRY: lb_printf(lb, " catch %.200s", nm); break;
  case AX_N_NAME: case AX_N_KWARG: case AX_N_FIELD: case AX_N_PARAM: case AX_N_NEURON:
  case AX_N_PROP:
    lb_printf(lb, " %.200s", nm);
    break;
  default: break;
  }
}

static int lists_first(ax_node_kind k) {
  return k == AX_N_DECL || k == AX_N_FOR || k == AX_N_FNDECL || k == AX_N_LAMBDA ||
         k == AX_N_NETWORK || k == AX_N_NET_PULSE || k == AX_N_IMPORT;
}

static void dump_list(const ax_nodelist *l, int indent, void (*emit)(void *, const char *), void *ud) {
  for (int i = 0; i < l->n; i++) ax_ast_dump(l->items[i], indent, emit, ud);
}

void ax_ast_dump(const ax_node *node, int indent, void (*emit)(void *ud, const char *s), void *ud) {
  line_buf lb = {.n = 0};
  lb.buf[0] = '\0';
  int pad = indent < 0 ? 0 : indent;
  if (pad > AX_MAX_AST_DEPTH + 8) {   /* trees from ax_parse never get here */
    emit(ud, "...\n");
    return;
  }
  for (int i = 0; i < pad && lb.n + 2 < 200; i++) lb_put(&lb, "  ", 2);
  if (!node) {
    lb_put(&lb, "-\n", 2);
    emit(ud, lb.buf);
    return;
  }
  lb_printf(&lb, "%s", (unsigned)node->kind < AX_N__COUNT ? ax_node_kind_names[node->kind] : "?");
  describe(&lb, node);
  lb_printf(&lb, " @%d:%d\n", node->line, node->col);
  if (lb.buf[lb.n - 1] != '\n') { lb.n--; lb_put(&lb, "\n", 1); }
  emit(ud, lb.buf);

  int in = indent + 1;
  if (lists_first(node->kind)) {
    dump_list(&node->list, in, emit, ud);
    dump_list(&node->list2, in, emit, ud);
  }
  if (node->kind == AX_N_SLICE) {
    ax_ast_dump(node->a, in, emit, ud);
    ax_ast_dump(node->b, in, emit, ud);
    ax_ast_dump(node->c, in, emit, ud);
  } else {
    if (node->a) ax_ast_dump(node->a, in, emit, ud);
    if (node->b) ax_ast_dump(node->b, in, emit, ud);
    if (node->c) ax_ast_dump(node->c, in, emit, ud);
  }
  if (node->kind == AX_N_LAYER) {   /* layer x(args) {props}: args first, as written */
    dump_list(&node->list2, in, emit, ud);
    dump_list(&node->list, in, emit, ud);
  } else if (!lists_first(node->kind)) {
    dump_list(&node->list, in, emit, ud);
    dump_list(&node->list2, in, emit, ud);
  }
}
