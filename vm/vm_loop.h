/* vm/vm_loop.h — the body of run(): included once, by vm.c only (kept apart for size).
** One body; DISPATCH() is a computed goto on GCC/Clang and a switch elsewhere.
** Registers: ip, sp (synced to vm->sp by STORE before anything that can raise/collect),
** slots (frame base), k (constants), vars (module globals). */

#if defined(__GNUC__) && !defined(AX_NO_COMPUTED_GOTO)
#define AX_COMPUTED_GOTO 1
#endif

static void print_value_line(ax_vm *vm, ax_value v) {
  ax_buf b = {0};
  ax_buf_value(vm, &b, v, true, 0);
  ax_buf_addc(&b, '\n');
  if (!b.oom) fwrite(b.p, 1, b.len, stdout);
  ax_buf_free(&b);
}

static bool run(ax_vm *vm, int stop_at) {
  ax_frame *frame;
  uint8_t *ip;
  ax_value *slots, *k, *vars, *sp = vm->sp;

#define LOAD_FRAME() do { \
    frame = &vm->frames[vm->nframes - 1]; ip = frame->ip; slots = frame->slots; \
    k = frame->closure->proto->consts; vars = frame->closure->proto->module->vars; } while (0)
#define STORE() (vm->sp = sp, frame->ip = ip)
#define RELOAD() (sp = vm->sp)
#define U8() (*ip++)
#define U16() (ip += 2, (uint16_t)(ip[-2] | (ip[-1] << 8)))
#define PEEK(n) (sp[-1 - (n)])
#define THROW() goto on_error
#define GC_CHECK() do { STORE(); ax_gc_maybe(vm); } while (0)
/* Copy a value as two 8-byte moves: values are often written field by field, and a 16-byte
** load right after such stores stalls store forwarding (measured: 2x on tight loops). */
#define VCOPY(d, s) do { ax_value *d_ = (d); const ax_value *s_ = (s); d_->type = s_->type; d_->as.i = s_->as.i; } while (0)

  LOAD_FRAME();

#ifdef AX_COMPUTED_GOTO
  static void *const labels[AX_BC__COUNT] = {
#define AX_X(name, layout, nbytes, effect) [AX_BC_##name] = &&op_##name,
    AX_BYTECODES(AX_X)
#undef AX_X
  };
  /* Debug mode (vm->debugger set when run() starts): every opcode first passes op__debug, which
  ** calls the debugger (line change, call, return) and then jumps to the real handler. When off,
  ** the only cost is dispatching through `disp` instead of `labels`. */
  static void *const dbg_labels[AX_BC__COUNT] = {[0 ... AX_BC__COUNT - 1] = &&op__debug};
  void *const *disp = vm->debugger ? dbg_labels : labels;
#define CASE(name) op_##name:
#define DISPATCH() goto *disp[*ip++]
  DISPATCH();
op__debug:
  ip--;
  STORE();
  if (!ax_debug_step(vm)) THROW();
  RELOAD();
  goto *labels[*ip++];
