/**
 * Issue 4, "Bad input", through the engine as `repro run pipeline.yaml --set ...` runs it: the real
 * pipeline.yaml with one `--set` override per case pointing a node at a broken file (written to a temp
 * dir) or at a broken expression. For every case: the run fails (`ok: false`, the CLI's exit 1), the
 * failing node is the one that read the bad input, its message names the file, the place (line and
 * column as an editor shows them, the header of the demo CSV being line 1) and the fix,
 * and the store holds no cache entry for that node (no partial result).
 *
 * The store is a temp dir; nothing is written into the repository's artifacts/ or results/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOverride } from '../../engine/config/overrides.js';
import { runSession } from '../../engine/executor.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { openSession } from '../../engine/session.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'repro-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PANEL = readFileSync(path.join(PROJECT_ROOT, 'data/demo/city-panel.csv'), 'utf8');
const LINES = PANEL.split('\n');
const HEADER = LINES[0]!.split(',');
const col = (name: string) => HEADER.indexOf(name);

/** Write `text` to the temp dir and return its absolute path. */
function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, text);
  return f;
}

/** The demo panel with line `n` (1-based, header = 1) passed through `edit`. */
function panelWith(n: number, edit: (fields: string[]) => string[] | string[][]): string {
  const out = LINES.flatMap((l, i) => {
    if (i !== n - 1) return [l];
    const r = edit(l.split(','));
    return Array.isArray(r[0]) ? (r as string[][]).map((f) => f.join(',')) : [(r as string[]).join(',')];
  });
  return out.join('\n');
}

interface Case {
  name: string;
  sets: string[];
  target: string;
  failing: string;
  patterns: RegExp[];
}

let k = 0;
const store = () => path.join(tmp, `store-${k++}`);

async function runCase(c: Case) {
  const session = await openSession({ file: path.join(PROJECT_ROOT, 'pipeline.yaml'), storeDir: store(), noSpecCache: true, overrides: c.sets.map(parseOverride) });
  const run = await runSession(session, { targets: [c.target], workers: false, noHistory: true, jobs: 1 });
  expect(run.ok, `${c.name}: the run must fail`).toBe(false);
  const failed = run.nodes.filter((n) => n.status === 'failed');
  expect(failed.map((n) => n.id)).toEqual([c.failing]);
  const node = failed[0]!;
  expect(node.error?.stepError, `${c.name}: a StepError (a message for the user), got ${node.error?.stack ?? ''}`).toBe(true);
  for (const p of c.patterns) expect(node.error!.message, c.name).toMatch(p);
  // no artifact for the failed node: no outputs, no cache entry
  expect(node.outputs ?? {}).toEqual({});
  expect(node.key).toMatch(/^[0-9a-f]{16,}$/);
  expect(session.store.readEntry(node.key)).toBeNull();
  return node.error!.message;
}

const ing = (f: string) => `ingest.path=${f}`;

describe('bad input through pipeline.yaml: fails, names file + place + fix, caches nothing for the node', () => {
  const cases: Case[] = [
    {
      name: 'missing file',
      sets: [ing(path.join(tmp, 'nope.csv'))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/file not found: .*nope\.csv/, /--set ingest\.path=/],
    },
    {
      name: 'missing required column',
      sets: [ing(write('no-fis.csv', LINES.map((l) => l.split(',').filter((_, j) => j !== col('fis')).join(',')).join('\n')))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/no-fis\.csv/, /required column "fis" is missing/, /"city_code", "city", "city_en", "province", "year", "so2"/, /param columns \(\{fis: name_in_file\}\)/],
    },
    {
      name: 'non-numeric cell',
      sets: [ing(write('abc.csv', panelWith(40, (f) => f.map((v, j) => (j === col('so2') ? 'abc' : v)))))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/abc\.csv/, new RegExp(`column "so2" is numeric but has 1 non-numeric cell\\(s\\) \\(line 40, column ${col('so2') + 1}: "abc"\\)`), /param na/, /types: \{so2: string\}/],
    },
    {
      name: 'duplicate key rows',
      sets: [ing(write('dup.csv', panelWith(10, (f) => [f, f])))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/dup\.csv/, /key \[city_code, year\] is not unique: 1 duplicate/, /city_code=110000, year=2013 at line 10 and line 11/, /Remove the duplicates or extend param key/],
    },
    {
      name: 'empty file',
      sets: [ing(write('empty.csv', ''))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/empty\.csv is empty/, /Point path at a file with a header line and data rows/],
    },
    {
      name: 'a roster entry that resolves to no city',
      sets: [`panel.roster=${write('roster.csv', readFileSync(path.join(PROJECT_ROOT, 'data/pilot-zones.csv'), 'utf8').trimEnd() + '\n2020,5,Hangzou,杭洲市,prefecture,,,\n')}`],
      target: 'panel',
      failing: 'panel',
      patterns: [/roster\.csv/, /Hangzou 杭洲市/, /closest register names: 杭州市 Hangzhou \(330100\)/, /allow_unmatched/],
    },
    {
      name: 'a panel city code missing from the register',
      sets: [ing(write('unknown-code.csv', `${PANEL.trimEnd()}\n${LINES[LINES.length - 2]!.replace(/^\d+,/, '999999,')}\n`))],
      target: 'panel',
      failing: 'panel',
      patterns: [/cities\.csv/, /999999/, /unknown_codes: drop/],
    },
    {
      name: 'derive: syntax error',
      sets: ['clean.derive={large: "urban_pop >= * 100"}'],
      target: 'clean',
      failing: 'clean',
      patterns: [/param derive\.large/, /position 14/, /urban_pop >= \* 100\n\s+\^/],
    },
    {
      name: 'derive: unknown column',
      sets: ['clean.derive={large: "urbanpop >= 100"}'],
      target: 'clean',
      failing: 'clean',
      patterns: [/param derive\.large/, /unknown column "urbanpop"/, /urban_pop/, /position 1/],
    },
  ];
  it.each(cases)('$name', async (c) => {
    await runCase(c);
  }, 30_000);

  it('a wrong sheet name (XLSX): names the sheets that exist', async () => {
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Panel');
    ws.addRow(HEADER);
    ws.addRow(LINES[2]!.split(','));
    await wb.xlsx.writeFile(path.join(tmp, 'panel.xlsx'));
    await runCase({
      name: 'wrong sheet',
      sets: [ing(path.join(tmp, 'panel.xlsx')), 'ingest.sheet=Sheet1'],
      target: 'ingest',
      failing: 'ingest',
      patterns: [/panel\.xlsx has no sheet "Sheet1"; its sheets are: "Panel"\. Set param sheet to one of them/],
    });
  }, 30_000);
});

