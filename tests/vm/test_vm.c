/* tests/vm/test_vm.c — white-box tests of the VM: tables, interned strings, float printing,
** the foreign-object hooks, the network hook, lazy native modules, and the GC under injected
** allocation failures (every failure must become a clean error, never a crash).
** Invariant: each check prints "FAIL file:line: expr" and the run exits 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_vmint.h"
#include "compile.h"

static int failures, checks;
#define CHECK(e) do { checks++; if (!(e)) { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #e); } } while (0)

static ax_value global(ax_vm *vm, const char *name) {
  ax_string *s = ax_str_cstr(vm, name);
  int slot = s && vm->main_module ? ax_module_find(vm->main_module, s) : -1;
  return slot >= 0 ? vm->main_module->vars[slot] : AX_UNDEF;
}

static int run(ax_vm *vm, const char *src) { return anx_vm_run_string(vm, "<test>", src, strlen(src)); }

static bool global_is_int(ax_vm *vm, const char *name, int64_t want) {
  ax_value v = global(vm, name);
  return AX_IS_INT(v) && v.as.i == want;
}

static bool global_is_str(ax_vm *vm, const char *name, const char *want) {
  ax_value v = global(vm, name);
  return AX_IS_STRING(v) && strcmp(AX_AS_STRING(v)->chars, want) == 0;
}

/* ---- tables and strings ---- */

static void test_tables(void) {
  ax_vm *vm = anx_vm_new();
  ax_table t;
  ax_table_init(&t);
  for (int i = 0; i < 5000; i++) CHECK(ax_table_set(&t, ax_int(i), ax_int(i * 2)) == 1);
  CHECK(t.count == 5000);
  for (int i = 0; i < 5000; i += 2) CHECK(ax_table_remove(&t, ax_int(i)));
  CHECK(t.count == 2500);
  ax_value v;
  CHECK(ax_table_get(&t, ax_int(4999), &v) && v.as.i == 9998);
  CHECK(!ax_table_get(&t, ax_int(4998), &v));
  CHECK(ax_table_get(&t, ax_float(4999.0), &v));   /* 4999.0 and 4999 are the same key */
  /* insertion order survives deletions and rebuilds */
  uint32_t pos = 0;
  ax_entry *e;
  int64_t prev = -1;
  bool ordered = true;
  int n = 0;
  while (ax_table_next(&t, &pos, &e)) { ordered &= e->key.as.i > prev; prev = e->key.as.i; n++; }
  CHECK(ordered && n == 2500);
  for (int i = 0; i < 100; i++) ax_table_set(&t, ax_int(i * 2), AX_NIL);
  CHECK(t.count == 2600);
  ax_table_fini(&t);

  ax_string *a = ax_str_new(vm, "a\0b", 3), *b = ax_str_new(vm, "a\0b", 3), *c = ax_str_new(vm, "a", 1);
  CHECK(a == b && a != c && a->len == 3);
  CHECK(ax_edit_distance("counter", "countr", 3) == 1);
  CHECK(ax_edit_distance("abc", "xyz", 2) > 2);
  anx_vm_free(vm);
}