#else
#define CASE(name) case AX_BC_##name:
#define DISPATCH() goto dispatch
dispatch:
  if (vm->debugger) {   /* the switch build has no second table: test here (debug support only) */
    STORE();
    if (!ax_debug_step(vm)) THROW();
    RELOAD();
  }
  switch ((ax_bytecode)*ip++) {
#endif

  CASE(CONST) { VCOPY(sp, &k[U16()]); sp++; DISPATCH(); }
  CASE(SMALLINT) { int16_t v = (int16_t)U16(); *sp++ = ax_int(v); DISPATCH(); }
  CASE(NIL) { *sp++ = AX_NIL; DISPATCH(); }
  CASE(TRUE) { *sp++ = ax_bool(true); DISPATCH(); }
  CASE(FALSE) { *sp++ = ax_bool(false); DISPATCH(); }
  CASE(POP) { sp--; DISPATCH(); }
  CASE(POPN) { sp -= U8(); DISPATCH(); }
  CASE(DUP) { VCOPY(sp, sp - 1); sp++; DISPATCH(); }
  CASE(DUPN) {
    int n = U8();
    memcpy(sp, sp - n, sizeof(ax_value) * (size_t)n);
    sp += n;
    DISPATCH();
  }
  CASE(GET_LOCAL) { VCOPY(sp, &slots[U8()]); sp++; DISPATCH(); }
  CASE(SET_LOCAL) { sp--; VCOPY(&slots[U8()], sp); DISPATCH(); }
  CASE(GET_UPVAL) { VCOPY(sp, frame->closure->upvals[U8()]->loc); sp++; DISPATCH(); }
  CASE(SET_UPVAL) { sp--; VCOPY(frame->closure->upvals[U8()]->loc, sp); DISPATCH(); }
  CASE(GET_GLOBAL) {
    uint16_t g = U16();
    ax_value v = vars[g];
    if (__builtin_expect(v.type == AX_V_UNDEF, 0)) {
      STORE();
      ax_module *m = frame->closure->proto->module;
      uint32_t pos = 0;
      ax_entry *e;
      const char *nm = "?";
      while (ax_table_next(&m->names, &pos, &e))
        if (e->val.as.i == g) { nm = AX_AS_STRING(e->key)->chars; break; }
      ax_vm_raise(vm, "name", "'%s' is used before it is defined", nm);
      THROW();
    }
    VCOPY(sp, &v);
    sp++;
    DISPATCH();
  }
  CASE(SET_GLOBAL) { sp--; VCOPY(&vars[U16()], sp); DISPATCH(); }
  CASE(GET_BUILTIN) { VCOPY(sp, &vm->builtins->vars[U16()]); sp++; DISPATCH(); }
  CASE(GET_FIELD) {
    ax_string *name = AX_AS_STRING(k[U16()]);
    STORE();
    ax_value out;
    if (!ax_vm_get_field(vm, sp[-1], name, &out)) THROW();
    sp[-1] = out;
    DISPATCH();
  }
  CASE(SET_FIELD) {
    ax_string *name = AX_AS_STRING(k[U16()]);
    STORE();
    if (!set_field(vm, sp[-2], name, sp[-1])) THROW();
    sp -= 2;
    DISPATCH();
  }
  CASE(GET_INDEX) {
    int n = U8();
    ax_value obj = sp[-n - 1];
    if (n == 1 && AX_IS_LIST(obj) && AX_IS_INT(sp[-1])) {
      ax_list *l = AX_AS_LIST(obj);
      int64_t i = sp[-1].as.i;
      if (i < 0) i += l->len;
      if (i >= 0 && i < l->len) { sp[-2] = l->items[i]; sp--; DISPATCH(); }
    }
    STORE();
    ax_value out;
    if (!ax_vm_index(vm, obj, n, sp - n, &out)) THROW();
    sp -= n;
    sp[-1] = out;
    DISPATCH();
  }
  CASE(SET_INDEX) {
    int n = U8();
    ax_value obj = sp[-n - 2];
    if (n == 1 && AX_IS_LIST(obj) && AX_IS_INT(sp[-2])) {
      ax_list *l = AX_AS_LIST(obj);
      int64_t i = sp[-2].as.i;
      if (i < 0) i += l->len;
      if (i >= 0 && i < l->len) { l->items[i] = sp[-1]; sp -= 3; DISPATCH(); }
    }
    STORE();
    if (!set_index(vm, obj, n, sp - n - 1, sp[-1])) THROW();
    sp -= n + 2;
    DISPATCH();
  }
  CASE(SLICE) {
    int flags = U8();
    ax_value parts[3] = {AX_NIL, AX_NIL, AX_NIL};
    for (int i = 2; i >= 0; i--)
      if (flags & (1 << i)) parts[i] = *--sp;
    STORE();
    ax_slice_obj *s = ax_slice_new(vm, parts[0], parts[1], parts[2]);
    if (!s) { ax_vm_oom(vm); THROW(); }
    *sp++ = ax_obj_value(s);
    DISPATCH();
  }

#define ARITH(opname, fop, iexpr, fexpr) \
  CASE(opname) { \
    ax_value b, a; \
    VCOPY(&b, sp - 1); VCOPY(&a, sp - 2); \
    if (AX_IS_INT(a) && AX_IS_INT(b)) { int64_t r; if (!(iexpr)) { sp[-2].as.i = r; sp--; DISPATCH(); } } \
    else if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b)) { sp[-2].as.f = fexpr; sp--; DISPATCH(); } \
    STORE(); \
    ax_value out; \
    if (!ax_vm_binop(vm, fop, a, b, &out)) THROW(); \
    sp[-2] = out; sp--; \
    DISPATCH(); \
  }
  ARITH(ADD, AX_FOP_ADD, __builtin_add_overflow(a.as.i, b.as.i, &r), a.as.f + b.as.f)
  ARITH(SUB, AX_FOP_SUB, __builtin_sub_overflow(a.as.i, b.as.i, &r), a.as.f - b.as.f)
  ARITH(MUL, AX_FOP_MUL, __builtin_mul_overflow(a.as.i, b.as.i, &r), a.as.f * b.as.f)