// issue 9 item 9: an XLSX decompression bomb ends fast, names the sheet, caches nothing, memory bounded
describe('issue 9: an XLSX decompression bomb', () => {
  it("a 1 MB workbook inflating past Excel's 1,048,576 rows fails the ingest node fast", async () => {
    const { manyRows, writeWorkbook } = await import('./readers/xlsx-fixtures.js');
    const f = writeWorkbook(path.join(tmp, 'bomb.xlsx'), 'Data', manyRows(1_048_600));
    const t0 = Date.now();
    await runCase({ name: 'xlsx bomb', sets: [ing(f)], target: 'ingest', failing: 'ingest', patterns: [/bomb\.xlsx: sheet "Data" has more than Excel's 1,048,576 rows/] });
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);
});

// issue 9 item 11: only regular files are read (a FIFO would block forever, /dev/zero never ends)
// and item 13: a column named __proto__ / constructor / prototype is an error, not a silent drop
describe('issue 9: non-regular data paths and reserved column names', () => {
  const fifo = path.join(tmp, 'pipe.csv');
  execFileSync('mkfifo', [fifo]);
  const cases: Case[] = [
    { name: 'a directory', sets: [ing(tmp)], target: 'ingest', failing: 'ingest', patterns: [/repro-bad-input-\w+ \(param path ".*"\) is a directory, not a regular file; point path at a data file/] },
    { name: 'a FIFO', sets: [ing(fifo)], target: 'ingest', failing: 'ingest', patterns: [/pipe\.csv is a named pipe \(FIFO\), not a regular file \(path param ".*pipe\.csv"\); only regular files are read/] },
    { name: '/dev/zero', sets: [ing('/dev/zero')], target: 'ingest', failing: 'ingest', patterns: [/^\/dev\/zero is a device, not a regular file \(path param "\/dev\/zero"\)/] },
    ...['__proto__', 'constructor', 'prototype'].map((k) => ({
      name: `a column named ${k}`,
      sets: [ing(write(`${k}.csv`, PANEL.replace(/^([^,\n]*,[^,\n]*,)city_en,/, `$1${k},`)))],
      target: 'ingest',
      failing: 'ingest',
      patterns: [new RegExp(`column 3: "${k}" cannot be used as a column name: it is special in JavaScript objects`), new RegExp(`Rename it with param columns \\(\\{new_name: "${k}"\\}\\)`)],
    })),
  ];
  it.each(cases)('$name: fails fast with a clear message, nothing cached', async (c) => {
    const t0 = Date.now();
    await runCase(c);
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);
  it('makeTable refuses a reserved column name (any step)', async () => {
    const { makeTable } = await import('../../engine/table.js');
    expect(() => makeTable({ ['__proto__']: new Float64Array(1) } as never, ['__proto__'])).toThrow(/"__proto__" cannot be used as a column name/);
    expect(Object.getPrototypeOf(makeTable({ a: new Float64Array(1) }).columns)).toBeNull();
  });
});

// issue 9 item 14: an unterminated quote is reported where it opens, not at the end of the file
describe('issue 9: an unterminated quote', () => {
  it('names the line and column where the quote opens', async () => {
    const bad = panelWith(40, (f) => f.map((v, j) => (j === col('city_en') ? `"${v}` : v)));
    const msg = await runCase({ name: 'unterminated quote', sets: [ing(write('quote.csv', bad))], target: 'ingest', failing: 'ingest', patterns: [] });
    const c = LINES[39]!.split(',').slice(0, col('city_en')).join(',').length + 2;
    expect(msg).toMatch(new RegExp(`quote\\.csv as CSV: the quote opened at line 40, column ${c} is never closed .*Close the quote on line 40`));
  }, 30_000);
});
