/**
 * `join`: join two or more tables on key columns, in the order of `in: [left, right, …]`.
 *
 * Each right table is joined to the result so far (left-deep): `how: left` keeps every row of the
 * left, `inner` only rows with a match, `outer` also the right rows without one (appended after the
 * left rows, in their own order). Stata-`merge`-style validation: `validate: "1:1"` requires the keys
 * to be unique in every table, `"m:1"` in every right table, `"1:m"` in the left one (two tables only);
 * a violated relation is an error naming the duplicated keys and their rows. Keys must exist in every
 * table, have the same type (number or text) everywhere and never be missing. A right table none of
 * whose rows matches is an error (wrong codes or wrong key), never a silent all-missing join.
 *
 * Non-key columns present in more than one table collide: `suffixes` (one per table, e.g.
 * `["", "_qin"]`) renames them, otherwise the collision is an error. `coalesce: {so2_t: [so2_t,
 * so2_t_qin]}` then fills a column with the first non-missing of its sources (after suffixing; the
 * sources are kept), and reports, cell by cell, where two present sources disagree.
 *
 * Outputs the joined table and a report: per right table the matched / only-left / only-right row
 * counts, and per coalesced column how many cells came from each source and the disagreements.
 *
 * @example
 * panel:
 *   kind: join
 *   in: [pollution, loans, qin]
 *   with:
 *     on: [gb2260_code, year]
 *     how: left
 *     validate: "1:1"
 *     suffixes: ["", "", "_qin"]
 *     coalesce: {so2_t: [so2_t, so2_t_qin]}
 */
import { z } from 'zod';
import { defineStep, StepError, type Artifact, type StepContext } from '../engine/types.js';
import { type Column, hasCol, isNumeric, makeTable, type Table } from '../engine/table.js';
import { nearest } from './common/suggest.js';
import { ParamError, withYamlLine } from './common/yaml-where.js';
import { CONTRACT } from './common/contracts.js';

const params = z.strictObject({
  on: z.array(z.string()).min(1).describe('key columns, present in every table with the same type, e.g. [gb2260_code, year]'),
  how: z.enum(['left', 'inner', 'outer']).default('left').describe('left (default): every row of the left table; inner: matched rows only; outer: also unmatched right rows'),
  validate: z
    .enum(['1:1', 'm:1', '1:m'])
    .default('1:1')
    .describe('the key relation, checked as Stata merge does: "1:1" (default) keys unique in every table; "m:1" unique in every right table; "1:m" unique in the left table (two tables only)'),
  suffixes: z
    .array(z.string())
    .optional()
    .describe('one suffix per input table, appended to its non-key columns that also occur in another table, e.g. ["", "_qin"]; without it such a collision is an error'),
  coalesce: z
    .record(z.string(), z.array(z.string()).min(2))
    .default({})
    .describe('{column: [source, source, …]}: the column (new, or one of the sources) takes the first non-missing source value, row by row; disagreements between present sources are reported'),
  max_listed: z.number().int().min(0).default(20).describe('how many duplicated keys / disagreements to list in messages and the report (default 20)'),
});
export type JoinParams = z.infer<typeof params>;

export interface JoinMatch {
  /** 1-based position in `in:` of the right table (the left is in[0]). */
  input: number;
  rows_left: number;
  rows_right: number;
  /** Left rows with at least one match. */
  matched_left: number;
  /** Right rows with at least one match. */
  matched_right: number;
  only_left: number;
  only_right: number;
  rows_out: number;
}

export interface CoalesceReport {
  column: string;
  sources: string[];
  /** Cells taken from each source, in source order. */
  filled_from: Record<string, number>;
  missing: number;
  /** Rows where two or more sources are present and not all equal. */
  disagreements: number;
  /** ... of which differ by more than 1% (relative to the value taken); text: every disagreement. */
  disagreements_over_1pct: number;
  /** The largest disagreements (up to max_listed), largest relative difference first. */
  listed: { key: Record<string, number | string | null>; values: Record<string, number | string | null>; taken: string; rel_diff: number | null }[];
}

export interface JoinReport {
  on: string[];
  how: string;
  validate: string;
  inputs: { input: number; rows: number; columns: number; renamed: Record<string, string> }[];
  matches: JoinMatch[];
  coalesce: CoalesceReport[];
  rows_out: number;
}

