/**
 * Issue 14's bad input of `spec-curve`, through the engine as `repro run` runs it: a pipeline
 * (the demo panel → merge-roster → spec_curve) written to a temp dir, one broken variant per case.
 * An unknown choice key or an empty choice list is an invalid pipeline (ConfigError at the
 * file:line:col of the key, nothing runs); a control not in the table or a sample filter on an
 * unknown column fails the node with a StepError starting with the YAML line:col of the param,
 * naming the column and what to do, and no cache entry (no partial result). Last: the output is
 * byte-identical in worker threads with --jobs 2 (ctx.map chunks) and in the calling thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../engine/config/errors.js';
import { runSession } from '../../engine/executor.js';
import { openSession } from '../../engine/session.js';
import { PROJECT_ROOT } from '../../engine/paths.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'repro-spec-curve-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const storeDir = path.join(tmp, 'store'); // shared: ingest and panel are cached after the first case

/** The pipeline with `choices` (YAML lines, indented under `choices:`) and extra `with` lines. The base is line 15; without extra lines, `choices:` is line 16 and the first choice line 17. */
function pipeline(name: string, choices: string[], extra: string[] = [], base = 'base: {y: so2, treat: did, controls: [pgdp, indus], fe: [city_code, year], cluster: city_code}'): string {
  const f = path.join(tmp, `${name}.yaml`);
  const data = (p: string) => path.join(PROJECT_ROOT, p);
  writeFileSync(
    f,
    `name: spec-curve-bad
seed: 1
steps:
  ingest:
    kind: ingest
    with: {path: ${data('data/demo/city-panel.csv')}}
  panel:
    kind: merge-roster
    in: ingest
    with: {roster: ${data('data/pilot-zones.csv')}, register: ${data('data/cities.csv')}, county_zones: ignore}
  curve:
    kind: spec-curve
    in: panel.panel
    with:
      ${base}
${extra.map((l) => `      ${l}\n`).join('')}      choices:
${choices.map((l) => `        ${l}\n`).join('')}`,
  );
  return f;
}

async function configError(file: string): Promise<ConfigError> {
  try {
    await openSession({ file, storeDir, noSpecCache: true });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected an invalid pipeline');
}

async function stepError(file: string): Promise<string> {
  const session = await openSession({ file, storeDir, noSpecCache: true });
  const run = await runSession(session, { targets: ['curve'], workers: false, noHistory: true, jobs: 1 });
  expect(run.ok).toBe(false);
  const node = run.nodes.find((n) => n.id === 'curve')!;
  expect(node.status).toBe('failed');
  expect(node.error?.stepError, node.error?.stack ?? '').toBe(true);
  expect(session.store.readEntry(node.key)).toBeNull();
  return node.error!.message;
}

describe('spec-curve: bad input', () => {
  it('runs when nothing is broken', async () => {
    const session = await openSession({ file: pipeline('ok', ['controls: [[], [pgdp]]', 'sample: {all: {}, to_2019: {where: {year: {le: 2019}}}}']), storeDir, noSpecCache: true });
    const run = await runSession(session, { targets: ['curve'], workers: false, noHistory: true, jobs: 1 });
    expect(run.nodes.find((n) => n.id === 'curve')?.status).toBe('ran');
  });

  it('an unknown choice key is an invalid pipeline at its line', async () => {
    const e = await configError(pipeline('unknown-key', ['controls: [[], [pgdp]]', 'clusters: [city_code, province]']));
    const all = e.errors.map((x) => `${x.line}:${x.col} ${x.message} ${x.hint ?? ''}`).join('\n');
    expect(all).toMatch(/clusters/);
    expect(e.errors.some((x) => x.line === 18 && /did you mean "cluster"/.test(`${x.message} ${x.hint ?? ''}`))).toBe(true);
  });

  it('an empty choice list is an invalid pipeline at its line, saying why', async () => {
    const e = await configError(pipeline('empty', ['y: [so2]', 'controls: []']));
    const hit = e.errors.find((x) => /empty choice list/.test(x.message));
    expect(hit, e.errors.map((x) => `${x.line}:${x.col} ${x.message}`).join('\n')).toBeDefined();
    expect(hit!.line).toBe(18);
  });

  it('an empty sample map is an invalid pipeline too', async () => {
    const e = await configError(pipeline('empty-sample', ['sample: {}']));
    expect(e.errors.some((x) => /empty choice list/.test(x.message) && x.line === 17)).toBe(true);
  });

  it('a control not in the table fails at the line of its control set, with the nearest name', async () => {
    const msg = await stepError(pipeline('bad-control', ['y: [so2]', 'controls: [[], [pgdp, indsu]]']));
    expect(msg).toMatch(/bad-control\.yaml:18:\d+: choices\.controls\[1\] names control "indsu", which is not in the input table \(did you mean "indus"\?\)/);
  });

  it('a control of the base not in the table names base.controls', async () => {
    const msg = await stepError(pipeline('bad-base', ['y: [so2]'], [], 'base: {y: so2, treat: did, controls: [pgdp, fiss], fe: [city_code, year], cluster: city_code}'));
    expect(msg).toMatch(/bad-base\.yaml:15:\d+: base\.controls names control "fiss", which is not in the input table \(did you mean "fis"\?\)/);
  });

  it('a sample filter on an unknown column fails at that filter, naming the sample', async () => {
    const msg = await stepError(pipeline('bad-sample', ['sample: {all: {}, no_munis: {exclude: {municipal: [1]}}}']));
    expect(msg).toMatch(/bad-sample\.yaml:17:\d+: choices\.sample\.no_munis\.exclude\.municipal names filter column "municipal", which is not in the input table \(did you mean "municipality"\?\)/);
  });

  it('a highlight value that is not among the choices names the choices', async () => {
    const msg = await stepError(pipeline('bad-highlight', ['fe: [[city_code, year], [province, year]]'], ['highlight: {fe: [region, year]}']));
    expect(msg).toMatch(/bad-highlight\.yaml:16:\d+: highlight\.fe is "region \+ year", which is not one of choices\.fe: "city_code \+ year", "province \+ year"/);
  });
});

describe('spec-curve: the thread budget', () => {
  it('gives the same specs and summary bytes in worker threads with --jobs 2 as in this thread (>1 chunk)', async () => {
    const choices = ['y: [so2, so2_int]', 'controls: [[], [pgdp], [pgdp, indus], [pgdp, indus, urb, fin, fis]]', 'fe: [[city_code, year], [province, year]]', 'cluster: [city_code, province]', 'sample: {all: {}, a: {exclude: {municipality: [1]}}, b: {where: {year: {le: 2019}}}, c: {where: {year: {ge: 2008}}}}'];
    const file = pipeline('jobs', choices);
    const outs = [];
    for (const [jobs, workers] of [[1, false], [2, true]] as const) {
      const session = await openSession({ file, storeDir: path.join(tmp, `store-jobs-${jobs}`), noSpecCache: true });
      const run = await runSession(session, { targets: ['curve'], workers, noHistory: true, jobs });
      const node = run.nodes.find((n) => n.id === 'curve')!;
      expect(node.status, node.error?.message).toBe('ran');
      outs.push(node.outputs);
    }
    expect(outs[1]).toEqual(outs[0]);
  }, 120_000);
});
