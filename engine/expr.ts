/**
 * A small, safe expression language (`clean.derive`, `repro diff --fail-if`): a hand-written tokenizer and
 * recursive-descent parser (no `eval`, no `Function`), evaluated column-wise over a table.
 *
 * Grammar (lowest precedence first):
 *   expr    := or
 *   or      := and (('or' | '||') and)*
 *   and     := cmp (('and' | '&&') cmp)*
 *   cmp     := add (('<' | '<=' | '>' | '>=' | '==' | '!=') add)?
 *   add     := mul (('+' | '-' | '−') mul)*
 *   mul     := unary (('*' | '/' | '×' | '÷') unary)*
 *   unary   := ('-' | '−' | 'not' | '!') unary | power
 *   power   := primary ('^' unary)?
 *   primary := number | 'string' | "string" | column | `any column name` | func '(' expr (',' expr)* ')' | '(' expr ')'
 * Functions: log (natural), log10, exp, sqrt, abs, min(a, b), max(a, b), ifelse(cond, a, b), is_missing(x).
 * Comparisons and logic give 1 or 0; missing (NaN) propagates through arithmetic and comparisons.
 * Text columns may only be compared (== / !=) with text, e.g. `region == 'east'`.
 *
 * @example
 * evaluate(parseExpr('log(so2 + 1)'), table)                 // Float64Array
 * evaluate(parseExpr("urban_pop >= 100 and region != 'west'"), table)
 */
import { type Column, isNumeric, type Table } from './table.js';

export type Node =
  | { t: 'num'; v: number; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'col'; name: string; pos: number }
  | { t: 'un'; op: string; a: Node; pos: number }
  | { t: 'bin'; op: string; a: Node; b: Node; pos: number }
  | { t: 'call'; fn: string; args: Node[]; pos: number };

/** A syntax or evaluation error at a 0-based character position of the expression. */
export class ExprError extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly source: string,
  ) {
    super(message);
    this.name = 'ExprError';
  }
  /** The message with the expression and a caret under the position (1-based column shown). */
  pretty(): string {
    return `${this.message} at position ${this.pos + 1}:\n    ${this.source}\n    ${' '.repeat(this.pos)}^`;
  }
}

interface Tok {
  k: 'num' | 'str' | 'id' | 'op' | 'end';
  v: string;
  pos: number;
}

