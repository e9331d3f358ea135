/**
 * Issue 9 through the compiled CLI: resource bombs in the YAML end fast with exit 2 and a positioned
 * message (nothing runs, nothing is stored); a data path that is a FIFO fails its node with exit 1
 * and a message naming the path, without blocking and without a cache entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { baseRig, cli, type Rig } from './rig.js';

const rigs: Rig[] = [];
afterAll(() => rigs.forEach((r) => r.cleanup()));
const entries = (r: Rig): string[] => {
  const d = path.join(r.dir, 'artifacts', 'cache');
  return fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).map(String).filter((f) => f.endsWith('.json')) : [];
};

const bomb = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k, i, ks) =>
  i === 0 ? `        a: &a [x, x, x, x, x, x, x, x, x, x]` : `        ${k}: &${k} [${Array(10).fill(`*${ks[i - 1]}`).join(', ')}]`,
);
const l = Array.from({ length: 100 }, (_, i) => i).join(', ');

describe('issue 9 via `repro run`', () => {
  it('an alias bomb inside a foreach step: exit 2, fast, at the alias line; nothing stored', async () => {
    const r = await baseRig(['steps:', '  src:', '    kind: source', '    with: {path: data/nums.txt}', '  plus:', '    kind: add', '    in: src', '    foreach: {k: [1, 2]}', '    with:', '      k: ${k}', '      junk:', ...bomb, ''].join('\n'));
    rigs.push(r);
    const t0 = Date.now();
    const out = await cli(['run'], r.dir);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/pipeline\.yaml:20:16 error: YAML aliases expand the document from \d+ to [\d,]+ nodes/);
    expect(entries(r)).toEqual([]);
  }, 30_000);
  it('foreach of 100 × 100 × 100: exit 2, fast, at the foreach line', async () => {
    const r = await baseRig(['steps:', '  src:', '    kind: source', '    with: {path: data/nums.txt}', '  plus:', '    kind: add', '    in: src', `    foreach: {u: [${l}], v: [${l}], w: [${l}]}`, '    with: {k: 1}', ''].join('\n'));
    rigs.push(r);
    const t0 = Date.now();
    const out = await cli(['run'], r.dir);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/pipeline\.yaml:8:5 error: foreach expands step "plus" to 1,000,000 nodes \(u: 100 × v: 100 × w: 100\); the limit is 10,000 nodes/);
    expect(entries(r)).toEqual([]);
  }, 30_000);
  it('a data path that is a FIFO: exit 1 naming the path, no cache entry for the node', async () => {
    const r = await baseRig(['steps:', '  src:', '    kind: source', '    with: {path: data/pipe.txt}', ''].join('\n'));
    rigs.push(r);
    execFileSync('mkfifo', [path.join(r.dir, 'data', 'pipe.txt')]);
    const t0 = Date.now();
    const out = await cli(['run'], r.dir);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/pipe\.txt is a named pipe \(FIFO\), not a regular file \(path param "data\/pipe\.txt"\)/);
    expect(entries(r)).toEqual([]);
  }, 30_000);
});
