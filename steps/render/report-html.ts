/**
 * The self-contained HTML report: one file with inline CSS, inline SVG figures (PNG as data URIs), no
 * scripts and no external requests. Pure function of its inputs (no clock, no environment), so the
 * bytes are deterministic.
 *
 * Results first: simulated-data banner, the paper replicated (title, authors, year, venue) with a
 * one-paragraph summary, the headline finding, tables, figures, paper-vs-this-run summary and
 * details, notes (the paper's inconsistencies and the pipeline's choices); then the pipeline DAG,
 * the run metadata (project commit and dirty flag, versions, durations) and the data provenance
 * (file hashes), the last two collapsible.
 *
 * Layout: readable from 390 px phones (no sideways page scroll: wide tables, the DAG and, below
 * 600 px, figures scroll inside their own box) to print (`@media print`: no navigation, details
 * expanded, each table on its own page, nothing cut at the right margin).
 */
import { z } from 'zod';
import type { ScriptToolArtifact } from '../common/contracts.js';
import { escapeHtml, fmtNum } from './format.js';
import { TABLE_CSS, htmlBody, renderHtmlFragment } from './layout.js';
import { comparisonLayout, describeComparisonLayout, type Comparison, type DescribeComparison } from './compare.js';

/** Column labels of describe statistics in the comparison (as the paper prints them). */
const DESCRIBE_LABELS: Record<string, string> = { n: 'Observations', mean: 'Mean', sd: 'Std. Dev.', min: 'Min', median: 'Median', max: 'Max', p25: 'P25', p75: 'P75', missing: 'Missing' };

/**
 * What the report knows about the run (the engine's view): pipeline name, seed, versions, and the DAG
 * with each node's status. Same field names as the engine's run history (engine/history.ts NodeRecord)
 * plus `inputs` (upstream node ids) for the graph.
 */
