/**
 * `repro diff A B [NODE…] [PIPELINE] [--json] [--fail-if EXPR] [--html FILE]`: how the results of
 * two recorded runs differ (engine/run-diff.ts computes it; this renders it and applies
 * `--fail-if`).
 *
 * `--fail-if EXPR` evaluates a small safe expression (the `clean.derive` language of
 * engine/expr.ts: a hand-written parser, no eval) on every difference row and exits 1 when
 * any row matches, e.g. `abs(delta_se) > 0.1`, `sig_changed == 1`, `node == 'baseline' and
 * abs(delta) > 0.05`. The fields are those of a {@link DiffRow}. A bad expression or field is a
 * usage error (exit 2) before anything is compared.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { fmtCell, tableDiffLines } from '../reasons.js';
import type { DiffRow, NodeDiff, RunDiff } from '../run-diff.js';

const num = (v: number | null, digits = 5): string => (v === null ? '' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(digits))));
const signed = (v: number | null, digits = 3): string => (v === null ? '' : `${v > 0 ? '+' : ''}${num(v, digits)}`);
const sig = (v: number | null): string => (v === null ? '' : v ? 'yes' : 'no');
const side = (v: number | null, text: string | null): string => text ?? num(v);

/** A compiled `--fail-if` filter: row → matches. */
type RowFilter = (rows: DiffRow[]) => boolean[];

