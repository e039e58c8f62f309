/* vm/repl.c — the interactive loop: libedit line editing on a terminal (history in
** ~/.anx_history, tab completion of globals and `obj.` members, `...` continuation while the
** parser reports incomplete input), plain line reading when stdin is not a terminal.
** Invariant: every complete chunk runs in one persistent module, so globals survive lines;
** errors are printed and the loop goes on; Ctrl-C cancels the line or the running statement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <editline/readline.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "debug.h"

ax_proto *ax_vm_compile_chunk(ax_vm *vm, ax_module *m, const char *file, const char *src, size_t len,
                              int line_offset, const char *full, size_t fulllen, bool repl, bool quiet,
                              bool *incomplete);
int ax_vm_finish(ax_vm *vm, bool ok);

static ax_vm *g_vm;   /* completion callbacks of libedit carry no user pointer */
static ax_module *g_mod;

static const char *const keywords[] = {
  "let", "var", "synap", "fn", "neuro", "function", "network", "neuron", "layer", "pulse", "if", "else",
  "while", "for", "in", "break", "continue", "return", "import", "from", "as", "and", "or", "not", "true",
  "false", "nil", "self", "try", "catch", "throw", NULL};

typedef struct { char **items; int n, cap; } strlist;

static void sl_add(strlist *l, const char *prefix, size_t plen, const char *s) {
  if (strncmp(s, prefix + plen, strlen(prefix + plen)) != 0) return;
  for (int i = 0; i < l->n; i++) {
    if (strcmp(l->items[i] + plen, s) == 0) return;
  }
  if (l->n == l->cap) {
    int ncap = l->cap ? l->cap * 2 : 32;
    char **ni = realloc(l->items, sizeof(char *) * (size_t)ncap);
    if (!ni) return;
    l->items = ni;
    l->cap = ncap;
  }
  size_t n = plen + strlen(s);
  char *c = malloc(n + 1);   /* libedit frees completions with free() */
  if (!c) return;
  memcpy(c, prefix, plen);
  strcpy(c + plen, s);
  l->items[l->n++] = c;
}

static void add_table_names(strlist *l, const char *text, size_t plen, ax_table *t) {
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(t, &pos, &e))
    if (AX_IS_STRING(e->key)) sl_add(l, text, plen, AX_AS_STRING(e->key)->chars);
}

static strlist candidates;
static int cand_next;

static char *generator(const char *text, int state) {
  if (state == 0) {
    for (int i = 0; i < candidates.n; i++) free(candidates.items[i]);
    candidates.n = 0;
    cand_next = 0;
    const char *dot = strrchr(text, '.');
    if (dot) {
      /* member completion: resolve the name before the dot among globals */
      size_t plen = (size_t)(dot - text) + 1;
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)(dot - text), text);
      ax_string *s = ax_str_cstr(g_vm, name);
      int slot = s ? ax_module_find(g_mod, s) : -1;
      ax_value v = AX_NIL;
      if (slot >= 0) v = g_mod->vars[slot];
      else if (s && (slot = ax_module_find(g_vm->builtins, s)) >= 0) v = g_vm->builtins->vars[slot];
      if (v.type == AX_V_OBJ) {
        ax_okind k = (ax_okind)v.as.o->kind;
        if (k == AX_O_MAP) add_table_names(&candidates, text, plen, &AX_AS_MAP(v)->t);
        if (k == AX_O_MODULE) add_table_names(&candidates, text, plen, &AX_AS_MODULE(v)->names);
        if (k == AX_O_ERROR) {
          static const char *const ef[] = {"message", "kind", "line", "col", "file", "trace", NULL};
          for (int i = 0; ef[i]; i++) sl_add(&candidates, text, plen, ef[i]);
        }
        add_table_names(&candidates, text, plen, &g_vm->methods[k]);
      }
    } else {
      add_table_names(&candidates, text, 0, &g_mod->names);
      add_table_names(&candidates, text, 0, &g_vm->builtins->names);
      for (int i = 0; keywords[i]; i++) sl_add(&candidates, text, 0, keywords[i]);
    }
  }
  if (cand_next < candidates.n) {
    char *c = candidates.items[cand_next];
    candidates.items[cand_next++] = NULL;
    return c;
  }
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)start; (void)end;
  rl_attempted_completion_over = 1;
  return rl_completion_matches(text, generator);
}

/* Line input through libedit's callback interface, so Ctrl-C (which interrupts select with
** EINTR and sets ax_interrupted) cancels the line being typed at once. */
static char *cb_line;
static bool cb_done;

static void on_line(char *line) {
  cb_line = line;
  cb_done = true;
  rl_callback_handler_remove();
}

static char *read_line_tty(const char *prompt, bool *cancelled) {
  cb_line = NULL;
  cb_done = false;
  *cancelled = false;
  rl_callback_handler_install(prompt, on_line);
  while (!cb_done) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    int r = select(1, &fds, NULL, NULL, NULL);
    if (r < 0) {
      if (errno == EINTR && ax_interrupted) {
        ax_interrupted = 0;
        *cancelled = true;
        rl_callback_handler_remove();
        return NULL;
      }
      if (errno == EINTR) continue;
      rl_callback_handler_remove();
      return NULL;
    }
    if (r > 0) rl_callback_read_char();
  }
  return cb_line;
}

static void history_path(char *out, size_t n) {
  const char *home = getenv("HOME");
  const char *f = getenv("ANX_HISTORY");
  if (f) snprintf(out, n, "%s", f);
  else snprintf(out, n, "%s/.anx_history", home ? home : ".");
}

