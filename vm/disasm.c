/* vm/disasm.c — the tables generated from the bytecode X-macro (names, operand layouts, stack
** effects) and the disassembler behind `anx --disasm`.
** Invariant: operand decoding follows each row's layout string, so a new bytecode needs no code here. */
#include <stdio.h>
#include <string.h>

#include "ax_vmint.h"

const char *const ax_bc_names[AX_BC__COUNT] = {
#define AX_X(name, layout, nbytes, effect) [AX_BC_##name] = #name,
  AX_BYTECODES(AX_X)
#undef AX_X
};
const char *const ax_bc_layouts[AX_BC__COUNT] = {
#define AX_X(name, layout, nbytes, effect) [AX_BC_##name] = layout,
  AX_BYTECODES(AX_X)
#undef AX_X
};
const signed char ax_bc_operand_bytes[AX_BC__COUNT] = {
#define AX_X(name, layout, nbytes, effect) [AX_BC_##name] = nbytes,
  AX_BYTECODES(AX_X)
#undef AX_X
};
const signed char ax_bc_stack_effect[AX_BC__COUNT] = {
#define AX_X(name, layout, nbytes, effect) [AX_BC_##name] = effect,
  AX_BYTECODES(AX_X)
#undef AX_X
};

static void const_text(ax_vm *vm, ax_value v, char *buf, size_t n) {
  ax_buf b = {0};
  ax_buf_value(vm, &b, v, true, 0);
  snprintf(buf, n, "%.40s%s", b.p ? b.p : "", b.len > 40 ? "..." : "");
  ax_buf_free(&b);
}

void ax_disasm_proto(ax_vm *vm, ax_proto *p, FILE *f) {
  const char *file = p->module && p->module->path ? p->module->path->chars : "?";
  fprintf(f, "== %s (%s) params=%d upvals=%d stack=%d consts=%d bytes=%d ==\n", p->name->chars, file,
          p->nparams, p->nupvals, p->max_stack, p->nconsts, p->code_len);
  int last_line = -1;
  for (int pc = 0; pc < p->code_len;) {
    int op = p->code[pc];
    if (op >= AX_BC__COUNT) { fprintf(f, "%04d  <bad %d>\n", pc, op); break; }
    int line = ax_proto_line(p, pc, NULL);
    char lbuf[16];
    if (line != last_line) snprintf(lbuf, sizeof lbuf, "%4d", line);
    else snprintf(lbuf, sizeof lbuf, "   |");
    last_line = line;
    fprintf(f, "%04d %s  %-16s", pc, lbuf, ax_bc_names[op]);
    const char *lay = ax_bc_layouts[op];
    int at = pc + 1;
    char tmp[64];
    while (*lay) {
      while (*lay == ' ') lay++;
      if (!*lay) break;
      if (strncmp(lay, "...", 3) == 0) {
        int kidx = p->code[pc + 1] | (p->code[pc + 2] << 8);
        ax_proto *inner = (ax_proto *)p->consts[kidx].as.o;
        for (int i = 0; i < inner->nupvals; i++) {
          fprintf(f, " %s%d", p->code[at] ? "local:" : "up:", p->code[at + 1]);
          at += 2;
        }
        lay += 3;
        continue;
      }
      char kind = lay[0];
      int wide = lay[1] == '1' ? 2 : 1;
      int v = wide == 2 ? (p->code[at] | (p->code[at + 1] << 8)) : p->code[at];
      at += wide;
      switch (kind) {
      case 'k': const_text(vm, p->consts[v], tmp, sizeof tmp); fprintf(f, " %d (%s)", v, tmp); break;
      case 'i': fprintf(f, " %d", (int16_t)v); break;
      case 'j': fprintf(f, " ->%04d", at + v); break;
      case 'b': fprintf(f, " ->%04d", at - v); break;
      case 'g': {
        const char *nm = "?";
        uint32_t pos = 0;
        ax_entry *e;
        ax_module *m = op == AX_BC_GET_BUILTIN ? vm->builtins : p->module;
        while (ax_table_next(&m->names, &pos, &e))
          if (e->val.as.i == v) { nm = AX_AS_STRING(e->key)->chars; break; }
        fprintf(f, " %d (%s)", v, nm);
        break;
      }
      default:
        if (op == AX_BC_CMP_JF && v >= AX_FOP_EQ && v <= AX_FOP_GE) {
          static const char *const cmp[] = {"==", "!=", "<", "<=", ">", ">="};
          fprintf(f, " %s", cmp[v - AX_FOP_EQ]);
        } else {
          fprintf(f, " %d", v);
        }
        break;
      }
      while (*lay && *lay != ' ') lay++;
    }
    fputc('\n', f);
    pc = at;
  }
  for (int i = 0; i < p->nconsts; i++)
    if (ax_is_kind(p->consts[i], AX_O_PROTO)) { fputc('\n', f); ax_disasm_proto(vm, (ax_proto *)p->consts[i].as.o, f); }
}
