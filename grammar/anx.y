/* grammar/anx.y — the Bison grammar of anx (LANGUAGE.md section 2); actions only build AST nodes.
** Pure LALR(1) parser with locations, LAC and custom messages; conflicts fail the build.
** Invariant: 0 shift/reduce and 0 reduce/reduce conflicts; every action tolerates NULL children. */

%code requires {
#include "ast.h"
typedef struct ax_parser ax_parser;
}

%code {
#include "lexer.h"

#include <stdio.h>
#include <string.h>

/* Deep enough for AX_MAX_NESTING brackets with their expression levels; 100k unary minus signs
** hit it and get "nesting too deep", not a crash. */
#define YYMAXDEPTH 10000
#define YYINITDEPTH 256

static void ax_yyerror(AX_YYLTYPE *loc, ax_parser *P, const char *msg);

static ax_node *mk(ax_parser *P, ax_node_kind kind, const AX_YYLTYPE *loc) {
  ax_node *n = ax_node_new(P->arena, kind, loc->first_line, loc->first_column);
  if (!n) P->oom = P->fatal = 1;
  return n;
}

static ax_node *mk3(ax_parser *P, ax_node_kind kind, const AX_YYLTYPE *loc, int op, ax_node *a,
                    ax_node *b, ax_node *c) {
  ax_node *n = mk(P, kind, loc);
  if (n) {
    n->op = op;
    n->a = a;
    n->b = b;
    n->c = c;
  }
  return n;
}

/* A node placed at the location of another node (its first token). */
static ax_node *mk_at(ax_parser *P, ax_node_kind kind, const ax_node *at, const AX_YYLTYPE *loc) {
  ax_node *n = mk(P, kind, loc);
  if (n && at) {
    n->line = at->line;
    n->col = at->col;
  }
  return n;
}

static void push(ax_parser *P, ax_nodelist *list, ax_node *n) {
  if (n && ax_nodelist_push(P->arena, list, n) != 0) P->oom = P->fatal = 1;
}

static ax_nodelist one(ax_parser *P, ax_node *n) {
  ax_nodelist l = {NULL, 0, 0};
  push(P, &l, n);
  return l;
}

static const char *name_of(const ax_node *n) { return n ? n->name : NULL; }

static ax_node *with_name(ax_node *n, const ax_node *ident) {
  if (n) n->name = name_of(ident);
  return n;
}

static ax_node *with_list(ax_node *n, ax_nodelist l) {
  if (n) n->list = l;
  return n;
}

static ax_node *with_list2(ax_node *n, ax_nodelist l) {
  if (n) n->list2 = l;
  return n;
}

static ax_node *binary(ax_parser *P, const AX_YYLTYPE *loc, int op, ax_node *a, ax_node *b) {
  return mk3(P, AX_N_BINARY, loc, op, a, b, NULL);
}

/* ASSIGN: only names, indexing and fields can be assigned to. */
static ax_node *assign(ax_parser *P, const AX_YYLTYPE *loc, int op, ax_node *target, ax_node *value) {
  if (target && target->kind != AX_N_NAME && target->kind != AX_N_INDEX && target->kind != AX_N_FIELD)
    ax_perror(P, 1, target->line, target->col,
              "cannot assign to this expression (only a name, x[i] or x.field)");
  ax_node *n = mk3(P, AX_N_ASSIGN, loc, op, target, value, NULL);
  if (n && target) {   /* at the target, also for `(x) = 1` */
    n->line = target->line;
    n->col = target->col;
  }
  return n;
}

/* CALL: positional arguments first, then keyword arguments. */
static ax_node *call(ax_parser *P, const AX_YYLTYPE *loc, ax_node *callee, ax_nodelist args) {
  int seen_kw = 0;
  for (int i = 0; i < args.n; i++) {
    ax_node *a = args.items[i];
    if (a->kind == AX_N_KWARG) {
      seen_kw = 1;
    } else if (seen_kw) {
      ax_perror(P, 1, a->line, a->col, "positional argument after keyword argument");
      break;
    }
  }
  return with_list(mk3(P, AX_N_CALL, loc, 0, callee, NULL, NULL), args);
}

/* PULSE x -> f -> ... -> out: at least three items, the last a name that gets bound. */
static ax_node *pulse(ax_parser *P, const AX_YYLTYPE *loc, ax_nodelist chain) {
  if (chain.n > 0 && chain.n < 3) {
    ax_node *last = chain.items[chain.n - 1];
    /* cut by the end of the input: a next line `-> out` may still come (REPL) */
    int at_end = P->cur_kind == T_TERM && P->cur_auto == 'e';
    if (at_end) P->eof_incomplete = 1;
    ax_perror(P, !at_end, last->line, last->col,
              "a pulse chain needs a result name at its end: pulse x -> Net -> out");
  } else if (chain.n >= 3 && chain.items[chain.n - 1]->kind != AX_N_NAME) {
    ax_node *last = chain.items[chain.n - 1];
    ax_perror(P, 1, last->line, last->col, "the last item of a pulse chain must be a name to bind");
  }
  return with_list(mk(P, AX_N_PULSE, loc), chain);
}

/* A bare map key becomes a STRING node. */
static ax_node *key_string(ax_parser *P, ax_node *ident, const AX_YYLTYPE *loc) {
  ax_node *s = mk_at(P, AX_N_STRING, ident, loc);
  if (s && ident && ident->name) {
    s->str = (char *)ident->name;
    s->len = strlen(ident->name);
  }
  return s;
}

/* "a.b.c" from the NAME parts of a dotted path. */
static ax_node *dotted_name(ax_parser *P, ax_nodelist parts, const AX_YYLTYPE *loc) {
  size_t len = 0;
  for (int i = 0; i < parts.n; i++) len += strlen(parts.items[i]->name ? parts.items[i]->name : "") + 1;
  ax_node *n = mk_at(P, AX_N_NAME, parts.n ? parts.items[0] : NULL, loc);
  char *s = ax_arena_alloc(P->arena, len + 1);
  if (!n || !s) {
    P->oom = P->fatal = 1;
    return n;
  }
  size_t k = 0;
  for (int i = 0; i < parts.n; i++) {
    const char *part = parts.items[i]->name ? parts.items[i]->name : "";
    if (i) s[k++] = '.';
    memcpy(s + k, part, strlen(part));
    k += strlen(part);
  }
  s[k] = '\0';
  n->name = s;
  return n;
}

static ax_nodelist cat(ax_parser *P, ax_nodelist a, ax_nodelist b) {
  for (int i = 0; i < b.n; i++) push(P, &a, b.items[i]);
  return a;
}
}

