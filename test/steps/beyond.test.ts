/**
 * "Beyond the paper" (issues 10 and 11 in the replication): the figure types event-study-overlay,
 * bacon and sensitivity drawn from real step outputs on the demo panel (event-study, did-cs, sunab,
 * did-imputation, bacon, honest-did), tabulate's wild_p row from an estimate with the wild cluster
 * bootstrap, tabulate's rename, the report's "Beyond the paper" section, and the full pipeline.yaml
 * (and the real-data pipelines) validating against the step registry and the artifact contracts.
 *
 * The expected values are read from the step outputs themselves (counts of points, the bootstrap p in
 * the model JSON): these tests check the wiring and rendering; the numerics have their own golden tests.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Artifact } from '../../engine/types.js';
import { toRows } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { loadPipeline } from '../../engine/config/load.js';
import { registry } from '../../steps/index.js';
import eventStudy from '../../steps/event-study.js';
import didCs from '../../steps/did-cs.js';
import sunab from '../../steps/sunab.js';
import imputation from '../../steps/did-imputation.js';
import bacon from '../../steps/bacon.js';
import honest from '../../steps/honest-did.js';
import estimate from '../../steps/estimate.js';
import tabulate from '../../steps/tabulate.js';
import figure from '../../steps/figure.js';
import report from '../../steps/report.js';
import { renderCtx, text } from './render-ctx.js';
import { eventStudyOverlaySpec } from '../../steps/render/charts.js';
import { fakeCtx } from './stats-helpers.js';
import { demoPanel } from './staggered-data.js';

const bytes = (a: Artifact | undefined) => (a && a.type === 'file' ? a.bytes : new Uint8Array());
const json = (a: Artifact | undefined) => (a && a.type === 'json' ? (a.value as any) : undefined);
/** The <path> count of every symbol (point) mark group of a Vega SVG (plotted points; legend symbols are not marks). */
const symbols = (svg: string) => [...svg.matchAll(/class="mark-symbol role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g)].reduce((s, m) => s + (m[1]!.match(/<path/g)?.length ?? 0), 0);
const ruleLines = (svg: string) => [...svg.matchAll(/class="mark-rule role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g)].reduce((s, m) => s + (m[1]!.match(/<line/g)?.length ?? 0), 0);

const S = { y: 'so2', unit: 'city_code', time: 'year', adopt: 'adopt' };
let panel: Artifact;
let es: Record<string, Artifact>;
let cs: Record<string, Artifact>;
let sa: Record<string, Artifact>;
let bjs: Record<string, Artifact>;
let bc: Record<string, Artifact>;
let hd: Record<string, Artifact>;

beforeAll(async () => {
  panel = { type: 'table', table: await demoPanel() };
  es = await eventStudy.run(fakeCtx().ctx, { panel }, eventStudy.params.parse({ ...S, base: -1, window: [-4, 4], bin_endpoints: true, cluster: 'city_code' }) as never);
  cs = await didCs.run(fakeCtx().ctx, { panel }, didCs.params.parse({ ...S, control: 'notyet', bootstrap: { reps: 0 } }));
  sa = await sunab.run(fakeCtx().ctx, { panel }, sunab.params.parse(S));
  bjs = await imputation.run(fakeCtx().ctx, { panel }, imputation.params.parse({ ...S, pretrends: 4 }));
  bc = await bacon.run(fakeCtx().ctx, { panel }, bacon.params.parse({ ...S, balance: 'drop_units' }));
  hd = await honest.run(fakeCtx().ctx, { event_study: Object.values(es)[0]! }, honest.params.parse({ restriction: 'relative_magnitude', mbar: [0, 0.5, 1], target: 'average', method: 'C-LF' }));
}, 240_000);

describe('figure type event-study-overlay (Figure 3)', () => {
  const window: [number, number] = [-4, 4];
  const run = (extra: Record<string, unknown> = {}, data?: Artifact[]) =>
    figure.run(
      renderCtx('figure3'),
      { data: data ?? [Object.values(es)[0]!, cs.dynamic!, sa.event!, bjs.event!] },
      figure.params.parse({ type: 'event-study-overlay', title: 'Figure 3: overlay', legend: ['TWFE', 'CS', 'SA', 'BJS'], window, ...extra }),
    );

  it('draws every estimator’s points in the window with their intervals, dodged, base periods hollow, one legend', async () => {
    const out = await run();
    const svg = text(out.svg);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const l of ['Figure 3: overlay', 'TWFE', 'CS', 'SA', 'BJS']) expect(svg).toContain(l);
    const studies = [json(Object.values(es)[0]), json(cs.dynamic), json(sa.event), json(bjs.event)];
    // the TWFE event study and sunab have base −1; did-cs with a varying base and did-imputation have none
    expect(studies.map((s) => s.base)).toEqual([-1, null, -1, null]);
    const inWin = studies.map((s) => s.periods.filter((p: any) => p.estimate !== null && p.period >= window[0] && p.period <= window[1]));
    const nPoints = inWin.reduce((s, ps) => s + ps.length, 0);
    const nBase = inWin.reduce((s, ps) => s + ps.filter((p: any) => p.base === true).length, 0);
    expect(nBase).toBe(2);
    expect(symbols(svg)).toBe(nPoints);
    // one interval per non-base point, plus the zero line and the adoption line
    expect(ruleLines(svg)).toBe(nPoints - nBase + 2);
    expect(svg).toContain('fill="white"'); // hollow base points
    // dodged: in the spec, the four estimators of each period sit at four distinct x positions centred on it
    const spec = eventStudyOverlaySpec(
      studies.map((es, i) => ({ label: ['TWFE', 'CS', 'SA', 'BJS'][i]!, es })),
      { width: 560, height: 320, dodge: 0.6 },
    ) as any;
    const rows = spec.layer[2].data.values as { period: number; x: number; estimator: string }[];
    const at0 = rows.filter((r) => r.period === 0).map((r) => r.x - r.period);
    expect(at0).toHaveLength(4);
    expect(at0.map((v) => Number(v.toFixed(12)))).toEqual([-0.3, -0.1, 0.1, 0.3]);
    const png = bytes(out.png);
    expect([...png.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const again = await run();
    expect(Buffer.from(bytes(again.png)).equals(Buffer.from(png))).toBe(true);
  }, 60_000);

  it('without legend labels uses each artifact’s estimator; clear errors for a wrong legend, duplicate labels, a window on a type without periods', async () => {
    const out = await figure.run(renderCtx('figure3'), { data: [sa.event!, bjs.event!] }, figure.params.parse({ type: 'event-study-overlay' }));
    const svg = text(out.svg);
    for (const e of [json(sa.event).estimator, json(bjs.event).estimator]) expect(svg).toContain(String(e));
    await expect(run({ legend: ['a', 'b'] })).rejects.toThrow(/param legend has 2 labels but 4 event studies are wired/);
    await expect(run({ legend: ['a', 'a', 'b', 'c'] })).rejects.toThrow(/legend label "a"/);
    await expect(run({ window: [3, -3] })).rejects.toThrow(/param window is \[3, -3\]/);
    await expect(figure.run(renderCtx('f'), { data: sa.event! }, figure.params.parse({ type: 'placebo', window: [-2, 2] }))).rejects.toThrow(/param window is only for types event-study and event-study-overlay/);
    await expect(figure.run(renderCtx('f'), { data: [] }, figure.params.parse({ type: 'event-study-overlay' }))).rejects.toThrow(/input data is empty/);
  }, 60_000);
});

describe('figure type bacon (Figure 4)', () => {
  it('draws one point per 2×2 comparison, the TWFE line with its value, and the weight shares by type', async () => {
    const out = await figure.run(renderCtx('figure4'), { data: bc.summary!, pairs: bc.pairs! }, figure.params.parse({ type: 'bacon', title: 'Figure 4: Bacon' }));
    const svg = text(out.svg);
    const summary = json(bc.summary);
    const pairs = bc.pairs!.type === 'table' ? toRows(bc.pairs.table) : [];
    const types = new Set(pairs.map((r) => r.type));
    expect(symbols(svg)).toBe(pairs.length);
    for (const t of types) expect(['treated_vs_never', 'earlier_vs_later', 'later_vs_earlier']).toContain(t);
    expect(svg).toContain(`TWFE ${summary.twfe.toFixed(3)}`);
    expect(svg).toContain(`treated vs never treated ${summary.types.treated_vs_never.weight.toFixed(2)}`);
    expect(svg).toContain('Later vs earlier treated (forbidden comparison)');
  }, 60_000);

  it('needs the pairs table and the summary', async () => {
    await expect(figure.run(renderCtx('f'), { data: bc.summary! }, figure.params.parse({ type: 'bacon' }))).rejects.toThrow(/input pairs is missing/);
    await expect(figure.run(renderCtx('f'), { data: sa.event!, pairs: bc.pairs! }, figure.params.parse({ type: 'bacon' }))).rejects.toThrow(/no number "twfe"/);
    await expect(figure.run(renderCtx('f'), { data: bc.summary!, pairs: bc.pairs!, original: hd.original! }, figure.params.parse({ type: 'bacon' }))).rejects.toThrow(/input original is not used by type: bacon/);
  });
});

describe('figure type sensitivity (Figure 5)', () => {
  it('draws the original CI at the left and one robust CI per M̄, with the breakdown value', async () => {
    const out = await figure.run(
      renderCtx('figure5'),
      { data: hd.sensitivity!, original: hd.original!, breakdown: hd.breakdown! },
      figure.params.parse({ type: 'sensitivity', title: 'Figure 5: HonestDiD' }),
    );
    const svg = text(out.svg);
    const rows = hd.sensitivity!.type === 'table' ? toRows(hd.sensitivity.table) : [];
    expect(rows.map((r) => r.M)).toEqual([0, 0.5, 1]);
    for (const l of ['Original', 'M̄ = 0', 'M̄ = 0.5', 'M̄ = 1']) expect(svg).toContain(l);
    const finite = rows.filter((r) => typeof r.lb === 'number' && Number.isFinite(r.lb)).length;
    // one interval per CI (original + robust) and the zero line
    expect(ruleLines(svg)).toBe(finite + 1 + 1);
    const b = json(hd.breakdown).breakdown;
    expect(svg).toContain(b === null ? 'no M̄ in the grid excludes 0' : `breakdown M̄ = ${b}`);
    // the robust CI at M̄ = 0 contains the original one's centre (sanity of the wiring, not of HonestDiD)
    const o = json(hd.original);
    expect(rows[0]!.lb as number).toBeLessThan(o.estimate);
    expect(rows[0]!.ub as number).toBeGreaterThan(o.estimate);
  }, 60_000);

  it('needs the original CI', async () => {
    await expect(figure.run(renderCtx('f'), { data: hd.sensitivity! }, figure.params.parse({ type: 'sensitivity' }))).rejects.toThrow(/input original is missing/);
    await expect(figure.run(renderCtx('f'), { data: bc.pairs!, original: hd.original! }, figure.params.parse({ type: 'sensitivity' }))).rejects.toThrow(/no numeric column "M"/);
  });
});

describe('tabulate: wild_p row and rename', () => {
  it('shows the wild cluster bootstrap p of the treatment for a model with vcov.bootstrap, blank for the others', async () => {
    const base = { y: 'so2', treat: 'did', controls: ['pgdp', 'indus', 'urb', 'fin', 'fis'], fe: ['city_code', 'year'], cluster: 'city_code', where: { region: 'northeast' } };
    const plain = await estimate.run(fakeCtx().ctx, { panel }, estimate.params.parse(base));
    const wild = await estimate.run(fakeCtx().ctx, { panel }, estimate.params.parse({ ...base, vcov: { type: 'wild-cluster', by: 'city_code', reps: 999 } }));
    const m = json(wild.model);
    expect(m.vcov.bootstrap.reps).toBe(999);
    const did = m.coefficients[0];
    expect(did.term).toBe('did');
    expect(did.p).not.toBe(did.p_cr1); // the bootstrap p replaced the analytic one
    const out = await tabulate.run(renderCtx('table7'), { models: [plain.model!, wild.model!] }, tabulate.params.parse({ stats: ['n', 'wild_p'], formats: ['md'], tidy: false }));
    const md = text(out.md);
    const row = md.split('\n').find((l) => l.startsWith('| Wild bootstrap p'))!;
    expect(row.split('|').map((c) => c.trim()).slice(1, 4)).toEqual(['Wild bootstrap p', '', did.p.toFixed(3)]);
    expect(md).toContain('WCR, rademacher weights, 999 draws, clusters by city_code');
    // without a bootstrap model the note says how to get one
    const none = await tabulate.run(renderCtx('t'), { models: [plain.model!] }, tabulate.params.parse({ stats: ['wild_p'], formats: ['md'], tidy: false }));
    expect(text(none.md)).toContain('none of the models has a wild cluster bootstrap');
  }, 120_000);

  it('rename puts the overall ATT in the treatment row; two terms renamed alike is an error', async () => {
    const out = await tabulate.run(renderCtx('table9'), { models: [sa.att!, bjs.att!] }, tabulate.params.parse({ rename: { ATT: 'did' }, labels: { did: 'DID / ATT' }, formats: ['md'], tidy: false }));
    const row = text(out.md).split('\n').find((l) => l.startsWith('| DID / ATT'))!;
    // did-cs's SE type is named in words in the note
    const withCs = await tabulate.run(renderCtx('table9'), { models: [cs.simple!] }, tabulate.params.parse({ formats: ['md'], tidy: false }));
    expect(text(withCs.md)).toContain('standard errors from the influence function, clustered by city_code');
    expect(row).toContain(json(sa.att).coefficients[0].estimate.toFixed(3));
    expect(row).toContain(json(bjs.att).coefficients[0].estimate.toFixed(3));
    const many = json(sa.att).coefficients.length > 1 ? sa.att! : bjs.event!;
    if (json(sa.att).coefficients.length > 1) {
      const [a, b] = json(sa.att).coefficients.map((c: any) => c.term);
      await expect(tabulate.run(renderCtx('t'), { models: [many] }, tabulate.params.parse({ rename: { [a]: 'x', [b]: 'x' }, formats: ['md'] }))).rejects.toThrow(/param rename gives two terms/);
    } else {
      const m = { ...json(sa.att), coefficients: [...json(sa.att).coefficients, { ...json(sa.att).coefficients[0], term: 'other' }] };
      await expect(tabulate.run(renderCtx('t'), { models: [{ type: 'json', value: m }] }, tabulate.params.parse({ rename: { ATT: 'other' }, formats: ['md'] }))).rejects.toThrow(/param rename gives two terms of models\[0\] the name "other"/);
    }
  }, 60_000);
});

describe('report: the "Beyond the paper" section', () => {
  it('has its own heading, tables, figures and text; beyond inputs without the param are an error', async () => {
    const fig = await figure.run(renderCtx('figure4'), { data: bc.summary!, pairs: bc.pairs! }, figure.params.parse({ type: 'bacon', title: 'Figure 4: Bacon' }));
    const tab = await tabulate.run(renderCtx('table9'), { models: [sa.att!, bjs.att!] }, tabulate.params.parse({ title: 'Table 9: ATT by estimator', formats: ['html'], tidy: false }));
    const out = await report.run(
      renderCtx('report'),
      { beyond_tables: [tab.html!], beyond_figures: [fig.svg!] },
      report.params.parse({ git: false, paper_notes: false, beyond: { intro: 'Not in the paper.', text: ['Figure 4 adds the weights.'] } }),
    );
    const html = text(out.html);
    expect(html).toContain('<section id="beyond"><h2>Beyond the paper</h2>');
    expect(html).toContain('<a href="#beyond">Beyond the paper</a>');
    const start = html.indexOf('<section id="beyond">');
    const sec = html.slice(start, html.indexOf('Figure 4 adds the weights.', start) + 40);
    for (const s of ['Not in the paper.', 'Table 9: ATT by estimator', 'Figure 4: Bacon', 'Figure 4 adds the weights.', '<svg']) expect(sec).toContain(s);
    await expect(report.run(renderCtx('report'), { beyond_figures: [fig.svg!] }, report.params.parse({ git: false }))).rejects.toThrow(/param beyond is not set/);
  }, 60_000);
});

describe('pipelines with the "Beyond the paper" section validate', () => {
  for (const f of ['pipeline.yaml', 'pipelines/real-2006-2018.yaml', 'pipelines/public-2011-2019.yaml']) {
    it(f, async () => {
      const spec = await loadPipeline(path.join(PROJECT_ROOT, f), { registry });
      const ids = spec.nodes.map((n) => n.id);
      if (f === 'pipeline.yaml') for (const id of ['table9', 'figure3', 'figure4', 'figure5', 'figure6', 'spec_curve', 'honest', 'bacon', 'cs_never', 'cs_notyet', 'sunab', 'imputation']) expect(ids).toContain(id);
      const rep = spec.nodes.find((n) => n.id === 'report');
      if (rep && f === 'pipeline.yaml') expect(Object.keys(rep.inputs)).toEqual(expect.arrayContaining(['beyond_tables', 'beyond_figures']));
    });
  }
});