const SEP = '\u0001';
const missing = (c: Column, i: number) => (isNumeric(c) ? Number.isNaN(c[i]!) : c[i] === null || c[i] === undefined);
const fmtKey = (t: Table, on: string[], i: number) => `(${on.map((k) => `${k}=${t.columns[k]![i]}`).join(', ')})`;

/** The key strings of every row of `t` (numbers formatted with String()); a missing key cell is an error. */
function keysOf(t: Table, on: string[], label: string): string[] {
  const cols = on.map((k) => t.columns[k]!);
  const out: string[] = new Array(t.nrows);
  for (let i = 0; i < t.nrows; i++) {
    const parts: string[] = [];
    for (let j = 0; j < cols.length; j++) {
      if (missing(cols[j]!, i))
        throw new ParamError(['on'], 
          `key column "${on[j]}" is missing in data row ${i + 1} of ${label}; keys must be present in every row. Drop such rows first (clean: require: [${on[j]}]).`,
        );
      parts.push(String(cols[j]![i]));
    }
    out[i] = parts.join(SEP);
  }
  return out;
}

/** Keys that occur more than once, with their row numbers (1-based), in first-occurrence order. */
function duplicates(keys: string[]): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const r = rows.get(k);
    if (r) r.push(i + 1);
    else rows.set(k, [i + 1]);
  });
  for (const [k, r] of rows) if (r.length < 2) rows.delete(k);
  return rows;
}

function dupMessage(dups: Map<string, number[]>, on: string[], label: string, max: number): string {
  const list = [...dups.entries()].slice(0, max).map(([k, r]) => `(${k.split(SEP).map((v, j) => `${on[j]}=${v}`).join(', ')}) ×${r.length} at data rows ${r.join(', ')}`);
  return `${label} has ${dups.size} duplicated key(s) [${on.join(', ')}]: ${list.join('; ')}${dups.size > max ? `; … (${dups.size - max} more)` : ''}`;
}

/** Gather rows of a column by index (−1 = a missing cell). */
function gather(c: Column, idx: Int32Array): Column {
  if (isNumeric(c)) {
    const out = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = idx[i]! < 0 ? NaN : c[idx[i]!]!;
    return out;
  }
  const out: (string | null)[] = new Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = idx[i]! < 0 ? null : (c[idx[i]!] ?? null);
  return out;
}

export default defineStep<JoinParams>({
  kind: 'join',
  doc: 'Join two or more tables on key columns (left/inner/outer) with Stata-merge-style 1:1 / m:1 / 1:m validation, suffixes for colliding columns, coalesce to fill a column from a second source; reports matched / only-left / only-right rows.',
  params,
  inputs: { tables: { type: 'table', many: true, doc: 'the tables in join order: in: [left, right, …]' } },
  outputs: { table: 'table', report: { type: 'json', contract: CONTRACT.dataReport } },
  async run(ctx, inputs, p) {
    try {
      return joinRun(ctx, inputs, p);
    } catch (e) {
      throw await withYamlLine(ctx, e);
    }
  },
});

