/**
 * What the coordinator and the workers put into Redis (BullMQ job data and return values).
 * Only references travel here — cache keys, output hashes, small encoded ctx.map chunks; the
 * artifacts themselves go through the store / an ArtifactTransport (transport.ts).
 */
import type { OutputRef } from '../store.js';

/** A node to run: the worker opens the same pipeline (`file` relative to its --dir) and checks the key. */
export interface NodeJobData {
  v: 1;
  /** Pipeline YAML, relative to the coordinator's working directory (absolute when outside it). */
  file: string;
  /** The same, absolute (used when `file` is not found under the worker's --dir: same machine). */
  abs: string;
  /** `--set` arguments as typed (re-parsed by the worker). */
  set: string[];
  node: string;
  /** Fingerprint computed by the coordinator; the worker must compute the same. */
  key: string;
  /** `--force`d: run even if the worker finds the entry. */
  forced: boolean;
  /** Output refs of the upstream nodes the node reads (node id → output → ref). */
  inputs: Record<string, Record<string, OutputRef>>;
  /** At most this many chunk jobs per ctx.map call (consecutive chunks are grouped). */
  mapJobs: number;
  /** Attempts of each chunk job. */
  attempts: number;
}

/** What a node job returns. */
export interface NodeJobResult {
  /** `ran`, or `cached` when the worker found the entry already made (another run, an earlier attempt). */
  status: 'ran' | 'cached';
  ms: number;
  warnings: string[];
  transcript?: string;
  /** host:pid of the worker. */
  worker: string;
}

/** Progress a worker reports for a node job (job.updateProgress). */
export interface NodeProgress {
  done: number;
  total: number;
  label?: string;
  info?: string;
  warn?: string;
}

/** Consecutive ctx.map chunks as one job. */
export interface ChunkJobData {
  v: 1;
  /** Step module: path relative to the project root (or absolute when outside it). */
  module: string;
  fn: string;
  /** Redis key of the encoded shared data (stored once per map call). */
  shared: string;
  /** Encoded chunks (codec.ts), base64. */
  chunks: string;
  /** Position of the first chunk among the chunks the call sent out, and their number (for messages). */
  first: number;
  sent: number;
  /** Node the chunks belong to (for messages and progress). */
  node: string;
}

/** Node job id: the cache key (dedups a rerun's job with one still queued from a killed coordinator). */
export const nodeJobId = (key: string): string => `n-${key}`;
