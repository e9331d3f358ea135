/**
 * tabulate's outputs beyond md/tex/html: Word and Excel files (read back: the docx's
 * word/document.xml, the xlsx with exceljs), the tidy coefficient table, adaptive digits, the CSV
 * sidecar and BOM, and the display-width table printer used by `repro show`.
 */
import { describe, it, expect } from 'vitest';
import ExcelJS from 'exceljs';
import def from '../../steps/tabulate.js';
import { regressionLayout } from '../../steps/render/esttab.js';
import { adaptiveDigits, fmtCoef, fmtCount } from '../../steps/render/format.js';
import { readZip, writeZip } from '../../steps/render/zip.js';
import { displayWidth, formatTextTable, formatTidyTable, showModel, tidyCsv, tidyModel } from '../../steps/render/tidy.js';
import { toRows } from '../../engine/table.js';
import type { Model } from '../../steps/render/model.js';
import { renderCtx, jsonArtifact, fixture, text } from './render-ctx.js';

const m1 = fixture('model-did-only.json') as Model;
const m2 = fixture('model-controls.json') as Model;
const m3 = fixture('model-province-hc1.json') as Model;
const run = (params: Record<string, unknown>, models = ['model-did-only.json', 'model-controls.json']) =>
  def.run(renderCtx('table3'), { models: models.map(jsonArtifact) }, def.params.parse(params));
const bytes = (a: unknown) => (a as { bytes: Uint8Array }).bytes;
const entry = (zip: Uint8Array, name: string) => {
  const e = readZip(zip).find((x) => x.name === name);
  if (!e) throw new Error(`no ${name} in the archive`);
  return new TextDecoder().decode(e.data);
};

describe('journal conventions', () => {
  it('adaptive digits: a nonzero estimate or SE never prints as 0.000', () => {
    expect(adaptiveDigits([-2.3449, 0.2981], 3)).toBe(3);
    expect(adaptiveDigits([0.00042, 0.00011], 3)).toBe(4);
    expect(adaptiveDigits([0.000042, 0.0011], 3)).toBe(5);
    expect(adaptiveDigits([0, 0.5], 3)).toBe(3); // an exact zero stays 0.000
    expect(adaptiveDigits([1e-12, 1], 3)).toBe(8); // capped
    expect(fmtCoef(1e-12, 8)).toBe('1.0e-12');
    // model 3's pgdp is -0.0004 (0.05): printed with 4 decimals, not "-0.000 (0.050)"
    const l = regressionLayout([m2, m3]);
    const i = l.body.findIndex((r) => r.label === 'pgdp');
    // (the fixture's p for it is below 0.1: one star)
    expect(l.body[i]!.cells).toEqual(['-0.179***', '-0.0004*']);
    expect(l.body[i + 1]!.cells).toEqual(['(0.049)', '(0.0500)']);
    expect(regressionLayout([m3], { adaptive: false }).body[2]!.cells).toEqual(['0.000*']);
  });
  it('Observations with thousands separators, within R² next to R², _cons hidden when FE absorb it (option)', () => {
    expect(fmtCount(4551)).toBe('4,551');
    expect(fmtCount(1234567, ' ')).toBe('1 234 567');
    expect(fmtCount(-1000)).toBe('-1,000');
    expect(fmtCount(999)).toBe('999');
    expect(fmtCount(null)).toBe('');
    const l = regressionLayout([m1, m2]);
    expect(l.body.filter((r) => r.kind === 'stat').map((r) => r.label)).toEqual(['Observations', 'R²', 'Within R²']);
    expect(l.body.some((r) => r.label === '_cons')).toBe(true);
    expect(regressionLayout([m1, m2], { cons: 'auto' }).body.some((r) => r.label === '_cons')).toBe(false);
    expect(regressionLayout([m1, m2], { cons: 'hide' }).body.some((r) => r.label === '_cons')).toBe(false);
    const noFe = { ...m2, fixed_effects: [] } as Model;
    expect(regressionLayout([m1, noFe], { cons: 'auto' }).body.some((r) => r.label === '_cons')).toBe(true);
  });
});

