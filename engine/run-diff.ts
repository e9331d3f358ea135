/**
 * `repro diff A B [NODE…]` as a library (issue 14 part 3): how the results of two recorded runs
 * differ, node by node and output by output, as data. engine/cli/diff.ts renders it (text, JSON,
 * HTML) and evaluates `--fail-if`.
 *
 * - **Runs**: a run number (`12`, `#12`), `latest` (the newest run of the pipeline that is not a
 *   variant run), or a variant name (the newest run recorded with `variant: NAME`, `repro run
 *   --variant NAME`). A node's outputs *as of* run N are those of its newest successful (ran or
 *   cached) record in runs ≤ N of the same pipeline and the same variant, so a `--target` run
 *   still compares the nodes it did not touch. The history records output hashes for cached
 *   nodes too; the artifact type comes from the cache entry of the record's fingerprint (else the
 *   current step definition, else the bytes).
 * - **Artifacts**: equal hashes are unchanged (no row). JSON artifacts go to the registry's `diff`
 *   hook keyed by the output's contract name (the study compares `model` and `event-study`:
 *   steps/common/diff-model.ts); a contract it does not handle gets a generic comparison of the
 *   JSON leaves. Tables are compared with engine/table-diff.ts (keyed as in `why`, see
 *   data-detail.ts), files by bytes.
 *
 * Every difference is a {@link DiffRow}: flat fields (numbers or text) that `--fail-if`
 * expressions filter on.
 */
import type { HistoryData, NodeRecord, RunRecord } from './history.js';
import { UsageError } from './errors.js';
import { keyCandidates, outputTypeOf, readObject } from './data-detail.js';
import type { Session } from './session.js';
import { diffTables, tableDiffEmpty, type Cell, type TableDiff } from './table-diff.js';
import { outputContract, outputsOf, type Artifact, type ArtifactType } from './types.js';

/**
 * One difference. `what` says which kind of item (`coef`, `stat`, `period` from the study's hook;
 * `cell`, `row-added`, `row-removed` for tables; `value` for other JSON; `file`). Numbers are null
 * when they do not apply or are missing. `delta_se` = (b − a) / se_a; `sig_*` = significant at 5%
 * (1/0); `changed` = 1 when the item differs.
 */
export interface DiffRow {
  node: string;
  output: string;
  what: string;
  item: string;
  column: string | null;
  a: number | null;
  b: number | null;
  delta: number | null;
  /** delta / |a|. */
  rel: number | null;
  se_a: number | null;
  se_b: number | null;
  delta_se: number | null;
  p_a: number | null;
  p_b: number | null;
  sig_a: number | null;
  sig_b: number | null;
  sig_changed: number | null;
  changed: number;
  /** Display values when not numbers (text cells, strings). */
  a_text: string | null;
  b_text: string | null;
}

/** The numeric and text fields of a {@link DiffRow}, in order (the columns `--fail-if` sees). */
export const DIFF_ROW_FIELDS: (keyof DiffRow)[] = ['node', 'output', 'what', 'item', 'column', 'a', 'b', 'delta', 'rel', 'se_a', 'se_b', 'delta_se', 'p_a', 'p_b', 'sig_a', 'sig_b', 'sig_changed', 'changed', 'a_text', 'b_text'];
export const DIFF_TEXT_FIELDS = new Set<keyof DiffRow>(['node', 'output', 'what', 'item', 'column', 'a_text', 'b_text']);

/** What a hook returns for one artifact pair: rows with the fields it knows (the rest are filled in). */
export type PartialRow = Partial<Omit<DiffRow, 'node' | 'output'>> & { what: string; item: string };

/**
 * The registry module's optional `diff` export (engine/registry.ts `loadDiffer`): compare two
 * JSON artifacts of contract `contract`; null when it does not know the contract.
 */
export type Differ = (contract: string | undefined, a: unknown, b: unknown) => Promise<PartialRow[] | null>;