%expect 0
%define api.pure full
%define api.prefix {ax_yy}
%define api.token.prefix {T_}
%define parse.error custom
%define parse.lac full
%locations
%param {ax_parser *P}

%union {
  ax_node *node;
  ax_nodelist list;
  int op;
}

%token <node> IDENT "name" INT "integer" FLOAT "number" STRING "string"
%token TERM "newline"
%token LET "let" VAR "var" SYNAP "synap" FN "fn" NEURO "neuro" FUNCTION "function"
       NETWORK "network" NEURON "neuron" LAYER "layer" PULSE "pulse" IF "if" ELSE "else"
       WHILE "while" FOR "for" IN "in" BREAK "break" CONTINUE "continue" RETURN "return"
       IMPORT "import" FROM "from" AS "as" AND "and" OR "or" NOT "not" TRUE "true"
       FALSE "false" NIL "nil" SELF "self" TRY "try" CATCH "catch" THROW "throw"
%token ARROW "->" FATARROW "=>" DOTDOT ".." POW "**" EQ "==" NE "!=" LE "<=" GE ">="
       PLUSEQ "+=" MINUSEQ "-=" STAREQ "*=" SLASHEQ "/="

%type <node> stmt simple import fndecl param block if_stmt while_stmt for_stmt try_stmt
%type <node> netdecl netitem prop type dim expr orx andx notx cmp rng add mul un pow post
%type <node> arg idx opt_expr prim map mitem opt_type
%type <list> stmts names dotted opt_params params netitems edge_rest props plist dims
%type <list> opt_args args idxs elist mlist pulse_rest
%type <op> decl_kw assign_op fn_kw cmpop

