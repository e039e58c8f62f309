/* parser/diag.c — the diagnostics list and the clang-style "file:line:col: error:" formatter.
** Diagnostics keep their message inline; the list grows through ax_realloc.
** Invariant: ax_diag_format always NUL-terminates within outsz and never reads past srclen. */
#include "ast.h"

#include <ax_mem.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ax_diags_add(ax_diags *diags, const char *file, int line, int col, const char *fmt, ...) {
  if (diags->n == diags->cap) {
    int cap = diags->cap ? diags->cap * 2 : 8;
    ax_diag *items = ax_realloc(diags->items, (size_t)diags->cap * sizeof(ax_diag),
                                (size_t)cap * sizeof(ax_diag));
    if (!items) return -1;
    diags->items = items;
    diags->cap = cap;
  }
  ax_diag *d = &diags->items[diags->n++];
  d->file = file ? file : "?";
  d->line = line;
  d->col = col;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  va_end(ap);
  return 0;
}

void ax_diags_free(ax_diags *diags) {
  if (!diags) return;
  if (diags->items) ax_free(diags->items, (size_t)diags->cap * sizeof(ax_diag));
  diags->items = NULL;
  diags->n = diags->cap = 0;
  diags->incomplete = 0;
}

typedef struct {
  char *out;
  size_t size, n;
} sink;

static void put(sink *s, const char *p, size_t len) {
  if (s->size == 0) return;
  size_t room = s->size - 1 - s->n;
  if (len > room) len = room;
  memcpy(s->out + s->n, p, len);
  s->n += len;
  s->out[s->n] = '\0';
}

static void putc1(sink *s, char ch) { put(s, &ch, 1); }

#define WINDOW 160   /* longest source excerpt shown */
#define BEFORE 60    /* bytes kept left of the caret when a long line is cut */

void ax_diag_format(char *out, size_t outsz, const char *file, const char *src, size_t srclen,
                    int line, int col, const char *severity, const char *msg) {
  sink s = {out, outsz, 0};
  if (outsz == 0) return;
  out[0] = '\0';
  char head[512];
  int k = snprintf(head, sizeof head, "%s:%d:%d: %s: %s\n", file ? file : "?", line, col,
                   severity ? severity : "error", msg ? msg : "");
  if (k < 0) return;
  put(&s, head, (size_t)k < sizeof head ? (size_t)k : sizeof head - 1);
  if (s.n && out[s.n - 1] != '\n') { s.n--; putc1(&s, '\n'); }
  if (!src || line < 1) return;

  /* find the line */
  size_t pos = 0;
  for (int l = 1; l < line; l++) {
    const char *nl = memchr(src + pos, '\n', srclen - pos);
    if (!nl) return;
    pos = (size_t)(nl - src) + 1;
  }
  if (pos > srclen) return;
  size_t end = pos;
  while (end < srclen && src[end] != '\n') end++;
  if (end > pos && src[end - 1] == '\r') end--;
  size_t linelen = end - pos;
  size_t caret = col >= 1 ? (size_t)(col - 1) : 0;   /* byte offset of the caret in the line */
  if (caret > linelen) caret = linelen;

  size_t from = 0, to = linelen;
  int cut_left = 0, cut_right = 0;
  if (linelen > WINDOW) {
    if (caret > BEFORE) {
      from = caret - BEFORE;
      while (from < caret && ((unsigned char)src[pos + from] & 0xC0) == 0x80) from++;
      cut_left = 1;
    }
    if (linelen - from > WINDOW) {
      to = from + WINDOW;
      while (to > caret && ((unsigned char)src[pos + to] & 0xC0) == 0x80) to--;
      cut_right = 1;
    }
  }
  if (cut_left) put(&s, "...", 3);
  for (size_t i = from; i < to; i++) putc1(&s, src[pos + i] == '\0' ? '?' : src[pos + i]);
  if (cut_right) put(&s, "...", 3);
  putc1(&s, '\n');
  if (cut_left) put(&s, "   ", 3);
  for (size_t i = from; i < caret; i++) {
    unsigned char ch = (unsigned char)src[pos + i];
    if (ch == '\t') putc1(&s, '\t');
    else if ((ch & 0xC0) != 0x80) putc1(&s, ' ');   /* one column per UTF-8 character */
  }
  put(&s, "^\n", 2);
}
