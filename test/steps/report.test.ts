import { describe, it, expect, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import def from '../../steps/report.js';
import { dagLayers, prefixSvgIds } from '../../steps/render/report-html.js';
import { renderCtx, buildFixtureReport, jsonArtifact, tableArtifact, text, ROOT } from './render-ctx.js';

let html = '';
let tableTitles: string[] = [];
let figureTitles: string[] = [];
beforeAll(async () => {
  ({ html, tableTitles, figureTitles } = await buildFixtureReport());
});

describe('report built from fixtures', () => {
  it('contains every table and figure, inline, with their titles', () => {
    expect(html.match(/<div class="report-table" id="table-\d+">/g)).toHaveLength(2);
    for (const t of tableTitles) expect(html).toContain(`<caption>${t}</caption>`);
    expect(html.match(/<figure class="report-figure" id="figure-\d+"><svg /g)).toHaveLength(2);
    // the figures draw their titles themselves: the caption is only for screen readers (not printed twice)
    for (const f of figureTitles) expect(html).toContain(`<figcaption class="visually-hidden">${f}</figcaption>`);
    expect(html).toContain('<td>-2.498***</td>');
  });
  it('is self-contained: no scripts, no external URLs except SVG namespaces', () => {
    expect(html).not.toMatch(/<script/i);
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const u of urls) expect(u.startsWith('#') || u.startsWith('data:')).toBe(true);
    const http = [...html.matchAll(/https?:\/\/[^"'\s)]+/g)].map((m) => m[0]);
    expect(new Set(http)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });
  it('shows the simulated banner, run metadata, the DAG with statuses, durations and versions', () => {
    expect(html).toContain('id="simulated-banner"');
    expect(html).toContain('The data are SIMULATED');
    expect(html).toContain('<dt>Seed</dt><dd>20250217</dd>');
    expect(html).toContain('<dt>Nodes</dt><dd>3 cached, 8 ran</dd>');
    expect(html).toMatch(/<div class="dag-node ran" id="node-baseline"><div class="id">baseline<\/div><div class="kind">estimate <span class="badge ran">ran<\/span> 420 ms<\/div>/);
    expect(html).toContain('<td>vega</td>');
    expect(html).toContain('<td>node</td><td class="mono">v20.19.0</td>');
    expect(html).toContain('6.10 s');
  });
  it('lists provenance with real hashes, the comparison, and both kinds of notes', () => {
    const f = path.join(ROOT, 'test/fixtures/render/panel.json');
    const sha = createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(html).toContain(sha);
    expect(html).toContain('hand-made six-row panel');
    expect(html).toMatch(/id="comparison-summary"[\s\S]*Table 3: Baseline Regression Results[\s\S]*2 \/ 2[\s\S]*9 \/ 9/);
    expect(html).toContain('<summary>Table 2: Descriptive Statistics of Main Variables: paper vs this run</summary>');
    expect(html).toContain('<td>SO2</td><td>5001</td><td>5</td>');
    expect(html).toContain('Main specification: city and year fixed effects, as in equation (1).');
    expect(html).toContain('Inconsistencies in the paper');
    expect(html).toContain('282 cities 2010-2022');
  });
  it('names the paper (title, authors, year/venue or "not stated") with the summary, and puts results before the pipeline', () => {
    expect(html).toMatch(/<p class="paper" id="paper">Replicates: Yiming Ding \(year not stated in the source\)\. <span class="ptitle">Research on the Impact of the Establishment of Cross-Border E-Commerce Comprehensive Pilot Zones on Environmental Pollution<\/span>\. Venue not stated in the source\.<\/p>/);
    const at = (s: string) => {
      const i = html.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };
    const order = ['id="paper"', 'id="headline"', 'id="tables"', 'id="figures"', 'id="comparison"', 'id="notes"', 'id="dag"', 'id="run"', 'id="provenance"'].map(at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // the headline: the treatment coefficient of the first regression table, paper → this run
    expect(html).toMatch(/<div class="headline">\n<p>Table 3: Baseline Regression Results, did: \(1\): paper -2\.498 \(0\.272\) → this run -2\.498 \(0\.272\); \(2\): paper -2\.345 \(0\.298\) → this run -2\.345 \(0\.298\)\.<\/p>\n<p>Across 1 table: 2 of 2 treatment coefficients are within 2 standard errors of the paper's\.<\/p>/);
    // provenance is collapsible; the git commit is "not recorded" when the run metadata lacks it
    expect(html).toMatch(/<details id="provenance-details"><summary>2 input files with size and SHA-256<\/summary>/);
    expect(html).toContain('<dt>Project commit</dt><dd>not recorded</dd>');
  });
  it('is byte-identical when rebuilt', async () => {
    const again = await buildFixtureReport();
    expect(again.html).toBe(html);
  });
});

describe('report step details', () => {
  it('shows the paper as given, the git commit and dirty flag from the run metadata, labels in table artifacts', async () => {
    const run = { type: 'json' as const, value: { ...(jsonArtifact('run.json') as { value: object }).value, git: { commit: 'a'.repeat(40), dirty: true } } };
    const { fromRows } = await import('../../engine/table.js');
    const balance = fromRows([{ covariate: 'pgdp', smd_before: 0.088, smd_after: 0.0345 }]);
    const out = await def.run(
      renderCtx('report'),
      { run, tables: [{ type: 'table', table: balance }] },
      def.params.parse({
        paper_notes: false,
        paper: { title: 'A <Paper>', authors: 'A. Author', year: 2025, venue: 'Some Journal', url: 'doi:10.1/x' },
        summary: 'What was replicated, on simulated data.',
        labels: { pgdp: 'PGDP', smd_before: 'SMD before' },
      }),
    );
    const h = text(out.html);
    expect(h).toContain('<p class="paper" id="paper">Replicates: A. Author (2025). <span class="ptitle">A &lt;Paper&gt;</span>. Some Journal. <span class="mono">doi:10.1/x</span></p>');
    expect(h).toContain('<p class="summary" id="summary">What was replicated, on simulated data.</p>');
    expect(h).toContain(`<dt>Project commit</dt><dd>${'a'.repeat(40)} (with uncommitted changes)</dd>`);
    expect(h).toContain('<th scope="col">SMD before</th><th scope="col">smd after</th>');
    expect(h).toContain('<tr><td>PGDP</td><td>0.088</td><td>0.035</td></tr>');
    // git: false leaves it out
    const off = text((await def.run(renderCtx('report'), { run }, def.params.parse({ paper_notes: false, git: false }))).html);
    expect(off).toContain('<dt>Project commit</dt><dd>not recorded</dd>');
  });
  it('reads the commit of a git folder (gitState), null outside one', async () => {
    const { gitState } = await import('../../steps/report.js');
    const { mkdtempSync, rmSync, writeFileSync: wf } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { spawnSync } = await import('node:child_process');
    const dir = mkdtempSync(path.join(tmpdir(), 'repro-git-'));
    try {
      expect(gitState(dir)).toBeNull();
      const g = (...a: string[]) => spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { encoding: 'utf8' });
      if (g('init', '-q').status !== 0) return; // no git binary
      wf(path.join(dir, 'f.txt'), 'a');
      g('add', 'f.txt');
      g('commit', '-qm', 'x');
      const head = g('rev-parse', 'HEAD').stdout.trim();
      expect(gitState(dir)).toEqual({ commit: head, dirty: false });
      wf(path.join(dir, 'f.txt'), 'b');
      expect(gitState(dir)).toEqual({ commit: head, dirty: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('layers the DAG by longest path', () => {
    expect(dagLayers([{ id: 'a', kind: 'k' }, { id: 'b', kind: 'k', inputs: ['a'] }, { id: 'c', kind: 'k', inputs: ['a', 'b'] }, { id: 'd', kind: 'k', inputs: ['zzz'] }])).toEqual([
      ['a', 'd'],
      ['b'],
      ['c'],
    ]);
  });
  it('prefixes SVG ids and their references', () => {
    const s = '<svg><clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"/><use href="#clip1"/><a href="#other"/></svg>';
    expect(prefixSvgIds(s, 'f1-')).toBe('<svg><clipPath id="f1-clip1"><rect/></clipPath><g clip-path="url(#f1-clip1)"/><use href="#f1-clip1"/><a href="#other"/></svg>');
  });
  it('drops the banner for real data, says what is missing without run metadata, embeds PNG', async () => {
    const png: { type: 'file'; ext: string; bytes: Uint8Array } = { type: 'file', ext: 'png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) };
    const out = await def.run(renderCtx('report'), { figures: [png] }, def.params.parse({ provenance: ['data/paper-tables.json'], paper_notes: false, figure_captions: ['Figure X'] }));
    const h = text(out.html);
    expect(h).not.toContain('SIMULATED');
    expect(h).toContain('id="data-banner"');
    expect(h).toContain('No run metadata was passed to this report');
    expect(h).toContain('<dt>Seed</dt><dd>1</dd>'); // from ctx.seed
    expect(h).toContain('<img alt="Figure X" src="data:image/png;base64,iVBORw==">');
    expect(h).not.toContain('Inconsistencies in the paper');
  });
  it('renders a table artifact (e.g. describe.table) as a plain table', async () => {
    const out = await def.run(renderCtx('report'), { tables: [tableArtifact('panel.json')] }, def.params.parse({ paper_notes: false }));
    const h = text(out.html);
    expect(h).toContain('<caption>Additional table (input 1)</caption>');
    const named = await def.run(renderCtx('report'), { tables: [tableArtifact('panel.json')] }, def.params.parse({ paper_notes: false, table_captions: ['PSM balance'] }));
    expect(text(named.html)).toContain('<caption>PSM balance</caption>');
    expect(h).toContain('<th scope="col">city</th><th scope="col">year</th><th scope="col">so2</th>');
    // integer columns as integers, others with `digits` decimals (default 3), missing as blank
    expect(h).toContain('<tr><td>b</td><td>2016</td><td></td><td>0</td><td>2.400</td></tr>');
    const two = text((await def.run(renderCtx('report'), { tables: [tableArtifact('panel.json')] }, def.params.parse({ paper_notes: false, digits: 2 }))).html);
    expect(two).toContain('<tr><td>a</td><td>2015</td><td>4.10</td><td>0</td><td>3.20</td></tr>');
  });
  it('a wide table artifact (PSM balance) gets readable headers that may wrap, and fits a 1280 px page', async () => {
    const { fromRows } = await import('../../engine/table.js');
    const balance = fromRows([
      { covariate: 'pgdp', mean_treated: 4.758612, mean_control: 4.46311, mean_treated_matched: 4.758612, mean_control_matched: 4.642913, smd_before: 0.088, smd_after: 0.0345, var_ratio_before: 1.0733, var_ratio_after: 1.146 },
    ]);
    const h = text((await def.run(renderCtx('report'), { tables: [{ type: 'table', table: balance }] }, def.params.parse({ paper_notes: false }))).html);
    expect(h).toContain('<th scope="col">mean treated matched</th>');
    expect(h).toContain('<tr><td>pgdp</td><td>4.759</td><td>4.463</td><td>4.759</td><td>4.643</td><td>0.088</td><td>0.035</td><td>1.073</td><td>1.146</td></tr>');
    expect(h).toContain('.report-table .repro-table thead th { white-space: normal; }');
  });
  it('labels the DAG reason, the running report node, and a first-line comment as the provenance note', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'report-prov-'));
    writeFileSync(path.join(dir, 'panel.csv'), '# SIMULATED DATA, NOT REAL OBSERVATIONS\ncity_code,year\n1,2\n');
    writeFileSync(path.join(dir, 'plain.csv'), 'city_code,year\n1,2\n');
    const ctx = Object.assign(renderCtx('report', dir), {
      run: { nodes: [{ id: 'x', kind: 'estimate', status: 'ran', reason: 'never run' }, { id: 'report', kind: 'report', status: 'running', inputs: ['x'] }] },
    });
    const h = text((await def.run(ctx, {}, def.params.parse({ paper_notes: false, provenance: ['panel.csv', 'plain.csv'] }))).html);
    expect(h).toContain('<div class="from">why: never run</div>');
    expect(h).toContain('<dt>Nodes</dt><dd>1 ran, 1 running (this report)</dd>');
    expect(h).toMatch(/<td class="mono">panel\.csv<\/td>.*<td>first line: # SIMULATED DATA, NOT REAL OBSERVATIONS<\/td><\/tr>/);
    expect(h).toMatch(/<td class="mono">plain\.csv<\/td>.*<td><\/td><\/tr>/);
  });
  it('the comparison summary labels a column by this run\'s number and the paper column it is compared with', async () => {
    const tabulateDef = (await import('../../steps/tabulate.js')).default;
    const t3 = await tabulateDef.run(
      renderCtx('table3'),
      { models: ['model-did-only.json', 'model-controls.json', 'model-province-hc1.json'].map(jsonArtifact) },
      tabulateDef.params.parse({ paper: { table: 'table3', columns: [1, 2, 2] } }),
    );
    const h = text((await def.run(renderCtx('report'), { comparisons: [t3.comparison!] }, def.params.parse({ paper_notes: false }))).html);
    expect(h).toMatch(/<td>\(1\): -2\.498 → -?\d\.\d{3}; \(2\): -2\.345 → -?\d\.\d{3}; \(3\) vs paper \(2\): -2\.345 → -?\d\.\d{3}<\/td>/);
  });
  it('takes the run metadata from ctx.run when no run input is wired', async () => {
    const ctx = Object.assign(renderCtx('report'), { run: { seed: 7, nodes: [{ id: 'x', kind: 'estimate', status: 'cached' }] } });
    const h = text((await def.run(ctx, {}, def.params.parse({ paper_notes: false }))).html);
    expect(h).toContain('<dt>Seed</dt><dd>7</dd>');
    expect(h).toContain('<div class="dag-node cached" id="node-x">');
  });
  it('fails clearly on bad inputs and params', async () => {
    const p = def.params.parse({});
    await expect(def.run(renderCtx('r'), { tables: [jsonArtifact('run.json')] }, p)).rejects.toThrow(/tables\[0\] is a json artifact; wire a file output such as table3.html/);
    await expect(def.run(renderCtx('r'), { figures: [{ type: 'file', ext: 'pdf', bytes: new Uint8Array() }] }, p)).rejects.toThrow(/figures\[0\] has extension .pdf/);
    await expect(def.run(renderCtx('r'), {}, def.params.parse({ provenance: ['nope.csv'] }))).rejects.toThrow(/param provenance lists nope.csv, which cannot be read/);
    await expect(def.run(renderCtx('r'), { run: { type: 'json', value: { nodes: [{ id: 1 }] } } }, p)).rejects.toThrow(/input run does not follow the artifact contract/);
    await expect(def.run(renderCtx('r'), {}, def.params.parse({ provenance_notes: { 'x.csv': 'n' } }))).rejects.toThrow(/provenance_notes has a note for x.csv/);
  });
});