/** Parse and check `--fail-if` against the diff row fields (a UsageError naming the position or field). */
async function compileFailIf(src: string): Promise<RowFilter> {
  // the study's expression language is generic (it imports only engine/table.ts); reused here, never eval
  const [{ parseExpr, evaluate, ExprError }, { makeTable }, { DIFF_ROW_FIELDS, DIFF_TEXT_FIELDS }] = await Promise.all([
    import('../expr.js'),
    import('../table.js'),
    import('../run-diff.js'),
  ]);
  const fields = DIFF_ROW_FIELDS.map(String).join(', ');
  const toTable = (rows: DiffRow[]) => {
    const cols: Record<string, Float64Array | (string | null)[]> = {};
    for (const f of DIFF_ROW_FIELDS) {
      cols[f] = DIFF_TEXT_FIELDS.has(f) ? rows.map((r) => (r[f] as string | null) ?? null) : Float64Array.from(rows, (r) => (typeof r[f] === 'number' ? (r[f] as number) : NaN));
    }
    return makeTable(cols, DIFF_ROW_FIELDS.map(String));
  };
  const fail = (e: unknown): never => {
    if (e instanceof ExprError) {
      const msg = e.message.startsWith('unknown column') ? e.message.replace(/^unknown column ("[^"]*").*$/, `unknown field $1`) : e.message.startsWith('the expression gives text') ? 'the expression gives text; compare it, e.g. node == \'baseline\'' : e.message;
      throw new UsageError(`repro diff: --fail-if: ${new ExprError(msg, e.pos, e.source).pretty()}\n  fields: ${fields}`);
    }
    throw e;
  };
  let root: ReturnType<typeof parseExpr>;
  try {
    root = parseExpr(src);
    evaluate(root, toTable([]), src); // unknown fields and type misuse, before comparing anything
  } catch (e) {
    return fail(e);
  }
  return (rows) => {
    let v: Float64Array;
    try {
      v = evaluate(root, toTable(rows), src);
    } catch (e) {
      return fail(e);
    }
    return Array.from(v, (x) => !Number.isNaN(x) && x !== 0);
  };
}

const runLabel = (r: RunDiff['a']): string => `run #${r.run}${r.variant ? ` (variant ${r.variant})` : ''}`;

/** The text rendering of one changed node. */
function nodeLines(n: NodeDiff): string[] {
  const out: string[] = [];
  const from = (x: number | null) => (x === null ? '-' : `#${x}`);
  out.push(`~ ${n.id} (${n.kind})${n.from.a !== null && n.from.b !== null ? `  [outputs of ${from(n.from.a)} vs ${from(n.from.b)}]` : ''}`);
  // changed file outputs (md, tex, png, …) on one line: their bytes differ, the rows say nothing more
  const files = n.outputs.filter((o) => o.status === 'changed' && o.type === 'file');
  if (files.length) out.push(`  ${files.map((o) => o.name).join(', ')} (file${files.length > 1 ? 's' : ''}): the bytes differ`);
  for (const o of n.outputs) {
    if (o.status === 'same' || files.includes(o)) continue;
    const label = `  ${o.name}${o.contract ? ` (${o.contract})` : o.type ? ` (${o.type})` : ''}`;
    if (o.status === 'only-a' || o.status === 'only-b') {
      out.push(`${label}: only in ${o.status === 'only-a' ? 'A' : 'B'}`);
      continue;
    }
    if (o.status === 'unreadable') {
      out.push(`${label}: ${o.note}`);
      continue;
    }
    if (o.table) {
      const lines = tableDiffLines(o.table, '    ');
      out.push(`${label}: ${lines[0]!.trim()}`, ...lines.slice(1));
      continue;
    }
    const est = o.rows.filter((r) => r.what !== 'stat' && (r.se_a !== null || r.se_b !== null));
    const stats = o.rows.filter((r) => r.what === 'stat' && r.changed);
    const other = o.rows.filter((r) => !est.includes(r) && r.what !== 'stat');
    out.push(`${label}:`);
    if (est.length) {
      const flag = est.some((r) => r.sig_changed); // a last column only when a significance changed
      const header = [est[0]!.what === 'period' ? 'period' : 'term', 'A', 'SE A', 'B', 'SE B', 'Δ', 'Δ/SE_A', 'sig A', 'sig B', ...(flag ? ['(5%)'] : [])];
      const cells = est.map((r) => [r.item, side(r.a, r.a_text), num(r.se_a), side(r.b, r.b_text), num(r.se_b), signed(r.delta), signed(r.delta_se, 3), sig(r.sig_a), sig(r.sig_b), ...(flag ? [r.sig_changed ? 'changed' : ''] : [])]);
      out.push(...textTable(header, cells).map((l) => `    ${l}`));
    }
    if (stats.length) out.push(`    ${stats.map((r) => `${r.item} ${side(r.a, r.a_text) || 'NA'} → ${side(r.b, r.b_text) || 'NA'}`).join(', ')}`);
    for (const r of other.slice(0, 10)) out.push(`    ${r.item}${r.column ? ` ${r.column}` : ''}: ${r.a_text ?? fmtCell(r.a)} → ${r.b_text ?? fmtCell(r.b)}`);
    if (other.length > 10) out.push(`    … ${other.length - 10} more`);
    if (o.note) out.push(`    (${o.note})`);
  }
  return out;
}

/** The aligned text table of estimates (set by cmdDiff once engine/text.ts is loaded). */
let textTable: (header: string[], rows: string[][]) => string[] = () => [];

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A self-contained HTML page of the diff; changed cells have class `chg` (highlighted), significance changes `sig`. */
export function diffHtml(d: RunDiff): string {
  const parts: string[] = [];
  const td = (s: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(s)}</td>`;
  for (const n of d.nodes) {
    if (n.status === 'same') continue;
    parts.push(`<h2>${esc(n.id)} <small>(${esc(n.kind)})</small></h2>`);
    if (n.status !== 'changed') {
      parts.push(`<p>only in ${n.status === 'only-a' ? 'A' : 'B'}</p>`);
      continue;
    }
    for (const o of n.outputs) {
      if (o.status === 'same') continue;
      parts.push(`<h3>${esc(o.name)}${o.contract ? ` <small>${esc(o.contract)}</small>` : ''}</h3>`);
      if (o.note) parts.push(`<p>${esc(o.note)}</p>`);
      if (o.table) {
        parts.push(`<p>${esc(tableDiffLines(o.table)[0]!)}</p>`);
        // changed cells grouped by row: one row per key, one column per changed column, "A → B" highlighted
        const cols = [...new Set(o.rows.filter((r) => r.what === 'cell').map((r) => r.column!))];
        const byKey = new Map<string, Map<string, DiffRow>>();
        for (const r of o.rows.filter((x) => x.what === 'cell')) {
          if (!byKey.has(r.item)) byKey.set(r.item, new Map());
          byKey.get(r.item)!.set(r.column!, r);
        }
        if (cols.length) {
          parts.push(`<table><tr><th>row</th>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`);
          for (const [k, m] of byKey) {
            parts.push(`<tr>${td(k)}${cols.map((c) => { const r = m.get(c); return r ? td(`${r.a_text ?? fmtCell(r.a)} → ${r.b_text ?? fmtCell(r.b)}`, 'chg') : td(''); }).join('')}</tr>`);
          }
          parts.push('</table>');
        }
        const addRm = o.rows.filter((r) => r.what === 'row-added' || r.what === 'row-removed');
        if (addRm.length) parts.push(`<ul>${addRm.map((r) => `<li class="chg">${r.what === 'row-added' ? 'added' : 'removed'}: ${esc(r.item)}</li>`).join('')}</ul>`);
        continue;
      }
      const est = o.rows.filter((r) => r.what !== 'stat' && (r.se_a !== null || r.se_b !== null));
      if (est.length) {
        parts.push(`<table><tr><th>${est[0]!.what === 'period' ? 'period' : 'term'}</th><th>A</th><th>SE A</th><th>B</th><th>SE B</th><th>Δ</th><th>Δ/SE_A</th><th>sig A</th><th>sig B</th></tr>`);
        for (const r of est) {
          const ch = (x: boolean) => (x ? 'chg' : '');
          parts.push(
            `<tr${r.sig_changed ? ' class="sig"' : ''}>${td(r.item)}${td(side(r.a, r.a_text))}${td(num(r.se_a))}${td(side(r.b, r.b_text), ch(r.a !== r.b))}${td(num(r.se_b), ch(r.se_a !== r.se_b))}${td(signed(r.delta), ch(!!r.delta))}${td(signed(r.delta_se))}${td(sig(r.sig_a))}${td(sig(r.sig_b), ch(!!r.sig_changed))}</tr>`,
          );
        }
        parts.push('</table>');
      }
      const rest = o.rows.filter((r) => !est.includes(r));
      if (rest.length) {
        parts.push(`<table><tr><th>item</th><th>A</th><th>B</th><th>Δ</th></tr>`);
        for (const r of rest) parts.push(`<tr>${td(r.item)}${td(r.a_text ?? num(r.a))}${td(r.b_text ?? num(r.b), r.changed ? 'chg' : '')}${td(signed(r.delta))}</tr>`);
        parts.push('</table>');
      }
    }
  }
  const same = d.nodes.filter((n) => n.status === 'same').map((n) => n.id);
  const title = `repro diff: ${d.pipeline}, ${runLabel(d.a)} → ${runLabel(d.b)}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}.chg{background:#fff3b0;font-weight:600}tr.sig td{border-bottom:2px solid #d33}small{color:#666}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>A: ${esc(runLabel(d.a))} at ${esc(d.a.started)}; B: ${esc(runLabel(d.b))} at ${esc(d.b.started)}. Changed cells are highlighted; a red rule marks a change of significance at 5%.</p>
${parts.join('\n') || '<p>No result changed.</p>'}
${same.length ? `<p>Unchanged (${same.length}): ${esc(same.join(', '))}</p>` : ''}
</body></html>
`;
}

export async function cmdDiff(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['fail-if', 'html'], bools: ['json', 'verbose'] }, 'diff');
  const pos = p.positionals;
  const file = pos.find((x) => /\.ya?ml$/i.test(x)) ?? 'pipeline.yaml';
  const rest = pos.filter((x) => !/\.ya?ml$/i.test(x));
  if (rest.length < 2) throw new UsageError('repro diff: which runs? usage: repro diff A B [NODE…] [PIPELINE] (A, B: run numbers as in `repro log`, variant names, or latest)');
  const [argA, argB, ...nodes] = rest as [string, string, ...string[]];
  const filter = p.values['fail-if'] !== undefined ? await compileFailIf(p.values['fail-if']) : null;
  if (p.values.html !== undefined && !p.values.html.trim()) throw new UsageError('repro diff: --html needs a file name');
  const [{ openSession }, { diffRuns }, { loadDiffer }, { formatTextTable }] = await Promise.all([import('../session.js'), import('../run-diff.js'), import('../registry.js'), import('../text.js')]);
  textTable = (h, rows) => formatTextTable(h, rows, new Set([1, 2, 3, 4, 5, 6])).trimEnd().split('\n');
  const s = await openSession({ file });
  const d = await diffRuns(s, argA, argB, { nodes, differ: await loadDiffer() });
  const hit = filter ? filter(d.rows) : [];
  const matched = d.rows.filter((_, i) => hit[i]);
  if (p.values.html) {
    const out = path.resolve(p.values.html);
    fs.writeFileSync(out, diffHtml(d));
    if (!p.bools.has('json')) process.stderr.write(`repro diff: wrote ${path.relative(process.cwd(), out) || out}\n`);
  }
  if (p.bools.has('json')) {
    process.stdout.write(`${JSON.stringify({ ok: true, ...d, ...(filter ? { fail_if: { expr: p.values['fail-if'], matched: matched.length, rows: matched } } : {}) })}\n`);
  } else {
    const lines: string[] = [`repro diff: ${d.pipeline}, A = ${runLabel(d.a)} (${d.a.started}), B = ${runLabel(d.b)} (${d.b.started})`];
    for (const n of d.nodes) {
      if (n.status === 'changed') lines.push(...nodeLines(n));
      else if (n.status !== 'same') lines.push(`${n.status === 'only-a' ? '-' : '+'} ${n.id} (${n.kind}): only in ${n.status === 'only-a' ? 'A' : 'B'}`);
    }
    for (const id of d.missing) lines.push(`? ${id}: no successful record up to ${runLabel(d.a)} or ${runLabel(d.b)} (\`repro log\` lists the runs)`);
    const same = d.nodes.filter((n) => n.status === 'same').map((n) => n.id);
    const changed = d.nodes.filter((n) => n.status === 'changed').length;
    if (same.length) lines.push(`= unchanged (${same.length}): ${same.length > 30 ? `${same.slice(0, 30).join(', ')}, …` : same.join(', ')}`);
    lines.push(`${changed} node(s) changed, ${same.length} unchanged, ${d.nodes.length - changed - same.length} in one run only`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (filter && matched.length) {
    process.stderr.write(`repro diff: --fail-if ${p.values['fail-if']}: ${matched.length} row(s) match, e.g. ${matched.slice(0, 3).map((r) => `${r.node}.${r.output} ${r.what} ${r.item}${r.column ? ` ${r.column}` : ''}`).join('; ')}\n`);
    return 1;
  }
  return 0;
}
