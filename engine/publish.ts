/**
 * `publish:` — copy a node's outputs out of the store after it ran or was found cached.
 *
 * Layout (P = the publish path, relative to the YAML, used as a file-name prefix):
 * - an output named like its extension (tabulate's `md`, `tex`, `csv`, `html`; figure's `svg`,
 *   `png`), or the node's only output, goes to `P.<ext>` — e.g. `results/table7.md`,
 *   `results/figure1.svg`, `results/report.html`;
 * - an output named `<stem>_<ext>` after its own extension goes to `P.<stem>.<ext>` — e.g.
 *   tabulate's `comparison_md` → `results/table7.comparison.md` (not `.comparison_md.md`), unless
 *   another output already maps to that file;
 * - any other output goes to `P.<output>.<ext>` — e.g. `results/table7.comparison.json`,
 *   `results/psm.sample.csv`.
 * Output names are unique, so two outputs never map to the same file.
 *
 * Extensions: file artifacts keep theirs, tables are written as CSV, json as pretty-printed JSON
 * (sorted keys). A published file is rewritten only when missing or different; the stat cache
 * remembers what was published so an all-cached run does not re-render it.
 *
 * Published files stay inside the project folder (the YAML's folder), checked on real paths: a
 * `publish:` path, or a folder on the way (`results` a symlink), that leads outside it is an error
 * naming where it leads, unless the run opts in with `repro run --allow-outside`
 * (`allowOutside` in the library API).
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256 } from './canonical.js';
import { isInside, realPathOf, writeFileAtomic } from './fsutil.js';
import { contractError } from './errors.js';
import type { StatCache } from './statcache.js';
import { publishExt, type OutputRef, type Store } from './store.js';

/** Destination file of each output (absolute). */
export function publishTargets(baseDir: string, publish: string, outputs: Record<string, OutputRef>): Record<string, string> {
  const base = path.resolve(baseDir, publish);
  const names = Object.keys(outputs);
  const out: Record<string, string> = {};
  for (const n of names) {
    const ext = publishExt(outputs[n]!);
    out[n] = n === ext || names.length === 1 ? `${base}.${ext}` : `${base}.${n}.${ext}`;
  }
  // `<stem>_<ext>` → P.<stem>.<ext> when no other output takes that file
  const taken = new Set(Object.values(out));
  for (const n of names) {
    const ext = publishExt(outputs[n]!);
    if (names.length === 1 || !n.endsWith(`_${ext}`) || n === `_${ext}`) continue;
    const short = `${base}.${n.slice(0, -ext.length - 1)}.${ext}`;
    if (taken.has(short)) continue;
    taken.delete(out[n]!);
    taken.add(short);
    out[n] = short;
  }
  return out;
}

/** The bytes an output is published as. */
export async function publishedBytes(store: Store, ref: OutputRef): Promise<Uint8Array> {
  const bytes = store.getBytes(ref.hash);
  if (ref.type === 'file') return bytes;
  if (ref.type === 'json') return new TextEncoder().encode(`${JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2)}\n`);
  const [{ arrowToTable }, { tableToCsv }] = await Promise.all([import('./arrow.js'), import('./csv.js')]);
  return new TextEncoder().encode(tableToCsv(arrowToTable(bytes)));
}

/**
 * Publish a node's outputs; returns the files written (empty when all were already up to date).
 * Source hash recorded in the stat cache ('p' namespace) lets cached runs skip unchanged files.
 */
