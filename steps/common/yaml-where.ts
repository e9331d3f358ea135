/**
 * Where a step's param sits in the pipeline YAML, for error messages: `pipelines/x.yaml:42:11`.
 *
 * Steps see only their validated params, not the YAML. When a step fails on a param's *value* (a
 * stale data fix, a join key missing in one input), {@link ParamError} carries the param path and
 * {@link withYamlLine} prefixes the message with the file:line:col of that param (or of the nearest
 * enclosing node that exists, e.g. the node itself when the param comes from `extends` or `--set`).
 * The YAML file comes from `ctx.run.file` (not part of any fingerprint; absent in worker threads, then
 * the message is left as it is). Reading the YAML happens only on the error path.
 *
 * @example
 * throw new ParamError(['fixes', 2], `param fixes[2]: stale fix …`);
 * // caught in run(): throw await withYamlLine(ctx, e) → "pipelines/real.yaml:88:11: param fixes[2]: …"
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StepError, type StepContext } from '../../engine/types.js';

/** A StepError about one param (path below `with:`), to be located in the YAML by {@link withYamlLine}. */
export class ParamError extends StepError {
  constructor(
    readonly param: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** `file:line:col` of `with.<param>` of the node in the pipeline YAML, or '' when unknown. */
export async function yamlWhere(ctx: StepContext, param: (string | number)[]): Promise<string> {
  const file = ctx.run?.file;
  if (!file) return '';
  try {
    const text = readFileSync(path.resolve(file), 'utf8');
    const { parseDocument, LineCounter } = await import('yaml');
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc });
    const id = ctx.nodeId.replace(/\[.*\]$/, '');
    const paths: (string | number)[][] = [];
    for (let k = param.length; k >= 0; k--) paths.push(['steps', id, 'with', ...param.slice(0, k)]);
    paths.push(['steps', id]);
    for (const p of paths) {
      const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) {
        const { line, col } = lc.linePos(node.range[0]);
        return `${file}:${line}:${col}`;
      }
    }
  } catch {
    // an unreadable or unparsable file: no location (the engine validated it before the run)
  }
  return '';
}

/** A ParamError rethrown as a StepError whose message starts with the param's YAML location; other errors unchanged. */
export async function withYamlLine(ctx: StepContext, e: unknown): Promise<unknown> {
  if (!(e instanceof ParamError)) return e;
  const where = await yamlWhere(ctx, e.param);
  return where ? new StepError(`${where}: ${e.message}`) : new StepError(e.message);
}