%%

program: stmts { P->program = with_list(mk(P, AX_N_PROGRAM, &@$), $1);
                 if (P->program) { P->program->line = 1; P->program->col = 1; } }
       ;

stmts: %empty       { $$ = (ax_nodelist){NULL, 0, 0}; }
     | stmts stmt   { $$ = $1; push(P, &$$, $2); }
     ;

stmt: simple TERM   { $$ = $1; }
    | if_stmt
    | while_stmt
    | for_stmt
    | fndecl
    | netdecl
    | try_stmt
    | TERM          { $$ = NULL; }
    | error TERM    { $$ = NULL; if (P->cur_auto != '}') yyerrok; }
    ;

simple: decl_kw names opt_type '=' expr
          { $$ = with_list(mk3(P, AX_N_DECL, &@$, $1, $3, $5, NULL), $2); }
      | import
      | expr                 { $$ = mk_at(P, AX_N_EXPR_STMT, $1, &@$); if ($$) $$->a = $1; }
      | expr assign_op expr  { $$ = assign(P, &@$, $2, $1, $3); }
      | PULSE expr ARROW expr pulse_rest
          { ax_nodelist l = one(P, $2); push(P, &l, $4); $$ = pulse(P, &@$, cat(P, l, $5)); }
      | RETURN               { $$ = mk(P, AX_N_RETURN, &@$); }
      | RETURN expr          { $$ = mk3(P, AX_N_RETURN, &@$, 0, $2, NULL, NULL); }
      | BREAK                { $$ = mk(P, AX_N_BREAK, &@$); }
      | CONTINUE             { $$ = mk(P, AX_N_CONTINUE, &@$); }
      | THROW expr           { $$ = mk3(P, AX_N_THROW, &@$, 0, $2, NULL, NULL); }
      ;

pulse_rest: %empty                 { $$ = (ax_nodelist){NULL, 0, 0}; }
          | pulse_rest ARROW expr  { $$ = $1; push(P, &$$, $3); }
          ;

decl_kw: LET { $$ = AX_DECL_LET; } | VAR { $$ = AX_DECL_VAR; } | SYNAP { $$ = AX_DECL_SYNAP; } ;

assign_op: '='      { $$ = '='; }
         | PLUSEQ   { $$ = AX_OP_ADD; }
         | MINUSEQ  { $$ = AX_OP_SUB; }
         | STAREQ   { $$ = AX_OP_MUL; }
         | SLASHEQ  { $$ = AX_OP_DIV; }
         ;

names: IDENT            { $$ = one(P, $1); }
     | names ',' IDENT  { $$ = $1; push(P, &$$, $3); }
     ;

opt_type: %empty    { $$ = NULL; }
        | ':' type  { $$ = $2; }
        ;

type: IDENT               { $$ = with_name(mk(P, AX_N_TYPE, &@$), $1); }
    | IDENT '[' ']'       { $$ = with_name(mk3(P, AX_N_TYPE, &@$, 1, NULL, NULL, NULL), $1); }
    | IDENT '[' dims ']'  { $$ = with_list(with_name(mk3(P, AX_N_TYPE, &@$, 1, NULL, NULL, NULL), $1), $3); }
    ;

dims: dim           { $$ = one(P, $1); }
    | dims ',' dim  { $$ = $1; push(P, &$$, $3); }
    ;

dim: INT    { $$ = $1; }
   | IDENT  { $$ = $1; }
   | '?'    { $$ = mk(P, AX_N_NIL, &@$); }
   ;

