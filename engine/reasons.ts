/**
 * Why a node runs (or does not), as data — Snakemake's `Reason`: the decision module
 * (decide.ts) produces these, `run`, `status` and `why` carry them in `--json` (`reasons`), and
 * the prose is rendered here, once: {@link reasonPhrase} for the one-line `reason`, {@link reasonLine}
 * for the per-change lines of `why`.
 *
 * @example
 * const r: Reason = { kind: 'param', path: 'controls', old: ['pgdp'], new: ['pgdp', 'indus'] };
 * reasonPhrase([r]); // 'params.controls changed'
 * reasonLine(r);     // 'params.controls: [pgdp] → [pgdp, indus]'
 */
import { canonicalJson, short } from './canonical.js';
import type { FingerprintParts } from './fingerprint.js';
import type { Cell, TableDiff } from './table-diff.js';

/**
 * What changed inside a changed input artifact or input file, at row and cell level: computed by
 * `why` (engine/data-detail.ts) and attached to its `input` / `file` reasons (and to the first
 * `param` reason of a data step whose params changed, e.g. a `clean` fix); absent elsewhere
 * (decide.ts stays cheap: it never reads artifacts). Rendered by {@link detailLines}.
 */
export interface DataDetail {
  /** How the new version was obtained: `stored` (both versions are artifacts in the store) or `reread` (the node's own step read the changed file again, in memory, nothing stored). */
  via: 'stored' | 'reread';
  /** The artifact compared, e.g. `ingest.table`. */
  what?: string;
  table?: TableDiff;
  /** Why there is no row-level detail (not a table, old version removed by gc, …), or what else to know. */
  note?: string;
}

/** One reason. `kind` is the tag; every variant is handled by {@link reasonLine} (exhaustive switch). */
export type Reason =
  /** No successful run of this node is recorded. */
  | { kind: 'never-run' }
  /** The fingerprint matches a cache entry whose outputs are intact. */
  | { kind: 'up-to-date' }
  /** Not in the local store, but the remote cache had the entry and its objects (verified): fetched, not run. */
  | { kind: 'remote' }
  /** `--force ID`. */
  | { kind: 'forced' }
  /** The cache entry exists but these outputs are missing or corrupt in the store. */
  | { kind: 'corrupt'; outputs: string[] }
  /** The step kind of the node changed. */
  | { kind: 'kind'; old: string; new: string }
  /** A source file of the step's code closure changed, appeared or is no longer imported. */
  | { kind: 'code'; file: string; change: 'changed' | 'added' | 'removed' }
  /** The resolved version of a third-party package the step's code imports changed. */
  | { kind: 'package'; name: string; old: string | null; new: string | null }
  /** A param (dot path below `params`) changed; `old`/`new` undefined = unset. */
  | { kind: 'param'; path: string; old: unknown; new: unknown; detail?: DataDetail[] }
  /** An input artifact changed (content hash), naming the upstream node and output. */
  | { kind: 'input'; name: string; node: string; output: string; detail?: DataDetail[] }
  /** A file named by a path param changed. */
  | { kind: 'file'; path: string; change: 'changed' | 'added' | 'removed' | 'missing' | 'directory'; detail?: DataDetail[] }
  /** An entry of a step's extra fingerprint part changed (e.g. a script step's `version` output). */
  | { kind: 'extra'; name: string; old: string | null; new: string | null }
  /** The node's random stream root (pipeline seed or node id) changed. */
  | { kind: 'seed'; old: unknown; new: unknown }
  /** Nothing recorded changed, but no cache entry matches (e.g. removed by gc, or the history is older). */
  | { kind: 'not-in-cache' }
  /** Planning only: these upstream nodes run first; this one reruns only if their outputs change. */
  | { kind: 'waiting'; nodes: string[] }
  /** An upstream node failed in this run. */
  | { kind: 'upstream-failed'; node: string }
  /** The run stopped starting nodes after `failed` failed (no --keep-going). */
  | { kind: 'not-started'; failed: string | null };

