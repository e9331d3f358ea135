/**
 * Issue 12, "Bad input", through the engine as `repro run PIPELINE --set ...` runs it: a small
 * pipeline (two ingests → join → clean with a fix) written to a temp dir, one `--set` per case
 * pointing a node at a broken file or a broken fix. For every case: the run fails, the failing node
 * is the join or the clean, the error is a StepError (a message for the user) that starts with the
 * pipeline file's line and column of the param at fault, names the step and says how to fix it, and
 * the store holds no cache entry for the node (no partial result).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOverride } from '../../engine/config/overrides.js';
import { runSession } from '../../engine/executor.js';
import { openSession } from '../../engine/session.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'repro-join-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, text);
  return f;
}

write('left.csv', 'code,year,so2\n1,2015,10\n2,2015,20\n3,2015,30\n');
write('right.csv', 'code,year,gdp\n2,2015,200\n3,2015,300\n4,2015,400\n');
// the line numbers below are asserted: `on:` is line 14, the fix (fixes[0]) line 21 (a fix missing from the YAML, e.g. set by --set, points at the fixes list)
const PIPELINE = write(
  'join.yaml',
  `name: join-bad-input
seed: 1
steps:
  left:
    kind: ingest
    with: {path: left.csv}
  right:
    kind: ingest
    with: {path: right.csv}
  joined:
    kind: join
    in: [left, right]
    with:
      on: [code, year]
      validate: "1:1"
  fixed:
    kind: clean
    in: joined.table
    with:
      fixes:
        - {key: {code: 2, year: 2015}, column: gdp, from: 200, to: 210, why: "typo in the source"}
`,
);
const ON = /join\.yaml:14:11: /;
const FIX0 = /join\.yaml:21:11: param fixes\[0\]/;

let k = 0;
async function runCase(sets: string[], target: string) {
  const session = await openSession({ file: PIPELINE, storeDir: path.join(tmp, `store-${k++}`), noSpecCache: true, overrides: sets.map(parseOverride) });
  const run = await runSession(session, { targets: [target], workers: false, noHistory: true, jobs: 1 });
  expect(run.ok).toBe(false);
  const failed = run.nodes.filter((n) => n.status === 'failed');
  expect(failed.map((n) => n.id)).toEqual([target]);
  const node = failed[0]!;
  expect(node.error?.stepError, node.error?.stack ?? '').toBe(true);
  expect(node.outputs ?? {}).toEqual({});
  expect(session.store.readEntry(node.key)).toBeNull();
  return node.error!.message;
}

describe('join and clean fixes: bad input fails at the YAML line of the param, names the fix, caches nothing', () => {
  it('the pipeline itself runs (the cases below each break one thing)', async () => {
    const session = await openSession({ file: PIPELINE, storeDir: path.join(tmp, 'store-ok'), noSpecCache: true });
    const run = await runSession(session, { targets: ['fixed'], workers: false, noHistory: true, jobs: 1 });
    expect(run.nodes.map((n) => [n.id, n.status])).toEqual(expect.arrayContaining([['joined', 'ran'], ['fixed', 'ran']]));
  });
  it('changing a fix reruns only the clean node that applies it (and what depends on it)', async () => {
    const storeDir = path.join(tmp, 'store-rerun');
    const first = await runSession(await openSession({ file: PIPELINE, storeDir, noSpecCache: true }), { targets: ['fixed'], workers: false, noHistory: true, jobs: 1 });
    expect(first.ok).toBe(true);
    const set = parseOverride('fixed.fixes=[{key: {code: 2, year: 2015}, column: gdp, from: 200, to: 220, why: "another reading"}]');
    const second = await runSession(await openSession({ file: PIPELINE, storeDir, noSpecCache: true, overrides: [set] }), { targets: ['fixed'], workers: false, noHistory: true, jobs: 1 });
    expect(Object.fromEntries(second.nodes.map((n) => [n.id, n.status]))).toEqual({ left: 'cached', right: 'cached', joined: 'cached', fixed: 'ran' });
  }, 30_000);
  it.each([
    ['a key column missing on one side', [`right.path=${write('r-nokey.csv', 'city_code,year,gdp\n2,2015,200\n')}`], [ON, /key column "code" \(param on\) is missing in in\[1\]/, /Rename it upstream/]],
    ['key types differ (text vs number codes)', ['right.types={code: string}'], [ON, /key column "code" is a number in in\[0\] \(the left table\) but text in in\[1\]/, /types: \{code: number\}/]],
    [
      'many-to-many under validate 1:1',
      [`left.path=${write('l-dup.csv', 'code,year,so2\n2,2015,1\n2,2015,2\n')}`, `right.path=${write('r-dup.csv', 'code,year,gdp\n2,2015,1\n2,2015,2\n')}`],
      [/join\.yaml:15:17: validate "1:1" fails/, /\(code=2, year=2015\) ×2 at data rows 1, 2/, /many-to-many/],
    ],
    ['all rows unmatched', [`right.path=${write('r-other.csv', 'code,year,gdp\n110000,2015,1\n')}`], [ON, /no row of in\[1\] \(1 rows\) matches/, /Check the codes \(e\.g\. 110000 vs 110100\)/]],
  ])('join: %s', async (_name, sets, patterns) => {
    const msg = await runCase(sets as string[], 'joined');
    for (const p of patterns as RegExp[]) expect(msg).toMatch(p);
  }, 30_000);
  it.each([
    ['stale from (the source changed)', [`right.path=${write('r-changed.csv', 'code,year,gdp\n2,2015,205\n3,2015,300\n')}`], [FIX0, /stale fix: the cell holds 205, the fix expects from = 200/]],
    ['unknown key', ['fixed.fixes=[{key: {code: 9, year: 2015}, column: gdp, from: 200, to: 210, why: x}]'], [FIX0, /unknown key: no row has code = 9 and year = 2015/]],
    ['unknown column', ['fixed.fixes=[{key: {code: 2, year: 2015}, column: gpd, from: 200, to: 210, why: x}]'], [FIX0, /unknown column "gpd" \(did you mean "gdp"\?\)/]],
    [
      'two fixes of one cell',
      ['fixed.fixes=[{key: {code: 2, year: 2015}, column: gdp, from: 200, to: 210, why: x}, {key: {code: 2, year: 2015}, column: gdp, from: 210, to: 220, why: y}]'],
      [/join\.yaml:21:9: param fixes\[1\]/, /already corrected by fixes\[0\]/],
    ],
  ])('clean fixes: %s', async (_name, sets, patterns) => {
    const msg = await runCase(sets as string[], 'fixed');
    for (const p of patterns as RegExp[]) expect(msg).toMatch(p);
  }, 30_000);
});