import: IMPORT dotted           { $$ = with_list(mk(P, AX_N_IMPORT, &@$), $2); }
      | IMPORT dotted AS IDENT  { $$ = with_name(with_list(mk(P, AX_N_IMPORT, &@$), $2), $4); }
      | IMPORT STRING AS IDENT
          { $$ = with_name(mk3(P, AX_N_IMPORT, &@$, 1, NULL, NULL, NULL), $4);
            if ($$ && $2) { $$->str = $2->str; $$->len = $2->len; } }
      | FROM dotted IMPORT names
          { $$ = with_list(mk3(P, AX_N_FROM_IMPORT, &@$, 0, dotted_name(P, $2, &@2), NULL, NULL), $4); }
      | FROM STRING IMPORT names
          { $$ = with_list(mk3(P, AX_N_FROM_IMPORT, &@$, 0, $2, NULL, NULL), $4); }
      ;

dotted: IDENT             { $$ = one(P, $1); }
      | dotted '.' IDENT  { $$ = $1; push(P, &$$, $3); }
      ;

fndecl: fn_kw IDENT '(' opt_params ')' opt_type block
          { $$ = with_list(with_name(mk3(P, AX_N_FNDECL, &@$, $1, $7, $6, NULL), $2), $4); }
      ;

fn_kw: FN { $$ = AX_FN_FN; } | NEURO { $$ = AX_FN_NEURO; } | FUNCTION { $$ = AX_FN_FUNCTION; } ;

opt_params: %empty  { $$ = (ax_nodelist){NULL, 0, 0}; }
          | params
          ;

params: param             { $$ = one(P, $1); }
      | params ',' param  { $$ = $1; push(P, &$$, $3); }
      ;

param: IDENT opt_type           { $$ = with_name(mk3(P, AX_N_PARAM, &@$, 0, NULL, $2, NULL), $1); }
     | IDENT opt_type '=' expr  { $$ = with_name(mk3(P, AX_N_PARAM, &@$, 0, $4, $2, NULL), $1); }
     ;

block: '{' stmts '}'  { $$ = with_list(mk(P, AX_N_BLOCK, &@$), $2); } ;

if_stmt: IF expr block                { $$ = mk3(P, AX_N_IF, &@$, 0, $2, $3, NULL); }
       | IF expr block ELSE block     { $$ = mk3(P, AX_N_IF, &@$, 0, $2, $3, $5); }
       | IF expr block ELSE if_stmt   { $$ = mk3(P, AX_N_IF, &@$, 0, $2, $3, $5); }
       ;

while_stmt: WHILE expr block  { $$ = mk3(P, AX_N_WHILE, &@$, 0, $2, $3, NULL); } ;

for_stmt: FOR names IN expr block  { $$ = with_list(mk3(P, AX_N_FOR, &@$, 0, $4, $5, NULL), $2); } ;

/* `catch` may start the next line: `}\ncatch e {` reads like `} catch e {`. */
try_stmt: TRY block CATCH IDENT block
            { $$ = with_name(mk3(P, AX_N_TRY, &@$, 0, $2, $5, NULL), $4); }
        | TRY block TERM CATCH IDENT block
            { $$ = with_name(mk3(P, AX_N_TRY, &@$, 0, $2, $6, NULL), $5); }
        ;

netdecl: NETWORK IDENT '{' netitems '}'
           { $$ = with_list2(with_name(mk(P, AX_N_NETWORK, &@$), $2), $4); }
       | NETWORK IDENT '(' opt_params ')' '{' netitems '}'
           { ax_node *n = with_name(mk3(P, AX_N_NETWORK, &@$, 1, NULL, NULL, NULL), $2);
             $$ = with_list2(with_list(n, $4), $7); }
       ;

netitems: %empty             { $$ = (ax_nodelist){NULL, 0, 0}; }
        | netitems netitem   { $$ = $1; push(P, &$$, $2); }
        ;

