/**
 * The validated pipeline: what engine/config produces from pipeline.yaml and the rest of the
 * engine consumes. YAML → (config: schema → normalize → rules) → PipelineSpec → graph → fingerprints → executor.
 */

/** A position in the YAML file (1-based). */
export interface SourcePos {
  line: number;
  col: number;
}

/** One input edge: the artifact `output` of node `node`. */
export interface InputRef {
  node: string;
  output: string;
}

/** One concrete node after `extends` and `foreach` are expanded. */
export interface NodeSpec {
  /** Unique id; foreach expansions are `base[value]` (e.g. `by_region[east]`), several keys `base[a,b]`. */
  id: string;
  /** The YAML key it came from (same as id unless foreach). */
  baseId: string;
  /** The foreach binding of this expansion, if any (e.g. {region: 'east'}). */
  bindings?: Record<string, unknown>;
  kind: string;
  /** Params after extends merge, foreach substitution and --set overrides, parsed by the step schema (defaults applied). */
  params: Record<string, unknown>;
  /** Inputs bound to the step's input names: one ref, or a list for `many` inputs. Optional inputs may be absent. */
  inputs: Record<string, InputRef | InputRef[]>;
  /** Project/YAML-relative directory to copy outputs to after a successful run. */
  publish?: string;
  /**
   * Files named by the step's path params, as written (normalized): relative to the YAML folder
   * (`baseDir`), or absolute. Hashed by content into the fingerprint; resolve with
   * `path.resolve(baseDir, f)`.
   */
  files: string[];
  /** Where the node is defined, for messages. */
  pos: SourcePos;
}

export interface PipelineSpec {
  /** Absolute path of the YAML. */
  file: string;
  /** Directory of the YAML (relative paths resolve against it). */
  baseDir: string;
  name: string;
  seed: number;
  /** Top-level `cache:`: the remote cache (engine/remote/); the CLI flag and env var take precedence. */
  cache?: { remote?: string; upload?: boolean };
  /** Nodes in a topological order (inputs before users), ties broken by YAML order. */
  nodes: NodeSpec[];
}

/** A `--set ID.PARAM=VALUE` override; VALUE already parsed as YAML. PARAM may be a dot path. */
export interface ParamOverride {
  id: string;
  param: string;
  value: unknown;
  /** The original command-line argument (`ID.PARAM=VALUE`), for messages. Optional. */
  arg?: string;
  /**
   * `--inherit`: also reach the steps that `extends` ID (directly or through others) and do not
   * set PARAM themselves, as an edit of ID's `with` in the YAML would. Default: ID only.
   */
  inherit?: boolean;
}