/** Fill a hook's partial row: missing numbers → null, delta / rel / delta_se / sig_changed / changed computed when absent. */
export function completeRow(node: string, output: string, r: PartialRow): DiffRow {
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const a = num(r.a);
  const b = num(r.b);
  const delta = r.delta !== undefined ? num(r.delta) : a !== null && b !== null ? b - a : null;
  const se_a = num(r.se_a);
  const sig_a = num(r.sig_a);
  const sig_b = num(r.sig_b);
  const row: DiffRow = {
    node,
    output,
    what: r.what,
    item: r.item,
    column: r.column ?? null,
    a,
    b,
    delta,
    rel: r.rel !== undefined ? num(r.rel) : delta !== null && a !== null && a !== 0 ? delta / Math.abs(a) : null,
    se_a,
    se_b: num(r.se_b),
    delta_se: r.delta_se !== undefined ? num(r.delta_se) : delta !== null && se_a !== null && se_a > 0 ? delta / se_a : null,
    p_a: num(r.p_a),
    p_b: num(r.p_b),
    sig_a,
    sig_b,
    sig_changed: r.sig_changed !== undefined ? num(r.sig_changed) : sig_a !== null && sig_b !== null ? (sig_a !== sig_b ? 1 : 0) : null,
    changed: 0,
    a_text: r.a_text ?? null,
    b_text: r.b_text ?? null,
  };
  const differs = (x: number | null, y: number | null): boolean => x !== y;
  row.changed = r.changed !== undefined ? (r.changed ? 1 : 0) : differs(a, row.b) || differs(se_a, row.se_b) || row.a_text !== row.b_text ? 1 : 0;
  return row;
}

/** A resolved run argument. */
export interface RunRef {
  arg: string;
  run: RunRecord;
  variant: string | null;
}

const variantOf = (r: RunRecord): string | null => {
  const v = (r as RunRecord & { variant?: unknown }).variant;
  return typeof v === 'string' && v ? v : null;
};

/** Resolve `N`, `#N`, `latest` or a variant name to a run of `pipeline`; a UsageError (exit 2) names what exists. */
export function resolveRun(h: HistoryData, pipeline: string, arg: string): RunRef {
  const mine = h.runs.filter((r) => r.pipeline === pipeline);
  const range = mine.length ? ` (runs of ${pipeline}: #${mine[0]!.id}–#${mine[mine.length - 1]!.id}; \`repro log\` lists them)` : ` (${pipeline} has no recorded runs yet)`;
  if (/^#?\d+$/.test(arg)) {
    const id = Number(arg.replace('#', ''));
    const r = h.runs.find((x) => x.id === id);
    if (!r) throw new UsageError(`repro diff: no run #${id} recorded${range}`);
    if (r.pipeline !== pipeline) throw new UsageError(`repro diff: run #${id} is of pipeline ${r.pipeline}, not ${pipeline}${range}`);
    return { arg, run: r, variant: variantOf(r) };
  }
  if (arg === 'latest') {
    const r = [...mine].reverse().find((x) => variantOf(x) === null);
    if (!r) throw new UsageError(`repro diff: latest: no run of ${pipeline} is recorded (variant runs are named by their variant)${range}`);
    return { arg, run: r, variant: null };
  }
  const r = [...mine].reverse().find((x) => variantOf(x) === arg);
  if (!r) {
    const names = [...new Set(mine.map(variantOf).filter((v): v is string => v !== null))];
    throw new UsageError(
      `repro diff: "${arg}" is not a run number, \`latest\` or a recorded variant${names.length ? ` (variants: ${names.join(', ')})` : ' (no variant runs recorded; `repro run --variant NAME` records one)'}${range}`,
    );
  }
  return { arg, run: r, variant: arg };
}

/** The node's newest successful record in runs ≤ `ref.run` of the same pipeline and variant, with the run it is from. */
export function recordAsOf(h: HistoryData, ref: RunRef, id: string): { rec: NodeRecord; run: number } | undefined {
  for (let i = h.runs.length - 1; i >= 0; i--) {
    const r = h.runs[i]!;
    if (r.id > ref.run.id || r.pipeline !== ref.run.pipeline || variantOf(r) !== ref.variant) continue;
    const rec = r.nodes.find((x) => x.id === id);
    if (rec && (rec.status === 'ran' || rec.status === 'cached') && rec.outputs) return { rec, run: r.id };
  }
  return undefined;
}

/** Node ids recorded in runs ≤ `ref.run` of its pipeline and variant. */
function idsAsOf(h: HistoryData, ref: RunRef): string[] {
  const out = new Set<string>();
  for (const r of h.runs) if (r.id <= ref.run.id && r.pipeline === ref.run.pipeline && variantOf(r) === ref.variant) for (const n of r.nodes) out.add(n.id);
  return [...out];
}

export interface OutputDiff {
  name: string;
  type: ArtifactType | null;
  contract: string | null;
  status: 'same' | 'changed' | 'only-a' | 'only-b' | 'unreadable';
  rows: DiffRow[];
  /** Table outputs: the row/cell diff. */
  table?: TableDiff;
  note?: string;
}

export interface NodeDiff {
  id: string;
  kind: string;
  status: 'same' | 'changed' | 'only-a' | 'only-b';
  /** The runs the node's outputs come from (≤ A and ≤ B). */
  from: { a: number | null; b: number | null };
  outputs: OutputDiff[];
}

