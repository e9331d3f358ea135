import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import def from '../../steps/figure.js';
import { renderCtx, jsonArtifact, tableArtifact, text, ROOT, mpdtaPanel, MPDTA } from './render-ctx.js';
import { needsSharedData } from '../shared-data.js';
import { findFontFiles } from '../../steps/render/charts.js';

const OUT = path.join(ROOT, 'test-output');
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(b: Uint8Array): { w: number; h: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { w: dv.getUint32(16), h: dv.getUint32(20) };
}

function save(name: string, bytes: Uint8Array) {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, name), bytes);
}

const es = () =>
  def.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, def.params.parse({ type: 'event-study', title: 'Figure 1: Parallel trend test', period_labels: { '-10': '≤-10', '5': '≥5' } }));
const pl = () =>
  def.run(
    renderCtx('figure2'),
    { data: jsonArtifact('placebo-summary.json'), replicates: tableArtifact('placebo-replicates.json') },
    def.params.parse({ type: 'placebo', title: 'Figure 2: Placebo test' }),
  );

describe('figure: event study', () => {
  it('renders valid SVG with the title, CI rules, points, the base period and the adoption/zero lines', async () => {
    const out = await es();
    const svg = text(out.svg);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Figure 1: Parallel trend test');
    expect(svg).toContain('Base period (-10)');
    expect(svg).toContain('≤-10');
    expect(svg).toContain('≥5');
    expect(svg).toContain('F(8, 284) = 0.84, p = 0.567');
    // 16 periods → 16 symbols; 16 CI rules + zero line + adoption line
    const pointGroup = /class="mark-symbol role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    expect(pointGroup).not.toBeNull();
    expect(pointGroup![1]!.match(/<path/g)).toHaveLength(16);
    const rules = [...svg.matchAll(/class="mark-rule role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g)].map((m) => m[1]!.match(/<line/g)?.length ?? 0);
    expect(rules.reduce((a, b) => a + b, 0)).toBe(16 + 2);
    expect(svg).toContain('stroke-dasharray="6,4"');
    expect(svg).not.toMatch(/\d{4}-\d\d-\d\dT/); // no timestamps
    save('figure1.svg', out.svg!.type === 'file' ? out.svg.bytes : new Uint8Array());
  });
  it('window draws only the periods in [from, to]; the pre-trend test stays the whole event study\'s; an empty window is an error', async () => {
    const out = await def.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, def.params.parse({ type: 'event-study', title: 'Windowed', window: [-3, 2] }));
    const svg = text(out.svg);
    const pointGroup = /class="mark-symbol role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    expect(pointGroup![1]!.match(/<path/g)).toHaveLength(6); // -3 … 2
    expect(svg).toContain('F(8, 284) = 0.84, p = 0.567');
    await expect(def.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, def.params.parse({ type: 'event-study', window: [40, 50] }))).rejects.toThrow(/param window \[40, 50\] leaves no period of the event study \(its periods: -10 to 5\)/);
    await expect(def.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, def.params.parse({ type: 'event-study', window: [2, -3] }))).rejects.toThrow(/param window is \[2, -3\]; give \[from, to\] with from ≤ to/);
  });
  it('titles the y axis with the variable label (SO2, not so2) when var_labels names it', async () => {
    const plain = text((await es()).svg);
    expect(plain).toContain('Effect on so2');
    const out = await def.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, def.params.parse({ type: 'event-study', var_labels: { so2: 'SO₂' } }));
    const svg = text(out.svg);
    expect(svg).toContain('Effect on SO₂');
    expect(svg).not.toContain('Effect on so2');
  });
  it('renders a PNG (signature, 2x size) and the same bytes twice', async () => {
    const a = await es();
    const b = await es();
    const png = a.png!.type === 'file' ? a.png.bytes : new Uint8Array();
    expect([...png.slice(0, 8)]).toEqual(PNG_SIG);
    expect(png.length).toBeGreaterThan(10_000);
    const { w, h } = pngSize(png);
    expect(w).toBeGreaterThan(2 * 560);
    expect(h).toBeGreaterThan(2 * 320);
    expect(Buffer.from(png).equals(Buffer.from(b.png!.type === 'file' ? b.png.bytes : []))).toBe(true);
    expect(text(a.svg)).toBe(text(b.svg));
    save('figure1.png', png);
  });
});