/** The join itself (run() adds the YAML location to param errors). */
function joinRun(ctx: StepContext, inputs: Record<string, Artifact | Artifact[] | undefined>, p: JoinParams): Record<string, Artifact> {
  const raw = inputs.tables;
  const arts: Artifact[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (arts.length < 2) throw new StepError(`needs at least two tables (in: [left, right, …]), got ${arts.length}.`);
  const tables = arts.map((a, k) => {
    if (a.type !== 'table') throw new StepError(`in[${k}] is a ${a.type} artifact; wire table outputs (e.g. ingest, clean.table).`);
    return a.table;
  });
  const label = (k: number) => `in[${k}]${k === 0 ? ' (the left table)' : ''}`;
  const on = p.on;
  if (new Set(on).size !== on.length) throw new ParamError(['on'], `param on lists a column twice: [${on.join(', ')}].`);
  if (p.validate === '1:m' && tables.length > 2)
    throw new ParamError(['validate'], `param validate "1:m" joins exactly two tables (a second many-side would make the join many-to-many); got ${tables.length}. Use separate join nodes.`);

  // keys: present everywhere, same type everywhere
  tables.forEach((t, k) => {
    for (const key of on) {
      if (!hasCol(t, key)) {
        const near = nearest(key, t.names);
        throw new ParamError(['on'], 
          `key column "${key}" (param on) is missing in ${label(k)}${near.length ? `; did you mean "${near[0]}"?` : '.'} Its columns are: ${t.names.join(', ')}. ` +
            `Rename it upstream (ingest columns: {${key}: name_in_file}) or fix param on.`,
        );
      }
    }
  });
  for (const key of on) {
    const kinds = tables.map((t) => (isNumeric(t.columns[key]!) ? 'number' : 'text'));
    const k = kinds.findIndex((x) => x !== kinds[0]);
    if (k > 0)
      throw new ParamError(['on'], 
        `key column "${key}" is a ${kinds[0]} in ${label(0)} but ${kinds[k]} in ${label(k)}, so no key would ever match (e.g. "450300" vs 450300). ` +
          `Give it one type in both inputs (ingest types: {${key}: number}).`,
      );
  }
  tables.forEach((t, k) => {
    if (t.nrows === 0) throw new StepError(`${label(k)} has no rows; nothing can be joined. Check the node that produces it.`);
  });

  // collisions and suffixes
  if (p.suffixes && p.suffixes.length !== tables.length)
    throw new ParamError(['suffixes'], `param suffixes has ${p.suffixes.length} entries for ${tables.length} tables; give one per table in in: order, e.g. [${tables.map((_, k) => (k === 0 ? '""' : `"_${k}"`)).join(', ')}].`);
  const seen = new Map<string, number[]>();
  tables.forEach((t, k) => t.names.forEach((n) => on.includes(n) || seen.set(n, [...(seen.get(n) ?? []), k])));
  const colliding = [...seen.entries()].filter(([, ks]) => ks.length > 1);
  if (colliding.length > 0 && !p.suffixes)
    throw new ParamError(['suffixes'], 
      `column(s) present in more than one table: ${colliding.map(([n, ks]) => `"${n}" (in ${ks.map((x) => `in[${x}]`).join(', ')})`).join(', ')}. ` +
        `Set param suffixes (one per table, e.g. [${tables.map((_, k) => (k === 0 ? '""' : `"_${k}"`)).join(', ')}]) or keep only the columns you need upstream (ingest select).`,
    );
  const renamed: Record<string, string>[] = tables.map(() => ({}));
  for (const [n, ks] of colliding) for (const k of ks) if (p.suffixes![k]) renamed[k]![n] = n + p.suffixes![k];
  const outNames: string[] = [...on];
  const origin = new Map<string, number>();
  tables.forEach((t, k) => {
    for (const n of t.names) {
      if (on.includes(n)) continue;
      const m = renamed[k]![n] ?? n;
      if (origin.has(m) || on.includes(m))
        throw new ParamError(['suffixes'], 
          `after param suffixes, column "${m}" still occurs twice (from ${label(origin.get(m) ?? 0)} and ${label(k)}). Give the tables different suffixes (${JSON.stringify(p.suffixes)}).`,
        );
      origin.set(m, k);
      outNames.push(m);
    }
  });

  // uniqueness (validate)
  const keys = tables.map((t, k) => keysOf(t, on, label(k)));
  const dups = keys.map(duplicates);
  const mustBeUnique = (k: number) => p.validate === '1:1' || (p.validate === 'm:1' ? k > 0 : k === 0);
  for (let k = 0; k < tables.length; k++) {
    if (dups[k]!.size === 0 || !mustBeUnique(k)) continue;
    const many = p.validate === '1:1' && tables.some((_, j) => j !== k && dups[j]!.size > 0);
    throw new ParamError(['validate'], 
      `validate "${p.validate}" fails: ${dupMessage(dups[k]!, on, label(k), p.max_listed)}.` +
        (many ? ' Both sides have duplicated keys: this would be a many-to-many join, which is never allowed.' : '') +
        ` Remove the duplicates upstream, add a column to param on that makes the key unique, or set validate to the relation you expect (${k === 0 ? '"m:1"' : '"1:m"'}).`,
    );
  }
  if (p.validate !== '1:1') {
    // never many-to-many: the non-validated side may repeat only if the other side is unique
    const manySides = dups.map((d, k) => (d.size > 0 ? k : -1)).filter((k) => k >= 0);
    if (manySides.length > 1)
      throw new ParamError(['validate'], `${manySides.map((k) => dupMessage(dups[k]!, on, label(k), p.max_listed)).join('; ')}: a many-to-many join is never allowed. Make the keys unique on one side.`);
  }

  // left-deep join on row indices: rowIdx[k][r] = row of table k in output row r (−1: none)
  let rowIdx: Int32Array[] = [Int32Array.from(keys[0]!, (_, i) => i)];
  let outKeys: string[] = keys[0]!;
  const matches: JoinMatch[] = [];
  for (let k = 1; k < tables.length; k++) {
    const right = new Map<string, number[]>();
    keys[k]!.forEach((key, i) => {
      const r = right.get(key);
      if (r) r.push(i);
      else right.set(key, [i]);
    });
    const usedRight = new Uint8Array(tables[k]!.nrows);
    const next: number[][] = rowIdx.map(() => []);
    const nextRight: number[] = [];
    const nextKeys: string[] = [];
    let matchedLeft = 0;
    for (let r = 0; r < outKeys.length; r++) {
      const m = right.get(outKeys[r]!);
      if (m) {
        matchedLeft++;
        for (const i of m) {
          usedRight[i] = 1;
          rowIdx.forEach((ix, j) => next[j]!.push(ix[r]!));
          nextRight.push(i);
          nextKeys.push(outKeys[r]!);
        }
      } else if (p.how !== 'inner') {
        rowIdx.forEach((ix, j) => next[j]!.push(ix[r]!));
        nextRight.push(-1);
        nextKeys.push(outKeys[r]!);
      }
    }
    let matchedRight = 0;
    for (const u of usedRight) matchedRight += u;
    if (matchedLeft === 0) {
      const ex = (t: Table, n: number) => [...new Set(Array.from({ length: Math.min(n, t.nrows) }, (_, i) => fmtKey(t, on, i)))].slice(0, 3).join(', ');
      throw new ParamError(['on'], 
        `no row of ${label(k)} (${tables[k]!.nrows} rows) matches the rows joined so far on [${on.join(', ')}]: every row would be unmatched. ` +
          `Keys on the left look like ${ex(tables[0]!, 50)}, in ${label(k)} like ${ex(tables[k]!, 50)}. Check the codes (e.g. 110000 vs 110100), the years and param on.`,
      );
    }
    if (p.how === 'outer')
      for (let i = 0; i < tables[k]!.nrows; i++) {
        if (usedRight[i]) continue;
        rowIdx.forEach((_, j) => next[j]!.push(-1));
        nextRight.push(i);
        nextKeys.push(keys[k]![i]!);
      }
    const only_left = outKeys.length - matchedLeft;
    rowIdx = [...next.map((a) => Int32Array.from(a)), Int32Array.from(nextRight)];
    outKeys = nextKeys;
    matches.push({
      input: k,
      rows_left: only_left + matchedLeft,
      rows_right: tables[k]!.nrows,
      matched_left: matchedLeft,
      matched_right: matchedRight,
      only_left,
      only_right: tables[k]!.nrows - matchedRight,
      rows_out: outKeys.length,
    });
  }

  // assemble: keys from the first table that has the row, then every table's columns
  const n = outKeys.length;
  const cols: Record<string, Column> = {};
  for (const key of on) {
    const parts = tables.map((t, k) => gather(t.columns[key]!, rowIdx[k]!));
    const first = parts[0]!;
    if (isNumeric(first)) {
      const out = Float64Array.from(first);
      for (let i = 0; i < n; i++) for (let k = 1; k < parts.length && Number.isNaN(out[i]!); k++) out[i] = (parts[k] as Float64Array)[i]!;
      cols[key] = out;
    } else {
      const out = [...first];
      for (let i = 0; i < n; i++) for (let k = 1; k < parts.length && out[i] === null; k++) out[i] = (parts[k] as (string | null)[])[i] ?? null;
      cols[key] = out;
    }
  }
  tables.forEach((t, k) => {
    for (const name of t.names) if (!on.includes(name)) cols[renamed[k]![name] ?? name] = gather(t.columns[name]!, rowIdx[k]!);
  });

  // coalesce
  const coalesce: CoalesceReport[] = [];
  for (const [target, sources] of Object.entries(p.coalesce)) {
    for (const s of sources)
      if (!(s in cols)) {
        const near = nearest(s, outNames);
        throw new ParamError(['coalesce', target], 
          `param coalesce.${target} names "${s}", which is not a column of the joined table${near.length ? ` (did you mean "${near[0]}"?)` : ''}; columns are: ${outNames.join(', ')}. Source names are after suffixes.`,
        );
      }
    if (on.includes(target)) throw new ParamError(['coalesce', target], `param coalesce.${target}: a key column cannot be coalesced.`);
    const src = sources.map((s) => cols[s]!);
    const numeric = src.map(isNumeric);
    if (numeric.some((x) => x !== numeric[0]))
      throw new ParamError(['coalesce', target], `param coalesce.${target} mixes number and text sources (${sources.map((s, j) => `${s}: ${numeric[j] ? 'number' : 'text'}`).join(', ')}); give them one type.`);
    const rep: CoalesceReport = { column: target, sources, filled_from: Object.fromEntries(sources.map((s) => [s, 0])), missing: 0, disagreements: 0, disagreements_over_1pct: 0, listed: [] };
    const cands: (CoalesceReport['listed'][number] & { score: number })[] = [];
    const out: Column = numeric[0] ? new Float64Array(n) : new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      let taken = -1;
      for (let j = 0; j < src.length; j++) if (!missing(src[j]!, i)) { taken = j; break; }
      if (taken < 0) {
        rep.missing++;
        if (numeric[0]) (out as Float64Array)[i] = NaN;
        else (out as (string | null)[])[i] = null;
        continue;
      }
      rep.filled_from[sources[taken]!]!++;
      const v = src[taken]![i]!;
      (out as (number | string | null)[])[i] = v;
      let differ = false;
      let rel: number | null = null;
      for (let j = taken + 1; j < src.length; j++) {
        if (missing(src[j]!, i)) continue;
        const w = src[j]![i]!;
        if (w === v) continue;
        differ = true;
        if (numeric[0]) {
          const d = Math.abs((w as number) - (v as number)) / Math.max(Math.abs(v as number), Math.abs(w as number));
          rel = Math.max(rel ?? 0, d);
        }
      }
      if (!differ) continue;
      rep.disagreements++;
      if (rel === null || rel > 0.01) rep.disagreements_over_1pct++;
      cands.push({
        key: Object.fromEntries(on.map((kname) => [kname, (cols[kname]![i] as number | string | null) ?? null])),
        values: Object.fromEntries(sources.map((s, j) => [s, missing(src[j]!, i) ? null : (src[j]![i] as number | string)])),
        taken: sources[taken]!,
        rel_diff: rel,
        score: rel ?? Infinity,
      });
    }
    cands.sort((a, b) => b.score - a.score);
    rep.listed = cands.slice(0, p.max_listed).map(({ score: _s, ...c }) => c);
    cols[target] = out;
    if (!outNames.includes(target)) outNames.push(target);
    coalesce.push(rep);
  }

  const table = makeTable(cols, outNames);
  const report: JoinReport = {
    on,
    how: p.how,
    validate: p.validate,
    inputs: tables.map((t, k) => ({ input: k, rows: t.nrows, columns: t.names.length, renamed: renamed[k]! })),
    matches,
    coalesce,
    rows_out: table.nrows,
  };
  for (const m of matches)
    ctx.info(`join: in[0..${m.input - 1}] × in[${m.input}]: ${m.matched_left} left rows matched, ${m.only_left} only left, ${m.only_right} only right (of ${m.rows_right}) → ${m.rows_out} rows`);
  for (const c of coalesce) {
    ctx.info(`join: coalesce ${c.column} ← ${c.sources.join(' | ')}: ${Object.entries(c.filled_from).map(([s, v]) => `${v} from ${s}`).join(', ')}, ${c.missing} missing; ${c.disagreements} disagreement(s), ${c.disagreements_over_1pct} over 1%`);
    for (const d of c.listed.filter((x) => x.rel_diff === null || x.rel_diff > 0.01).slice(0, 5))
      ctx.info(`join:   ${JSON.stringify(d.key)}: ${Object.entries(d.values).map(([s, v]) => `${s}=${v}`).join(', ')} (took ${d.taken})`);
  }
  return { table: { type: 'table', table }, report: { type: 'json', value: report } };
}
