/**
 * Where the project lives, and where compiled code is, whether we run from dist/ (node) or from
 * the TypeScript sources (vitest). Worker threads must always load compiled JavaScript.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
/** True when this module runs from dist/. */
export const RUNNING_COMPILED = here.split(path.sep).includes('dist');
/** The project root (the folder with package.json). */
export const PROJECT_ROOT = RUNNING_COMPILED ? path.resolve(here, '..', '..') : path.resolve(here, '..');
/** The compiled-code root. */
export const DIST_ROOT = path.join(PROJECT_ROOT, 'dist');

/**
 * URL of the compiled JS module for a project-relative source path, e.g.
 * `compiledUrl('steps/placebo-worker.ts')` → file:///…/dist/steps/placebo-worker.js.
 * Use it for `new Worker(...)`: it works from dist/ and under vitest (after `npm run build`).
 */
export function compiledUrl(sourceRel: string): URL {
  const js = sourceRel.replace(/\.ts$/, '.js');
  return pathToFileURL(path.join(DIST_ROOT, js));
}