netitem: NEURON IDENT props TERM
           { $$ = with_list(with_name(mk(P, AX_N_NEURON, &@$), $2), $3); }
       | LAYER IDENT '=' expr TERM
           { $$ = with_name(mk3(P, AX_N_LAYER, &@$, 0, $4, NULL, NULL), $2); }
       | LAYER IDENT '(' opt_args ')' TERM
           { $$ = with_list2(with_name(mk3(P, AX_N_LAYER, &@$, 1, NULL, NULL, NULL), $2), $4); }
       | LAYER IDENT '(' opt_args ')' props TERM
           { ax_node *n = with_name(mk3(P, AX_N_LAYER, &@$, 1, NULL, NULL, NULL), $2);
             $$ = with_list(with_list2(n, $4), $6); }
       | SYNAP IDENT ARROW IDENT edge_rest TERM
           { ax_nodelist l = one(P, $2); push(P, &l, $4);
             $$ = with_list(mk(P, AX_N_SYNAP, &@$), cat(P, l, $5)); }
       | SYNAP IDENT ARROW IDENT edge_rest props TERM
           { ax_nodelist l = one(P, $2); push(P, &l, $4);
             $$ = with_list2(with_list(mk(P, AX_N_SYNAP, &@$), cat(P, l, $5)), $6); }
       | LET names opt_type '=' expr TERM
           { $$ = with_list(mk3(P, AX_N_DECL, &@$, AX_DECL_LET, $3, $5, NULL), $2); }
       | VAR names opt_type '=' expr TERM
           { $$ = with_list(mk3(P, AX_N_DECL, &@$, AX_DECL_VAR, $3, $5, NULL), $2); }
       | prop TERM   { $$ = $1; }
       | PULSE '(' opt_params ')' block
           { $$ = with_list(mk3(P, AX_N_NET_PULSE, &@$, 0, $5, NULL, NULL), $3); }
       | fndecl
       | TERM        { $$ = NULL; }
       | error TERM  { $$ = NULL; if (P->cur_auto != '}') yyerrok; }
       ;

edge_rest: %empty                 { $$ = (ax_nodelist){NULL, 0, 0}; }
         | edge_rest ARROW IDENT  { $$ = $1; push(P, &$$, $3); }
         ;

props: '{' '}'                { $$ = (ax_nodelist){NULL, 0, 0}; }
     | '{' plist opt_sep '}'  { $$ = $2; }
     | '{' error '}'          { $$ = (ax_nodelist){NULL, 0, 0}; P->brace_replay = 0; }
     ;

plist: prop            { $$ = one(P, $1); }
     | plist sep prop  { $$ = $1; push(P, &$$, $3); }
     ;

prop: IDENT ':' expr  { $$ = with_name(mk3(P, AX_N_PROP, &@$, 0, $3, NULL, NULL), $1); } ;

sep: ',' | TERM ;
opt_sep: %empty | sep ;

/* ---- expressions ---- */

expr: orx
    | FN '(' opt_params ')' FATARROW expr
        { $$ = with_list(mk3(P, AX_N_LAMBDA, &@$, 1, $6, NULL, NULL), $3); }
    ;

orx: andx
   | orx OR andx    { $$ = mk3(P, AX_N_OR, &@$, 0, $1, $3, NULL); }
   ;

andx: notx
    | andx AND notx  { $$ = mk3(P, AX_N_AND, &@$, 0, $1, $3, NULL); }
    ;

notx: NOT notx  { $$ = mk3(P, AX_N_NOT, &@$, 0, $2, NULL, NULL); }
    | cmp
    ;

cmp: rng
   | rng cmpop rng  { $$ = binary(P, &@$, $2, $1, $3); }
   ;

cmpop: EQ { $$ = AX_OP_EQ; } | NE { $$ = AX_OP_NE; } | '<' { $$ = AX_OP_LT; }
     | LE { $$ = AX_OP_LE; } | '>' { $$ = AX_OP_GT; } | GE { $$ = AX_OP_GE; } ;

rng: add
   | add DOTDOT add  { $$ = mk3(P, AX_N_RANGE, &@$, 0, $1, $3, NULL); }
   ;

