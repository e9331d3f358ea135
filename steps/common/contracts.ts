/**
 * The study's artifact contracts: their names (what producers declare on an output and consumers
 * list in `accepts`; the engine compares the names only and knows no economics) and the TypeScript
 * shape of each JSON contract, which producers check with `satisfies` (DESIGN.md "Artifact
 * contracts").
 *
 * @example
 * outputs: { model: { type: 'json', contract: CONTRACT.model } },
 * inputs: { models: { type: 'json', many: true, accepts: [CONTRACT.model] } },
 * return { model: { type: 'json', value: m satisfies ModelArtifact } };
 */

export const CONTRACT = {
  /** A regression: coefficients with SEs (estimate, psm-did, the overall ATT of DID estimators). */
  model: 'model',
  /** Coefficients by period relative to treatment, with their covariance. */
  eventStudy: 'event-study',
  /** Summary of a randomization-inference placebo. */
  placebo: 'placebo',
  /** One row per placebo replicate (estimate, se, p). */
  placeboReplicates: 'placebo-replicates',
  /** Covariate balance before/after matching. */
  matchBalance: 'match-balance',
  /** A "paper vs this run" comparison of tabulate/describe. */
  paperComparison: 'paper-comparison',
  /** What a data step did to the rows (clean, merge-roster, join). */
  dataReport: 'data-report',
  /** A Goodman-Bacon decomposition summary (weights and weighted means per comparison type). */
  bacon: 'bacon',
  /** The 2×2 comparisons of a Goodman-Bacon decomposition (table: type, treated, control, estimate, weight). */
  baconPairs: 'bacon-pairs',
  /** HonestDiD robust confidence sets by M̄ / M (table: restriction, bound, M, lb, ub, method). */
  honestSensitivity: 'honest-sensitivity',
  /** HonestDiD's original (non-robust) CI of the target (json: estimate, se, lb, ub). */
  honestOriginal: 'honest-original',
  /** Cell corrections applied by clean (`fixes`), for the report's provenance. */
  dataFixes: 'data-fixes',
  /** The program and version of a `script` node (its `tool` output), listed by the report. */
  scriptTool: 'script-tool',
  /** A specification curve's summary (spec-curve `summary`): shares, median, range, the base. */
  specCurve: 'spec-curve',
  /** One row per specification of a spec curve (table: spec, one column per choice, estimate, se, ci_low, ci_high, p, n, base, highlight). */
  specCurveSpecs: 'spec-curve-specs',
} as const;

export type ContractName = (typeof CONTRACT)[keyof typeof CONTRACT];

/** One coefficient of a model. */
export interface Coefficient {
  term: string;
  estimate: number;
  se: number;
  t: number | null;
  p: number | null;
  ci_low: number;
  ci_high: number;
}

/** `model` (DESIGN.md): the treatment first, `_cons` in the reghdfe convention. */
export interface ModelArtifact {
  y: string;
  n: number;
  clusters: number | null;
  r2: number | null;
  r2_within: number | null;
  fixed_effects: string[];
  vcov: { type: string; by: string[] | null; [k: string]: unknown };
  coefficients: Coefficient[];
  dropped: Record<string, unknown>;
  [k: string]: unknown;
}

/** One period of an event study; the base period has estimate 0 and `base: true`. */
export interface EventPeriod {
  period: number;
  estimate: number | null;
  se: number | null;
  ci_low: number | null;
  ci_high: number | null;
  base: boolean;
  [k: string]: unknown;
}

/** `event-study` (DESIGN.md): `vcov.matrix` is the covariance of the non-base estimates in `vcov.periods` order. */
export interface EventStudyArtifact {
  y: string;
  n: number;
  clusters: number | null;
  base: number;
  estimator: string;
  periods: EventPeriod[];
  vcov: { type: string; by: string[] | null; periods: number[]; matrix: number[][]; [k: string]: unknown };
  pretrend: { stat: number; df1: number; df2: number; p: number; [k: string]: unknown } | null;
  [k: string]: unknown;
}

/** `placebo`: observed estimate, randomization p, quantiles of the placebo distribution. */
export interface PlaceboSummary {
  y: string;
  treat: string;
  reps: number;
  valid: number;
  observed: { estimate: number; se: number; p: number };
  randomization_p: number;
  quantiles: Record<string, number>;
  [k: string]: unknown;
}

/** `script-tool`: a script node's program and the output of its `version` command (null without one, or when skipped). */
export interface ScriptToolArtifact {
  node: string;
  program: string;
  version_command: string | null;
  version: string | null;
  /** Why the node was skipped (if_missing: skip). */
  skipped?: string;
  [k: string]: unknown;
}

/** `spec-curve` (the summary of a spec-curve node): estimates summarized over the specifications with one. */
export interface SpecCurveSummary {
  treat: string;
  /** Specifications in the grid (rows of `specs`). */
  specs: number;
  /** Those with an estimate. */
  valid: number;
  /** Groups of shared sample and fixed effects (each demeaned once). */
  groups: number;
  level: number;
  /** Significance level of share_significant (p < alpha). */
  alpha: number;
  /** The declared choices and their printed values (the specs table's columns). */
  choices: Record<string, string[]>;
  /** The base specification: its choice values, fit, and whether it is a row of `specs` (`spec`). */
  base: { in_grid: boolean; spec: number | null; values: Record<string, string>; estimate: number; se: number; ci_low: number; ci_high: number; p: number; n: number; why: string | null };
  /** Numbers (1-based `spec`) of the highlighted specifications. */
  highlight: number[];
  share_same_sign: number;
  share_significant: number;
  share_significant_same_sign: number;
  median: number;
  range: [number, number];
  [k: string]: unknown;
}