#undef ARITH
  CASE(DIV) {
    ax_value b = sp[-1], a = sp[-2];
    if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b) && b.as.f != 0) { sp[-2] = ax_float(a.as.f / b.as.f); sp--; DISPATCH(); }
    STORE();
    ax_value out;
    if (!ax_vm_binop(vm, AX_FOP_DIV, a, b, &out)) THROW();
    sp[-2] = out; sp--;
    DISPATCH();
  }
#define SLOWBIN(opname, fop) \
  CASE(opname) { \
    STORE(); \
    ax_value out; \
    if (!ax_vm_binop(vm, fop, sp[-2], sp[-1], &out)) THROW(); \
    sp[-2] = out; sp--; \
    DISPATCH(); \
  }
  SLOWBIN(MOD, AX_FOP_MOD)
  SLOWBIN(POW, AX_FOP_POW)
  SLOWBIN(MATMUL, AX_FOP_MATMUL)
#undef SLOWBIN
#define CMP(opname, fop, cop) \
  CASE(opname) { \
    ax_value b, a; \
    VCOPY(&b, sp - 1); VCOPY(&a, sp - 2); \
    if (AX_IS_INT(a) && AX_IS_INT(b)) { sp[-2] = ax_bool(a.as.i cop b.as.i); sp--; DISPATCH(); } \
    if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b)) { sp[-2] = ax_bool(a.as.f cop b.as.f); sp--; DISPATCH(); } \
    STORE(); \
    ax_value out; \
    if (!ax_vm_binop(vm, fop, a, b, &out)) THROW(); \
    sp[-2] = out; sp--; \
    DISPATCH(); \
  }
  CMP(EQ, AX_FOP_EQ, ==)
  CMP(NE, AX_FOP_NE, !=)
  CMP(LT, AX_FOP_LT, <)
  CMP(LE, AX_FOP_LE, <=)
  CMP(GT, AX_FOP_GT, >)
  CMP(GE, AX_FOP_GE, >=)