export interface RunDiff {
  pipeline: string;
  a: { arg: string; run: number; variant: string | null; started: string };
  b: { arg: string; run: number; variant: string | null; started: string };
  nodes: NodeDiff[];
  /** Every row of every node, flat (what `--fail-if` filters). */
  rows: DiffRow[];
  /** Nodes asked for by name that have no successful record up to either run. */
  missing: string[];
}

/** The type of a recorded output: its cache entry's, else the current step definition's. */
async function typeOf(s: Session, rec: NodeRecord, output: string, hash: string): Promise<{ type?: ArtifactType; ext?: string }> {
  const e = rec.key ? s.store.readEntry(rec.key) : null;
  const ref = e?.outputs[output];
  if (ref && ref.hash === hash) return { type: ref.type, ...(ref.ext ? { ext: ref.ext } : {}) };
  const t = await outputTypeOf(s, rec.id, output);
  return t ? { type: t } : {};
}

async function contractOf(s: Session, id: string, output: string): Promise<string | undefined> {
  const n = s.graph.byId.get(id);
  if (!n) return undefined;
  try {
    const o = outputsOf(await s.registry[n.kind]!.load(), n.params)[output];
    return o ? outputContract(o) : undefined;
  } catch {
    return undefined;
  }
}

const cellNum = (v: Cell): number | null => (typeof v === 'number' ? v : null);
const cellText = (v: Cell): string | null => (v === null ? null : typeof v === 'number' ? null : v);
const keyLabel = (key: Record<string, Cell>): string => {
  const ks = Object.keys(key);
  return ks.length === 1 && ks[0] === 'row' ? `row ${key.row}` : ks.map((k) => `${k}=${key[k] === null ? 'NA' : String(key[k])}`).join(', ');
};

/** Rows of a generic JSON comparison: the leaves (numbers, strings, booleans, null) that differ, by path. */
function jsonRows(a: unknown, b: unknown, limit = 200): PartialRow[] {
  const out: PartialRow[] = [];
  const leaf = (v: unknown): v is null | number | string | boolean => v === null || typeof v !== 'object';
  const walk = (x: unknown, y: unknown, p: string): void => {
    if (out.length >= limit) return;
    if (leaf(x) || leaf(y) || Array.isArray(x) !== Array.isArray(y)) {
      if (JSON.stringify(x) === JSON.stringify(y)) return;
      const txt = (v: unknown): string | undefined => (v === undefined ? '(absent)' : typeof v === 'number' ? undefined : JSON.stringify(v));
      out.push({ what: 'value', item: p || '$', a: typeof x === 'number' ? x : null, b: typeof y === 'number' ? y : null, ...(txt(x) !== undefined ? { a_text: txt(x)! } : {}), ...(txt(y) !== undefined ? { b_text: txt(y)! } : {}), changed: 1 });
      return;
    }
    const keys = Array.isArray(x) ? [...Array(Math.max(x.length, (y as unknown[]).length)).keys()].map(String) : [...new Set([...Object.keys(x as object), ...Object.keys(y as object)])];
    for (const k of keys) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], Array.isArray(x) ? `${p}[${k}]` : p ? `${p}.${k}` : k);
  };
  walk(a, b, '');
  return out;
}