static void test_floats(void) {
  struct { double v; const char *s; } cases[] = {
    {0.1, "0.1"}, {1.0, "1.0"}, {1e-07, "1e-07"}, {0.1 + 0.2, "0.30000000000000004"}, {1e20, "1e+20"},
    {123456.789, "123456.789"}, {-0.5, "-0.5"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
    {0.0001, "0.0001"}, {0.00001, "1e-05"}, {2.5e-10, "2.5e-10"}, {-0.0, "-0.0"}};
  char buf[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ax_format_float(cases[i].v, buf, sizeof buf);
    if (strcmp(buf, cases[i].s) != 0) fprintf(stderr, "  float %.17g printed %s, want %s\n", cases[i].v, buf, cases[i].s);
    CHECK(strcmp(buf, cases[i].s) == 0);
  }
  ax_format_float(INFINITY, buf, sizeof buf);
  CHECK(strcmp(buf, "inf") == 0);
}

/* ---- a foreign class: a box holding one value ---- */

typedef struct { ax_value v; int iter_n; } box;
static int finalized;

static void box_finalize(ax_vm *vm, void *d) { finalized++; free(d); }
static void box_mark(ax_vm *vm, void *d) { ax_vm_mark_value(vm, ((box *)d)->v); }
static int box_get(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  box *b = AX_AS_FOREIGN(self)->data;
  if (strcmp(name->chars, "value") == 0) { *out = b->v; return AX_HOOK_OK; }
  return AX_HOOK_MISSING;
}
static int box_set(ax_vm *vm, ax_value self, ax_string *name, ax_value v) {
  if (strcmp(name->chars, "value") != 0) return AX_HOOK_MISSING;
  ((box *)AX_AS_FOREIGN(self)->data)->v = v;
  return AX_HOOK_OK;
}
static int box_binop(ax_vm *vm, int op, ax_value a, ax_value b, int side, ax_value *out) {
  ax_value mine = ((box *)AX_AS_FOREIGN(side ? b : a)->data)->v, other = side ? a : b;
  if (op != AX_FOP_ADD || !AX_IS_INT(mine) || !AX_IS_INT(other)) return AX_HOOK_MISSING;
  *out = ax_int(mine.as.i + other.as.i + (side ? 1000 : 0));   /* side is visible to the test */
  return AX_HOOK_OK;
}
static int box_index(ax_vm *vm, ax_value self, int n, const ax_value *idx, ax_value *out) {
  ax_value a, b, c;
  if (n == 2 && ax_slice_parts(idx[1], &a, &b, &c)) { *out = ax_int(100 + (AX_IS_NIL(a) ? 0 : a.as.i)); return AX_HOOK_OK; }
  *out = ax_int(n);
  return AX_HOOK_OK;
}
static int box_call(ax_vm *vm, ax_value self, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_value scale = ax_int(1);
  ax_kw_get(kw, "scale", &scale);
  *out = ax_int((argc ? args[0].as.i : 0) * scale.as.i);
  return AX_HOOK_OK;
}
static int box_iter(ax_vm *vm, ax_value self, ax_value *state, ax_value *out) {
  int64_t i = AX_IS_NIL(*state) ? 0 : state->as.i;
  if (i >= 3) return AX_HOOK_MISSING;
  *state = ax_int(i + 1);
  *out = ax_int(i * 10);
  return AX_HOOK_OK;
}
static int box_truthy(ax_vm *vm, ax_value self, bool *out) {
  ax_value v = ((box *)AX_AS_FOREIGN(self)->data)->v;
  if (!AX_IS_INT(v)) { ax_vm_raise(vm, "value", "a box of a non-int in a condition is an error"); return AX_HOOK_ERR; }
  *out = v.as.i != 0;
  return AX_HOOK_OK;
}
static int box_len(ax_vm *vm, ax_value self, int64_t *out) { *out = 2; return AX_HOOK_OK; }

static const ax_foreign_class box_class = {
  .name = "box", .finalize = box_finalize, .mark = box_mark, .get_field = box_get, .set_field = box_set,
  .binop = box_binop, .index = box_index, .call = box_call, .iter = box_iter, .truthy = box_truthy,
  .len = box_len};

static bool n_box(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  box *b = calloc(1, sizeof(box));
  if (!b) return ax_vm_oom(vm);
  b->v = args[0];
  *out = ax_foreign_new(vm, &box_class, b);
  if (AX_IS_NIL(*out)) { free(b); return false; }
  return true;
}

static bool n_shape_error(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_vm_raise(vm, "shape", "matmul: shape mismatch [%d, 3] @ [2, 2]", 2);
}

static void test_foreign(void) {
  ax_vm *vm = anx_vm_new();
  CHECK(ax_vm_register_global(vm, "box", n_box, 1));
  CHECK(ax_vm_register_global(vm, "shape_error", n_shape_error, 0));
  int rc = run(vm,
    "let b = box(5)\n"
    "let r1 = b + 1\n"          /* foreign on the left  */
    "let r2 = 1 + b\n"          /* foreign on the right: side flag */
    "let r3 = b[1, 2:3]\n"      /* two indices, the second a slice */
    "let r4 = b(7, scale: 3)\n" /* call with a keyword */
    "var total = 0\n"
    "for x in b { total += x }\n"
    "b.value = 9\n"
    "let r5 = b.value\n"
    "var r6 = 0\n"
    "if b { r6 = 1 }\n"
    "let r7 = type(b)\n"
    "let r8 = len(b)\n"
    "var k = \"\"\n"
    "try { shape_error() } catch e { k = e.kind + \":\" + e.message }\n"
    "var t = \"\"\n"
    "try { if box(\"s\") { t = \"no\" } } catch e { t = e.message }\n");
  CHECK(rc == 0);
  CHECK(global_is_int(vm, "r1", 6));
  CHECK(global_is_int(vm, "r2", 1006));
  CHECK(global_is_int(vm, "r3", 102));
  CHECK(global_is_int(vm, "r4", 21));
  CHECK(global_is_int(vm, "total", 30));
  CHECK(global_is_int(vm, "r5", 9));
  CHECK(global_is_int(vm, "r6", 1));
  CHECK(global_is_str(vm, "r7", "box"));
  CHECK(global_is_int(vm, "r8", 2));
  CHECK(global_is_str(vm, "k", "shape:matmul: shape mismatch [2, 3] @ [2, 2]"));
  CHECK(global_is_str(vm, "t", "a box of a non-int in a condition is an error"));
  anx_vm_free(vm);
  CHECK(finalized == 2);
}

/* ---- network hook: the spec the compiler builds ---- */

static int hook_calls;
static bool net_hook(ax_vm *vm, ax_value spec, ax_value *out) {
  hook_calls++;
  *out = spec;   /* the test inspects the spec from the script */
  return true;
}

static void test_network(void) {
  ax_vm *vm = anx_vm_new();
  ax_vm_set_network_hook(vm, NULL);   /* as without the neural library */
  int rc = run(vm, "network N { neuron a { units: 4 } }\n");
  CHECK(rc == ANX_RUNTIME_ERROR);   /* no hook: "the neural library is not loaded" */
  anx_vm_free(vm);

  vm = anx_vm_new();
  ax_vm_set_network_hook(vm, net_hook);
  rc = run(vm,
    "let width = 8\n"
    "network Net(h = 3) {\n"
    "  neuron hidden { units: h * 2, activation: relu }\n"
    "  layer out(10, bias: false) { activation: softmax }\n"
    "  synap input -> hidden -> out\n"
    "  learning_rate: 0.1\n"
    "  let scale = width\n"
    "  pulse(x) { return hidden(x) + scale }\n"
    "}\n"
    "let items = Net[\"items\"]\n"
    "let name = Net[\"name\"]\n"
    "let ctor = Net[\"ctor\"]\n"
    "let bound = Net[\"bind\"](5)\n"
    "let bound_default = Net[\"bind\"]()\n"
    "let units = items[0][\"props\"][\"units\"](4)\n"
    "let act = items[0][\"props\"][\"activation\"](4)\n"
    "let out_args = items[1][\"args\"][0](4)\n"
    "let out_bias = items[1][\"kwargs\"][\"bias\"](4)\n"
    "let chain = items[2][\"chain\"]\n"
    "let lr = items[3][\"value\"](4)\n"
    "let scale_v = items[4][\"value\"](4)\n"
    "let pulse_kind = items[5][\"kind\"]\n"
    "let self_map = {hidden: fn(x) => x * 100, scale: 1}\n"
    "let forward = items[5][\"fn\"](self_map, 2)\n");
  CHECK(rc == 0);
  CHECK(hook_calls == 1);
  CHECK(global_is_str(vm, "name", "Net"));
  CHECK(ax_is_kind(global(vm, "ctor"), AX_O_LIST) == false && AX_IS_BOOL(global(vm, "ctor")) && global(vm, "ctor").as.b);
  ax_value b = global(vm, "bound"), bd = global(vm, "bound_default");
  CHECK(AX_IS_LIST(b) && AX_AS_LIST(b)->len == 1 && AX_AS_LIST(b)->items[0].as.i == 5);
  CHECK(AX_IS_LIST(bd) && AX_AS_LIST(bd)->items[0].as.i == 3);
  CHECK(global_is_int(vm, "units", 8));
  CHECK(global_is_str(vm, "act", "relu"));   /* a bare name that is no user binding: a symbol */
  CHECK(global_is_int(vm, "out_args", 10));
  ax_value ob = global(vm, "out_bias");
  CHECK(AX_IS_BOOL(ob) && !ob.as.b);
  ax_value ch = global(vm, "chain");
  CHECK(AX_IS_LIST(ch) && AX_AS_LIST(ch)->len == 3);
  ax_value lr = global(vm, "lr");
  CHECK(AX_IS_FLOAT(lr) && lr.as.f == 0.1);
  CHECK(global_is_int(vm, "scale_v", 8));
  CHECK(global_is_str(vm, "pulse_kind", "pulse"));
  CHECK(global_is_int(vm, "forward", 201));   /* hidden(x) + scale resolve to self.hidden, self.scale */
  anx_vm_free(vm);
}

/* ---- lazy native modules ---- */

static int init_calls;
static bool n_answer(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { *out = ax_int(42); return true; }
static bool lazy_init(ax_vm *vm, ax_module *m) {
  init_calls++;
  return ax_module_set_native(vm, m, "answer", n_answer, 0) && ax_module_set_value(vm, m, "version", ax_int(3));
}

static void test_modules(void) {
  ax_vm *vm = anx_vm_new();
  CHECK(ax_vm_register_module_lazy(vm, "deep", lazy_init));
  CHECK(init_calls == 0);
  int rc = run(vm, "import deep\nimport deep as d2\nfrom deep import answer\nlet a = deep.answer() + d2.version + answer()\n");
  CHECK(rc == 0);
  CHECK(init_calls == 1);
  CHECK(global_is_int(vm, "a", 87));
  anx_vm_free(vm);
}

/* ---- errors: locations, stack overflow, recovery ---- */

static void test_errors(void) {
  ax_vm *vm = anx_vm_new();
  int rc = run(vm, "var line = 0\nvar kind = \"\"\ntry {\n  let x = [1][5]\n} catch e { line = e.line; kind = e.kind }\n");
  CHECK(rc == 0);
  CHECK(global_is_int(vm, "line", 4));
  CHECK(global_is_str(vm, "kind", "index"));
  rc = run(vm, "fn f(n) { return f(n + 1) }\nvar m = \"\"\ntry { f(0) } catch e { m = e.message }\nlet after = 1\n");
  CHECK(rc == 0);
  CHECK(global_is_str(vm, "m", "stack overflow"));
  CHECK(vm->nframes == 0 && vm->sp == vm->stack && vm->nhandlers == 0);
  rc = run(vm, "throw \"boom\"\n");
  CHECK(rc == ANX_RUNTIME_ERROR);
  CHECK(vm->nframes == 0 && vm->sp == vm->stack);   /* reset, usable again */
  rc = run(vm, "let ok = 1\n");
  CHECK(rc == 0 && global_is_int(vm, "ok", 1));
  rc = run(vm, "let = \n");
  CHECK(rc == ANX_COMPILE_ERROR);
  anx_vm_free(vm);
}

/* ---- allocation failure injection: every failure is an error, never a crash ---- */

static const char *oom_script =
  "var xs = []\n"
  "for i in range(200) { xs.push(str(i) + \"-\" + str(i * 2)) }\n"
  "var m = {}\n"
  "for s in xs { m[s] = [s, len(s)] }\n"
  "fn mk(n) { return fn() => n }\n"
  "let fs = map(fn(x) => mk(x), range(50))\n"
  "let total = sum(map(fn(f) => f(), fs))\n";

static void test_oom(void) {
  int ok_runs = 0, err_runs = 0;
  FILE *devnull = fopen("/dev/null", "w");
  int saved = dup(2);
  if (devnull) dup2(fileno(devnull), 2);   /* the failing runs report errors: keep them quiet */
  size_t live0 = ax_mem_live();
  for (uint64_t n = 1; n < 3000; n += 7) {
    ax_vm *vm = anx_vm_new();
    if (!vm) continue;
    vm->gc_stress = n % 2 == 0;
    if (vm->gc_stress) vm->next_gc = 0;
    ax_mem_fail_at(n);
    int rc = run(vm, oom_script);
    bool fired = ax_mem_injected_failure();
    ax_mem_fail_at(0);
    if (rc == 0) {
      ok_runs++;
      if (!fired) CHECK(global_is_int(vm, "total", 1225));
    } else {
      err_runs++;
      CHECK(rc == ANX_RUNTIME_ERROR || rc == ANX_COMPILE_ERROR);
    }
    anx_vm_free(vm);
    if (ax_mem_live() != live0) fprintf(stdout, "  leak after failure %llu: %zd bytes\n", (unsigned long long)n, (ssize_t)(ax_mem_live() - live0));
    CHECK(ax_mem_live() == live0);
  }
  if (devnull) { dup2(saved, 2); fclose(devnull); }
  close(saved);
  CHECK(err_runs > 0);
  CHECK(ok_runs > 0);
  /* failures while the VM itself starts: NULL or a working VM, never a crash or a leak */
  size_t base = ax_mem_live();
  for (uint64_t n = 1; n < 2000; n += 3) {
    ax_mem_fail_at(n);
    ax_vm *v = anx_vm_new();
    ax_mem_fail_at(0);
    if (v) anx_vm_free(v);
    CHECK(ax_mem_live() == base);
  }
  /* no leaks: the VM gives every byte back */
  size_t before = ax_mem_live();
  ax_vm *vm = anx_vm_new();
  run(vm, oom_script);
  anx_vm_free(vm);
  CHECK(ax_mem_live() == before);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  test_tables();
  test_floats();
  test_foreign();
  test_network();
  test_modules();
  test_errors();
  test_oom();
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