#undef CMP
  CASE(NEG) {
    ax_value a = sp[-1];
    if (AX_IS_INT(a)) {
      if (a.as.i == INT64_MIN) { STORE(); ax_vm_raise(vm, "overflow", "integer overflow"); THROW(); }
      sp[-1] = ax_int(-a.as.i);
    } else if (AX_IS_FLOAT(a)) {
      sp[-1] = ax_float(-a.as.f);
    } else {
      STORE();
      if (AX_IS_FOREIGN(a) && AX_AS_FOREIGN(a)->cls->unop) {
        ax_value out;
        int r = AX_AS_FOREIGN(a)->cls->unop(vm, AX_FOP_NEG, a, &out);
        if (r == AX_HOOK_ERR) THROW();
        if (r == AX_HOOK_OK) { sp[-1] = out; DISPATCH(); }
      }
      ax_vm_raise(vm, "type", "bad operand type for unary -: '%s'", ax_type_name(a));
      THROW();
    }
    DISPATCH();
  }
  CASE(NOT) {
    ax_value a = sp[-1];
    if (AX_IS_FOREIGN(a)) {
      STORE();
      if (AX_AS_FOREIGN(a)->cls->unop) {
        ax_value out;
        int r = AX_AS_FOREIGN(a)->cls->unop(vm, AX_FOP_NOT, a, &out);
        if (r == AX_HOOK_ERR) THROW();
        if (r == AX_HOOK_OK) { sp[-1] = out; DISPATCH(); }
      }
      bool t;
      if (!ax_vm_truthy(vm, a, &t)) THROW();
      sp[-1] = ax_bool(!t);
      DISPATCH();
    }
    sp[-1] = ax_bool(!ax_truthy_plain(a));
    DISPATCH();
  }
  CASE(ADD_LOCAL_K) {
    int slot = U8();
    ax_value b = k[U16()], a = slots[slot];
    if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b)) { slots[slot].as.f = a.as.f + b.as.f; DISPATCH(); }
    if (AX_IS_INT(a) && AX_IS_INT(b)) {
      int64_t r;
      if (!__builtin_add_overflow(a.as.i, b.as.i, &r)) { slots[slot].as.i = r; DISPATCH(); }
    }
    STORE();
    ax_value out;
    if (!ax_vm_binop(vm, AX_FOP_ADD, a, b, &out)) THROW();
    slots[slot] = out;
    DISPATCH();
  }
  CASE(ADD_GLOBAL_K) {
    uint16_t g = U16();
    ax_value b = k[U16()], a = vars[g];
    if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b)) { vars[g].as.f = a.as.f + b.as.f; DISPATCH(); }
    if (AX_IS_INT(a) && AX_IS_INT(b)) {
      int64_t r;
      if (!__builtin_add_overflow(a.as.i, b.as.i, &r)) { vars[g].as.i = r; DISPATCH(); }
    }
    STORE();
    ax_value out;
    if (!ax_vm_binop(vm, AX_FOP_ADD, a, b, &out)) THROW();
    vars[g] = out;
    DISPATCH();
  }
  CASE(ADD_I) CASE(SUB_I) {
    bool sub = ip[-1] == AX_BC_SUB_I;
    int64_t i = (int16_t)U16();
    ax_value a;
    VCOPY(&a, sp - 1);
    if (AX_IS_INT(a)) {
      int64_t r;
      if (!(sub ? __builtin_sub_overflow(a.as.i, i, &r) : __builtin_add_overflow(a.as.i, i, &r))) {
        sp[-1].as.i = r;
        DISPATCH();
      }
    } else if (AX_IS_FLOAT(a)) {
      sp[-1].as.f = sub ? a.as.f - (double)i : a.as.f + (double)i;
      DISPATCH();
    }
    STORE();
    ax_value out;
    if (!ax_vm_binop(vm, sub ? AX_FOP_SUB : AX_FOP_ADD, a, ax_int(i), &out)) THROW();
    sp[-1] = out;
    DISPATCH();
  }
  CASE(CMP_JF) {
    int op = U8();
    uint16_t off = U16();
    ax_value b, a;
    VCOPY(&b, sp - 1);
    VCOPY(&a, sp - 2);
    sp -= 2;
    bool t;
    if (AX_IS_INT(a) && AX_IS_INT(b)) {
      int64_t x = a.as.i, y = b.as.i;
      t = op == AX_FOP_LT ? x < y : op == AX_FOP_LE ? x <= y : op == AX_FOP_GT ? x > y :
          op == AX_FOP_GE ? x >= y : op == AX_FOP_EQ ? x == y : x != y;
    } else if (AX_IS_FLOAT(a) && AX_IS_FLOAT(b)) {
      double x = a.as.f, y = b.as.f;
      t = op == AX_FOP_LT ? x < y : op == AX_FOP_LE ? x <= y : op == AX_FOP_GT ? x > y :
          op == AX_FOP_GE ? x >= y : op == AX_FOP_EQ ? x == y : x != y;
    } else {
      sp += 2;
      STORE();
      ax_value out;
      if (!ax_vm_binop(vm, op, a, b, &out)) THROW();
      sp -= 2;
      STORE();
      if (!ax_vm_truthy(vm, out, &t)) THROW();
    }
    if (!t) ip += off;
    DISPATCH();
  }
  CASE(JUMP) { uint16_t off = U16(); ip += off; DISPATCH(); }
  CASE(JUMP_IF_FALSE) {
    uint16_t off = U16();
    ax_value c = *--sp;
    if (c.type == AX_V_BOOL) { if (!c.as.b) ip += off; DISPATCH(); }
    if (AX_IS_FOREIGN(c)) {
      STORE();
      bool t;
      if (!ax_vm_truthy(vm, c, &t)) THROW();
      if (!t) ip += off;
      DISPATCH();
    }
    if (c.type == AX_V_NIL) ip += off;
    DISPATCH();
  }
  CASE(JUMP_FALSE_KEEP) {
    uint16_t off = U16();
    bool t = true;
    STORE();
    if (!ax_vm_truthy(vm, sp[-1], &t)) THROW();
    if (!t) ip += off;
    DISPATCH();
  }
  CASE(JUMP_TRUE_KEEP) {
    uint16_t off = U16();
    bool t = true;
    STORE();
    if (!ax_vm_truthy(vm, sp[-1], &t)) THROW();
    if (t) ip += off;
    DISPATCH();
  }
  CASE(JUMP_IF_DEF) {
    int slot = U8();
    uint16_t off = U16();
    if (!AX_IS_UNDEF(slots[slot])) ip += off;
    DISPATCH();
  }
  CASE(LOOP) {
    uint16_t off = U16();
    if (--vm->steps_left < 0 || ax_interrupted) {   /* --max-steps, Ctrl-C: raised at the loop's end */
      STORE();
      if (!ax_vm_check_steps(vm)) THROW();
    }
    ip -= off;
    if (vm->heap_bytes > vm->next_gc || ax_mem_live_now() + ax_device_mem_live_now() > vm->next_gc) GC_CHECK();
    DISPATCH();
  }
  CASE(CALL) {
    int argc = U8();
    ax_value f = sp[-argc - 1];
    if (ax_is_kind(f, AX_O_CLOSURE) && !ax_interrupted) {
      ax_closure *cl = AX_AS_CLOSURE(f);
      if (cl->proto->nparams == argc && vm->nframes < AX_MAX_FRAMES &&
          sp + cl->proto->max_stack + 8 < vm->stack_end && --vm->steps_left >= 0) {
        frame->ip = ip;
        ax_frame *nf = &vm->frames[vm->nframes++];
        nf->closure = cl;
        nf->ip = cl->proto->code;
        nf->slots = sp - argc - 1;
        frame = nf;
        ip = nf->ip;
        slots = nf->slots;
        k = cl->proto->consts;
        vars = cl->proto->module->vars;
        DISPATCH();
      }
    }
    GC_CHECK();
    int r = call_value(vm, argc, NULL, 0);
    if (r == CALL_ERR) THROW();
    if (r == CALL_FRAME) LOAD_FRAME();
    RELOAD();
    DISPATCH();
  }
  CASE(CALL_KW) {
    int argc = U8();
    int nkw = U8();
    ax_list *names = AX_AS_LIST(k[U16()]);
    GC_CHECK();
    int r = call_value(vm, argc, names, nkw);
    if (r == CALL_ERR) THROW();
    if (r == CALL_FRAME) LOAD_FRAME();
    RELOAD();
    DISPATCH();
  }
  CASE(INVOKE) CASE(INVOKE_KW) {
    bool kwform = ip[-1] == AX_BC_INVOKE_KW;
    ax_string *name = AX_AS_STRING(k[U16()]);
    int argc = U8();
    int nkw = 0;
    ax_list *names = NULL;
    if (kwform) { nkw = U8(); names = AX_AS_LIST(k[U16()]); }
    GC_CHECK();
    ax_value *recv = sp - argc - nkw - 1;
    ax_value self = *recv;
    ax_value m;
    if (self.type == AX_V_OBJ) {
      ax_okind kind = (ax_okind)self.as.o->kind;
      if (kind == AX_O_MAP && ax_table_get_str(&AX_AS_MAP(self)->t, name, &m)) {
        *recv = m;   /* a function stored in the map: call it without self */
        goto invoke_call;
      }
      if (kind == AX_O_MODULE || kind == AX_O_FOREIGN || kind == AX_O_ERROR) {
        if (!ax_vm_get_field(vm, self, name, &m)) THROW();
        *recv = m;
        goto invoke_call;
      }
      if (ax_table_get_str(&vm->methods[kind], name, &m)) {
        ax_native *n = AX_AS_NATIVE(m);
        if (n->arity >= 0 && argc != n->arity) {
          ax_vm_raise(vm, "type", "%s.%s() takes %d argument%s but %d %s given", ax_type_name(self), name->chars,
                      n->arity, n->arity == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
          THROW();
        }
        ax_kw kw;
        ax_string *kn[256];
        if (nkw) {
          for (int i = 0; i < nkw; i++) kn[i] = AX_AS_STRING(names->items[i]);
          kw.n = nkw; kw.names = kn; kw.vals = recv + 1 + argc;
        }
        ax_value out = AX_NIL;
        void *saved_ud = vm->native_ud;
        vm->native_ud = n->ud;
        bool ok = n->fn(vm, recv, argc + 1, nkw ? &kw : NULL, &out);
        vm->native_ud = saved_ud;
        if (!ok) THROW();
        *recv = out;
        sp = recv + 1;
        DISPATCH();
      }
    }
    ax_vm_raise(vm, "attribute", "'%s' has no method '%s'", ax_type_name(self), name->chars);
    THROW();
  invoke_call: {
      int r = call_value(vm, argc, names, nkw);
      if (r == CALL_ERR) THROW();
      if (r == CALL_FRAME) LOAD_FRAME();
      RELOAD();
      DISPATCH();
    }
  }
  CASE(CLOSURE) {
    ax_proto *p = (ax_proto *)k[U16()].as.o;
    STORE();
    ax_closure *cl = ax_closure_new(vm, p);
    if (!cl) { ax_vm_oom(vm); THROW(); }
    *sp++ = ax_obj_value(cl);   /* rooted before capturing */
    for (int i = 0; i < p->nupvals; i++) {
      int is_local = U8();
      int idx = U8();
      if (is_local) {
        STORE();
        cl->upvals[i] = capture(vm, slots + idx);
        if (!cl->upvals[i]) { ax_vm_oom(vm); THROW(); }
      } else {
        cl->upvals[i] = frame->closure->upvals[idx];
      }
    }
    GC_CHECK();
    DISPATCH();
  }
  CASE(CLOSE_UPVAL) {
    close_upvals(vm, sp - 1);
    sp--;
    DISPATCH();
  }
  CASE(CLOSE_FROM) {
    close_upvals(vm, slots + U8());
    DISPATCH();
  }
  CASE(RETURN) {
    ax_value result;
    VCOPY(&result, sp - 1);
    close_upvals(vm, slots);
    while (vm->nhandlers && vm->handlers[vm->nhandlers - 1].frame >= vm->nframes - 1) vm->nhandlers--;
    vm->nframes--;
    sp = slots;
    VCOPY(sp, &result);
    sp++;
    if (vm->nframes == stop_at) {
      vm->sp = sp;
      return true;
    }
    LOAD_FRAME();
    DISPATCH();
  }
  CASE(BUILD_LIST) {
    int n = U8();
    STORE();
    ax_list *l = ax_list_new(vm, n);
    if (!l) { ax_vm_oom(vm); THROW(); }
    memcpy(l->items, sp - n, sizeof(ax_value) * (size_t)n);
    l->len = n;
    sp -= n;
    *sp++ = ax_obj_value(l);
    GC_CHECK();
    DISPATCH();
  }
  CASE(LIST_APPEND_N) {
    int n = U8();
    ax_list *l = AX_AS_LIST(sp[-n - 1]);
    STORE();
    if (!ax_list_reserve(vm, l, l->len + n)) { ax_vm_oom(vm); THROW(); }
    memcpy(l->items + l->len, sp - n, sizeof(ax_value) * (size_t)n);
    l->len += n;
    sp -= n;
    DISPATCH();
  }
  CASE(BUILD_MAP) CASE(MAP_SET_N) {
    bool build = ip[-1] == AX_BC_BUILD_MAP;
    int n = U8();
    STORE();
    ax_map *m;
    if (build) {
      m = ax_map_new(vm);
      if (!m) { ax_vm_oom(vm); THROW(); }
    } else {
      m = AX_AS_MAP(sp[-2 * n - 1]);
    }
    for (int i = 0; i < n; i++)
      if (!ax_map_set(vm, m, sp[-2 * n + 2 * i], sp[-2 * n + 2 * i + 1])) { ax_vm_oom(vm); THROW(); }
    sp -= 2 * n;
    if (build) *sp++ = ax_obj_value(m);
    GC_CHECK();
    DISPATCH();
  }
  CASE(RANGE) {
    ax_value a = sp[-2], b = sp[-1];
    STORE();
    if (!AX_IS_INT(a) || !AX_IS_INT(b)) {
      ax_vm_raise(vm, "type", "range bounds must be ints, not '%s' and '%s'", ax_type_name(a), ax_type_name(b));
      THROW();
    }
    ax_range *r = ax_range_new(vm, a.as.i, b.as.i, 1);
    if (!r) { ax_vm_oom(vm); THROW(); }
    sp[-2] = ax_obj_value(r);
    sp--;
    DISPATCH();
  }
  CASE(ITER_PREP) {
    STORE();
    ax_value st;
    if (!iter_prep(vm, sp[-1], &st)) THROW();
    *sp++ = st;
    DISPATCH();
  }
  CASE(ITER_NEXT) {
    int a = U8();
    int nv = U8();
    uint16_t off = U16();
    ax_value it = slots[a], item;
    if (ax_is_kind(it, AX_O_RANGE)) {
      ax_range *r = AX_AS_RANGE(it);
      int64_t i = slots[a + 1].as.i, next;
      if (r->step > 0 ? i >= r->stop : i <= r->stop) DISPATCH();
      if (__builtin_add_overflow(i, r->step, &next)) next = r->stop;   /* past the end */
      slots[a + 1].as.i = next;
      if (nv == 1) {   /* write the fields in place: no 16-byte temporary (store forwarding) */
        slots[a + 2].type = AX_V_INT;
        slots[a + 2].as.i = i;
        goto iter_back;
      }
      item = ax_int(i);
    } else if (AX_IS_LIST(it)) {
      ax_list *l = AX_AS_LIST(it);
      int64_t i = slots[a + 1].as.i;
      if (i >= l->len) DISPATCH();
      slots[a + 1].as.i = i + 1;
      if (nv == 1) {
        slots[a + 2] = l->items[i];
        goto iter_back;
      }
      item = l->items[i];
    } else {
      STORE();
      bool done;
      if (!ax_vm_iter_next(vm, it, &slots[a + 1], &item, &done)) THROW();
      if (done) DISPATCH();
    }
    if (nv == 1) slots[a + 2] = item;
    else {
      STORE();
      if (!unpack(vm, item, nv, slots + a + 2)) THROW();
    }
  iter_back:
    if (--vm->steps_left < 0 || ax_interrupted) {   /* --max-steps, Ctrl-C */
      STORE();
      if (!ax_vm_check_steps(vm)) THROW();
    }
    ip -= off;
    if (vm->heap_bytes > vm->next_gc || ax_mem_live_now() + ax_device_mem_live_now() > vm->next_gc) GC_CHECK();
    DISPATCH();
  }
  CASE(UNPACK) {
    int n = U8();
    STORE();
    ax_value seq = sp[-1];
    if (sp + n >= vm->stack_end) { ax_vm_raise(vm, "stack", "stack overflow"); THROW(); }
    if (!unpack(vm, seq, n, sp - 1)) THROW();
    sp += n - 1;
    DISPATCH();
  }
  CASE(TRY_BEGIN) {
    uint16_t off = U16();
    if (vm->nhandlers == vm->handlers_cap) {
      int ncap = vm->handlers_cap ? vm->handlers_cap * 2 : 16;
      ax_handler *nh = ax_realloc(vm->handlers, sizeof(ax_handler) * (size_t)vm->handlers_cap, sizeof(ax_handler) * (size_t)ncap);
      if (!nh) { STORE(); ax_vm_oom(vm); THROW(); }
      vm->handlers = nh;
      vm->handlers_cap = ncap;
    }
    ax_handler *h = &vm->handlers[vm->nhandlers++];
    h->frame = vm->nframes - 1;
    h->sp_off = (int32_t)(sp - vm->stack);
    h->catch_ip = ip + off;
    DISPATCH();
  }
  CASE(TRY_END) { vm->nhandlers--; DISPATCH(); }
  CASE(THROW) {
    STORE();
    ax_vm_raise_value(vm, sp[-1]);
    THROW();
  }
  CASE(IMPORT) {
    ax_string *name = AX_AS_STRING(k[U16()]);
    int is_path = U8();
    STORE();
    ax_value mod;
    if (!ax_vm_import(vm, name, is_path, &mod)) THROW();
    RELOAD();
    *sp++ = mod;
    DISPATCH();
  }
  CASE(NETWORK) {
    ax_string *name = AX_AS_STRING(k[U16()]);
    STORE();
    if (!vm->network_hook) {
      ax_vm_raise(vm, "network", "network '%s': the neural library is not loaded", name->chars);
      THROW();
    }
    ax_value out = AX_NIL;
    vm->cdepth++;
    bool ok = vm->network_hook(vm, sp[-1], &out);
    vm->cdepth--;
    if (!ok) THROW();
    RELOAD();
    sp[-1] = out;
    DISPATCH();
  }
  CASE(PRINT_EXPR) {
    STORE();
    ax_value v = sp[-1];
    if (!AX_IS_NIL(v)) print_value_line(vm, v);
    sp--;
    DISPATCH();
  }

#ifndef AX_COMPUTED_GOTO
  default: break;
  }
  return ax_vm_raise(vm, "internal", "bad bytecode");