/** Compare the outputs of two runs (see the module header). `nodes` limits the comparison (ids or foreach base ids). */
export async function diffRuns(s: Session, argA: string, argB: string, opts: { nodes?: string[]; differ?: Differ | null; cellLimit?: number } = {}): Promise<RunDiff> {
  const h = await s.history();
  const A = resolveRun(h, s.spec.name, argA);
  const B = resolveRun(h, s.spec.name, argB);
  const recorded = new Set([...idsAsOf(h, A), ...idsAsOf(h, B)]);
  let ids: string[];
  if (opts.nodes?.length) {
    ids = [];
    for (const arg of opts.nodes) {
      if (recorded.has(arg)) ids.push(arg);
      else {
        const { resolveIds } = await import('./graph.js');
        const found = (() => {
          try {
            return resolveIds(s.graph, arg, 'repro diff:');
          } catch (e) {
            const rec = [...recorded].filter((x) => x.startsWith(`${arg}[`));
            if (rec.length) return rec;
            throw e;
          }
        })();
        ids.push(...found);
      }
    }
    ids = [...new Set(ids)];
  } else {
    const order = s.graph.nodes.map((n) => n.id).filter((id) => recorded.has(id));
    ids = [...order, ...[...recorded].filter((id) => !s.graph.byId.has(id)).sort()];
  }
  const nodes: NodeDiff[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const ra = recordAsOf(h, A, id);
    const rb = recordAsOf(h, B, id);
    const kind = rb?.rec.kind ?? ra?.rec.kind ?? s.graph.byId.get(id)?.kind ?? '?';
    const nd: NodeDiff = { id, kind, status: 'same', from: { a: ra?.run ?? null, b: rb?.run ?? null }, outputs: [] };
    if (!ra && !rb) {
      missing.push(id);
      continue;
    }
    if (!ra || !rb) {
      nd.status = !ra ? 'only-b' : 'only-a';
      nodes.push(nd);
      continue;
    }
    const oa = ra.rec.outputs!;
    const ob = rb.rec.outputs!;
    for (const name of [...new Set([...Object.keys(ob), ...Object.keys(oa)])]) {
      const ha = oa[name];
      const hb = ob[name];
      const contract = (await contractOf(s, id, name)) ?? null;
      if (ha === hb) {
        nd.outputs.push({ name, type: null, contract, status: 'same', rows: [] });
        continue;
      }
      if (ha === undefined || hb === undefined) {
        nd.outputs.push({ name, type: null, contract, status: ha === undefined ? 'only-b' : 'only-a', rows: [] });
        continue;
      }
      const [ta, tb] = await Promise.all([typeOf(s, ra.rec, name, ha), typeOf(s, rb.rec, name, hb)]);
      const [a, b] = await Promise.all([readObject(s, ha, ta.type, ta.ext), readObject(s, hb, tb.type ?? ta.type, tb.ext ?? ta.ext)]);
      if (!a || !b) {
        nd.outputs.push({ name, type: ta.type ?? tb.type ?? null, contract, status: 'unreadable', rows: [], note: `the ${!a ? `run #${ra.run}` : `run #${rb.run}`} version is no longer in the store (removed by \`repro gc\`)` });
        continue;
      }
      nd.outputs.push(await compareArtifacts(s, id, name, contract, a, b, opts));
    }
    if (nd.outputs.some((o) => o.status !== 'same')) nd.status = 'changed';
    nodes.push(nd);
  }
  const at = (r: RunRef) => ({ arg: r.arg, run: r.run.id, variant: r.variant, started: r.run.started });
  return { pipeline: s.spec.name, a: at(A), b: at(B), nodes, rows: nodes.flatMap((n) => n.outputs.flatMap((o) => o.rows)), missing };
}

async function compareArtifacts(s: Session, id: string, name: string, contract: string | null, a: Artifact, b: Artifact, opts: { differ?: Differ | null; cellLimit?: number }): Promise<OutputDiff> {
  const base = { name, type: b.type, contract };
  if (a.type === 'table' && b.type === 'table') {
    const limit = opts.cellLimit ?? 1000;
    const t = diffTables(a.table, b.table, { keys: keyCandidates(s, id), limit, keyLimit: limit });
    const rows: PartialRow[] = t.cells.map((c) => ({ what: 'cell', item: keyLabel(c.key), column: c.column, a: cellNum(c.a), b: cellNum(c.b), ...(cellText(c.a) !== null ? { a_text: cellText(c.a)! } : {}), ...(cellText(c.b) !== null ? { b_text: cellText(c.b)! } : {}), changed: 1 }));
    for (const k of t.addedKeys) rows.push({ what: 'row-added', item: keyLabel(k), changed: 1 });
    for (const k of t.removedKeys) rows.push({ what: 'row-removed', item: keyLabel(k), changed: 1 });
    // the summary keeps the first cells for display; the rows keep up to `limit` for --fail-if / --json
    const summary: TableDiff = { ...t, cells: t.cells.slice(0, 10), addedKeys: t.addedKeys.slice(0, 5), removedKeys: t.removedKeys.slice(0, 5) };
    return { ...base, status: tableDiffEmpty(t) ? 'same' : 'changed', rows: rows.map((r) => completeRow(id, name, r)), table: summary };
  }
  if (a.type === 'json' && b.type === 'json') {
    const hooked = opts.differ ? await opts.differ(contract ?? undefined, a.value, b.value) : null;
    const rows = (hooked ?? jsonRows(a.value, b.value)).map((r) => completeRow(id, name, r));
    return { ...base, status: 'changed', rows };
  }
  const size = (x: Artifact): number | null => (x.type === 'file' ? x.bytes.length : null);
  return { ...base, status: 'changed', rows: [completeRow(id, name, { what: 'file', item: name, a: size(a), b: size(b), changed: 1 })], note: a.type === b.type ? 'the bytes differ' : `${a.type} → ${b.type}` };
}