const FUNCS: Record<string, number> = { log: 1, log10: 1, exp: 1, sqrt: 1, abs: 1, min: 2, max: 2, ifelse: 3, is_missing: 1 };
const OPS = ['<=', '>=', '==', '!=', '&&', '||', '<', '>', '+', '-', '−', '*', '/', '×', '÷', '^', '(', ')', ',', '!'];

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) throw new ExprError(`unexpected "${c}"`, i, src);
      toks.push({ k: 'num', v: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ExprError(`unterminated ${c === '`' ? 'quoted column name' : 'string'}`, i, src);
      toks.push({ k: c === '`' ? 'id' : 'str', v: src.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (/[\p{L}_]/u.test(c)) {
      const m = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(i))!;
      toks.push({ k: 'id', v: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected character "${c}"`, i, src);
    toks.push({ k: 'op', v: op, pos: start });
    i += op.length;
  }
  toks.push({ k: 'end', v: '', pos: src.length });
  return toks;
}

/**
 * Most levels of parentheses, function calls, prefix operators and `^` exponents inside each other.
 * The parser and the evaluator recurse once per level: 100,000 nested parentheses overflowed the
 * stack. Real expressions nest a handful of levels.
 */
export const MAX_NESTING = 200;
/** Most levels of the syntax tree (nesting plus operators chained left to right, `a + b + c + …`). */
export const MAX_TREE_DEPTH = 2000;

/** Parse an expression into a syntax tree. Throws ExprError with the position of the problem. */
export function parseExpr(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  // nesting depth of the recursive descent, and the depth of each built node (bounded, see above)
  let nesting = 0;
  const enter = (t: Tok): void => {
    if (++nesting > MAX_NESTING) {
      throw new ExprError(`the expression is nested too deeply (more than ${MAX_NESTING} levels of parentheses, function calls, prefix operators or ^)`, t.pos, src);
    }
  };
  const depthOf = new WeakMap<Node, number>();
  const mk = <T extends Node>(n: T): T => {
    const kids = n.t === 'un' ? [n.a] : n.t === 'bin' ? [n.a, n.b] : n.t === 'call' ? n.args : [];
    let d = 1;
    for (const k of kids) d = Math.max(d, (depthOf.get(k) ?? 1) + 1);
    if (d > MAX_TREE_DEPTH) throw new ExprError(`the expression is too deep (more than ${MAX_TREE_DEPTH} operators chained); split it over several derive columns`, n.pos, src);
    depthOf.set(n, d);
    return n;
  };
  const peek = () => toks[p]!;
  const isOp = (...vs: string[]) => peek().k === 'op' && vs.includes(peek().v);
  const isWord = (...vs: string[]) => peek().k === 'id' && vs.includes(peek().v);
  const fail = (msg: string, t: Tok = peek()): never => {
    throw new ExprError(t.k === 'end' ? `${msg}, but the expression ended` : `${msg}, found "${t.v}"`, t.pos, src);
  };
  const expect = (v: string) => {
    if (!isOp(v)) fail(`expected "${v}"`);
    p++;
  };
  const binLoop = (next: () => Node, test: () => boolean, norm: (v: string) => string = (v) => v): Node => {
    let a = next();
    while (test()) {
      const t = toks[p++]!;
      a = mk({ t: 'bin', op: norm(t.v), a, b: next(), pos: t.pos });
    }
    return a;
  };
  const orE = (): Node => binLoop(andE, () => isOp('||') || isWord('or'), () => 'or');
  const andE = (): Node => binLoop(cmpE, () => isOp('&&') || isWord('and'), () => 'and');
  const cmpE = (): Node => {
    const a = addE();
    if (isOp('<', '<=', '>', '>=', '==', '!=')) {
      const t = toks[p++]!;
      const b = addE();
      if (isOp('<', '<=', '>', '>=', '==', '!=')) fail('comparisons cannot be chained; use "and"');
      return mk({ t: 'bin', op: t.v, a, b, pos: t.pos });
    }
    return a;
  };
  const addE = (): Node => binLoop(mulE, () => isOp('+', '-', '−'), (v) => (v === '−' ? '-' : v));
  const mulE = (): Node => binLoop(unary, () => isOp('*', '/', '×', '÷'), (v) => (v === '×' ? '*' : v === '÷' ? '/' : v));
  const unary = (): Node => {
    if (isOp('-', '−') || isOp('!') || isWord('not')) {
      const t = toks[p++]!;
      enter(t);
      const a = unary();
      nesting--;
      return mk({ t: 'un', op: t.v === '−' ? '-' : t.v === '-' ? '-' : 'not', a, pos: t.pos });
    }
    return power();
  };
  const power = (): Node => {
    const a = primary();
    if (isOp('^')) {
      const t = toks[p++]!;
      enter(t);
      const b = unary();
      nesting--;
      return mk({ t: 'bin', op: '^', a, b, pos: t.pos });
    }
    return a;
  };
  const primary = (): Node => {
    const t = peek();
    if (t.k === 'num') {
      p++;
      return { t: 'num', v: Number(t.v), pos: t.pos };
    }
    if (t.k === 'str') {
      p++;
      return { t: 'str', v: t.v, pos: t.pos };
    }
    if (t.k === 'id') {
      if (['and', 'or', 'not'].includes(t.v) && src[t.pos] !== '`') fail('expected a value');
      p++;
      if (isOp('(') && src[t.pos] !== '`') {
        const arity = FUNCS[t.v];
        if (arity === undefined) throw new ExprError(`unknown function "${t.v}" (known: ${Object.keys(FUNCS).join(', ')})`, t.pos, src);
        p++;
        enter(t);
        const args: Node[] = [orE()];
        while (isOp(',')) {
          p++;
          args.push(orE());
        }
        expect(')');
        nesting--;
        if (args.length !== arity) throw new ExprError(`${t.v}() takes ${arity} argument(s), got ${args.length}`, t.pos, src);
        return mk({ t: 'call', fn: t.v, args, pos: t.pos });
      }
      return { t: 'col', name: t.v, pos: t.pos };
    }
    if (isOp('(')) {
      enter(toks[p++]!);
      const e = orE();
      expect(')');
      nesting--;
      return e;
    }
    return fail('expected a number, column, function or "("');
  };
  const root = orE();
  if (peek().k !== 'end') fail('expected an operator or the end of the expression');
  return root;
}

/** Column names an expression refers to, with their positions. */
export function columnRefs(n: Node, out: { name: string; pos: number }[] = []): { name: string; pos: number }[] {
  if (n.t === 'col') out.push({ name: n.name, pos: n.pos });
  else if (n.t === 'un') columnRefs(n.a, out);
  else if (n.t === 'bin') {
    columnRefs(n.a, out);
    columnRefs(n.b, out);
  } else if (n.t === 'call') n.args.forEach((a) => columnRefs(a, out));
  return out;
}

type Val = { num: Float64Array } | { str: (string | null)[] } | { scalarStr: string };

/**
 * Evaluate a parsed expression over every row of `t`: a numeric column (NaN = missing).
 * Throws ExprError for unknown columns or type misuse (arithmetic on text).
 */
export function evaluate(root: Node, t: Table, source = ''): Float64Array {
  const n = t.nrows;
  const num = (v: Val, at: Node): Float64Array => {
    if ('num' in v) return v.num;
    throw new ExprError('a text value cannot be used in arithmetic or logic (only == / != against text)', at.pos, source);
  };
  const map1 = (a: Float64Array, f: (x: number) => number) => {
    const o = new Float64Array(n);
    for (let i = 0; i < n; i++) o[i] = f(a[i]!);
    return o;
  };
  const map2 = (a: Float64Array, b: Float64Array, f: (x: number, y: number) => number) => {
    const o = new Float64Array(n);
    for (let i = 0; i < n; i++) o[i] = f(a[i]!, b[i]!);
    return o;
  };
  const nanGuard = (f: (x: number, y: number) => boolean) => (x: number, y: number) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : f(x, y) ? 1 : 0);
  const ev = (e: Node): Val => {
    switch (e.t) {
      case 'num':
        return { num: new Float64Array(n).fill(e.v) };
      case 'str':
        return { scalarStr: e.v };
      case 'col': {
        const c: Column | undefined = t.columns[e.name];
        if (c === undefined) throw new ExprError(`unknown column "${e.name}" (columns: ${t.names.join(', ')})`, e.pos, source);
        return isNumeric(c) ? { num: c } : { str: c };
      }
      case 'un': {
        const a = num(ev(e.a), e.a);
        return { num: e.op === '-' ? map1(a, (x) => -x) : map1(a, (x) => (Number.isNaN(x) ? NaN : x === 0 ? 1 : 0)) };
      }
      case 'call': {
        const args = e.args.map((a) => ev(a));
        if (e.fn === 'is_missing') {
          const v = args[0]!;
          if ('num' in v) return { num: map1(v.num, (x) => (Number.isNaN(x) ? 1 : 0)) };
          if ('str' in v) return { num: Float64Array.from(v.str, (s) => (s === null ? 1 : 0)) };
          return { num: new Float64Array(n) };
        }
        const a = args.map((v, k) => num(v, e.args[k]!));
        switch (e.fn) {
          case 'log':
            return { num: map1(a[0]!, (x) => (x > 0 ? Math.log(x) : NaN)) };
          case 'log10':
            return { num: map1(a[0]!, (x) => (x > 0 ? Math.log10(x) : NaN)) };
          case 'exp':
            return { num: map1(a[0]!, Math.exp) };
          case 'sqrt':
            return { num: map1(a[0]!, (x) => (x >= 0 ? Math.sqrt(x) : NaN)) };
          case 'abs':
            return { num: map1(a[0]!, Math.abs) };
          case 'min':
            return { num: map2(a[0]!, a[1]!, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y))) };
          case 'max':
            return { num: map2(a[0]!, a[1]!, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y))) };
          case 'ifelse': {
            const o = new Float64Array(n);
            for (let i = 0; i < n; i++) {
              const c = a[0]![i]!;
              o[i] = Number.isNaN(c) ? NaN : c !== 0 ? a[1]![i]! : a[2]![i]!;
            }
            return { num: o };
          }
        }
        throw new ExprError(`unknown function "${e.fn}"`, e.pos, source);
      }
      case 'bin': {
        const A = ev(e.a);
        const B = ev(e.b);
        const textual = !('num' in A) || !('num' in B);
        if (textual) {
          if (e.op !== '==' && e.op !== '!=') {
            throw new ExprError(`operator "${e.op}" needs numbers; text can only be compared with == or !=`, e.pos, source);
          }
          const get = (v: Val): ((i: number) => string | null) =>
            'num' in v ? (i) => (Number.isNaN(v.num[i]!) ? null : String(v.num[i])) : 'str' in v ? (i) => v.str[i] ?? null : () => v.scalarStr;
          const ga = get(A);
          const gb = get(B);
          const o = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            const x = ga(i);
            const y = gb(i);
            o[i] = x === null || y === null ? NaN : (x === y) === (e.op === '==') ? 1 : 0;
          }
          return { num: o };
        }
        const a = (A as { num: Float64Array }).num;
        const b = (B as { num: Float64Array }).num;
        switch (e.op) {
          case '+':
            return { num: map2(a, b, (x, y) => x + y) };
          case '-':
            return { num: map2(a, b, (x, y) => x - y) };
          case '*':
            return { num: map2(a, b, (x, y) => x * y) };
          case '/':
            return { num: map2(a, b, (x, y) => (y === 0 ? NaN : x / y)) };
          case '^':
            return { num: map2(a, b, (x, y) => x ** y) };
          case '<':
            return { num: map2(a, b, nanGuard((x, y) => x < y)) };
          case '<=':
            return { num: map2(a, b, nanGuard((x, y) => x <= y)) };
          case '>':
            return { num: map2(a, b, nanGuard((x, y) => x > y)) };
          case '>=':
            return { num: map2(a, b, nanGuard((x, y) => x >= y)) };
          case '==':
            return { num: map2(a, b, nanGuard((x, y) => x === y)) };
          case '!=':
            return { num: map2(a, b, nanGuard((x, y) => x !== y)) };
          case 'and':
            return { num: map2(a, b, (x, y) => (x === 0 || y === 0 ? 0 : Number.isNaN(x) || Number.isNaN(y) ? NaN : 1)) };
          case 'or':
            return { num: map2(a, b, (x, y) => ((!Number.isNaN(x) && x !== 0) || (!Number.isNaN(y) && y !== 0) ? 1 : Number.isNaN(x) || Number.isNaN(y) ? NaN : 0)) };
        }
        throw new ExprError(`unknown operator "${e.op}"`, e.pos, source);
      }
    }
  };
  const v = ev(root);
  if ('num' in v) return root.t === 'col' ? Float64Array.from(v.num) : v.num;
  throw new ExprError('the expression gives text; derive makes numeric columns (compare text with == to get 1/0)', root.pos, source);
}
