/**
 * A tiny StepContext for the describe / tabulate / figure / report tests: paths resolve against the
 * project root (or a given base), messages are collected, randomness is the real Philox stream.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Artifact, StepContext } from '../../engine/types.js';
import { rngFromKey, rngKeyOf } from '../../engine/rng.js';
import { fromRows } from '../../engine/table.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'render');

export interface FakeCtx extends StepContext {
  infos: string[];
  warnings: string[];
}

export function renderCtx(nodeId = 'node', baseDir = ROOT, seed = 1): FakeCtx {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    nodeId,
    seed,
    baseDir,
    threads: 1,
    infos,
    warnings,
    resolvePath: (p: string) => path.resolve(baseDir, p),
    rng: (stream?: string | number) => rngFromKey(rngKeyOf(seed, nodeId, stream)),
    rngKey: (stream?: string | number) => rngKeyOf(seed, nodeId, stream),
    info: (m: string) => void infos.push(m),
    warn: (m: string) => void warnings.push(m),
    progress: () => {},
  };
}

/** A fixture JSON file under test/fixtures/render/. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** A fixture as a json artifact. */
export function jsonArtifact(name: string): Artifact {
  return { type: 'json', value: fixture(name) };
}

/** A fixture holding an array of row objects, as a table artifact. */
export function tableArtifact(name: string): Artifact {
  return { type: 'table', table: fromRows(fixture(name) as Record<string, unknown>[]) };
}

/** The UTF-8 text of a file artifact. */
export function text(a: Artifact | undefined): string {
  if (!a || a.type !== 'file') throw new Error(`expected a file artifact, got ${a ? a.type : 'nothing'}`);
  return new TextDecoder().decode(a.bytes);
}