#endif

on_error: {
    /* vm->error is set; find a handler of this run */
    if (!vm->error_uncatchable && vm->nhandlers > 0 && vm->handlers[vm->nhandlers - 1].frame >= stop_at) {
      ax_handler h = vm->handlers[--vm->nhandlers];
      ax_value *base = vm->stack + h.sp_off;
      close_upvals(vm, base);
      vm->nframes = h.frame + 1;
      sp = base;
      *sp++ = vm->error;
      vm->error = AX_NIL;
      LOAD_FRAME();
      ip = h.catch_ip;
      DISPATCH();
    }
    /* unwind this run's frames; the caller sees false */
    ax_value *base = vm->frames[stop_at].slots;
    close_upvals(vm, base);
    while (vm->nhandlers && vm->handlers[vm->nhandlers - 1].frame >= stop_at) vm->nhandlers--;
    vm->nframes = stop_at;
    vm->sp = base;
    return false;
  }
#undef LOAD_FRAME
#undef STORE
#undef RELOAD
#undef U8
#undef U16
#undef PEEK
#undef THROW
#undef GC_CHECK
#undef VCOPY
#undef CASE
#undef DISPATCH
}

bool ax_vm_run_proto(ax_vm *vm, ax_proto *p, ax_value *out) {
  ax_value *base = vm->sp;
  ax_closure *cl = ax_closure_new(vm, p);
  if (!cl) return ax_vm_oom(vm);
  *vm->sp++ = ax_obj_value(cl);
  int stop = vm->nframes;
  if (!push_frame(vm, cl, base)) { vm->sp = base; return false; }
  vm->cdepth++;
  bool ok = run(vm, stop);
  vm->cdepth--;
  if (ok && out) *out = vm->sp[-1];
  vm->sp = base;
  return ok;
}