describe('Word and Excel tables', () => {
  it('docx: title, one table row per layout row, spanning group, superscript stars, notes; deterministic bytes', async () => {
    const params = { title: 'Table 3: Baseline', labels: { did: 'DID' }, groups: [{ label: 'SO2', span: 2 }], fe_labels: { city: 'City FE', year: 'Year FE' }, formats: ['docx'] };
    const out = await run(params);
    const doc = entry(bytes(out.docx), 'word/document.xml');
    const layout = regressionLayout([m1, m2], { labels: { did: 'DID' }, groups: [{ label: 'SO2', span: 2 }], feLabels: { city: 'City FE', year: 'Year FE' } });
    expect(doc.match(/<w:tbl>/g)).toHaveLength(1);
    expect(doc.match(/<w:tr>|<w:tr /g)).toHaveLength(layout.header.length + layout.body.length);
    expect(doc).toContain('<w:gridSpan w:val="2"/>');
    // no grid lines: the table has no borders of its own, only the booktabs-like rules of its cells
    expect(/<w:tblBorders>([\s\S]*?)<\/w:tblBorders>/.exec(doc)![1]!.match(/w:val="single"/g)).toBeNull();
    expect(doc.match(/<w:top w:val="single" w:color="000000" w:sz="12"\/>/g)!.length).toBe(2); // thick rule over the first header row: stub + the SO2 group spanning 2
    const texts = [...doc.matchAll(/<w:t(?: [^>]*)?>([^<]*)<\/w:t>/g)].map((m) => m[1]);
    expect(texts[0]).toBe('Table 3: Baseline');
    expect(texts).toEqual(expect.arrayContaining(['DID', '-2.498', '***', '(0.272)', 'City FE', 'YES', 'Observations', '5,001', 'R²', 'Within R²']));
    // the stars are a superscript run
    expect(doc).toMatch(/<w:vertAlign w:val="superscript"\/><\/w:rPr><w:t(?: [^>]*)?>\*\*\*<\/w:t>/);
    expect(texts.at(-1)).toMatch(/^Standard errors in parentheses; standard errors clustered by city \(CR1\)\./);
    // the order of rows follows the layout: DID before _cons, FE rows before Observations
    expect(texts.indexOf('DID')).toBeLessThan(texts.indexOf('_cons'));
    expect(texts.indexOf('Year FE')).toBeLessThan(texts.indexOf('Observations'));
    // no timestamp of the run in the package: the same table gives the same bytes
    const again = await run(params);
    expect(Buffer.from(bytes(again.docx)).equals(Buffer.from(bytes(out.docx)))).toBe(true);
    expect(entry(bytes(out.docx), 'docProps/core.xml')).toContain('2000-01-01T00:00:00Z');
  });
  it('xlsx: read back with exceljs, numbers as numbers with their decimals, text cells as printed', async () => {
    const out = await run({ title: 'Table 3: Baseline', labels: { did: 'DID' }, formats: ['xlsx'] });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(bytes(out.xlsx)) as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('Table')!;
    const rows: unknown[][] = [];
    ws.eachRow({ includeEmpty: true }, (r) => rows.push((r.values as unknown[]).slice(1)));
    expect(rows[0]![0]).toBe('Table 3: Baseline');
    const find = (label: string) => rows.find((r) => r[0] === label)!;
    expect(find('DID').slice(1)).toEqual(['-2.498***', '-2.345***']);
    expect(find('Observations').slice(1)).toEqual([5001, 4551]);
    const r2 = rows.findIndex((r) => r[0] === 'R²');
    expect(rows[r2]!.slice(1)).toEqual([0.738, 0.751]);
    expect(ws.getRow(r2 + 1).getCell(2).numFmt).toBe('0.000');
    expect(rows.some((r) => typeof r[0] === 'string' && r[0].startsWith('Standard errors in parentheses'))).toBe(true);
    const again = await run({ title: 'Table 3: Baseline', labels: { did: 'DID' }, formats: ['xlsx'] });
    expect(Buffer.from(bytes(again.xlsx)).equals(Buffer.from(bytes(out.xlsx)))).toBe(true);
  });
  it('the deterministic zip writer round-trips and rejects non-zip bytes', () => {
    const e = [{ name: 'a.txt', data: new TextEncoder().encode('hello') }, { name: 'dir/ü.xml', data: new Uint8Array(1000).fill(65) }];
    const z = writeZip(e);
    expect(readZip(z).map((x) => [x.name, new TextDecoder().decode(x.data)])).toEqual(e.map((x) => [x.name, new TextDecoder().decode(x.data)]));
    expect(Buffer.from(writeZip(e)).equals(Buffer.from(z))).toBe(true);
    expect(() => readZip(new Uint8Array(40))).toThrow(/not a ZIP archive/);
  });
});