export type ReasonKind = Reason['kind'];

/** A value in YAML flow style, for messages: [a, b], {k: v}, strings bare when safe. */
export function flow(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${k}: ${flow((v as Record<string, unknown>)[k])}`)
      .join(', ')}}`;
  }
  if (typeof v === 'string') return /^[\w./@-][\w ./@-]*$/.test(v) && v.trim() === v && !/^(true|false|null|[\d.+-].*)$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

/** The full line of one reason (used by `why`, one per change). */
export function reasonLine(r: Reason): string {
  switch (r.kind) {
    case 'never-run':
      return 'never run';
    case 'up-to-date':
      return 'up to date';
    case 'remote':
      return 'from the remote cache';
    case 'forced':
      return 'forced';
    case 'corrupt':
      return `output ${r.outputs.join(', ')} ${r.outputs.length > 1 ? 'were' : 'was'} corrupt or missing in the store`;
    case 'kind':
      return `kind: ${r.old} → ${r.new}`;
    case 'code':
      return r.change === 'added' ? `code: ${r.file} (now imported)` : r.change === 'removed' ? `code: ${r.file} (no longer imported)` : `code: ${r.file}`;
    case 'package':
      return `package ${r.name}: ${r.old ?? '(not imported)'} → ${r.new ?? '(no longer imported)'}`;
    case 'param': {
      const line = `params.${r.path}: ${flow(r.old)} → ${flow(r.new)}`;
      return line.length > 300 ? `params.${r.path} changed` : line;
    }
    case 'input':
      return `input ${r.name} (${r.node}${r.output ? `.${r.output}` : ''}) changed`;
    case 'file':
      return r.change === 'added'
        ? `file ${r.path} added`
        : r.change === 'removed'
          ? `file ${r.path} no longer used`
          : r.change === 'missing'
            ? `file ${r.path} is missing`
            : r.change === 'directory'
              ? `file ${r.path} is a directory`
              : `file ${r.path} changed`;
    case 'seed':
      return `seed: ${flow(r.old)} → ${flow(r.new)}`;
    case 'extra': {
      const line = `${r.name}: ${r.old ?? '(none)'} → ${r.new ?? '(none)'}`;
      return line.length > 300 ? `${r.name} changed` : line;
    }
    case 'not-in-cache':
      return 'not in cache';
    case 'waiting':
      return `input ${r.nodes.join(', ')} will be recomputed (reruns only if it changes)`;
    case 'upstream-failed':
      return `upstream ${r.node} failed`;
    case 'not-started':
      return r.failed ? `not started: ${r.failed} failed (use --keep-going to run independent nodes)` : 'not started';
    default: {
      const never: never = r;
      return String(never);
    }
  }
}

/** The short phrase of one reason (the `reason` of `run --json`). */
function phrase(r: Reason): string {
  switch (r.kind) {
    case 'code':
      return `code of ${r.file} changed`;
    case 'package':
      return `package ${r.name} ${r.old ?? 'added'} → ${r.new ?? 'removed'}`;
    case 'param':
      return `params.${r.path} changed`;
    case 'input':
      return `input ${r.name} changed`;
    case 'seed':
      return 'seed changed';
    case 'extra':
      return `${r.name} changed`;
    case 'kind':
      return `kind changed (${r.old} → ${r.new})`;
    default:
      return reasonLine(r);
  }
}

