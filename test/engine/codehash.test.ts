/**
 * Code hashing: the tokenizer ignores comments and whitespace but not code; imports are found
 * (static, re-export, dynamic; `import type` skipped); (11) a comment-only edit to a step file
 * reruns nothing, a real edit reruns exactly the nodes whose steps import the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codeClosure, importsOf, normalizeSource, tokenize } from '../../engine/codehash.js';
import { StatCache } from '../../engine/statcache.js';
import { BASE_YAML, baseRig as base, makeRig, NUMS, ROOT, statuses, type Rig } from './rig.js';

const h = (s: string): string => normalizeSource(s).hash;

describe('tokenizer', () => {
  it('ignores comments and whitespace', () => {
    const a = `import { x } from './x.js';\nexport function f(a, b) {\n  return a + b; // sum\n}\n`;
    const b = `/** doc */ import {x} from "./x.js"\n;export function f(a,b){return a+b}`;
    expect(h(a.replace(';\nexport', '\nexport'))).not.toBe(h(a + 'f(1);')); // sanity
    expect(h(`import { x } from './x.js';export function f(a, b) { /* c */ return a   +   b; }`)).toBe(h(a.replace(' // sum', '')));
    expect(h(a)).toBe(h(a.replace('// sum', '// total')));
    expect(h(b)).not.toBe(h(b.replace('a+b', 'a-b')));
  });

  it('keeps strings, templates and regex literals verbatim (comment-like text inside them counts)', () => {
    expect(h(`const u = 'http://a';`)).not.toBe(h(`const u = 'http://b';`));
    expect(h('const s = `a ${b /* c */} // d`;')).toBe(h('const s = `a ${ b } // d`;'));
    expect(h('const s = `a ${b} // d`;')).not.toBe(h('const s = `a ${b} // e`;'));
    expect(h('const s = `  x`;')).not.toBe(h('const s = ` x`;'));
    expect(h('const r = /\\/\\/[/]x/g; // c')).toBe(h('const r = /\\/\\/[/]x/g;'));
    expect(h('const r = /a b/;')).not.toBe(h('const r = /a  b/;'));
    expect(h('const q = a / b / c; // x')).toBe(h('const q = a/b/c;'));
    const t = tokenize('x = y / 2 /* c */ + `t${ {a: 1}.a }u`');
    expect(t.toks).toEqual(['x', '=', 'y', '/', '2', '+', '`t${', '{', 'a', ':', '1', '}', '.', 'a', '}u`']);
  });

  it('finds run-time imports and skips type-only ones', () => {
    const src = `
      import type { A } from './types.js';
      import { type B, c } from './c.js';
      import d, * as e from "../d.js";
      import './side.js';
      export { f } from './f.js';
      export * from './g.js';
      export type { H } from './h.js';
      const m = await import('./lazy.js');
      const n = import(\`./tmpl.js\`);
      const meta = import.meta.url;
      import z from 'zod';
      // import { no } from './comment.js';
      const s = "import { no } from './string.js'";
    `;
    expect(importsOf(tokenize(src))).toEqual(['./c.js', '../d.js', './side.js', './f.js', './g.js', './lazy.js', './tmpl.js', 'zod']);
  });

  it('closes over project imports transitively, dynamic imports included', () => {
    const stat = new StatCache(null);
    const c = codeClosure(path.join(ROOT, 'test/fixtures/engine/toy/round.js'), path.join(ROOT, 'test/fixtures/engine/toy'), stat);
    expect(Object.keys(c)).toEqual(['common.js', 'lib/mathx.js', 'round.js']);
    const e = codeClosure(path.join(ROOT, 'engine/executor.ts'), ROOT, stat);
    expect(Object.keys(e)).toContain('engine/store.ts');
    expect(Object.keys(e)).toContain('engine/worker.ts'); // dynamic import
  });
});

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('(11) editing step code', () => {
  it('a comment-only edit reruns nothing; a real edit reruns exactly the nodes that import the file', async () => {
    rig = await makeRig({ copyToy: true });
    rig.write('data/nums.txt', NUMS);
    rig.setYaml(`${BASE_YAML}  r2:\n    kind: round\n    in: side\n    with: {digits: 1}\n`);
    await rig.run();
    rig.executed();
    const round = path.join(rig.codeRoot, 'round.js');
    const mathx = path.join(rig.codeRoot, 'lib/mathx.js');
    // comment and whitespace only
    fs.writeFileSync(round, `// an added comment\n${fs.readFileSync(round, 'utf8').replace(/\n/g, '\n\n  ')}`);
    fs.writeFileSync(mathx, `/* numerics */\n${fs.readFileSync(mathx, 'utf8')}// trailing\n`);
    const c = await rig.run();
    expect(rig.executed()).toEqual([]);
    expect(c.nodes.every((n) => n.status === 'cached')).toBe(true);
    // a real edit of a module only `round` imports: both round nodes rerun, nothing else
    // (their outputs are unchanged, so early cutoff stops there)
    fs.writeFileSync(mathx, fs.readFileSync(mathx, 'utf8').replace('const f = 10 ** digits;', 'const f = Math.pow(10, digits);'));
    const e = await rig.run();
    expect(rig.executed()).toEqual(['r', 'r2']);
    expect(e.nodes.find((n) => n.id === 'r')!.reason).toBe('code of lib/mathx.ts changed'.replace('.ts', '.js'));
    expect(statuses(e)).toMatchObject({ src: 'cached', plus: 'cached', total: 'cached', rep: 'cached', side: 'cached' });
    // an edit to a module every step imports reruns every node
    const common = path.join(rig.codeRoot, 'common.js');
    fs.writeFileSync(common, `${fs.readFileSync(common, 'utf8')}\nexport const VERSION = 2;\n`);
    await rig.run();
    expect(rig.executed()).toEqual(['plus', 'r', 'r2', 'rep', 'side', 'src', 'total']);
  });
});

describe('code closure', () => {
  it('includes modules loaded by URL (new URL(relative, import.meta.url)); compiledUrl is no longer special', async () => {
    const { codeClosure, importsOf, tokenize } = await import('../../engine/codehash.js');
    const src = `
      import { compiledUrl } from '../engine/paths.js';
      const a = compiledUrl('steps/x-worker.ts');
      const b = new Worker(new URL('./y-worker.js', import.meta.url));
      const c = new URL('https://example.org/');
    `;
    expect(importsOf(tokenize(src))).toEqual(['../engine/paths.js', './y-worker.js']);
    rig = await base();
    const root = path.join(rig.dir, 'proj');
    const w = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    w('steps/s.ts', `export const u = new URL('./s-worker.js', import.meta.url);\n`);
    w('steps/s-worker.ts', `import { f } from '../stats/f.js';\nf();\n`);
    w('stats/f.ts', 'export function f() { return 1; }\n');
    expect(Object.keys(codeClosure('steps/s.ts', root, null))).toEqual(['stats/f.ts', 'steps/s-worker.ts', 'steps/s.ts']);
  });
});