export async function publishOutputs(
  store: Store,
  stat: StatCache | null,
  baseDir: string,
  publish: string,
  outputs: Record<string, OutputRef>,
  opts: { allowOutside?: boolean } = {},
): Promise<string[]> {
  const written: string[] = [];
  const targets = publishTargets(baseDir, publish, outputs);
  for (const dest of Object.values(targets)) checkInsideProject(baseDir, publish, dest, store.dir, !!opts.allowOutside);
  for (const [name, dest] of Object.entries(targets)) {
    const ref = outputs[name]!;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dest);
    } catch {
      st = undefined;
    }
    if (st && stat) {
      const hit = stat.get('p', dest, st);
      if (hit && hit.x === ref.hash) continue;
    }
    const bytes = await publishedBytes(store, ref);
    const want = sha256(bytes);
    let same = false;
    if (st && st.size === bytes.length) {
      try {
        same = sha256(fs.readFileSync(dest)) === want;
      } catch {
        same = false;
      }
    }
    if (!same) {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      writeFileAtomic(dest, bytes);
      written.push(dest);
    }
    // we wrote (or just compared) the file ourselves: not racy, record it
    stat?.set('p', dest, fs.statSync(dest), want, ref.hash, Number.POSITIVE_INFINITY);
  }
  return written;
}

/** Where variant runs publish, relative to the pipeline file's folder. */
export const VARIANTS_DIR = 'results/variants';

/** Variant names: a safe path component (they name the folder `results/variants/NAME/`). */
const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Why `name` is not a valid variant name (undefined when it is). */
export function variantNameProblem(name: string): string | undefined {
  if (VARIANT_NAME.test(name) && !name.endsWith('.')) return undefined;
  return `"${name}" is not a valid variant name: use 1–64 letters, digits, _ . - (starting with a letter or digit, not ending with a dot); it names the folder ${VARIANTS_DIR}/NAME/`;
}

/**
 * The publish path of a node in variant `name`: `results/X` → `results/variants/NAME/X`, any other
 * P → `results/variants/NAME/P` (P is normalized and inside the project, see rules.ts).
 */
export function variantPublishPath(publish: string, name: string): string {
  const rest = publish.startsWith('results/') ? publish.slice('results/'.length) : publish;
  return `${VARIANTS_DIR}/${name}/${rest}`;
}

/**
 * The name of a `--set` run without `--variant`: `set-` and 8 hex digits of the overrides as given
 * (and `--inherit`): the same `--set` arguments give the same name, so rerunning updates the same folder.
 */
export function autoVariantName(overrides: readonly { id: string; param: string; value: unknown; inherit?: boolean }[]): string {
  return `set-${sha256(canonicalJson(overrides.map((o) => (o.inherit ? [o.id, o.param, o.value, 'inherit'] : [o.id, o.param, o.value])))).slice(0, 8)}`;
}

/** A copy of a spec whose nodes publish under `results/variants/NAME/` (publish is not part of any fingerprint). */
export function withVariant<S extends { nodes: { publish?: string }[] }>(spec: S, name: string): S {
  return { ...spec, nodes: spec.nodes.map((n) => (n.publish === undefined ? n : { ...n, publish: variantPublishPath(n.publish, name) })) };
}

/**
 * Throw unless `dest`'s folder, with symlinks resolved, is inside the project folder `baseDir`
 * (also resolved; unless `allowOutside`) and outside the store. The file itself is replaced by a
 * rename, which never follows a symlink.
 */
export function checkInsideProject(baseDir: string, publish: string, dest: string, storeDir?: string, allowOutside = false): void {
  const root = realPathOf(baseDir);
  const real = path.join(realPathOf(path.dirname(dest)), path.basename(dest));
  // never among the store's own files (a `results` symlink into artifacts/), opt-in or not
  if (storeDir !== undefined && isInside(realPathOf(storeDir), real)) {
    throw contractError(`publish: ${publish} would write ${real}, inside the store ${realPathOf(storeDir)} (through a symlink); publish to a folder outside the store`);
  }
  if (allowOutside || isInside(root, real)) return;
  throw contractError(
    `publish: ${publish} would write ${real}, outside the project folder ${root}` +
      `${real !== path.resolve(dest) ? ` (${path.resolve(dest)} leads there through a symlink)` : ''}; ` +
      `publish inside the project, or opt in with \`repro run --allow-outside\``,
  );
}