add: mul
   | add '+' mul  { $$ = binary(P, &@$, AX_OP_ADD, $1, $3); }
   | add '-' mul  { $$ = binary(P, &@$, AX_OP_SUB, $1, $3); }
   ;

mul: un
   | mul '*' un  { $$ = binary(P, &@$, AX_OP_MUL, $1, $3); }
   | mul '/' un  { $$ = binary(P, &@$, AX_OP_DIV, $1, $3); }
   | mul '%' un  { $$ = binary(P, &@$, AX_OP_MOD, $1, $3); }
   | mul '@' un  { $$ = binary(P, &@$, AX_OP_MATMUL, $1, $3); }
   ;

un: '-' un  { $$ = mk3(P, AX_N_UNARY, &@$, '-', $2, NULL, NULL); }
  | '+' un  { $$ = mk3(P, AX_N_UNARY, &@$, '+', $2, NULL, NULL); }
  | pow
  ;

pow: post
   | post POW un  { $$ = binary(P, &@$, AX_OP_POW, $1, $3); }
   ;

post: prim
    | post '(' opt_args ')'  { $$ = call(P, &@$, $1, $3); }
    | post '[' idxs ']'      { $$ = with_list(mk3(P, AX_N_INDEX, &@$, 0, $1, NULL, NULL), $3); }
    | post '.' IDENT         { $$ = with_name(mk3(P, AX_N_FIELD, &@$, 0, $1, NULL, NULL), $3); }
    | post '(' error ')'     { $$ = NULL; }
    | post '[' error ']'     { $$ = NULL; }
    ;

opt_args: %empty    { $$ = (ax_nodelist){NULL, 0, 0}; }
        | args
        | args ','
        ;

args: arg           { $$ = one(P, $1); }
    | args ',' arg  { $$ = $1; push(P, &$$, $3); }
    ;

arg: expr
   | IDENT ':' expr  { $$ = with_name(mk3(P, AX_N_KWARG, &@$, 0, $3, NULL, NULL), $1); }
   ;

idxs: idx           { $$ = one(P, $1); }
    | idxs ',' idx  { $$ = $1; push(P, &$$, $3); }
    ;

idx: expr
   | opt_expr ':' opt_expr               { $$ = mk3(P, AX_N_SLICE, $1 ? &@$ : &@2, 0, $1, $3, NULL); }
   | opt_expr ':' opt_expr ':' opt_expr  { $$ = mk3(P, AX_N_SLICE, $1 ? &@$ : &@2, 0, $1, $3, $5); }
   ;

opt_expr: %empty  { $$ = NULL; }
        | expr
        ;

prim: INT     { $$ = $1; }
    | FLOAT   { $$ = $1; }
    | STRING  { $$ = $1; }
    | TRUE    { $$ = mk(P, AX_N_TRUE, &@$); }
    | FALSE   { $$ = mk(P, AX_N_FALSE, &@$); }
    | NIL     { $$ = mk(P, AX_N_NIL, &@$); }
    | SELF    { $$ = mk(P, AX_N_SELF, &@$); }
    | IDENT   { $$ = $1; }
    | '(' expr ')'                { $$ = $2; }
    | '(' error ')'               { $$ = NULL; }
    | '[' error ']'               { $$ = NULL; }
    | '[' ']'                     { $$ = mk(P, AX_N_LIST, &@$); }
    | '[' elist ']'               { $$ = with_list(mk(P, AX_N_LIST, &@$), $2); }
    | '[' elist ',' ']'           { $$ = with_list(mk(P, AX_N_LIST, &@$), $2); }
    | map
    | FN '(' opt_params ')' block { $$ = with_list(mk3(P, AX_N_LAMBDA, &@$, 0, $5, NULL, NULL), $3); }
    ;

elist: expr            { $$ = one(P, $1); }
     | elist ',' expr  { $$ = $1; push(P, &$$, $3); }
     ;