/** The one-line reason of a list: the first two phrases, then `(+N more)`. */
export function reasonPhrase(rs: Reason[]): string {
  if (rs.length === 0) return 'not in cache';
  const first = rs.slice(0, 2).map(phrase);
  return rs.length > 2 ? `${first.join(', ')} (+${rs.length - 2} more)` : first.join(', ');
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function diffParams(prefix: string, a: unknown, b: unknown, out: Reason[]): void {
  if (canonicalJson(a, true) === canonicalJson(b, true)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffParams(prefix ? `${prefix}.${k}` : k, a[k], b[k], out);
    return;
  }
  out.push({ kind: 'param', path: prefix, old: a, new: b });
}

/** The parts a diff can look at. */
export type PartName = 'kind' | 'code' | 'packages' | 'params' | 'inputs' | 'files' | 'seed' | 'extra';
export const ALL_PARTS: PartName[] = ['kind', 'code', 'packages', 'params', 'inputs', 'files', 'seed', 'extra'];

/**
 * What changed from `before` (the last successful run's parts) to `after`, part by part.
 * `inputRef(name, index)` names the upstream node/output of an input (for `input` reasons).
 */
export function diffParts(
  before: Partial<FingerprintParts>,
  after: Partial<FingerprintParts>,
  which: PartName[] = ALL_PARTS,
  inputRef: (name: string, index: number) => { node: string; output: string } = () => ({ node: '?', output: '' }),
): Reason[] {
  const out: Reason[] = [];
  const want = new Set(which);
  if (want.has('kind') && before.kind !== after.kind) out.push({ kind: 'kind', old: String(before.kind), new: String(after.kind) });
  if (want.has('code')) {
    const files = [...new Set([...Object.keys(before.code ?? {}), ...Object.keys(after.code ?? {})])].sort();
    for (const f of files) {
      const a = before.code?.[f];
      const b = after.code?.[f];
      if (a === b) continue;
      out.push({ kind: 'code', file: f, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed' });
    }
  }
  // a history written before package versions were fingerprinted has no `packages`: not a change
  if (want.has('packages') && before.packages !== undefined) {
    const names = [...new Set([...Object.keys(before.packages ?? {}), ...Object.keys(after.packages ?? {})])].sort();
    for (const p of names) {
      const a = before.packages?.[p];
      const b = after.packages?.[p];
      if (a !== b) out.push({ kind: 'package', name: p, old: a ?? null, new: b ?? null });
    }
  }
  if (want.has('params')) diffParams('', before.params ?? {}, after.params ?? {}, out);
  if (want.has('inputs')) {
    const names = [...new Set([...Object.keys(before.inputs ?? {}), ...Object.keys(after.inputs ?? {})])].sort();
    for (const n of names) {
      const a = before.inputs?.[n];
      const b = after.inputs?.[n];
      if (canonicalJson(a) === canonicalJson(b)) continue;
      // a list input: name the first element that changed
      let idx = 0;
      if (Array.isArray(a) && Array.isArray(b)) {
        while (idx < Math.min(a.length, b.length) && a[idx] === b[idx]) idx++;
        if (idx >= b.length) idx = Math.max(0, b.length - 1);
      }
      out.push({ kind: 'input', name: n, ...inputRef(n, idx) });
    }
  }
  if (want.has('files')) {
    const files = [...new Set([...Object.keys(before.files ?? {}), ...Object.keys(after.files ?? {})])].sort();
    for (const f of files) {
      const a = before.files?.[f];
      const b = after.files?.[f];
      if (a === b) continue;
      out.push({ kind: 'file', path: f, change: a === undefined ? 'added' : b === undefined ? 'removed' : b === 'missing' ? 'missing' : b === 'directory' ? 'directory' : 'changed' });
    }
  }
  if (want.has('seed') && canonicalJson(before.seed) !== canonicalJson(after.seed)) out.push({ kind: 'seed', old: before.seed, new: after.seed });
  if (want.has('extra')) {
    const names = [...new Set([...Object.keys(before.extra ?? {}), ...Object.keys(after.extra ?? {})])].sort();
    for (const k of names) {
      const a = before.extra?.[k];
      const b = after.extra?.[k];
      if (a !== b) out.push({ kind: 'extra', name: k, old: a ?? null, new: b ?? null });
    }
  }
  return out;
}

/** A cell value for messages: numbers without float noise (10 significant digits), NA for missing, text in flow style. */
export function fmtCell(v: Cell): string {
  if (v === null) return 'NA';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
  return flow(v);
}

/** A row's key for messages: `city_code=330100, year=2015`, or `row 17` when matched by position. */
export function fmtKey(key: Record<string, Cell>): string {
  const ks = Object.keys(key);
  if (ks.length === 1 && ks[0] === 'row') return `row ${key.row}`;
  return ks.map((k) => `${k}=${fmtCell(key[k]!)}`).join(', ');
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * A table diff as lines: the summary (rows changed / added / removed, how rows were matched), the
 * first changed cells (`city_code=330100, year=2015: so2 12.3 → 13.1`), changed cells per column,
 * the first added / removed rows and the columns added / removed.
 */
export function tableDiffLines(d: TableDiff, indent = ''): string[] {
  const out: string[] = [];
  const by = d.keyedBy ? `keyed by ${d.keyedBy.join(', ')}` : 'matched by position';
  const rows = d.rowsA === d.rowsB ? `${d.rowsB} rows` : `${d.rowsA} → ${d.rowsB} rows`;
  const noCellChange = d.changed === 0 && d.added === 0 && d.removed === 0;
  out.push(`${indent}${noCellChange && !d.columnsAdded.length && !d.columnsRemoved.length ? 'no row or cell changed' : `${plural(d.changed, 'row')} changed, ${d.added} added, ${d.removed} removed`} (${rows}; ${by})`);
  if (d.keyNote) out.push(`${indent}  (${d.keyNote})`);
  for (const c of d.cells) out.push(`${indent}  ${fmtKey(c.key)}: ${c.column} ${fmtCell(c.a)} → ${fmtCell(c.b)}`);
  const total = Object.values(d.perColumn).reduce((x, y) => x + y, 0);
  if (total > d.cells.length) out.push(`${indent}  … ${total - d.cells.length} more changed cell(s)`);
  const cols = Object.entries(d.perColumn).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  if (cols.length) out.push(`${indent}  changed cells per column: ${cols.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (d.added) out.push(`${indent}  added: ${d.addedKeys.map(fmtKey).join('; ')}${d.added > d.addedKeys.length ? `; … (${d.added} in all)` : ''}`);
  if (d.removed) out.push(`${indent}  removed: ${d.removedKeys.map(fmtKey).join('; ')}${d.removed > d.removedKeys.length ? `; … (${d.removed} in all)` : ''}`);
  if (d.columnsAdded.length) out.push(`${indent}  columns added: ${d.columnsAdded.join(', ')}`);
  if (d.columnsRemoved.length) out.push(`${indent}  columns removed: ${d.columnsRemoved.join(', ')}`);
  return out;
}

/** The row/cell detail of an `input` or `file` reason (see {@link DataDetail}), as indented lines; none for other reasons. */
export function detailLines(r: Reason, indent = '    '): string[] {
  if ((r.kind !== 'input' && r.kind !== 'file' && r.kind !== 'param') || !r.detail) return [];
  const out: string[] = [];
  for (const d of r.detail) {
    const src = d.via === 'reread' ? (r.kind === 'param' ? ' (recomputed by the node\'s own step with the new params, nothing stored)' : ' (read again by the node\'s own step, nothing stored)') : '';
    if (d.table) {
      out.push(`${indent}${d.what ? `${d.what}${src}: ` : src ? `${src.trim()}: ` : ''}${tableDiffLines(d.table)[0]}`);
      out.push(...tableDiffLines(d.table, indent).slice(1));
    }
    if (d.note) out.push(`${indent}${d.what && !d.table ? `${d.what}: ` : ''}${d.note}`);
  }
  return out;
}

/** A short hash for messages (re-exported for the CLI). */
export { short };