/* Append a line to a growing buffer (kept NUL-terminated). */
static bool buf_append(char **buf, size_t *len, size_t *cap, const char *line) {
  size_t n = strlen(line);
  if (*len + n + 2 > *cap) {
    size_t ncap = *cap ? *cap : 256;
    while (*len + n + 2 > ncap) ncap *= 2;
    char *nb = ax_realloc(*buf, *cap, ncap);
    if (!nb) return false;
    *buf = nb;
    *cap = ncap;
  }
  memcpy(*buf + *len, line, n);
  *len += n;
  (*buf)[(*len)++] = '\n';
  (*buf)[*len] = 0;
  return true;
}

/* All input so far (the module's source, for carets) and where the pending chunk starts. */
typedef struct {
  char *text;
  size_t len, cap;
  size_t chunk_start;   /* byte offset of the pending chunk in text */
  int chunk_line;       /* lines before the pending chunk */
} session;

/* Try to run the pending chunk: returns 1 ran (ok or error), 0 incomplete (need more lines). */
static int try_chunk(ax_vm *vm, ax_module *m, session *ss, bool at_eof, int *last_rc) {
  bool incomplete = false;
  const char *src = ss->text + ss->chunk_start;
  size_t len = ss->len - ss->chunk_start;
  ax_proto *p = ax_vm_compile_chunk(vm, m, "<stdin>", src, len, ss->chunk_line, ss->text, ss->len, true,
                                    !at_eof, &incomplete);
  if (!p && incomplete && !at_eof) return 0;
  if (p) {
    /* the session text is the module's source while the chunk runs: carets for runtime errors */
    m->source = ss->text;
    m->srclen = ss->len;
    ax_vm_push_root(vm, ax_obj_value(p));
    bool ok = ax_vm_run_proto(vm, p, NULL);
    ax_vm_pop_root(vm, 1);
    int rc = ax_vm_finish(vm, ok);
    m->source = NULL;
    m->srclen = 0;
    if (rc) *last_rc = rc;
  } else {
    *last_rc = ANX_COMPILE_ERROR;
  }
  fflush(stdout);
  for (size_t i = ss->chunk_start; i < ss->len; i++) ss->chunk_line += ss->text[i] == '\n';
  ss->chunk_start = ss->len;
  return 1;
}

/* Drop the pending chunk (Ctrl-C while typing it). */
static void drop_chunk(session *ss) { ss->len = ss->chunk_start; if (ss->text) ss->text[ss->len] = 0; }

int anx_repl(anx_vm *vm) {
  ax_string *name = ax_str_cstr(vm, "<stdin>");
  ax_module *m = name ? ax_module_new(vm, name) : NULL;
  if (!m) return ANX_RUNTIME_ERROR;
  m->path = name;
  vm->main_module = m;
  g_vm = vm;
  g_mod = m;
  bool tty = isatty(0) && isatty(1);
  char hist[1024];
  if (tty) {
    history_path(hist, sizeof hist);
    rl_readline_name = "anx";
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{([,+-*/%";
    using_history();
    read_history(hist);
    printf("anx %s  (Ctrl-D to quit)\n", ANX_VERSION);
    fflush(stdout);
  }
  session ss = {0};
  int last_rc = 0;
  char *plain = NULL;
  size_t plain_cap = 0;
  for (;;) {
    char *line;
    ax_interrupted = 0;
    if (tty) {
      bool cancelled;
      line = read_line_tty(ss.len > ss.chunk_start ? "... " : ">>> ", &cancelled);
      if (cancelled) {   /* Ctrl-C while editing: drop the line and any pending chunk */
        drop_chunk(&ss);
        printf("^C\n");
        fflush(stdout);
        continue;
      }
    } else {
      ssize_t r = getline(&plain, &plain_cap, stdin);
      if (r < 0) line = NULL;
      else {
        if (r && plain[r - 1] == '\n') plain[r - 1] = 0;
        line = plain;
      }
    }
    if (!line) {
      if (ss.len > ss.chunk_start) try_chunk(vm, m, &ss, true, &last_rc);
      break;
    }
    if (tty && *line) add_history(line);
    if (ss.len == ss.chunk_start && strncmp(line, ":debug", 6) == 0 && (line[6] == ' ' || !line[6])) {
      /* :debug FILE [ARGS]: the debugger (vm/debug.c), then back here. Not under --sandbox: piped
      ** input may be the untrusted script, and the debugger reads FILE (and shows its lines). */
      if (vm->sandbox.on) fprintf(stderr, "anx: :debug is not available under --sandbox (use anx --sandbox ... debug FILE)\n");
      else {
        char dev[32];   /* the debugged program runs on the REPL's device (anx --device) */
        ax_device_format(vm->device, dev, sizeof dev);
        ax_debug_args(line + 6, ax_vm_policy(vm), dev);
      }
      if (tty) free(line);
      continue;
    }
    bool ok = buf_append(&ss.text, &ss.len, &ss.cap, line);
    if (tty) free(line);
    if (!ok) { fprintf(stderr, "anx: out of memory\n"); drop_chunk(&ss); continue; }
    try_chunk(vm, m, &ss, false, &last_rc);
  }
  if (tty) {
    write_history(hist);
    printf("\n");
  }
  free(plain);
  ax_free(ss.text, ss.cap);
  for (int i = 0; i < candidates.n; i++) free(candidates.items[i]);
  free(candidates.items);
  candidates.items = NULL;
  candidates.n = candidates.cap = 0;
  return tty ? 0 : last_rc;
}
