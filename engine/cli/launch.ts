/**
 * The entry of the `repro` command: bin/repro runs dist/engine/cli/repro.cjs, this module and the
 * no-op replay (replay.ts) bundled by scripts/build.mjs into one CommonJS file. A `repro run` whose
 * last identical request was a pure no-op is answered from its memo here — node starts a CommonJS
 * entry a few milliseconds sooner than an ES module, and one file loads sooner than a dozen — and
 * everything else imports main.js (the full CLI) as `node dist/engine/cli/main.js` would.
 *
 * Only ever run bundled (it finds main.js next to itself through the bundle's `__dirname`).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { positionalsOf, replayNoop } from './replay.js';
import { exitFlushed } from './ui.js';

/** The full CLI, next to this bundle. */
const loadMain = async (): Promise<typeof import('./main.js')> => (await import(pathToFileURL(path.join(__dirname, 'main.js')).href)) as typeof import('./main.js');

async function launch(argv: string[]): Promise<number> {
  // what main() does first, for the request the memo was recorded under (run.ts): --no-color is
  // NO_COLOR; a remote-cache credential (kept out of the environment by main) means the full path
  if (argv[0] === 'run' && positionalsOf(argv.slice(1)) !== null && process.env.REPRO_REMOTE_CACHE_HEADER === undefined) {
    if (argv.includes('--no-color')) process.env.NO_COLOR = '1';
    const code = await replayNoop(argv.slice(1));
    if (code !== null) return code;
  }
  return (await loadMain()).main(argv, { replay: false });
}

launch(process.argv.slice(2)).then(exitFlushed, async (e: unknown) => exitFlushed((await loadMain()).reportError(e, true, process.argv.includes('--json'))));
