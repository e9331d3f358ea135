/**
 * The flags of `repro run`, in a module of their own: the no-op replay (replay.ts) scans its
 * arguments with them without loading the argument parser (args.ts, node:util).
 */
import type { FlagSpec } from './args.js';

/** Flags of `run --executor bullmq` (see engine/distributed/coordinator.ts). */
export const DIST_VALUES = ['executor', 'redis', 'retries', 'map-jobs', 'distribute', 'redis-timeout'];

/** The flags of `repro run` (run.ts, replay.ts). */
export const RUN_FLAGS = {
  values: ['jobs', 'variant', 'remote-cache', 'remote-upload', ...DIST_VALUES],
  repeat: ['target', 'force', 'set'],
  bools: ['dry-run', 'keep-going', 'json', 'verbose', 'no-spec-cache', 'force-jobs', 'inherit', 'allow-outside'],
} satisfies FlagSpec;
