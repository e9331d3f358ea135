/**
 * `bacon`: Goodman-Bacon (2021) decomposition of the TWFE DID coefficient of `y` on the treatment
 * (unit and time fixed effects) into its 2×2 comparisons (stats/bacon.ts), as R
 * `bacondecomp::bacon(y ~ treat, data, id_var, time_var)`.
 *
 * @example
 * bacon:
 *   kind: bacon
 *   in: panel.panel
 *   with: {y: so2, unit: city_code, time: year, adopt: adopt}     # or treat: did
 *
 * Outputs: `pairs` (table: type ∈ {earlier_vs_later, later_vs_earlier, treated_vs_never}, treated
 * cohort, control cohort (empty = never treated), estimate, weight) and `summary` (JSON: weight,
 * weighted mean and number of pairs per type, the TWFE coefficient, and Σ w·β as a check).
 * The panel must be balanced (an error says which unit is not), unless `balance: drop_units`, which
 * keeps the units observed in every period (listed in `summary.dropped.unbalanced_units`).
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { makeTable, takeRows } from '../engine/table.js';
import { baconDecomposition, UnbalancedPanelError } from '../stats/bacon.js';
import { didParams, prepareDid } from './common/staggered-input.js';

export const baconParams = z
  .strictObject({
    ...didParams,
    balance: z
      .enum(['error', 'drop_units'])
      .default('error')
      .describe('an unbalanced panel (after dropping rows with a missing value) is an error (default), or drop_units: keep only the units observed in every period (reported)'),
  })
  .refine((p) => p.adopt !== undefined || p.treat !== undefined, { message: 'give adopt (first treated period) or treat (0/1 column)' });

export default defineStep({
  kind: 'bacon',
  doc: 'Goodman-Bacon decomposition of the TWFE DID into 2×2 comparisons (earlier vs later, later vs earlier, treated vs never) with their weights; balanced panels.',
  params: baconParams,
  inputs: { panel: { type: 'table', doc: 'a balanced panel' } },
  outputs: { pairs: { type: 'table', contract: CONTRACT.baconPairs }, summary: { type: 'json', contract: CONTRACT.bacon } },
  cpu: true,
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    let d = prepareDid(art.table, params);
    const droppedUnits: string[] = [];
    if (params.balance === 'drop_units') {
      // keep the units observed in every period; repeat in case a period disappears with them
      for (let iter = 0; iter < 10; iter++) {
        const T = d.panel.times.length;
        const cnt = new Int32Array(d.unit.nlevels);
        for (let i = 0; i < d.y.length; i++) cnt[d.unit.codes[i]!]!++;
        const bad = new Set<number>();
        for (let u = 0; u < cnt.length; u++) if (cnt[u] !== T) bad.add(u);
        if (bad.size === 0) break;
        bad.forEach((u) => droppedUnits.push(d.unitLabel(u)));
        const keep: number[] = [];
        for (let i = 0; i < d.y.length; i++) if (!bad.has(d.unit.codes[i]!)) keep.push(d.rows[i]!);
        if (keep.length === 0) throw new StepError(`params.balance = drop_units: no unit is observed in every period`);
        const { filtered, missing } = d;
        d = prepareDid(takeRows(d.table, keep), { ...params, where: undefined, exclude: undefined });
        d = { ...d, filtered, missing };
      }
      if (droppedUnits.length) ctx.warn(`balance: drop_units dropped ${droppedUnits.length} unit(s) not observed in every period: ${droppedUnits.slice(0, 10).join(', ')}${droppedUnits.length > 10 ? ', …' : ''}`);
    }
    let r;
    try {
      r = baconDecomposition({ y: d.y, unit: d.unit, panel: d.panel, unitLabel: d.unitLabel });
    } catch (e) {
      if (e instanceof UnbalancedPanelError)
        throw new StepError(`${e.message}. Set params.balance: drop_units to keep the units observed in every period, or restrict the sample with where/exclude`);
      throw new StepError(`${(e as Error).message}`);
    }
    const pairs = makeTable({
      type: r.pairs.map((p) => p.type),
      treated: Float64Array.from(r.pairs, (p) => p.treated),
      control: Float64Array.from(r.pairs, (p) => (p.control === null ? NaN : p.control)),
      estimate: Float64Array.from(r.pairs, (p) => p.estimate),
      weight: Float64Array.from(r.pairs, (p) => p.weight),
    });
    const summary = {
      y: params.y,
      n: d.y.length,
      units: r.nUnits,
      periods: r.nPeriods,
      twfe: r.twfe,
      weighted_sum: r.pairs.reduce((s, p) => s + p.weight * p.estimate, 0),
      types: r.summary,
      cohorts: d.panel.cohorts,
      never_treated: d.panel.nNever,
      dropped: { missing: d.missing, filtered: d.filtered, unbalanced_units: droppedUnits },
    };
    return { pairs: { type: 'table', table: pairs }, summary: { type: 'json', value: summary } };
  },
});