map: '{' '}'                { $$ = mk(P, AX_N_MAP, &@$); }
   | '{' mlist opt_sep '}'  { $$ = with_list(mk(P, AX_N_MAP, &@$), $2); }
   | '{' error '}'          { $$ = NULL; P->brace_replay = 0; }
   ;

mlist: mitem            { $$ = one(P, $1); }
     | mlist sep mitem  { $$ = $1; push(P, &$$, $3); }
     ;

mitem: IDENT ':' expr   { $$ = mk3(P, AX_N_PAIR, &@$, 0, key_string(P, $1, &@1), $3, NULL); }
     | STRING ':' expr  { $$ = mk3(P, AX_N_PAIR, &@$, 0, $1, $3, NULL); }
     ;

%%

/* ---- messages ---- */

static int sym_is(yysymbol_kind_t s, const char *name) { return strcmp(yysymbol_name(s), name) == 0; }

/* Symbol names come unquoted in custom mode ("->", "in", "')'"); quote all but descriptions. */
static void sym_display(yysymbol_kind_t s, char *out, size_t n) {
  static const char *const words[] = {"name", "integer", "number", "string", "newline",
                                      "end of file", "error", "invalid token"};
  const char *nm = yysymbol_name(s);
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(nm, words[i]) == 0) {
      snprintf(out, n, "%s", nm);
      return;
    }
  if (nm[0] == '\'') snprintf(out, n, "%s", nm);
  else snprintf(out, n, "'%s'", nm);
}

/* How the offending token reads in a message. */
static void tok_display(const ax_parser *P, char *out, size_t n) {
  switch (P->cur_kind) {
  case T_YYEOF: snprintf(out, n, "end of input"); return;
  case T_STRING: snprintf(out, n, "string"); return;
  case T_TERM:
    if (P->cur_auto == 'n') snprintf(out, n, "newline");
    else if (P->cur_auto == 'e') snprintf(out, n, "end of input");
    else if (P->cur_auto == '}') snprintf(out, n, "'}'");
    else snprintf(out, n, "';'");
    return;
  default: {
    size_t len = P->cur_textlen > 32 ? 32 : P->cur_textlen;
    snprintf(out, n, "'%.*s%s'", (int)len, P->cur_text ? P->cur_text : "",
             P->cur_textlen > 32 ? "..." : "");
  }
  }
}

static int is_closer(int k) { return k == ')' || k == ']' || k == '}'; }

