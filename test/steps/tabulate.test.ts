import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import def from '../../steps/tabulate.js';
import { stars, fmtNum, escapeTex } from '../../steps/render/format.js';
import { regressionLayout, describeVcov } from '../../steps/render/esttab.js';
import { renderTex, renderCsv, renderCsvNotes, renderMarkdown } from '../../steps/render/layout.js';
import { loadPaperTables } from '../../steps/render/compare.js';
import type { Model } from '../../steps/render/model.js';
import describeStep from '../../steps/describe.js';
import { renderCtx, jsonArtifact, fixture, text, ROOT, mpdtaPanel, MPDTA } from './render-ctx.js';
import { needsSharedData, needsSharedSeed, SHARED_SEED } from '../shared-data.js';

/**
 * Structural LaTeX check (no TeX engine here): balanced braces and environments; in text, no bare
 * special characters (_ % # ^ ~ $ and < > |, which OT1 prints as other glyphs) outside math; every
 * tabular row has as many cells as the column spec (\multicolumn spans counted); & only in rows.
 */
function texProblems(tex: string): string[] {
  const out: string[] = [];
  const src = tex
    .split('\n')
    .filter((l) => !l.startsWith('%'))
    .join('\n')
    // the fit-to-width test compares lengths with '>' (not text)
    .replace(/\\ifdim\\width>\\linewidth/g, '\\ifdim\\width\\linewidth')
    .replace(/\{%$/gm, '{')
    // dcolumn: numeric cells are in math mode (stars as ^{***}, thousands as {,})
    .replace(/\^\{\*{1,3}\}/g, '')
    .replace(/\{,\}/g, ',')
    .replace(/D\{\.\}\{\.\}\{-1\}/g, 'D');
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth < 0) out.push(`unbalanced } at ${i}`);
  }
  if (depth !== 0) out.push(`unbalanced braces: depth ${depth} at the end`);
  const envs: string[] = [];
  for (const m of src.matchAll(/\\(begin|end)\{(\w+)\}/g)) {
    if (m[1] === 'begin') envs.push(m[2]!);
    else if (envs.pop() !== m[2]) out.push(`\\end{${m[2]}} does not close the open environment`);
  }
  if (envs.length) out.push(`unclosed environments: ${envs.join(', ')}`);
  // text with math, escapes and command names removed
  const plain = src
    .replace(/\\\\/g, ' ')
    .replace(/\\[_%&#${}]/g, ' ')
    .replace(/\$[^$]*\$/g, ' ')
    .replace(/\\[A-Za-z]+\*?/g, ' ');
  const bare = plain.match(/[_%#^~$<>|]/g);
  if (bare) out.push(`bare special characters in text: ${[...new Set(bare)].join(' ')}`);
  const spec = /\\begin\{tabular\}\{([lcrD]+)\}/.exec(src);
  if (!spec) out.push('no tabular');
  const ncols = spec ? spec[1]!.length : 0;
  const inner = src.slice(src.indexOf('\\begin{tabular}'), src.indexOf('\\end{tabular}'));
  for (const line of inner.split('\n').slice(1)) {
    if (line === '' || /^\\(toprule|midrule|bottomrule|cmidrule)/.test(line)) continue;
    if (!line.endsWith(' \\\\')) {
      out.push(`row does not end with \\\\: ${line}`);
      continue;
    }
    const cells = line.slice(0, -3).replace(/\\&/g, '').split('&');
    const width = cells.reduce((a, c) => a + Number(/\\multicolumn\{(\d+)\}/.exec(c)?.[1] ?? 1), 0);
    if (width !== ncols) out.push(`row has ${width} cells, the tabular ${ncols}: ${line}`);
  }
  const outside = src.slice(0, src.indexOf('\\begin{tabular}')) + src.slice(src.indexOf('\\end{tabular}'));
  if (/(^|[^\\])&/.test(outside)) out.push('& outside the tabular');
  return out;
}

const m1 = fixture('model-did-only.json') as Model;
const m2 = fixture('model-controls.json') as Model;
const m3 = fixture('model-province-hc1.json') as Model;
const run = (params: Record<string, unknown>, models = ['model-did-only.json', 'model-controls.json']) =>
  def.run(renderCtx('table3'), { models: models.map(jsonArtifact) }, def.params.parse(params));

describe('stars and number formatting', () => {
  it('uses strict thresholds 0.01 / 0.05 / 0.1', () => {
    expect(stars(0.0099)).toBe('***');
    expect(stars(0.01)).toBe('**');
    expect(stars(0.0499)).toBe('**');
    expect(stars(0.05)).toBe('*');
    expect(stars(0.0999)).toBe('*');
    expect(stars(0.1)).toBe('');
    expect(stars(null)).toBe('');
    expect(stars(NaN)).toBe('');
  });
  it('prints fixed decimals, no negative zero, blanks for missing', () => {
    expect(fmtNum(-2.3449, 3)).toBe('-2.345');
    expect(fmtNum(0.0763, 3)).toBe('0.076');
    expect(fmtNum(-0.0004, 3)).toBe('0.000');
    expect(fmtNum(null, 3)).toBe('');
    expect(fmtNum(NaN, 3)).toBe('');
    expect(fmtNum(12, 0)).toBe('12');
  });
  it('escapes LaTeX specials and label symbols', () => {
    expect(escapeTex('_cons & R² 5%')).toBe('\\_cons \\& R$^2$ 5\\%');
  });
});

describe('regressionLayout', () => {
  it('lays out coefficient + (SE) rows, treatment first and _cons last, in column order', () => {
    const l = regressionLayout([m1, m2], { labels: { did: 'DID' } });
    const labels = l.body.filter((r) => r.kind === 'coef').map((r) => r.label);
    expect(labels).toEqual(['DID', 'pgdp', 'indus', 'urb', 'fin', 'fis', '_cons']);
    expect(l.body[0]!.cells).toEqual(['-2.498***', '-2.345***']);
    expect(l.body[1]!).toMatchObject({ kind: 'se', label: '', cells: ['(0.272)', '(0.298)'] });
    // urb p = 0.105: no star; fis p = 0.0759: one star; a term absent from model 1 is blank
    const urb = l.body.find((r) => r.label === 'urb')!;
    expect(urb.cells).toEqual(['', '-1.590']);
    expect(l.body.find((r) => r.label === 'fis')!.cells).toEqual(['', '2.407*']);
    expect(l.body.find((r) => r.label === '_cons')!.cells).toEqual(['4.519***', '2.214**']);
  });
  it('puts t statistics in parentheses when paren = t, and says so in the note', () => {
    const l = regressionLayout([m1], { paren: 't' });
    expect(l.body[1]!.cells).toEqual(['(-9.181)']);
    expect(l.notes[0]).toMatch(/^t statistics in parentheses; standard errors clustered by city \(CR1\)\. \*\*\* p<0.01, \*\* p<0.05, \* p<0.1\.$/);
  });
  it('writes FE YES/NO rows with labels, then N and R², each block under a rule', () => {
    const l = regressionLayout([m2, m3], { feLabels: { city: 'City FE', year: 'Year FE' } });
    const fe = l.body.filter((r) => r.kind === 'fe');
    expect(fe.map((r) => [r.label, ...r.cells])).toEqual([
      ['City FE', 'YES', 'NO'],
      ['Year FE', 'YES', 'YES'],
      ['Province FE', 'NO', 'YES'],
    ]);
    expect(fe[0]!.ruleAbove).toBe(true);
    const st = l.body.filter((r) => r.kind === 'stat');
    expect(st.map((r) => [r.label, ...r.cells])).toEqual([
      ['Observations', '4,551', '4,551'],
      ['R²', '0.751', '0.612'],
      ['Within R²', '0.042', '0.031'],
    ]);
    expect(st[0]!.ruleAbove).toBe(true);
    // different SE types are listed per column
    expect(l.notes[0]).toContain('(1) clustered by city (CR1); (2) heteroskedasticity-robust (HC1)');
  });
  it('respects rows (order + keep + labels), drop, digits and stats', () => {
    const l = regressionLayout([m2], { rows: [{ term: 'did', label: 'DID' }, 'indus'], digits: 2, stats: ['n', 'clusters', 'r2_within'] });
    expect(l.body.filter((r) => r.kind === 'coef').map((r) => [r.label, ...r.cells])).toEqual([
      ['DID', '-2.34***'],
      ['indus', '0.08***'],
    ]);
    expect(l.body.filter((r) => r.kind === 'stat').map((r) => r.cells[0])).toEqual(['4,551', '285', '0.04']);
    expect(regressionLayout([m2], { stats: ['n'], thousands: '' }).body.at(-1)!.cells).toEqual(['4551']);
    const d = regressionLayout([m2], { drop: ['_cons', 'fin'] });
    expect(d.body.some((r) => r.label === '_cons' || r.label === 'fin')).toBe(false);
  });
  it('describes vcov types', () => {
    expect(describeVcov({ type: 'cluster', by: 'city' })).toBe('clustered by city');
    expect(describeVcov({ type: 'iid', by: null })).toBe('conventional (iid)');
    expect(describeVcov({ type: 'cluster', by: 'city_code' }, (b) => (b === 'city_code' ? 'city' : b))).toBe('clustered by city');
    // the SE note names the cluster by its FE label (City FE → city) unless cluster_labels says otherwise
    const byCode = { ...m2, vcov: { type: 'cluster', by: 'city_code' } } as Model;
    expect(regressionLayout([byCode], { feLabels: { city_code: 'City FE' } }).notes[0]).toMatch(/^Standard errors in parentheses; standard errors clustered by city\. /);
    expect(regressionLayout([byCode], { feLabels: { city_code: 'City FE' }, clusterLabels: { city_code: 'prefecture' } }).notes[0]).toMatch(/clustered by prefecture\. /);
    expect(regressionLayout([byCode]).notes[0]).toMatch(/clustered by city_code\. /);
  });
});

describe('renderers', () => {
  const l = regressionLayout([m1, m2], {
    title: 'Table 3: Baseline',
    labels: { did: 'DID' },
    groups: [{ label: 'SO2', span: 2 }],
    feLabels: { city: 'City FE', year: 'Year FE' },
  });
  it('LaTeX uses booktabs rules, a multicolumn group header and one column spec per model', () => {
    const tex = renderTex(l);
    const lines = tex.split('\n');
    expect(tex).toContain('\\begin{tabular}{lD{.}{.}{-1}D{.}{.}{-1}}');
    expect(tex.split('\n')[0]).toBe('% Requires \\usepackage{booktabs,threeparttable,dcolumn,graphicx}');
    const i = (s: string) => lines.findIndex((x) => x.startsWith(s));
    expect(i('\\toprule')).toBeLessThan(i('\\midrule'));
    expect(lines.filter((x) => x === '\\bottomrule')).toHaveLength(1);
    expect(i('\\bottomrule')).toBeGreaterThan(i('R$^2$'));
    expect(tex).toContain('Variable & \\multicolumn{2}{c}{SO2} \\\\');
    expect(tex).toContain('\\cmidrule(lr){2-3}');
    // numbers in math mode (dcolumn): '-' is a real minus, stars a superscript
    expect(tex).toContain('DID & -2.498^{***} & -2.345^{***} \\\\');
    expect(tex).toContain('\\_cons & 4.519^{***} & 2.214^{**} \\\\');
    expect(tex).toContain(' & (0.272) & (0.298) \\\\');
    // text cells are centred over the decimal columns; counts keep their separator in math as {,}
    expect(tex).toContain('City FE & \\multicolumn{1}{c}{YES} & \\multicolumn{1}{c}{YES} \\\\');
    expect(tex).toContain('Observations & \\multicolumn{1}{c}{$5{,}001$} & \\multicolumn{1}{c}{$4{,}551$} \\\\');
    // notes inside the table width, and no \setcounter unless asked for
    expect(tex).toMatch(/\\end\{tabular\}\n\\begin\{tablenotes\}\[flushleft\]\n\\footnotesize\n\\item Standard errors in parentheses/);
    expect(tex).not.toContain('setcounter');
    expect(renderTex(l, { counter: true })).toContain('\\setcounter{table}{2}\n\\caption{Baseline}');
    // centred columns: the minus is still a real one ($-$)
    const c = renderTex(l, { align: 'center', fit: 'none', landscape: true });
    expect(c).toContain('DID & $-2.498^{***}$ & $-2.345^{***}$ \\\\');
    expect(c).toContain('\\begin{sidewaystable}[htbp]');
    expect(c).not.toContain('resizebox');
    expect(texProblems(c)).toEqual([]);
    // midrules: after the header, before FE rows, before N
    expect(lines.filter((x) => x === '\\midrule')).toHaveLength(3);
  });
  it('CSV has one record per row with quoted fields where needed', () => {
    const csv = renderCsv(l).split('\r\n');
    expect(csv[0]).toBe('Variable,SO2,');
    expect(csv[1]).toBe(',(1),(2)');
    expect(csv[2]).toBe(',so2,so2');
    expect(csv[3]).toBe('DID,-2.498***,-2.345***');
    expect(csv[4]).toBe(',(0.272),(0.298)');
    // counts are plain numbers; notes are not data rows (they go to the sidecar)
    expect(csv).toContain('Observations,5001,4551');
    expect(csv.some((r) => r.includes('Note'))).toBe(false);
    expect(renderCsvNotes(l)).toMatch(/^Table 3: Baseline\n\nStandard errors in parentheses; standard errors clustered by city \(CR1\)\./);
    expect(renderCsv(l, { bom: true }).startsWith('\uFEFFVariable,')).toBe(true);
  });
  it('Markdown escapes stars so they are not read as emphasis', () => {
    const md = renderMarkdown(l);
    expect(md).toContain('| DID | -2.498\\*\\*\\* | -2.345\\*\\*\\* |');
    expect(md.split('\n')[0]).toBe('**Table 3: Baseline**');
  });
  it('LaTeX is structurally valid, also with specials in titles, labels, groups and notes', () => {
    expect(texProblems(renderTex(l))).toEqual([]);
    const nasty = regressionLayout([m1, m2, m3], {
      title: 'Table 9: 50% of R&D_spend <all> | #1 ~ $ ^',
      labels: { did: 'DID_{t}', pgdp: 'PGDP (10^4 yuan/person)' },
      groups: [{ label: 'A & B', span: 1 }, { label: 'C_2 > 1%', span: 2 }],
      notes: ['p<0.01 & 5% level; "quoted"'],
    });
    const tex = renderTex(nasty);
    expect(texProblems(tex)).toEqual([]);
    // the star note's "p<0.01" is \textless (OT1 would print "p¡0.01")
    expect(tex).toContain('*** p\\textless{}0.01, ** p\\textless{}0.05, * p\\textless{}0.1.');
    // LaTeX numbers captions itself: the title's "Table 9:" is dropped from the caption
    expect(tex).toContain('\\centering\n\\caption{50\\% of R\\&D\\_spend \\textless{}all\\textgreater{} \\textbar{} \\#1 \\textasciitilde{} \\$ \\textasciicircum{}}');
    // the checker does catch what it claims to
    expect(texProblems('\\begin{tabular}{lc}\na & b & c \\\\\n\\end{tabular}\n_cons p<0.01 {')).toEqual([
      'unbalanced braces: depth 1 at the end',
      'bare special characters in text: _ <',
      'row has 3 cells, the tabular 2: a & b & c \\\\',
    ]);
  });
  it('rejects a ragged layout', () => {
    expect(() => renderTex({ stub: 'x', header: [[{ text: 'a' }]], body: [{ label: 'r', cells: ['1', '2'] }], notes: [] })).toThrow(/header row 1 spans 1 columns, the body has 2/);
  });
});

describe('tabulate step', () => {
  it('writes valid LaTeX and a CSV with one header and equal-length records (tabulate and describe)', async () => {
    const { parse } = await import('csv-parse/sync');
    const out = await run({
      title: 'Table 3: Baseline, 5% sample & so2_t',
      columns: ['(1) DID only', '(2) Controls_all'],
      groups: [{ label: 'SO2 (10^4 t)', span: 2 }],
      labels: { did: 'DID', pgdp: 'PGDP' },
    });
    const d = await describeStep.run(
      renderCtx('table2'),
      { panel: { type: 'table', table: (await import('../../engine/table.js')).fromRows(fixture('panel.json') as Record<string, unknown>[]) } },
      describeStep.params.parse({ vars: { so2: 'SO2_t', pgdp: 'PGDP (%)' }, title: 'Table 2: 100% of cities' }),
    );
    for (const o of [out, d]) {
      expect(texProblems(text(o.tex))).toEqual([]);
      const recs = parse(text(o.csv), { relax_column_count: false }) as string[][];
      expect(recs.length).toBeGreaterThan(2);
      expect(new Set(recs.map((r) => r.length)).size).toBe(1);
    }
    expect(text(out.tex)).toContain('\\centering\n\\caption{Baseline, 5\\% sample \\& so2\\_t}');
    // a Table 4-like table: five columns with long headers is wider than \textwidth at its natural size
    const wide = await def.run(
      renderCtx('table4'),
      { models: ['model-did-only.json', 'model-controls.json', 'model-province-hc1.json', 'model-controls.json', 'model-controls.json'].map(jsonArtifact) },
      def.params.parse({
        title: 'Table 4: Robustness tests',
        columns: ['SO2', 'CO2', 'SO2 intensity', 'Without municipalities', 'Without 2020-2022'],
        groups: [{ label: 'PSM-DID', span: 1 }, { label: 'Alternative dependent variables', span: 2 }, { label: 'Subsample regression', span: 2 }],
        formats: ['tex'],
      }),
    );
    // with a TeX engine at hand, the tables must also compile, and fit the text width (no overfull box)
    const pdflatex = ['/usr/bin/pdflatex', '/usr/local/bin/pdflatex'].find((f) => existsSync(f));
    const sty = pdflatex ? spawnSync('kpsewhich', ['threeparttable.sty', 'dcolumn.sty'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean) : [];
    if (!pdflatex || sty.length < 2) {
      console.warn('tabulate test: pdflatex with threeparttable and dcolumn not installed (apt-get install texlive-latex-recommended texlive-latex-extra), LaTeX checked structurally only');
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'repro-tex-'));
    try {
      const pkgs = new Set([out, d, wide].flatMap((o) => /^% Requires \\usepackage\{([^}]*)\}/.exec(text(o.tex))![1]!.split(',')));
      writeFileSync(path.join(dir, 't3.tex'), text(out.tex));
      writeFileSync(path.join(dir, 't2.tex'), text(d.tex));
      writeFileSync(path.join(dir, 't4.tex'), text(wide.tex));
      writeFileSync(
        path.join(dir, 'doc.tex'),
        `\\documentclass{article}\n\\usepackage{${[...pkgs].join(',')}}\n\\usepackage[utf8]{inputenc}\n\\begin{document}\n\\input{t2.tex}\n\\input{t3.tex}\n\\input{t4.tex}\n\\end{document}\n`,
      );
      const r = spawnSync(pdflatex, ['-interaction=nonstopmode', '-halt-on-error', 'doc.tex'], { cwd: dir, encoding: 'utf8' });
      expect(r.stdout.split('\n').filter((l) => l.startsWith('!')), r.stdout.slice(-2000)).toEqual([]);
      expect(r.status).toBe(0);
      expect(existsSync(path.join(dir, 'doc.pdf'))).toBe(true);
      const log = readFileSync(path.join(dir, 'doc.log'), 'latin1');
      expect(log.match(/Overfull \\hbox[^\n]*/g) ?? []).toEqual([]);
      // the same wide table without fitting does overflow: the check above can fail
      writeFileSync(path.join(dir, 't4.tex'), renderTex(regressionLayout([m1, m2, m3, m2, m2], { title: 'T', columns: ['SO2', 'CO2', 'SO2 intensity', 'Without municipalities', 'Without 2020-2022'], groups: [{ label: 'PSM-DID', span: 1 }, { label: 'Alternative dependent variables', span: 2 }, { label: 'Subsample regression', span: 2 }] }), { fit: 'none' }));
      spawnSync(pdflatex, ['-interaction=nonstopmode', '-halt-on-error', 'doc.tex'], { cwd: dir, encoding: 'utf8' });
      expect(readFileSync(path.join(dir, 'doc.log'), 'latin1')).toMatch(/Overfull \\hbox/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('writes only the requested formats', async () => {
    const out = await run({ formats: ['md', 'tex'], tidy: false });
    expect(Object.keys(out).sort()).toEqual(['md', 'tex']);
    // csv comes with its notes sidecar; tidy is on by default
    expect(Object.keys(await run({ formats: ['csv'] })).sort()).toEqual(['csv', 'notes', 'tidy']);
  });
  it('writes an HTML page with the table, column order and note', async () => {
    const out = await run({ title: 'Table 3', labels: { did: 'DID' }, columns: ['No controls', 'Controls'] });
    const html = text(out.html);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<caption>Table 3</caption>');
    expect(html.indexOf('No controls')).toBeLessThan(html.indexOf('>Controls<'));
    expect(html).toContain('<tr class="se"><td></td><td>(0.272)</td><td>(0.298)</td></tr>');
    expect(html).not.toMatch(/(src|href)="http/);
    // a spanning group header is underlined like \cmidrule(lr)
    const grouped = text((await run({ groups: [{ label: 'SO2', span: 2 }] })).html);
    expect(grouped).toContain('<th scope="col" colspan="2">SO2</th>');
    expect(grouped).toContain('.repro-table th[colspan]::after {');
  });
  it('compares with the paper: every printed cell, within-2-SE flags and N/R²', async () => {
    const out = await run({ paper: { table: 'table3' } });
    const cmp = (out.comparison as { value: any }).value;
    expect(cmp.cells).toHaveLength(9); // 2 + 7 printed coefficients
    const did2 = cmp.cells.find((c: any) => c.model === 2 && c.term === 'did');
    expect(did2.paper).toEqual({ estimate: -2.345, se: 0.298, stars: 3 });
    expect(did2.diff).toBeCloseTo(-2.3449 + 2.345, 10);
    expect(did2.within_2se).toBe(true);
    expect(cmp.summary).toMatchObject({ cells: 9, within_2se: 9, treatment_cells: 2, treatment_within_2se: 2 });
    expect(cmp.columns[1]).toMatchObject({ n_paper: 4551, n_run: 4551, r2_paper: 0.751 });
    expect(text(out.comparison_md)).toContain('Within 2 SE');
  });
  it('flags disagreement and missing terms in the comparison', async () => {
    const out = await def.run(renderCtx('t'), { models: [jsonArtifact('model-province-hc1.json')] }, def.params.parse({ paper: { table: 'table3', columns: [2] } }));
    const cmp = (out.comparison as { value: any }).value;
    const byTerm = Object.fromEntries(cmp.cells.map((c: any) => [c.term, c]));
    expect(byTerm.did.within_2se).toBe(true); // |-1.9 + 2.345| = 0.445 <= 2 * 0.95
    expect(byTerm.indus.within_2se).toBe(true);
    expect(byTerm.urb.run).toBeNull();
    expect(byTerm.urb.within_2se).toBeNull();
    expect(byTerm._cons.within_2se).toBe(true);
    expect(text(out.comparison_html)).toContain('not estimated');
  });
  it('fails clearly on bad wiring', async () => {
    await expect(run({ columns: ['a'] })).rejects.toThrow(/columns has 1 labels but 2 models/);
    await expect(run({ paper: { table: 'table9' } })).rejects.toThrow(/paper table "table9" is not in the paper tables file/);
    await expect(run({ paper: { table: 'table4' } })).rejects.toThrow(/set paper.columns/);
    await expect(def.run(renderCtx('t'), { models: [{ type: 'json', value: { y: 'so2' } }] }, def.params.parse({}))).rejects.toThrow(/models\[0\] does not follow the artifact contract/);
    expect(() => def.params.parse({ digits: 9 })).toThrow();
    expect(() => def.params.parse({ bogus: 1 })).toThrow();
  });
});

describe('data/paper-tables.json (transcription of the seed)', () => {
  const file = path.join(ROOT, 'data', 'paper-tables.json');
  const paper = loadPaperTables(file, 'test');
  it('holds Tables 2–8 with every printed coefficient', () => {
    expect(Object.keys(paper.tables)).toEqual(['table2', 'table3', 'table4', 'table5', 'table6', 'table7', 'table8']);
    const count = (id: string) => {
      const t = paper.tables[id]!;
      return t.kind === 'regression' ? t.columns.reduce((s, c) => s + c.coefficients.length, 0) : -1;
    };
    expect([3, 4, 5, 6, 7, 8].map((i) => count(`table${i}`))).toEqual([9, 35, 7, 14, 28, 14]);
  });
  needsSharedSeed('000_dba5589e8fff6304.txt').it('each cell appears verbatim in the seed, and its stars agree with |coef/SE| under a normal test', () => {
    const seed = readFileSync(path.join(SHARED_SEED, '000_dba5589e8fff6304.txt'), 'utf8');
    const crit = (z: number) => (z > 2.576 ? 3 : z > 1.96 ? 2 : z > 1.645 ? 1 : 0);
    for (const t of Object.values(paper.tables)) {
      if (t.kind !== 'regression') continue;
      for (const c of t.columns) {
        expect(seed).toContain(String(c.n));
        for (const k of c.coefficients) {
          // the estimate with its stars and the SE in parentheses are printed in the seed
          expect(seed).toContain(`${k.estimate.toFixed(3)}${'*'.repeat(k.stars)}`);
          expect(seed).toContain(`(${k.se.toFixed(3)})`);
          if (k.se < 0.0005) continue; // printed (0.000): uninformative
          // allow for rounding of the printed numbers to 3 decimals
          const lo = Math.max(Math.abs(k.estimate) - 0.0005, 0) / (k.se + 0.0005);
          const hi = (Math.abs(k.estimate) + 0.0005) / (k.se - 0.0005);
          expect(crit(lo)).toBeLessThanOrEqual(k.stars);
          expect(crit(hi)).toBeGreaterThanOrEqual(k.stars);
        }
      }
    }
  });
  it('records the paper\'s inconsistencies', () => {
    const all = paper.notes.join('\n');
    for (const s of ['city fixed effects', 't-values', 'column (1)', '282 cities 2010-2022']) expect(all).toContain(s);
  });
});

needsSharedData(MPDTA).describe('tabulate on the real estimate step (mpdta)', () => {
  it('lays out its models as they are', async () => {
    const panel = mpdtaPanel();
    const est = (await import('../../steps/estimate.js')).default;
    const a = await est.run(renderCtx('a'), { panel }, est.params.parse({ y: 'lemp', treat: 'did', fe: ['countyreal', 'year'], cluster: 'countyreal' }));
    const b = await est.run(renderCtx('b'), { panel }, est.params.parse({ y: 'lemp', treat: 'did', controls: ['lpop'], fe: ['year'], vcov: 'hc1' }));
    const out = await def.run(renderCtx('t'), { models: [a.model!, b.model!] }, def.params.parse({ fe_labels: { countyreal: 'County FE', year: 'Year FE' }, formats: ['csv'] }));
    const csv = text(out.csv).split('\r\n');
    const m = (a.model as { value: any }).value;
    const did = m.coefficients[0];
    expect(csv[2]).toBe(`did,${fmtNum(did.estimate, 3)}${stars(did.p)},${fmtNum((b.model as { value: any }).value.coefficients[0].estimate, 3)}${stars((b.model as { value: any }).value.coefficients[0].p)}`);
    expect(csv).toContain('County FE,YES,NO');
    expect(csv).toContain('Year FE,YES,YES');
    expect(csv).toContain(`Observations,${m.n},2500`);
    expect(text(out.notes)).toContain('(1) clustered by county; (2) heteroskedasticity-robust (HC1)');
    expect(csv.find((r) => r.startsWith('lpop'))).toMatch(/^lpop,,-?\d/);
  });
});

// issue 9 item 12: a term the table asks for that a model dropped as collinear is an error
describe('tabulate: a requested term dropped by a model', () => {
  const dropped = (): Model => {
    const m = structuredClone(m2) as Model & { dropped: Record<string, unknown> };
    m.coefficients = m.coefficients.filter((c) => c.term !== 'did');
    m.dropped = { ...(m.dropped ?? {}), collinear: ['did'], collinear_why: { did: 'collinear with the fixed effect city' } };
    return m;
  };
  const go = (params: Record<string, unknown>) =>
    def.run(renderCtx('table3'), { models: [m1, dropped()].map((value) => ({ type: 'json' as const, value })) }, def.params.parse({ formats: ['md'], ...params }));
  it('fails naming the model, the term and why', async () => {
    await expect(go({ rows: ['did', 'indus'] })).rejects.toThrow(/models\[1\] \(y = so2\) dropped "did" as collinear \(collinear with the fixed effect city\).*allow_dropped_treatment: true/);
  });
  it('follows rename, and allow_dropped_treatment: true prints the blank cell', async () => {
    await expect(go({ rows: ['DID'], rename: { did: 'DID' } })).rejects.toThrow(/dropped "did".*asks for "DID"/);
    const out = await go({ rows: ['did'], allow_dropped_treatment: true });
    expect(out.md).toBeDefined();
  });
  it('a dropped term the table does not ask for is fine', async () => {
    await expect(go({ rows: ['indus'] })).resolves.toBeDefined();
  });
});
