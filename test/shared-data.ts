/**
 * The one way tests reach the shared data folder (`../shared/data` next to the project: real data
 * sets that are not redistributable, read in place, never copied into the repo). A test or describe
 * that reads it declares the files or folders it needs and is skipped, with a message naming what
 * is missing, when they are absent (a fresh clone, CI).
 *
 * The paper's text (`../shared/seed`, read by the transcription check of data/paper-tables.json)
 * is handled the same way by {@link needsSharedSeed}.
 *
 * `REPRO_SHARED_DATA=/some/dir` (and `REPRO_SHARED_SEED`) point the tests at another folder
 * (`REPRO_SHARED_DATA=/nonexistent REPRO_SHARED_SEED=/nonexistent npx vitest run` checks that every
 * such test skips cleanly).
 *
 * @example
 * const mpdta = needsSharedData('mpdta/mpdta.csv');
 * mpdta.describe('event-study vs R', () => { ... readFileSync(sharedData('mpdta/mpdta.csv')) ... });
 * mpdta.it('one test', () => { ... });
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { PROJECT_ROOT } from '../engine/paths.js';

/** Absolute path of the shared data folder. */
export const SHARED_DATA = process.env.REPRO_SHARED_DATA ? path.resolve(process.env.REPRO_SHARED_DATA) : path.resolve(PROJECT_ROOT, '..', 'shared', 'data');

/** Absolute path of the folder holding the paper's text (`../shared/seed`). */
export const SHARED_SEED = process.env.REPRO_SHARED_SEED ? path.resolve(process.env.REPRO_SHARED_SEED) : path.resolve(PROJECT_ROOT, '..', 'shared', 'seed');

/** Absolute path of a file or folder in the shared data folder. */
export const sharedData = (rel: string): string => path.join(SHARED_DATA, rel);

/** The given files or folders (relative to SHARED_DATA) that are absent. */
export const missingSharedData = (...rels: string[]): string[] => rels.filter((r) => !existsSync(sharedData(r)));

/** Whether all the given files or folders (relative to SHARED_DATA) exist. */
export const hasSharedData = (...rels: string[]): boolean => missingSharedData(...rels).length === 0;

type Body = () => unknown;

/**
 * `describe` and `it` that run only when the given shared files or folders exist; otherwise they
 * are skipped, their title says which are missing, and one warning is printed.
 */
export function needsSharedData(...rels: string[]): SharedGate {
  return gate(SHARED_DATA, rels);
}

/** As {@link needsSharedData}, for files in SHARED_SEED (the paper's text). */
export function needsSharedSeed(...rels: string[]): SharedGate {
  return gate(SHARED_SEED, rels);
}

export interface SharedGate {
  present: boolean;
  missing: string[];
  describe: (title: string, fn: () => void) => void;
  it: (title: string, fn: Body, timeout?: number) => void;
}

function gate(root: string, rels: string[]): SharedGate {
  const missing = rels.filter((r) => !existsSync(path.join(root, r)));
  const present = missing.length === 0;
  const note = present ? '' : ` [skipped: ${root} lacks ${missing.join(', ')}]`;
  let warned = false;
  const warn = (title: string): void => {
    if (present || warned) return;
    warned = true;
    console.warn(`skipped "${title}": ${root} lacks ${missing.join(', ')} (the shared data are not redistributable)`);
  };
  return {
    present,
    missing,
    describe: (title, fn) => {
      warn(title);
      describe.skipIf(!present)(title + note, fn);
    },
    it: (title, fn, timeout) => {
      warn(title);
      it.skipIf(!present)(title + note, fn, timeout);
    },
  };
}