/* "'=', ',' or ':'" */
static const char *expected_list(const yysymbol_kind_t *exp, int n, char *list, size_t size) {
  char one_sym[40];
  list[0] = '\0';
  for (int i = 0; i < n; i++) {
    sym_display(exp[i], one_sym, sizeof one_sym);
    size_t k = strlen(list);
    snprintf(list + k, size - k, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", one_sym);
  }
  return list;
}

static int expects(const yysymbol_kind_t *exp, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (sym_is(exp[i], name)) return 1;
  return 0;
}

/* Pick the clearest message for the lookahead the parser cannot take (rules in order). */
static int yyreport_syntax_error(const yypcontext_t *ctx, ax_parser *P) {
  if (P->fatal) return 0;
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  if (n < 0) n = 0;
  const AX_YYLTYPE *loc = yypcontext_location(ctx);
  int line = loc->first_line, col = loc->first_column;
  int hard = P->cur_kind != T_YYEOF;
  int open = P->ctx.ch, oline = P->ctx.line;
  char close[4] = "", got[64], list[160];
  tok_display(P, got, sizeof got);
  if (open) snprintf(close, sizeof close, "'%c'", open == '(' ? ')' : open == '[' ? ']' : '}');
  int want_expr = expects(exp, n, "integer"), want_term = expects(exp, n, "newline");
  int want_close = open && expects(exp, n, close), want_brace = expects(exp, n, "'{'");
  int want_arrow = expects(exp, n, "->");

  /* a '}' that error recovery will throw away (unless a map or props takes it): see lexer.h */
  if (P->cur_kind == '}') ax_lex_brace_discarded(P);
  if (P->cur_kind == T_YYEOF) {
    if (expects(exp, n, "catch")) P->eof_incomplete = 1;   /* `catch` may open the next line */
    if (open)
      ax_perror(P, 0, line, col, "expected %s (to close '%c' at line %d)", close, open, oline);
    else if (want_expr)
      ax_perror(P, 0, line, col, "expected expression at end of input");
    else if (n >= 1 && n <= 3)
      ax_perror(P, 0, line, col, "unexpected end of input, expected %s",
                expected_list(exp, n, list, sizeof list));
    else
      ax_perror(P, 0, line, col, "unexpected end of input");
    return 0;
  }
  /* a statement cut by the end of the input that a continuation line (-> . else and or) could
  ** still finish, like `pulse x` before `-> Net -> y`: the REPL should ask for more */
  if (P->cur_kind == T_TERM && P->cur_auto == 'e' &&
      (want_arrow || expects(exp, n, "'.'") || expects(exp, n, "else") || expects(exp, n, "and"))) {
    hard = 0;
    P->eof_incomplete = 1;
  }
  if ((P->cur_kind == '<' || P->cur_kind == '>' || P->cur_kind == T_LE || P->cur_kind == T_GE ||
      P->cur_kind == T_EQ || P->cur_kind == T_NE) && !want_expr) {
    ax_perror(P, hard, line, col, "comparisons cannot be chained: write (a < b) and (b < c)");
    return 0;
  }
  if ((P->cur_kind == T_NEURON || P->cur_kind == T_LAYER) && !expects(exp, n, "neuron")) {
    ax_perror(P, hard, line, col, "%s declarations belong inside a network { ... }", got);
    return 0;
  }
  if (P->cur_kind == T_ELSE) {
    ax_perror(P, hard, line, col, "'else' without a matching 'if'");
    return 0;
  }
  if (P->cur_kind == T_CATCH) {
    ax_perror(P, hard, line, col, "'catch' without a matching 'try'");
    return 0;
  }
  if (is_closer(P->cur_kind)) {
    if (!open || (P->cur_kind != close[1] && open == '{')) {
      ax_perror(P, hard, line, col, "unexpected %s", got);
      return 0;
    }
    if (P->cur_kind != close[1]) {
      ax_perror(P, hard, line, col, "unexpected %s: expected %s (to close '%c' at line %d)", got,
                close, open, oline);
      return 0;
    }
    if (want_expr) {
      ax_perror(P, hard, line, col, "expected expression before %s", got);
      return 0;
    }
  } else if (want_expr) {
    ax_perror(P, hard, line, col, "expected expression");
    return 0;
  }
  if (n >= 1 && n <= 3) {
    ax_perror(P, hard, line, col, "unexpected %s, expected %s", got,
              expected_list(exp, n, list, sizeof list));
  } else if (want_close && P->cur_kind != T_TERM) {
    ax_perror(P, hard, line, col, "expected %s (to close '%c' at line %d)", close, open, oline);
  } else if (want_brace && P->cur_kind == T_TERM && P->cur_auto == 'n') {
    ax_perror(P, hard, line, col, "expected '{' on the same line (a newline ends the statement here)");
  } else if (want_arrow && !want_term) {
    ax_perror(P, hard, line, col, "unexpected %s, expected '->'", got);
  } else if (want_term) {
    ax_perror(P, hard, line, col, "unexpected %s, expected newline or ';'", got);
  } else {
    ax_perror(P, hard, line, col, "unexpected %s", got);
  }
  return 0;
}

/* Bison calls this only for "memory exhausted": its stack passed YYMAXDEPTH, or malloc failed. */
static void ax_yyerror(AX_YYLTYPE *loc, ax_parser *P, const char *msg) {
  (void)msg;
  if (P->fatal) return;
  ax_perror(P, 1, loc->first_line, loc->first_column,
            "nesting too deep: the parser stack is full (more than %d levels)", YYMAXDEPTH);
  P->fatal = 1;
}