describe('tidy coefficient table', () => {
  it('broom::tidy columns per model, statistic = t, model-level columns repeated', () => {
    const rows = tidyModel(m2);
    expect(rows).toHaveLength(m2.coefficients.length);
    const c = m2.coefficients[0]!;
    expect(rows[0]).toEqual({
      term: 'did',
      estimate: c.estimate,
      std_error: c.se,
      statistic: c.t ?? c.estimate! / c.se!,
      p_value: c.p,
      conf_low: c.ci_low,
      conf_high: c.ci_high,
      nobs: 4551,
      r2: 0.7514,
      r2_within: 0.0423,
      vcov: 'CR1: city',
      clusters: 285,
    });
    expect(tidyModel(m3)[0]!.vcov).toBe('HC1');
    expect(tidyModel(m3)[0]!.clusters).toBeNull();
  });
  it('is an output of tabulate: one row per model and term, numeric columns numeric', async () => {
    const out = await run({ columns: ['DID only', 'Controls'], formats: ['md'] });
    const t = (out.tidy as { type: 'table'; table: import('../../engine/table.js').Table }).table;
    expect(t.names).toEqual(['model', 'column', 'y', 'term', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high', 'nobs', 'r2', 'r2_within', 'vcov', 'clusters']);
    const rows = toRows(t);
    expect(rows).toHaveLength(m1.coefficients.length + m2.coefficients.length);
    expect(rows[0]).toMatchObject({ model: 1, column: 'DID only', term: 'did', estimate: m1.coefficients[0]!.estimate, nobs: 5001 });
    expect(rows.at(-1)).toMatchObject({ model: 2, column: 'Controls', term: '_cons' });
    for (const n of ['estimate', 'std_error', 'nobs', 'r2']) expect(t.columns[n]).toBeInstanceOf(Float64Array);
  });
  it('CSV with numbers unformatted and missing as empty', () => {
    const csv = tidyCsv(tidyModel(m3)).split('\r\n');
    expect(csv[0]).toBe('term,estimate,std_error,statistic,p_value,conf_low,conf_high,nobs,r2,r2_within,vcov,clusters');
    expect(csv[1]!.startsWith('did,-1.9,0.95,')).toBe(true);
    expect(csv[1]!.endsWith(',4551,0.612,0.031,HC1,')).toBe(true);
  });
  it('prints aligned for repro show, CJK by display width', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('二氧化硫')).toBe(8);
    expect(displayWidth('ＳＯ２')).toBe(6);
    expect(displayWidth('e\u0301')).toBe(1);
    const t = formatTextTable(['变量', 'value'], [['二氧化硫 SO2', '1.5'], ['x', '-12.25']], new Set([1]));
    const lines = t.trimEnd().split('\n');
    // every line has the same display width up to the end of the right-aligned number column
    expect(new Set(lines.map(displayWidth)).size).toBe(1);
    expect(lines[2]).toBe('二氧化硫 SO2     1.5');
    expect(lines[3]).toBe('x             -12.25');
    const show = formatTidyTable(tidyModel(m2));
    const head = show.split('\n')[0]!;
    expect(head).toMatch(/^term\s+estimate\s+std_error\s+statistic\s+p_value\s+conf_low\s+conf_high$/);
    expect(show).toMatch(/\ndid\s+-2\.345\s+0\.2981\s/);
    expect(show).toMatch(/\nnobs\s+4551\n/);
    expect(show).toContain('vcov       CR1: city');
    // what repro show prints for a JSON artifact: the tidy table for a model, null for anything else
    expect(showModel(m2)).toBe(show);
    expect(showModel(m2, { csv: true })).toBe(tidyCsv(tidyModel(m2)));
    expect(showModel({ periods: [] })).toBeNull();
  });
});

describe('CSV and file names', () => {
  it('the CSV sidecar holds the title and notes; BOM only when asked', async () => {
    const out = await run({ title: 'Table 3: R² etc.', formats: ['csv'] });
    expect(text(out.csv).charCodeAt(0)).not.toBe(0xfeff);
    expect(text(out.notes).split('\n')[0]).toBe('Table 3: R² etc.');
    const bom = await run({ title: 'T', formats: ['csv'], csv_bom: true });
    expect(bytes(bom.csv).subarray(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf]));
  });
});
