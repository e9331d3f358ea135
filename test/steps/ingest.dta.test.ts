/**
 * Stata .dta reader (steps/readers/dta.ts) against R haven's reading of the same files.
 * Fixtures: test/fixtures/dta/, written by R haven (formats 113, 114, 115, 117, 118, 119), R foreign
 * (114) and pandas to_stata (114, 117, 118, 119; and 114, 117, 118 big-endian) — make-fixtures.R and
 * make-fixtures-pandas.py;
 * expected.json is haven::read_dta's reading of every fixture (R 4.2, haven 2.5.1).
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDta, looksLikeDta, stataDateText } from '../../steps/readers/dta.js';
import ingest from '../../steps/ingest.js';
import { StepError } from '../../engine/types.js';
import { isIntColumn, toRows } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeCtx, runStep, tableOf } from './ctx.js';

const DIR = path.join(PROJECT_ROOT, 'test/fixtures/dta');
interface RefCol {
  name: string;
  numeric: boolean;
  values: (number | string | null)[];
  missing_tag: (string | null)[] | null;
  label: string;
  value_labels: Record<string, string> | null;
  date?: boolean;
}
const REF = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { file: string; nrow: number; columns: RefCol[] }[];

describe('readDta vs haven::read_dta', () => {
  it('covers every format the issue names, from haven, foreign and pandas', () => {
    const releases = REF.map((r) => readDta(readFileSync(path.join(DIR, r.file))).release);
    for (const f of [113, 114, 115, 117, 118, 119]) expect(releases).toContain(f);
    expect(REF.map((r) => r.file.split('-')[0])).toEqual(expect.arrayContaining(['haven', 'foreign', 'pandas']));
    // big-endian (MSF) files from pandas byteorder='>', with Latin-1 text in 117
    const orders = REF.map((r) => readDta(readFileSync(path.join(DIR, r.file))).byteOrder);
    expect(orders.filter((o) => o === 'MSF').length).toBe(3);
    const latin = readDta(readFileSync(path.join(DIR, 'pandas-117-msf.dta')));
    expect(latin.variables.find((v) => v.name === 'city')!.values).toEqual(['Zürich', 'Genève', '', 'Málaga']);
  });

  it.each(REF.map((r) => [r.file, r] as const))('%s: names, values, missing codes, labels', (file, ref) => {
    const bytes = readFileSync(path.join(DIR, file));
    expect(looksLikeDta(bytes)).toBe(true);
    const d = readDta(bytes);
    expect(d.nobs).toBe(ref.nrow);
    expect(d.variables.map((v) => v.name)).toEqual(ref.columns.map((c) => c.name));
    for (const [j, c] of ref.columns.entries()) {
      const v = d.variables[j]!;
      expect(v.label, `${file} ${c.name} label`).toBe(c.label);
      if (c.date) {
        // %td / %tc: haven's Date / POSIXct as ISO text
        expect(Array.from(v.values as Float64Array, (x) => stataDateText(x, v.format)), `${file} ${c.name} (${v.format})`).toEqual(c.values);
      } else if (c.numeric) {
        expect(v.values).toBeInstanceOf(Float64Array);
        const got = Array.from(v.values as Float64Array, (x) => (Number.isNaN(x) ? null : x));
        expect(got, `${file} ${c.name}`).toEqual(c.values);
        // .a … .z: the letter haven reports (tagged_na); '.' = ''
        const tags = got.map((x, i) => (x === null ? (v.extendedMissing!.get(i) ?? '?') : null));
        expect(tags, `${file} ${c.name} missing codes`).toEqual(c.missing_tag);
      } else if (file === 'pandas-119.dta' && c.name === 'note') {
        // haven 2.5.1 (ReadStat) reads pandas' 119 strLs as '' (it splits the (v,o) key 2+6 bytes,
        // pandas and the dta_119 description 3+5); pandas.read_stata reads them back as written
        expect((v.values as string[]).map((x) => x.length)).toEqual([2700, 5, 0, 2703]);
      } else {
        expect(v.values, `${file} ${c.name}`).toEqual(c.values);
      }
      const labels = v.valueLabel ? d.valueLabels[v.valueLabel] : undefined;
      if (c.value_labels === null) expect(labels === undefined || labels.size === 0).toBe(true);
      else expect(Object.fromEntries([...labels!].map(([k, t]) => [String(k), t]))).toEqual(c.value_labels);
    }
  });

  it('reads strL cells (haven 117–119, pandas convert_strl) in full', () => {
    for (const f of ['haven-117.dta', 'haven-118.dta', 'haven-119.dta', 'pandas-117.dta', 'pandas-118.dta', 'pandas-119.dta']) {
      const d = readDta(readFileSync(path.join(DIR, f)));
      const note = d.variables.find((v) => v.name === 'note')!;
      expect(note.type, f).toBe('strL');
      expect((note.values as string[])[0]!.length).toBe(2700);
      expect((note.values as string[])[3]!.endsWith('end')).toBe(true);
    }
  });

  it('refuses what it cannot read with the reason', () => {
    const b = readFileSync(path.join(DIR, 'haven-118.dta'));
    expect(() => readDta(b.subarray(0, 600))).toThrow(/truncated file/);
    const old = Buffer.from(readFileSync(path.join(DIR, 'haven-114.dta')));
    old[0] = 110;
    expect(() => readDta(old)).toThrow(/dta release 110 is not supported/);
    expect(() => readDta(Buffer.from('city_code,year\n110000,2005\n'.repeat(10)))).toThrow(/not a Stata dta file: it starts with "city_code,ye"/);
  });
});

describe('ingest: Stata .dta', () => {
  it('reads a haven 118 file: integers stay integers, . and .a–.z are missing, labels are logged and kept as the meta output', async () => {
    const fake = makeCtx({ baseDir: DIR });
    const t = tableOf((await runStep(ingest, { path: 'haven-118.dta', select: ['city_code', 'year', 'so2', 'share', 'city', 'region'] }, {}, fake)).table);
    expect(toRows(t)).toEqual([
      { city_code: 110000, year: 2005, so2: 1.5, share: 0.25, city: '北京市', region: 1 },
      { city_code: 120000, year: 2006, so2: null, share: null, city: '天津市', region: 2 },
      { city_code: 330100, year: 2007, so2: -2.25, share: 0.5, city: null, region: 1 },
      { city_code: 331000, year: null, so2: 1234567.125, share: null, city: '台州市', region: null },
    ]);
    expect(isIntColumn(t.columns.city_code!)).toBe(true);
    expect(isIntColumn(t.columns.so2!)).toBe(false);
    const dates = tableOf((await runStep(ingest, { path: 'haven-118.dta', select: ['adopted', 'stamp'] }, {}, makeCtx({ baseDir: DIR }))).table);
    expect(toRows(dates)).toEqual([
      { adopted: '2015-03-07', stamp: '2015-03-07T12:34:56' },
      { adopted: null, stamp: null },
      { adopted: '1959-12-31', stamp: '1960-01-01T00:00:00' },
      { adopted: '2020-02-29', stamp: '2020-02-29T23:59:59' },
    ]);
    // labels kept as the node's meta output
    const out = await runStep(ingest, { path: 'haven-118.dta' }, {}, makeCtx({ baseDir: DIR }));
    const meta = (out.meta as { type: 'json'; value: any }).value;
    expect(meta.format).toBe('Stata dta 118');
    expect(meta.variables.so2).toEqual({ type: 'double', format: '%10.0g', label: 'Industrial SO2 (10,000 t)' }); // haven's default display format for doubles
    expect(meta.variables.region.value_labels).toEqual({ 1: 'east', 2: 'west', 3: 'north-east' });
    expect(meta.variables.region.label).toBe('NBS region');
    expect((await runStep(ingest, { path: 'expected.csv' }, {}, makeCtx({ baseDir: path.join(PROJECT_ROOT, 'test/fixtures/columnar') }))).meta).toBeUndefined();
    const log = fake.infos.join('\n');
    expect(log).toMatch(/Stata dta format 118/);
    expect(log).toMatch(/variable so2: "Industrial SO2 \(10,000 t\)"/);
    expect(log).toMatch(/value labels of region \(region\): 1 = "east", 2 = "west", 3 = "north-east"/);
  });

  it('value_labels: labels turns a labelled column into its label text', async () => {
    const t = tableOf((await runStep(ingest, { path: 'pandas-114.dta', value_labels: 'labels', select: ['city_code', 'region'] }, {}, makeCtx({ baseDir: DIR }))).table);
    expect(t.columns.region).toEqual(['east', 'west', 'east', 'north-east']);
    expect(isIntColumn(t.columns.city_code!)).toBe(true);
  });

  it('a broken .dta is an error naming the file, the reason and the fix', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'dta-'));
    writeFileSync(path.join(tmp, 'cut.dta'), readFileSync(path.join(DIR, 'haven-117.dta')).subarray(0, 400));
    const err = await runStep(ingest, { path: 'cut.dta' }, {}, makeCtx({ baseDir: tmp })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect((err as Error).message).toMatch(/cannot read .*cut\.dta as a Stata \.dta file: truncated file/);
    expect((err as Error).message).toMatch(/export it as CSV/);
  });
});