describe('figure: placebo', () => {
  it('renders the density, the p-value scatter, the p = 0.1 line and the observed estimate', async () => {
    const out = await pl();
    const svg = text(out.svg);
    expect(svg).toContain('Figure 2: Placebo test');
    expect(svg).toContain('200 placebo draws; observed estimate -2.345; randomization p &lt; 0.005 (no draw as extreme)');
    expect(svg).toContain('Observed -2.345');
    expect(svg).toMatch(/class="mark-area role-mark/);
    const pts = /class="mark-symbol role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    expect(pts![1]!.match(/<path/g)).toHaveLength(200);
    // axis titles say which marks they belong to, coloured like them
    expect(svg).toMatch(/fill="#1f5fa8"[^>]*>Density of estimates \(curve\)</);
    expect(svg).toMatch(/fill="#b8680a"[^>]*>p-value of each draw \(dots\)</);
    const png = out.png!.type === 'file' ? out.png.bytes : new Uint8Array();
    expect([...png.slice(0, 8)]).toEqual(PNG_SIG);
    save('figure2.svg', out.svg!.type === 'file' ? out.svg.bytes : new Uint8Array());
    save('figure2.png', png);
  });
  it('fails clearly on wrong inputs', async () => {
    const p = def.params.parse({ type: 'placebo' });
    await expect(def.run(renderCtx('f'), { data: jsonArtifact('placebo-summary.json') }, p)).rejects.toThrow(/input replicates is missing/);
    await expect(def.run(renderCtx('f'), { data: jsonArtifact('event-study.json'), replicates: tableArtifact('placebo-replicates.json') }, p)).rejects.toThrow(/does not follow the artifact contract/);
    const e = def.params.parse({ type: 'event-study' });
    await expect(def.run(renderCtx('f'), { data: jsonArtifact('model-controls.json') }, e)).rejects.toThrow(/data \(event study\) does not follow the artifact contract \(DESIGN.md\): base/);
    expect(() => def.params.parse({ type: 'bar' })).toThrow();
  });
  it('finds a font for the PNG text on this machine', () => {
    expect(findFontFiles().length).toBeGreaterThan(0);
  });
});

needsSharedData(MPDTA).describe('figure from the real event-study and placebo steps (mpdta)', () => {
  it('accepts their artifacts as they are', async () => {
    const panel = mpdtaPanel();
    const esDef = (await import('../../steps/event-study.js')).default;
    const plDef = (await import('../../steps/placebo.js')).default;
    const es = await esDef.run(renderCtx('event_study'), { panel }, esDef.params.parse({ y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first_treat', base: -1, window: [-3, 2] }));
    const pl = await plDef.run(renderCtx('placebo', undefined, undefined, plDef), { panel }, plDef.params.parse({ y: 'lemp', treat: 'did', fe: ['countyreal', 'year'], cluster: 'countyreal', unit: 'countyreal', time: 'year', adopt: 'first_treat', reps: 40 }));
    const f1 = await def.run(renderCtx('figure1'), { data: es.event! }, def.params.parse({ type: 'event-study', title: 'mpdta event study' }));
    const svg1 = text(f1.svg);
    expect(svg1).toContain('Base period (-1)');
    expect(svg1).toContain('≤−3'); // binned endpoints labelled automatically
    expect(svg1).toContain('≥2');
    const f2 = await def.run(renderCtx('figure2'), { data: pl.summary!, replicates: pl.replicates! }, def.params.parse({ type: 'placebo', title: 'mpdta placebo' }));
    const svg2 = text(f2.svg);
    expect(svg2).toMatch(/40 placebo draws; observed estimate -?\d\.\d{3}; randomization p (= \d\.\d{3}|&lt; 0\.025 \(no draw as extreme\))/);
  });
});
