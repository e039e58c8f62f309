/* tests/parse/diagtest.c — unit checks of ax_diag_format and the diagnostics list.
** Covers NULL source, lines past the end, carets past the line, CRLF, tabs, UTF-8, cutting.
** Exits 1 with the first mismatch printed. */
#include "ast.h"

#include <stdio.h>
#include <string.h>

static int failures;

static void check(const char *what, const char *got, const char *want) {
  if (strcmp(got, want) != 0) {
    printf("FAIL %s\n--- want\n%s--- got\n%s---\n", what, want, got);
    failures++;
  }
}

int main(void) {
  char out[1024];
  const char *src = "x = 1\r\n\ty = $\nlast";
  size_t n = strlen(src);

  ax_diag_format(out, sizeof out, "f.anx", NULL, 0, 3, 7, "error", "msg");
  check("NULL source", out, "f.anx:3:7: error: msg\n");

  ax_diag_format(out, sizeof out, "f.anx", src, n, 2, 6, "error", "unexpected character '$'");
  check("tab kept", out, "f.anx:2:6: error: unexpected character '$'\n\ty = $\n\t    ^\n");

  ax_diag_format(out, sizeof out, "f.anx", src, n, 1, 5, "warning", "w");
  check("CRLF stripped", out, "f.anx:1:5: warning: w\nx = 1\n    ^\n");

  ax_diag_format(out, sizeof out, "f.anx", src, n, 3, 99, "error", "e");
  check("caret past the end of the line", out, "f.anx:3:99: error: e\nlast\n    ^\n");

  ax_diag_format(out, sizeof out, "f.anx", src, n, 9, 1, "error", "e");
  check("line past the end", out, "f.anx:9:1: error: e\n");

  ax_diag_format(out, sizeof out, "f.anx", "a\n", 2, 2, 1, "error", "e");
  check("empty last line", out, "f.anx:2:1: error: e\n\n^\n");

  ax_diag_format(out, sizeof out, "f.anx", "s = \"\xc3\xa9\" + $", 12, 1, 12, "error", "e");
  check("UTF-8 counts as one column", out, "f.anx:1:12: error: e\ns = \"\xc3\xa9\" + $\n          ^\n");

  ax_diag_format(out, sizeof out, "f.anx", "a\0b $", 5, 1, 5, "error", "e");
  check("NUL shown as ?", out, "f.anx:1:5: error: e\na?b $\n    ^\n");

  char small[12];
  ax_diag_format(small, sizeof small, "f.anx", src, n, 2, 6, "error", "long message");
  check("cut at outsz, still ending in a newline", small, "f.anx:2:6:\n");

  ax_diag_format(small, 0, "f.anx", src, n, 2, 6, "error", "x");   /* must not write */

  ax_diags d = {0};
  for (int i = 0; i < 100; i++) ax_diags_add(&d, "f.anx", i + 1, 1, "error %d of %s", i, "many");
  if (d.n != 100 || strcmp(d.items[99].msg, "error 99 of many") != 0 || d.items[5].line != 6) {
    printf("FAIL diags list\n");
    failures++;
  }
  ax_diags_free(&d);
  if (d.n || d.items) { printf("FAIL diags free\n"); failures++; }

  printf("%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
