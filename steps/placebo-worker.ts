/**
 * Worker-thread entry of the `placebo` step: runs the replicates whose stream keys it is given
 * (stats/placebo.ts runReplicates) and posts back the results. Loaded as compiled JS via
 * compiledUrl('steps/placebo-worker.ts').
 *
 * Messages to the parent: {type: 'progress', done} and finally {type: 'done', estimate, se, p}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runReplicates, type PlaceboProblem } from '../stats/placebo.js';

interface Job {
  problem: PlaceboProblem;
  keys: string[];
}

if (parentPort) {
  const port = parentPort;
  const { problem, keys } = workerData as Job;
  try {
    const res = runReplicates(problem, keys, (done) => port.postMessage({ type: 'progress', done }));
    port.postMessage({ type: 'done', estimate: res.estimate, se: res.se, p: res.p }, [res.estimate.buffer as ArrayBuffer, res.se.buffer as ArrayBuffer, res.p.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).message });
  }
}
