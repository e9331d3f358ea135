/**
 * The artifact contracts this folder reads (see DESIGN.md "Artifact contracts"), validated with zod so a
 * malformed input fails with a message naming the input, the field and the fix.
 */
import { z } from 'zod';
import { StepError } from '../../engine/types.js';

/** A number that may be missing (JSON null, or absent); NaN/Infinity cannot be JSON and arrive as null. */
const num = z.number().nullable().optional();

export const coefficientSchema = z.object({
  term: z.string(),
  estimate: z.number().nullable(),
  se: num,
  t: num,
  p: num,
  ci_low: num,
  ci_high: num,
});

/** A regression model (estimate, match-then-estimate, ...). Extra fields are allowed and ignored. */
export const modelSchema = z.object({
  y: z.string(),
  n: z.number(),
  clusters: num,
  r2: num,
  r2_within: num,
  fixed_effects: z.array(z.string()).default([]),
  vcov: z
    .object({
      type: z.string(),
      by: z.union([z.string(), z.array(z.string())]).nullable().optional(),
      /** Set by estimate with vcov: {type: wild-cluster}: {reps, weights, enumerated, impose_null}; the treatment's p is then the bootstrap p. */
      bootstrap: z.object({ reps: num, weights: z.string().optional(), enumerated: z.boolean().optional(), impose_null: z.boolean().optional() }).passthrough().optional(),
    })
    .optional(),
  coefficients: z.array(coefficientSchema).min(1),
  dropped: z.unknown().optional(),
});
export type Model = z.infer<typeof modelSchema>;
export type Coefficient = z.infer<typeof coefficientSchema>;

/** An event study (event-study step). */
export const eventStudySchema = z.object({
  y: z.string().optional(),
  n: num,
  clusters: num,
  /** The omitted (normalised) period; null for estimators without one (did-imputation; did-cs with base: varying). */
  base: z.number().nullable(),
  periods: z
    .array(
      z.object({
        period: z.number(),
        estimate: z.number().nullable(),
        se: num,
        ci_low: num,
        ci_high: num,
        base: z.boolean().optional(),
        /** event-study with vcov wild-cluster: the period's wild cluster bootstrap p and test-inversion CI. */
        p_boot: num,
        ci_boot_low: num,
        ci_boot_high: num,
      }),
    )
    .min(1),
  pretrend: z.object({ stat: num, df1: num, df2: num, p: num }).nullable().optional(),
  /** Set by event-study with vcov wild-cluster: {reps, weights, enumerated, impose_null}. */
  vcov: z.object({ bootstrap: z.object({ reps: num, weights: z.string().optional(), enumerated: z.boolean().optional(), impose_null: z.boolean().optional() }).passthrough().optional() }).passthrough().nullable().optional(),
  /** Set by the event-study step: the estimated window and whether periods beyond it were binned into its endpoints. */
  window: z.tuple([z.number(), z.number()]).optional(),
  bin_endpoints: z.boolean().optional(),
});
export type EventStudy = z.infer<typeof eventStudySchema>;

/** The placebo step's summary. */
export const placeboSummarySchema = z.object({
  observed: z.object({ estimate: z.number(), se: num, p: num }),
  /** Randomization p-value (the placebo step writes `randomization_p`; `p_randomization` is accepted too). */
  p_randomization: num,
  randomization_p: num,
  quantiles: z.record(z.string(), z.number().nullable()).optional(),
  reps: num,
  mode: z.string().optional(),
});
export type PlaceboSummary = z.infer<typeof placeboSummarySchema>;

function issues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parse `value` with `schema`, or throw a StepError naming the step, the input and the bad fields. */
export function parseArtifact<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new StepError(`input ${what} does not follow the artifact contract (DESIGN.md): ${issues(r.error)}; wire an artifact of the right kind`);
  return r.data;
}
