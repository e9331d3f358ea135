/**
 * Garbage collection of the store: delete the objects that neither the current pipeline (its
 * cached nodes, and the latest successful outputs of its nodes, which `show` reads) nor the last
 * `keepRuns` recorded runs reference, the cache entries that point at a deleted object, stray
 * temp files, and all but the `keepSpecs` most recently used validated specs (one is saved per
 * pipeline file and `--set` combination; a dropped one only costs one validation), and what runs
 * moved aside to `corrupt/` (damaged objects, directories found at object paths). Holds the
 * exclusive gc lock (waits for running `repro run`s to finish).
 */
import fs from 'node:fs';
import path from 'node:path';
import { acquireGcLock } from './lock.js';
import { planSession } from './plan.js';
import type { Session } from './session.js';

export interface GcOptions {
  dryRun?: boolean;
  /** How many recent runs' outputs to keep (default 5). */
  keepRuns?: number;
  /** How many most recently used validated specs (artifacts/specs/) to keep (default 20). */
  keepSpecs?: number;
  onWait?: (pids: number[]) => void;
}

export interface GcResult {
  objectsRemoved: number;
  entriesRemoved: number;
  /** Validated specs removed from artifacts/specs/. */
  specsRemoved: number;
  /** Damaged files and folders removed from artifacts/corrupt/ (moved there by earlier runs). */
  corruptRemoved: number;
  bytesFreed: number;
  objectsKept: number;
  bytesKept: number;
  dryRun: boolean;
}

export async function gcStore(s: Session, opts: GcOptions = {}): Promise<GcResult> {
  const held = opts.dryRun ? null : await acquireGcLock(s.store.locksDir, opts.onWait);
  try {
    const keep = new Set<string>();
    const plan = await planSession(s);
    for (const n of plan) for (const r of Object.values(n.outputs ?? {})) keep.add(r.hash);
    const hist = await s.history();
    for (const [id, l] of Object.entries(hist.latest[s.spec.name] ?? {})) {
      if (s.graph.byId.has(id)) for (const r of Object.values(l.outputs)) keep.add(r.hash);
    }
    const keepRuns = opts.keepRuns ?? 5;
    for (const run of keepRuns > 0 ? hist.runs.slice(-keepRuns) : []) for (const n of run.nodes) for (const h of Object.values(n.outputs ?? {})) keep.add(h);

    const res: GcResult = { objectsRemoved: 0, entriesRemoved: 0, specsRemoved: 0, corruptRemoved: 0, bytesFreed: 0, objectsKept: 0, bytesKept: 0, dryRun: !!opts.dryRun };
    // cache entries first (an entry must never point at a missing object for long)
    for (const key of s.store.listEntries()) {
      const e = s.store.readEntry(key);
      const live = e && Object.values(e.outputs).every((r) => keep.has(r.hash));
      if (live) continue;
      const p = s.store.entryPath(key);
      try {
        res.bytesFreed += fs.statSync(p).size;
      } catch {
        /* raced */
      }
      res.entriesRemoved++;
      if (!opts.dryRun) s.store.deleteEntry(key);
    }
    for (const o of s.store.listObjects()) {
      if (keep.has(o.hash)) {
        res.objectsKept++;
        res.bytesKept += o.size;
        continue;
      }
      res.objectsRemoved++;
      res.bytesFreed += o.size;
      if (!opts.dryRun) s.store.discardObject(o.hash);
    }
    // validated specs: keep the most recently used (a cache hit touches the file's mtime)
    const specsDir = path.join(s.storeDir, 'specs');
    let specs: { p: string; t: number; size: number }[] = [];
    try {
      specs = fs
        .readdirSync(specsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => {
          const st = fs.statSync(path.join(specsDir, f));
          return { p: path.join(specsDir, f), t: st.mtimeMs, size: st.size };
        })
        .sort((a, b) => b.t - a.t || (a.p < b.p ? -1 : 1));
    } catch {
      /* no specs yet */
    }
    for (const sp of specs.slice(Math.max(0, opts.keepSpecs ?? 20))) {
      res.specsRemoved++;
      res.bytesFreed += sp.size;
      if (!opts.dryRun) fs.rmSync(sp.p, { force: true });
    }
    const corruptDir = path.join(s.storeDir, 'corrupt');
    let corrupt: string[] = [];
    try {
      corrupt = fs.readdirSync(corruptDir);
    } catch {
      /* none */
    }
    for (const f of corrupt) {
      res.corruptRemoved++;
      try {
        const st = fs.lstatSync(path.join(corruptDir, f));
        if (st.isFile()) res.bytesFreed += st.size;
      } catch {
        /* raced */
      }
      if (!opts.dryRun) fs.rmSync(path.join(corruptDir, f), { recursive: true, force: true });
    }
    if (!opts.dryRun) {
      s.store.sweepTemp();
      const { withMutex } = await import('./lock.js');
      s.stat.prune(); // entries of files that are gone (removed objects, moved data) would only grow the cache
      withMutex(s.store.locksDir, 'statcache', () => s.stat.save());
    }
    return res;
  } finally {
    held?.release();
  }
}