export const runInfoSchema = z.object({
  pipeline: z.string().optional(),
  file: z.string().optional(),
  seed: z.number().optional(),
  run: z.number().optional(),
  started: z.string().optional(),
  ms: z.number().optional(),
  jobs: z.number().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  /** The project's git commit and whether the work tree had uncommitted changes when the run started. */
  git: z.object({ commit: z.string(), dirty: z.boolean() }).nullable().optional(),
  nodes: z
    .array(
      z.object({
        id: z.string(),
        kind: z.string(),
        status: z.string().optional(),
        ms: z.number().optional(),
        key: z.string().optional(),
        reason: z.string().optional(),
        inputs: z.array(z.string()).optional(),
        publish: z.string().optional(),
      }),
    )
    .default([]),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

export interface ReportTable {
  /** Caption (from the table's <caption>), for the table of contents. */
  title: string;
  /** HTML fragment (table section), or preformatted text. */
  html: string;
}

export interface ReportFigure {
  title: string;
  /** The figure draws this title itself (in the SVG): the caption is then only for screen readers. */
  titleInFigure?: boolean;
  /** Inline SVG markup, or an <img> with a data URI. */
  html: string;
}

export interface ProvenanceEntry {
  file: string;
  sha256: string;
  bytes: number;
  note?: string;
}

/** One applied cell correction (clean's `fixes` output). */
export interface DataFix {
  node: string;
  key: Record<string, number | string>;
  column: string;
  from: number | string | null;
  to: number | string | null;
  why: string;
}

/** The paper a report replicates. */
export interface PaperInfo {
  title: string;
  authors: string;
  year?: string | number;
  venue?: string;
  /** e.g. a DOI link, printed as text (the report makes no requests and has no external links). */
  url?: string;
}

export interface ReportInput {
  title: string;
  subtitle?: string;
  paper?: PaperInfo;
  /** One paragraph: what was replicated and on what data. */
  summary?: string;
  headline?: string;
  simulated: boolean;
  simulatedText: string;
  tables: ReportTable[];
  figures: ReportFigure[];
  /** A section of its own after the paper's figures ("Beyond the paper"): analyses the paper does not have. */
  beyond?: { heading: string; intro?: string; text: string[]; tables: ReportTable[]; figures: ReportFigure[] };
  comparisons: (Comparison | DescribeComparison)[];
  comparisonDigits: number;
  notes: { heading: string; items: string[] }[];
  provenance: ProvenanceEntry[];
  /** Cell corrections applied by clean nodes (their `fixes` outputs), listed under Data provenance. */
  fixes?: DataFix[];
  run?: RunInfo;
  /** The pipeline seed (from the step context), shown when `run` is absent. */
  seed?: number;
  /** Package versions known without the engine (from package.json). */
  packages: Record<string, string>;
  /** The programs and versions of script nodes (their `tool` outputs), listed under Run. */
  tools?: ScriptToolArtifact[];
}

const CSS = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; margin: 0; color: #1a1a1a; background: #fff; line-height: 1.4; }
main { max-width: 72em; margin: 0 auto; padding: 1em 2em 3em 2em; }
h1 { font-size: 1.6em; margin: 0.6em 0 0.2em 0; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
.subtitle { color: #555; margin: 0 0 1em 0; }
.banner { padding: 0.8em 2em; font-weight: 600; }
.banner.simulated { background: #fff3cd; color: #6b4c00; border-bottom: 3px solid #e0a800; }
.banner.real { background: #e8f4ea; color: #1d5b2a; border-bottom: 3px solid #4a9b5d; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; list-style: none; padding: 0; margin: 0.5em 0; }
nav a, a { color: #1f5fa8; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; font-size: 0.92em; }
table.plain { border-collapse: collapse; font-size: 0.9em; }
table.plain th, table.plain td { border-bottom: 1px solid #ddd; padding: 0.2em 0.7em; text-align: left; vertical-align: top; }
table.plain td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; word-break: break-all; }
.dag { display: flex; gap: 1.2em; overflow-x: auto; padding: 0.5em 0; align-items: flex-start; }
.dag-layer { display: flex; flex-direction: column; gap: 0.5em; min-width: 11em; }
.dag-layer h3 { font-size: 0.8em; color: #666; margin: 0; font-weight: normal; }
.dag-node { border: 1px solid #999; border-left: 6px solid #999; border-radius: 4px; padding: 0.3em 0.5em; font-size: 0.85em; background: #fafafa; }
.dag-node .id { font-weight: 600; }
.dag-node .kind, .dag-node .from { color: #555; font-size: 0.9em; }
.dag-node.ran { border-left-color: #2e7d32; }
.dag-node.cached { border-left-color: #1f5fa8; }
.dag-node.failed { border-left-color: #c62828; background: #fdecea; }
.dag-node.skipped { border-left-color: #9e9e9e; color: #777; }
.badge { display: inline-block; border-radius: 3px; padding: 0 0.35em; font-size: 0.8em; color: #fff; background: #777; }
.badge.ran { background: #2e7d32; } .badge.cached { background: #1f5fa8; } .badge.failed { background: #c62828; } .badge.skipped { background: #9e9e9e; }
.report-figure { margin: 1.5em 0; }
.report-figure svg, .report-figure img { max-width: 100%; height: auto; display: block; }
.report-figure figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
.agree { color: #2e7d32; font-weight: 600; } .disagree { color: #c62828; font-weight: 600; }
pre.text { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
details { margin: 0.8em 0; } summary { cursor: pointer; font-weight: 600; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
${TABLE_CSS}
/* in the report, long header labels wrap instead of pushing a table past the page edge */
.report-table .repro-table thead th { white-space: normal; }
main, section, header, p, li, dd { min-width: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
.paper { margin: 0.2em 0 0.8em 0; }
.paper .ptitle { font-style: italic; }
.summary { max-width: 48em; }
.headline { border-left: 5px solid #1f5fa8; background: #f3f7fc; padding: 0.6em 1em; margin: 1em 0; }
.headline p { margin: 0.3em 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.report-figure { position: relative; }
@media (max-width: 600px) {
  main { padding: 0.5em 0.8em 2em 0.8em; }
  .banner { padding: 0.6em 0.8em; }
  h1 { font-size: 1.3em; }
  dl.meta { grid-template-columns: minmax(0, 1fr); gap: 0 0; }
  dl.meta dd { margin-bottom: 0.4em; }
  /* a figure keeps a legible size and scrolls inside its box */
  .report-figure { overflow-x: auto; }
  .report-figure svg { max-width: none; width: 480px; }
}
@media print {
  nav, footer { display: none; }
  main { max-width: none; padding: 0; }
  body { font-size: 10pt; }
  .banner { border: 1px solid #999; }
  details > summary { list-style: none; }
  details::details-content { content-visibility: visible; display: contents; }
  .scroll, .repro-table, .dag, .report-figure, pre.text { overflow: visible; }
  .dag { flex-wrap: wrap; }
  .report-table { break-before: page; break-inside: avoid; }
  .report-figure { break-inside: avoid; }
  .report-figure svg { width: 100%; max-width: 100%; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .repro-table table { font-size: 9pt; }
}`;

/** Longest-path depth of each node from the sources (unknown inputs are ignored). */
export function dagLayers(nodes: RunInfo['nodes']): string[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const d = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle cannot come from the engine; do not loop forever
    visiting.add(id);
    const ins = (byId.get(id)?.inputs ?? []).filter((i) => byId.has(i));
    const v = ins.length ? 1 + Math.max(...ins.map(d)) : 0;
    visiting.delete(id);
    depth.set(id, v);
    return v;
  };
  const layers: string[][] = [];
  for (const n of nodes) {
    const k = d(n.id);
    (layers[k] ??= []).push(n.id);
  }
  return layers.map((l) => l ?? []);
}

const fmtMs = (ms: number | undefined) => (ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** "0123abcd… (uncommitted changes)" / "not recorded". */
export function gitText(g: RunInfo['git']): string {
  if (!g) return 'not recorded';
  return `${g.commit}${g.dirty ? ' (with uncommitted changes)' : ' (clean work tree)'}`;
}

/** The Version cell of an external tool: its `version` output, or why there is none. */
function toolVersionText(t: ScriptToolArtifact): string {
  if (t.skipped) return `not run: ${t.skipped}`;
  if (t.version !== null) return t.version;
  return 'not recorded (the node has no `version` command)';
}

function runSection(r: RunInfo | undefined, packages: Record<string, string>, seed: number | undefined, tools: ScriptToolArtifact[] = []): string {
  const L: string[] = ['<section id="run"><h2>Run</h2>'];
  if (!r) {
    L.push('<p>No run metadata was passed to this report (input <code>run</code>); the engine records it in the run history (<code>repro log</code>).</p>');
    if (seed !== undefined) L.push(`<dl class="meta"><dt>Seed</dt><dd>${seed}</dd></dl>`);
  } else {
    const rows: [string, string][] = [];
    rows.push(['Project commit', gitText(r.git)]);
    if (r.pipeline) rows.push(['Pipeline', r.pipeline]);
    if (r.file) rows.push(['File', r.file]);
    if (r.run !== undefined) rows.push(['Run', String(r.run)]);
    if (r.seed !== undefined) rows.push(['Seed', String(r.seed)]);
    if (r.started) rows.push(['Started', r.started]);
    if (r.ms !== undefined) rows.push(['Duration', fmtMs(r.ms)]);
    if (r.jobs !== undefined) rows.push(['Jobs', String(r.jobs)]);
    const counts = new Map<string, number>();
    for (const n of r.nodes) if (n.status) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
    // the report node itself is still running when the page is built
    if (counts.size) rows.push(['Nodes', [...counts].map(([s, c]) => `${c} ${s}${s === 'running' ? ' (this report)' : ''}`).join(', ')]);
    L.push(`<dl class="meta">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`);
  }
  const versions = { ...packages, ...(r?.versions ?? {}) };
  if (Object.keys(versions).length) {
    L.push('<h3>Versions</h3>');
    L.push(
      `<div class="scroll"><table class="plain"><thead><tr><th>Component</th><th>Version</th></tr></thead><tbody>${Object.entries(versions)
        .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="mono">${escapeHtml(v)}</td></tr>`)
        .join('')}</tbody></table></div>`,
    );
  }
  if (tools.length) {
    L.push('<h3>External tools (script nodes)</h3>');
    L.push(
      `<div class="scroll"><table class="plain"><thead><tr><th>Node</th><th>Program</th><th>Version</th></tr></thead><tbody>${tools
        .map((t) => `<tr><td>${escapeHtml(t.node)}</td><td class="mono">${escapeHtml(t.program)}</td><td class="mono" style="white-space: pre-line">${escapeHtml(toolVersionText(t))}</td></tr>`)
        .join('')}</tbody></table></div>`,
    );
  }
  L.push('</section>');
  return L.join('\n');
}

function dagSection(r: RunInfo | undefined): string {
  const L: string[] = ['<section id="dag"><h2>Pipeline</h2>'];
  if (!r || r.nodes.length === 0) {
    L.push('<p>The pipeline graph was not passed to this report (input <code>run</code>); <code>repro dag</code> prints it.</p></section>');
    return L.join('\n');
  }
  L.push('<p>Nodes by depth (inputs to the left). Status as recorded by the run that built this report.</p>');
  const byId = new Map(r.nodes.map((n) => [n.id, n]));
  L.push('<div class="dag">');
  dagLayers(r.nodes).forEach((layer, i) => {
    L.push(`<div class="dag-layer"><h3>depth ${i}</h3>`);
    for (const id of layer) {
      const n = byId.get(id)!;
      const st = n.status ? escapeHtml(n.status) : '';
      L.push(
        `<div class="dag-node ${st}" id="node-${escapeHtml(id.replace(/[^A-Za-z0-9_-]/g, '_'))}">` +
          `<div class="id">${escapeHtml(id)}</div>` +
          `<div class="kind">${escapeHtml(n.kind)}${st ? ` <span class="badge ${st}">${st}</span>` : ''}${n.ms !== undefined ? ` ${escapeHtml(fmtMs(n.ms))}` : ''}</div>` +
          (n.inputs && n.inputs.length ? `<div class="from">← ${n.inputs.map(escapeHtml).join(', ')}</div>` : '') +
          (n.reason ? `<div class="from">why: ${escapeHtml(n.reason)}</div>` : '') +
          '</div>',
      );
    }
    L.push('</div>');
  });
  L.push('</div>');
  const timed = r.nodes.filter((n) => n.ms !== undefined);
  if (timed.length) {
    L.push('<details><summary>Durations</summary><div class="scroll"><table class="plain"><thead><tr><th>Node</th><th>Kind</th><th>Status</th><th>Time</th><th>Why</th></tr></thead><tbody>');
    for (const n of timed)
      L.push(`<tr><td>${escapeHtml(n.id)}</td><td>${escapeHtml(n.kind)}</td><td>${escapeHtml(n.status ?? '')}</td><td class="num">${escapeHtml(fmtMs(n.ms))}</td><td>${escapeHtml(n.reason ?? '')}</td></tr>`);
    L.push('</tbody></table></div></details>');
  }
  L.push('</section>');
  return L.join('\n');
}

function comparisonSection(all: (Comparison | DescribeComparison)[], digits: number): string {
  if (all.length === 0) return '';
  const cs = all.filter((c): c is Comparison => (c as DescribeComparison).kind !== 'describe');
  const ds = all.filter((c): c is DescribeComparison => (c as DescribeComparison).kind === 'describe');
  const L: string[] = ['<section id="comparison"><h2>Paper vs this run</h2>'];
  L.push(`<p>Each printed number of the paper next to this run's.${cs[0] ? ` Rule for coefficients: ${escapeHtml(cs[0].rule)}.` : ''}</p>`);
  for (const d of ds) L.push(`<details><summary>${escapeHtml(d.title)}: paper vs this run</summary>${renderHtmlFragment(describeComparisonLayout(d, 2, DESCRIBE_LABELS))}</details>`);
  if (cs.length === 0) {
    L.push('</section>');
    return L.join('\n');
  }
  L.push('<div class="scroll"><table class="plain" id="comparison-summary"><thead><tr><th>Table</th><th>DID within 2 SE</th><th>All coefficients within 2 SE</th><th>DID: paper → this run</th></tr></thead><tbody>');
  for (const c of cs) {
    const s = c.summary;
    const did = c.cells
      .filter((x) => x.term === c.cells[0]?.term)
      // label by this run's column; say which paper column it is compared with when they differ (Table 3 col. 3 ↔ paper (2))
      .map((x) => `${x.column === `(${x.model})` ? x.column : `(${x.model}) vs paper ${x.column}`}: ${fmtNum(x.paper.estimate, digits)} → ${x.run ? fmtNum(x.run.estimate, digits) : '—'}`)
      .join('; ');
    const cls = s.treatment_within_2se === s.treatment_cells ? 'agree' : 'disagree';
    L.push(
      `<tr><td><a href="#${escapeHtml(c.table)}-comparison">${escapeHtml(c.title)}</a></td><td class="num ${cls}">${s.treatment_within_2se} / ${s.treatment_cells}</td><td class="num">${s.within_2se} / ${s.cells}</td><td>${escapeHtml(did)}</td></tr>`,
    );
  }
  L.push('</tbody></table></div>');
  for (const c of cs) L.push(`<details><summary>${escapeHtml(c.title)}: details</summary>${renderHtmlFragment(comparisonLayout(c, digits))}</details>`);
  L.push('</section>');
  return L.join('\n');
}

/** "Yiming Ding (year not stated). Title. Venue not stated." as HTML. */
function paperHtml(p: PaperInfo): string {
  const year = p.year === undefined || p.year === '' ? 'year not stated in the source' : String(p.year);
  const venue = p.venue ? escapeHtml(p.venue) : 'Venue not stated in the source';
  return (
    `<p class="paper" id="paper">Replicates: ${escapeHtml(p.authors)} (${escapeHtml(year)}). ` +
    `<span class="ptitle">${escapeHtml(p.title)}</span>. ${venue}.${p.url ? ` <span class="mono">${escapeHtml(p.url)}</span>` : ''}</p>`
  );
}

/**
 * The headline finding: the author's sentence (param), then for the first regression comparison the
 * treatment coefficient of each column, paper → this run, and across all comparisons how many
 * treatment coefficients are within 2 SE of the paper's.
 */
function headlineSection(text: string | undefined, all: (Comparison | DescribeComparison)[], digits: number): string {
  const cs = all.filter((c): c is Comparison => (c as DescribeComparison).kind !== 'describe');
  if (!text && cs.length === 0) return '';
  const L: string[] = ['<section id="headline"><h2>Headline finding</h2><div class="headline">'];
  if (text) L.push(`<p>${escapeHtml(text)}</p>`);
  const first = cs[0];
  if (first) {
    const term = first.cells[0]?.term;
    const cells = first.cells.filter((x) => x.term === term);
    const est = (e: { estimate: number; se?: number | null } | null) => (e ? `${fmtNum(e.estimate, digits)}${e.se === null || e.se === undefined ? '' : ` (${fmtNum(e.se, digits)})`}` : 'not estimated');
    L.push(
      `<p>${escapeHtml(first.title)}, ${escapeHtml(term ?? 'treatment')}: ${cells
        // label by this run's column; name the paper column when they differ (Table 3 col. 3 ↔ paper (2))
        .map((x) => `${escapeHtml(x.column === `(${x.model})` ? x.column : `(${x.model}) vs paper ${x.column}`)}: paper ${escapeHtml(est(x.paper))} → this run ${escapeHtml(est(x.run))}`)
        .join('; ')}.</p>`,
    );
    const within = cs.reduce((a, c) => a + c.summary.treatment_within_2se, 0);
    const total = cs.reduce((a, c) => a + c.summary.treatment_cells, 0);
    L.push(`<p>Across ${cs.length} table${cs.length === 1 ? '' : 's'}: ${within} of ${total} treatment coefficients are within 2 standard errors of the paper's.</p>`);
  }
  L.push('</div></section>');
  return L.join('\n');
}

/** Build the report page. */
export function buildReport(r: ReportInput): string {
  const toc: [string, string][] = [];
  const headline = headlineSection(r.headline, r.comparisons, r.comparisonDigits);
  if (headline) toc.push(['headline', 'Headline']);
  if (r.tables.length) toc.push(['tables', 'Tables']);
  if (r.figures.length) toc.push(['figures', 'Figures']);
  if (r.beyond) toc.push(['beyond', r.beyond.heading]);
  if (r.comparisons.length) toc.push(['comparison', 'Paper vs this run']);
  if (r.notes.some((n) => n.items.length)) toc.push(['notes', 'Notes']);
  toc.push(['dag', 'Pipeline'], ['run', 'Run'], ['provenance', 'Data provenance']);

  const B: string[] = [];
  B.push(
    r.simulated
      ? `<div class="banner simulated" role="alert" id="simulated-banner">${escapeHtml(r.simulatedText)}</div>`
      : '<div class="banner real" id="data-banner">Data: the input files listed under Data provenance.</div>',
  );
  B.push('<main>');
  B.push(
    `<header><h1>${escapeHtml(r.title)}</h1>${r.subtitle ? `<p class="subtitle">${escapeHtml(r.subtitle)}</p>` : ''}` +
      `${r.paper ? paperHtml(r.paper) : ''}${r.summary ? `<p class="summary" id="summary">${escapeHtml(r.summary)}</p>` : ''}</header>`,
  );
  B.push(`<nav><ul>${toc.map(([id, t]) => `<li><a href="#${id}">${escapeHtml(t)}</a></li>`).join('')}</ul></nav>`);
  if (headline) B.push(headline);
  if (r.tables.length) {
    B.push('<section id="tables"><h2>Tables</h2>');
    B.push(`<ul>${r.tables.map((t, i) => `<li><a href="#table-${i + 1}">${escapeHtml(t.title)}</a></li>`).join('')}</ul>`);
    r.tables.forEach((t, i) => B.push(`<div class="report-table" id="table-${i + 1}">${t.html}</div>`));
    B.push('</section>');
  }
  if (r.figures.length) {
    B.push('<section id="figures"><h2>Figures</h2>');
    r.figures.forEach((f, i) =>
      B.push(`<figure class="report-figure" id="figure-${i + 1}">${f.html}<figcaption${f.titleInFigure ? ' class="visually-hidden"' : ''}>${escapeHtml(f.title)}</figcaption></figure>`),
    );
    B.push('</section>');
  }
  if (r.beyond) {
    const b = r.beyond;
    B.push(`<section id="beyond"><h2>${escapeHtml(b.heading)}</h2>`);
    if (b.intro) B.push(`<p>${escapeHtml(b.intro)}</p>`);
    if (b.tables.length) B.push(`<ul>${b.tables.map((t, i) => `<li><a href="#beyond-table-${i + 1}">${escapeHtml(t.title)}</a></li>`).join('')}</ul>`);
    b.tables.forEach((t, i) => B.push(`<div class="report-table" id="beyond-table-${i + 1}">${t.html}</div>`));
    b.figures.forEach((f, i) =>
      B.push(`<figure class="report-figure" id="beyond-figure-${i + 1}">${f.html}<figcaption${f.titleInFigure ? ' class="visually-hidden"' : ''}>${escapeHtml(f.title)}</figcaption></figure>`),
    );
    for (const para of b.text) B.push(`<p class="beyond-text">${escapeHtml(para)}</p>`);
    B.push('</section>');
  }
  B.push(comparisonSection(r.comparisons, r.comparisonDigits));
  if (r.notes.some((n) => n.items.length)) {
    B.push('<section id="notes"><h2>Notes</h2>');
    for (const n of r.notes) if (n.items.length) B.push(`<h3>${escapeHtml(n.heading)}</h3><ul>${n.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`);
    B.push('</section>');
  }
  B.push(dagSection(r.run));
  B.push(runSection(r.run, r.packages, r.seed, r.tools));
  B.push('<section id="provenance"><h2>Data provenance</h2>');
  if (r.provenance.length) {
    B.push(`<details id="provenance-details"><summary>${r.provenance.length} input file${r.provenance.length === 1 ? '' : 's'} with size and SHA-256</summary>`);
    B.push('<div class="scroll"><table class="plain"><thead><tr><th>File</th><th>Bytes</th><th>SHA-256</th><th>Note</th></tr></thead><tbody>');
    for (const p of r.provenance)
      B.push(`<tr><td class="mono">${escapeHtml(p.file)}</td><td class="num">${p.bytes}</td><td class="mono">${escapeHtml(p.sha256)}</td><td>${escapeHtml(p.note ?? '')}</td></tr>`);
    B.push('</tbody></table></div></details>');
  } else B.push('<p>No input files were listed (param <code>provenance</code>).</p>');
  if (r.fixes) {
    B.push('<h3 id="fixes">Data corrections</h3>');
    if (r.fixes.length) {
      const v = (x: number | string | null) => (x === null ? 'missing' : String(x));
      B.push('<table class="plain"><thead><tr><th>Node</th><th>Cell</th><th>Column</th><th>From</th><th>To</th><th>Why</th></tr></thead><tbody>');
      for (const f of r.fixes)
        B.push(
          `<tr><td class="mono">${escapeHtml(f.node)}</td><td class="mono">${escapeHtml(Object.entries(f.key).map(([k, x]) => `${k}=${x}`).join(', '))}</td><td class="mono">${escapeHtml(f.column)}</td><td class="num">${escapeHtml(v(f.from))}</td><td class="num">${escapeHtml(v(f.to))}</td><td>${escapeHtml(f.why)}</td></tr>`,
        );
      B.push('</tbody></table>');
    } else B.push('<p>None: no cell of the input data was corrected.</p>');
  }
  B.push('</section>');
  B.push('<footer>Generated by the repro pipeline. This page is self-contained: no scripts, no external resources.</footer>');
  B.push('</main>');

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(r.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...B,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Make the ids of an SVG unique within the page (prefix every id and its url(#…) / href="#…" references). */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
  if (ids.length === 0) return svg;
  const set = new Set(ids);
  return svg
    .replace(/\sid="([^"]+)"/g, (_, id: string) => ` id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (m, id: string) => (set.has(id) ? `url(#${prefix}${id})` : m))
    .replace(/href="#([^"]+)"/g, (m, id: string) => (set.has(id) ? `href="#${prefix}${id}"` : m));
}

/** The inline form of an SVG file: XML prolog and doctype dropped, ids made unique. */
export function inlineSvg(svg: string, prefix: string): string {
  const body = svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').replace(/<!DOCTYPE[^>]*>\s*/i, '').trim();
  return prefixSvgIds(body, prefix);
}

/** The title of a vega SVG (its title mark's text), if any. */
export function svgTitle(svg: string): string | undefined {
  const m = /aria-label="Title text '([^']*)'"/.exec(svg) ?? /<title>([^<]*)<\/title>/.exec(svg);
  return m ? unescapeHtml(m[1]!) : undefined;
}

/** Decode the five entities escapeHtml writes. */
export function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** The caption of the first table in an HTML page, if any, as plain text. */
export function htmlCaption(html: string): string | undefined {
  const m = /<caption>([\s\S]*?)<\/caption>/i.exec(html);
  return m ? unescapeHtml(m[1]!.replace(/<[^>]+>/g, '').trim()) : undefined;
}

export { htmlBody };
