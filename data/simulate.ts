/**
 * The SIMULATED demo panel: 287 cities × 2005–2022, calibrated to Table 2 of the paper and with
 * outcomes generated from the paper's own printed estimates, so that a correct pipeline recovers them.
 * It is NOT real data. `npm run simulate` writes data/demo/city-panel.csv (deterministic: every draw
 * comes from engine/rng.ts keyed by (seed, 'simulate', stream); no Math.random, no clock).
 *
 * Sample (287 units, from data/cities.csv): the prefecture-level cities (地级市) and the four
 * municipalities that existed as such throughout 2005–2022 (drops the abolished 巢湖/莱芜 and the
 * 12 units set up or converted from 地区 after 2005), minus 拉萨 and 陇南 ("severe missing data"),
 * plus every prefecture-level unit of Table 1 that would otherwise be left out (海东, 德宏, 红河, 喀什).
 * Treatment: adoption year = first Table 1 year of the unit's own code (county-level zones and
 * 雄安 do not treat their parent prefecture: merge-roster's default `county_zones: ignore`).
 *
 * Data-generating process (units: Table 2's; so2 in 10k t, pgdp in 10k yuan, indus in %, urb, fin, fis ratios):
 *   X_it  = controls: a city level (independent of treatment, size, region and resource type), a
 *           common trend (additive, or proportional for the log-normal pgdp, fin, fis) and i.i.d. noise,
 *           so their within-city variation carries nothing the heterogeneous, dynamic effect could
 *           leak into (the printed control coefficients are recovered);
 *   so2   = L_i + λ_t + s_it + θ'(X_it − mean_t X_i) + τ_i·g(t − adopt_i)·did_it + ε_it (floored at 0),
 *           θ = Table 3 col. 2; τ_i = a + region + resource-based + large-city terms; g(e) = 0.8 … 1.2
 *           a build-up over event time; s_it = 2020–2022 rises of the small/medium and the
 *           (non-)resource-based cities; ε_it independent, SD ∝ L_i (capped) with region and size
 *           factors, calibrated to the printed SEs and R² (≈ 0.75). τ's terms and s are fitted (see
 *           {@link fitEffects}) so that the two-way-FE estimand of Table 3 col. 2 and of every split of
 *           Tables 6, 7 and 8 is within a fraction of the printed SE of the printed DID;
 *   co2, green_patents, so2_int: same structure with a constant effect equal to the printed DID of
 *           Table 4 cols 2–3 and Table 5 (printed signs kept: +302.281 for CO2 and +0.003 for SO2
 *           intensity), θ their printed control coefficients, noise to their printed SEs.
 * There are no pre-trends: the effect starts in the adoption year. Missing cells are placed at
 * random so each variable's N is close to Table 2's N. The constants are in {@link SIM_TUNING}.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rngFromKey, rngKeyOf } from '../engine/rng.js';
import { readCsvRecords } from '../steps/common/csv-records.js';
import type { Rng } from '../engine/types.js';

export const SIM_SEED = 20250217;
export const YEARS = Array.from({ length: 18 }, (_, k) => 2005 + k);

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = here.split(path.sep).includes('dist') ? path.resolve(here, '..', '..') : path.resolve(here, '..');

/** Printed estimates used as targets: DID coefficient and its SE, per table/column. */
export const TARGETS = {
  baseline: { b: -2.345, se: 0.298 }, // Table 3 (2)
  no_municipalities: { b: -4.479, se: 0.697 }, // Table 4 (4)
  pre_covid: { b: -1.352, se: 0.224 }, // Table 4 (5), years <= 2019
  resource: { b: -1.439, se: 0.623 }, // Table 6 (1)
  non_resource: { b: -3.249, se: 0.336 }, // Table 6 (2)
  east: { b: -2.197, se: 0.395 }, // Table 7
  central: { b: -1.155, se: 0.454 },
  west: { b: -5.043, se: 1.245 },
  northeast: { b: -1.502, se: 0.399 },
  large: { b: -2.266, se: 0.463 }, // Table 8
  small: { b: 0.571, se: 0.272 },
  co2: { b: 302.281, se: 68.323 }, // Table 4 (2)
  so2_int: { b: 0.003, se: 0.0005 }, // Table 4 (3), printed (0.000)
  green_patents: { b: 640.738, se: 56.615 }, // Table 5
} as const;

/** Table 2 of the paper: N, mean, SD, min, median, max. */
export const TABLE2: Record<string, { n: number; mean: number; sd: number; min: number; median: number; max: number }> = {
  so2: { n: 5001, mean: 4.32, sd: 5.37, min: 0.0, median: 2.53, max: 68.32 },
  did: { n: 5364, mean: 0.08, sd: 0.27, min: 0, median: 0, max: 1 },
  pgdp: { n: 5185, mean: 4.59, sd: 3.46, min: 0.01, median: 3.7, max: 46.77 },
  indus: { n: 4920, mean: 46.23, sd: 11.55, min: 8.85, median: 46.47, max: 90.97 },
  urb: { n: 5008, mean: 0.52, sd: 0.17, min: 0.11, median: 0.51, max: 1.0 },
  fin: { n: 5174, mean: 0.97, sd: 0.62, min: 0.08, median: 0.79, max: 7.45 },
  fis: { n: 5173, mean: 0.19, sd: 0.13, min: 0.04, median: 0.16, max: 2.35 },
};

/** Control coefficients of the printed regressions (order pgdp, indus, urb, fin, fis). */
const THETA = {
  so2: [-0.179, 0.076, -1.59, 0.186, 2.407],
  co2: [90.351, -17.622, 946.323, -33.557, -705.073],
  so2_int: [0.0, 0.0, -0.004, 0.002, -0.004],
  green_patents: [85.462, -7.088, -672.573, 130.35, -464.84],
};

/** Missing cells per variable (out of 287 × 18 = 5166): Table 2's N where attainable. */
const MISSING: Record<string, number> = { so2: 5166 - 5001, indus: 5166 - 4920, urb: 5166 - 5008, pgdp: 12, fin: 15, fis: 16, green_patents: 150 };

export interface SimCity {
  code: string;
  name_zh: string;
  name_pinyin: string;
  province: string;
  region: 'east' | 'central' | 'west' | 'northeast';
  resource_based: number;
  municipality: number;
  adopt: number; // NaN = never
}


/** The 287 sample units with region, resource type, municipality flag and adoption year. */
export function sampleCities(root = ROOT): SimCity[] {
  const reg = readCsvRecords(path.join(root, 'data/cities.csv'));
  const roster = readCsvRecords(path.join(root, 'data/pilot-zones.csv'));
  const adopt = new Map<string, number>();
  for (const r of roster) {
    if (r.level !== 'prefecture' && r.level !== 'municipality') continue; // county_zones: ignore
    adopt.set(r.code!, Math.min(adopt.get(r.code!) ?? Infinity, Number(r.year)));
  }
  const EXCLUDED = new Set(['540100', '621200']); // 拉萨, 陇南: severe missing data in the yearbooks
  const out: SimCity[] = [];
  for (const r of reg) {
    const base =
      (r.unit_type === 'city' || r.unit_type === 'municipality') &&
      r.abolished === '' &&
      (r.established === '' || Number(r.established) <= 2005) &&
      !EXCLUDED.has(r.code!);
    if (!base && !adopt.has(r.code!)) continue;
    if (r.abolished !== '') continue;
    out.push({
      code: r.code!,
      name_zh: r.name_zh!,
      name_pinyin: r.name_pinyin!,
      province: r.province!,
      region: r.region as SimCity['region'],
      resource_based: Number(r.resource_based),
      municipality: Number(r.municipality),
      adopt: adopt.get(r.code!) ?? NaN,
    });
  }
  if (out.length !== 287) throw new Error(`sampleCities: expected 287 units, got ${out.length}; check data/cities.csv and data/pilot-zones.csv`);
  return out;
}

const rngFor = (stream: string, seed: number): Rng => rngFromKey(rngKeyOf(seed, 'simulate', stream));

/**
 * The two-way fixed-effects DID estimand of an effect τ_it on a balanced subsample, controls included:
 * by FWL, β = Σ r_it τ_it did_it / Σ r_it², r = residual of the two-way-demeaned did on the
 * two-way-demeaned controls (X = null: no controls). Returns w_it = r_it / Σ r² for every cell of the
 * subsample (`w[a][b]` for city rows[a], year years[b]): the estimand of an additive component u_it of
 * the outcome is Σ w u (so β = Σ_treated w τ for an effect τ).
 */
export function twfeWeights(did: Float64Array[], X: number[][][] | null, rows: number[], years: number[]): number[][] {
  const nI = rows.length;
  const nT = years.length;
  const demean = (get: (i: number, t: number) => number): number[][] => {
    const rm = new Float64Array(nI);
    const cm = new Float64Array(nT);
    let all = 0;
    rows.forEach((i, a) => years.forEach((t, b) => {
      const v = get(i, t);
      rm[a]! += v / nT;
      cm[b]! += v / nI;
      all += v / (nI * nT);
    }));
    return rows.map((i, a) => years.map((t, b) => get(i, t) - rm[a]! - cm[b]! + all));
  };
  let r = demean((i, t) => did[i]![t]!);
  if (X) {
    const k = X[0]![0]!.length;
    const xs = Array.from({ length: k }, (_, j) => demean((i, t) => X[i]![t]![j]!));
    const design: number[][] = [];
    const y: number[] = [];
    rows.forEach((_, a) => years.forEach((__, b) => {
      design.push(xs.map((x) => x[a]![b]!));
      y.push(r[a]![b]!);
    }));
    const coef = wls(design, y, y.map(() => 1));
    r = r.map((row, a) => row.map((v, b) => v - xs.reduce((s2, x, j) => s2 + coef[j]! * x[a]![b]!, 0)));
  }
  let ss = 0;
  for (const row of r) for (const v of row) ss += v * v;
  return r.map((row) => row.map((v) => v / ss));
}

/** Weighted least squares by normal equations (small systems). */
function wls(X: number[][], y: number[], w: number[]): number[] {
  const k = X[0]!.length;
  const A = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  X.forEach((row, r) => {
    for (let i = 0; i < k; i++) {
      b[i]! += w[r]! * row[i]! * y[r]!;
      for (let j = 0; j < k; j++) A[i]![j]! += w[r]! * row[i]! * row[j]!;
    }
  });
  // Gaussian elimination with partial pivoting
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    [b[c], b[p]] = [b[p]!, b[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let j = c; j < k; j++) A[r]![j]! -= f * A[c]![j]!;
      b[r]! -= f * b[c]!;
    }
  }
  return b.map((v, i) => v / A[i]![i]!);
}

export interface EffectModel {
  /**
   * τ_i = a + central·C + west·W + northeast·NE + resource·R + large·L (the effect of city i, scaled by
   * the build-up profile), and `covid_small`: a shift of SO2 in the small/medium cities (treated or
   * not) in 2020–2022 (see {@link fitEffects}).
   */
  params: Record<(typeof FEATURES)[number], number>;
  /** build-up slope of the profile (see {@link profile}) */
  gamma: number;
  /** TWFE estimand (controls included, balanced, noiseless) of every target split under the fitted model. */
  fit: Record<string, { target: number; se: number; estimand: number }>;
}

/** Effect profile in event time e ≥ 0 (build-up): g(e) = 1 + gamma·(min(e, 4) − 2). */
export const profile = (gamma: number, e: number): number => 1 + gamma * (Math.min(e, 4) - 2);

/** Weight of the ridge pseudo-observations (parameter = 0) in the effect fit, per parameter (none on `a`). */
const RIDGE: Record<(typeof FEATURES)[number], number> = { a: 0, central: 0.1, west: 0.1, northeast: 0.1, resource: 0.1, large: 0.1, covid_small: 0.05, covid_resource: 0.05 };

/** Build-up of the effect in event time (design choice): g(0) = 0.8, g(1) = 0.9, g(2) = 1, g(3) = 1.1, g(4+) = 1.2. */
export const GAMMA = 0.1;
/** The baseline's (Table 3 col. 2) gap counts √(this) times in the minimax effect fit: it comes first. */
const BASELINE_WEIGHT = 4;
/** Iterations of the minimax reweighting in {@link fitEffects} (0 = plain weighted least squares). */
const MINIMAX_ITER = 60;
const FEATURES = ['a', 'central', 'west', 'northeast', 'resource', 'large', 'covid_small', 'covid_resource'] as const;
/** First year of the small-city shift (`covid_small`). */
export const COVID_YEAR = 2020;

/**
 * Fit the effect model to the printed split estimates (Table 3 col. 2, Tables 6, 7, 8) by weighted
 * least squares reweighted towards the minimax solution (the smallest largest gap in printed SEs; the
 * baseline's gap counts double), plus ridge pseudo-observations; the build-up profile is fixed
 * ({@link GAMMA}). The estimands are those of the balanced, noiseless panel (FWL weights of
 * {@link twfeWeights}, controls included).
 *
 * The printed splits are not consistent with a pooled regression of group effects alone: small/medium
 * cities +0.571 and large cities −2.266 cannot average to −2.345 (nor resource-based −1.439 and
 * the others −3.249, with most pilot cities not resource-based). Two terms reconcile them:
 * `covid_small`, a rise of SO2 in every small/medium city in 2020–2022 relative to the large ones
 * (industry moving out of the big cities), and `covid_resource`, the same between resource-based and
 * other cities. They are absorbed by the year effects of the split regressions and absent before 2020,
 * but in the pooled regression the (mostly large, non-resource-based) treated cities fall relative to
 * the common year effect after 2020, which moves the pooled DID outside the range of the split estimates.
 *
 * Not targeted (reported in `fit` with weight 0 or absent): Table 4 (5) up to 2019 (−1.352; N 4481 is
 * not the baseline sample minus 2020–2022; targeting it too leaves every other column about one SE
 * off) and Table 4 (4) without the municipalities (N 3819 is not the baseline sample minus four
 * cities, and −4.479 would need a municipality effect of about +40).
 */
export function fitEffects(cities: SimCity[], large: boolean[], X: number[][][], gamma = GAMMA, covidRidge = RIDGE.covid_small): EffectModel {
  const did = cities.map((c) => Float64Array.from(YEARS, (y) => (!Number.isNaN(c.adopt) && y >= c.adopt ? 1 : 0)));
  const all = cities.map((_, i) => i);
  const T = YEARS.map((_, t) => t);
  const splits: [keyof typeof TARGETS, number[], number[]][] = [
    ['baseline', all, T],
    ['pre_covid', all, T.filter((t) => YEARS[t]! < COVID_YEAR)],
    ['resource', all.filter((i) => cities[i]!.resource_based === 1), T],
    ['non_resource', all.filter((i) => cities[i]!.resource_based === 0), T],
    ['east', all.filter((i) => cities[i]!.region === 'east'), T],
    ['central', all.filter((i) => cities[i]!.region === 'central'), T],
    ['west', all.filter((i) => cities[i]!.region === 'west'), T],
    ['northeast', all.filter((i) => cities[i]!.region === 'northeast'), T],
    ['large', all.filter((i) => large[i]), T],
    ['small', all.filter((i) => !large[i]), T],
  ];
  const feat = (i: number, t: number) => {
    const c = cities[i]!;
    const g = did[i]![t] ? profile(gamma, YEARS[t]! - c.adopt) : 0;
    return [g, c.region === 'central' ? g : 0, c.region === 'west' ? g : 0, c.region === 'northeast' ? g : 0, c.resource_based * g, large[i] ? g : 0,
      !large[i] && YEARS[t]! >= COVID_YEAR ? 1 : 0, c.resource_based && YEARS[t]! >= COVID_YEAR ? 1 : 0];
  };
  const K = FEATURES.length;
  const D = splits.map(([, rows, years]) => {
    const w = twfeWeights(did, X, rows, years);
    const row = new Array<number>(K).fill(0);
    rows.forEach((i, a) => years.forEach((t, b) => {
      const f = feat(i, t);
      for (let k = 0; k < K; k++) row[k]! += w[a]![b]! * f[k]!;
    }));
    return row;
  });
  const y = splits.map(([name]) => TARGETS[name].b);
  const se = splits.map(([name]) => TARGETS[name].se);
  // ridge pseudo-observations (parameter = 0) keep the terms moderate
  const ridge = FEATURES.map((_, k) => FEATURES.map((__, j) => (j === k ? 1 : 0)));
  const ridgeW = FEATURES.map((n) => (n.startsWith('covid_') ? covidRidge : RIDGE[n]));
  // Lawson's iteratively reweighted least squares towards the minimax fit: the weight of a split grows
  // with its gap in SEs, so no printed column is sacrificed to the others
  // gaps are measured in SEs, the baseline's ×2; the ≤ 2019 column (Table 4 col. 5) is reported but not targeted (weight 0)
  const zs = splits.map(([name]) => (name === 'baseline' ? Math.sqrt(BASELINE_WEIGHT) : name === 'pre_covid' ? 0 : 1));
  let v: number[] = splits.map(() => 1);
  let p: number[] = [];
  for (let it = 0; it < MINIMAX_ITER; it++) {
    p = wls([...D, ...ridge], [...y, ...ridge.map(() => 0)], [...v.map((vk, k) => (vk * zs[k]! ** 2) / se[k]! ** 2), ...ridgeW]);
    const z = D.map((row, k) => (zs[k]! * Math.abs(row.reduce((a, x, j) => a + x * p[j]!, 0) - y[k]!)) / se[k]!);
    const tot = v.reduce((a, vk, k) => a + vk * z[k]!, 0);
    v = v.map((vk, k) => (splits.length * vk * z[k]!) / tot);
  }
  const fit: EffectModel['fit'] = {};
  splits.forEach(([name], r) => {
    fit[name] = { target: TARGETS[name].b, se: TARGETS[name].se, estimand: D[r]!.reduce((a, x, k) => a + x * p[k]!, 0) };
  });
  return { params: Object.fromEntries(FEATURES.map((n, k) => [n, p[k]!])) as EffectModel['params'], gamma, fit };
}

export interface SimResult {
  csv: string;
  cities: SimCity[];
  model: EffectModel;
  /** column → values (NaN = missing), row order city-major then year */
  columns: Record<string, Float64Array>;
  /** so2 cells whose simulated value was below 0 and floored (treated = did 1) */
  floored: { untreated: number; treated: number };
}

/**
 * Tuning constants of the data-generating process (the calibrated defaults are {@link SIM_TUNING}).
 * Noise SDs are in the variable's units (log units for pgdp, fin, fis).
 */
export interface SimTuning {
  /** SD of the log city level of pgdp */
  pgdpLevelSd: number;
  /** within-city noise: pgdp (log), indus (points), urb (share), fin (log), fis (log) */
  pgdpNoise: number;
  indusNoise: number;
  urbNoise: number;
  finNoise: number;
  fisNoise: number;
  /**
   * SO2 noise SD of city i: (so2NoiseBase + so2NoiseScale · min(L_i, so2NoiseCap)^so2NoisePow)
   * × so2RegionNoise[region] × (so2LargeNoise in large cities); AR(1) over years with so2Rho (0 = independent)
   */
  so2NoiseBase: number;
  so2NoiseScale: number;
  so2NoisePow: number;
  so2NoiseCap: number;
  /** ridge weight of the 2020–2022 shifts in the effect fit (larger: smaller shifts, looser fit) */
  covidRidge: number;
  /** scale of the common SO2 year effects */
  so2YearScale: number;
  /** scale of the city SO2 levels L_i (offsets the 2020–2022 rises in Table 2's mean) */
  so2LevelScale: number;
  /** log-SD of the SO2 level of pilot cities around their batch's level, and of the other cities */
  so2PilotLevelSd: number;
  so2OtherLevelSd: number;
  /** AR(1) coefficient of the SO2 noise, in [0, 1) */
  so2Rho: number;
  /** SO2 noise factor per NBS region */
  so2RegionNoise: Record<SimCity['region'], number>;
  /** multiplier of the SO2 noise SD in large cities (urban population ≥ 1 million) */
  so2LargeNoise: number;
  /** noise of the other outcomes: CO2 (10k t; plus 5% of the city level), green patents (count; plus 20% of the city level), SO2 intensity */
  co2Noise: number;
  patNoise: number;
  /** green patents: noise SD per unit of the city's level (heteroskedastic part) */
  patNoiseRel: number;
  intNoise: number;
  /** build-up slope of the effect profile, see {@link profile} */
  gamma: number;
}

/** The calibrated constants (Table 2 moments; printed SEs and R² of Tables 3–8). */
export const SIM_TUNING: SimTuning = {
  pgdpLevelSd: 0.55,
  pgdpNoise: 0.07,
  indusNoise: 5,
  urbNoise: 0.045,
  finNoise: 0.15,
  fisNoise: 0.12,
  so2NoiseBase: 0.05,
  so2NoiseScale: 0.46,
  so2NoisePow: 1,
  so2NoiseCap: 14,
  covidRidge: 0.05,
  so2YearScale: 1,
  so2LevelScale: 0.8,
  so2PilotLevelSd: 0.6,
  so2OtherLevelSd: 1.05,
  so2Rho: 0,
  so2RegionNoise: { east: 0.9, central: 0.75, west: 1.3, northeast: 0.6 },
  so2LargeNoise: 1.05,
  co2Noise: 700,
  patNoise: 150,
  patNoiseRel: 0.8,
  intNoise: 0.0016,
  gamma: GAMMA,
};

/** Generate the demo panel in memory. Deterministic for a given seed and data/ files. */
export function simulate(seed = SIM_SEED, root = ROOT, tune: Partial<SimTuning> = {}): SimResult {
  const T: SimTuning = { ...SIM_TUNING, ...tune };
  const cities = sampleCities(root);
  const nI = cities.length;
  const nT = YEARS.length;
  const N = nI * nT;
  const rc = rngFor('cities', seed);
  // --- city-level latent traits
  const z = new Float64Array(nI); // size / development
  const large: boolean[] = [];
  const popBase = new Float64Array(nI);
  const upBase = new Float64Array(nI);
  const pg = new Float64Array(nI);
  const ind = new Float64Array(nI);
  const ub = new Float64Array(nI);
  const fn = new Float64Array(nI);
  const fs = new Float64Array(nI);
  const L = new Float64Array(nI);
  const co2a = new Float64Array(nI);
  const pata = new Float64Array(nI);
  const inta = new Float64Array(nI);
  cities.forEach((c, i) => {
    const pilot = Number.isNaN(c.adopt) ? 0 : c.adopt <= 2016 ? 2.2 : c.adopt <= 2019 ? 1.6 : 1.0;
    z[i] = 0.75 * rc.normal() + pilot + (c.municipality ? 1.5 : 0) - 0.35;
    upBase[i] = c.municipality ? 1400 * Math.exp(0.3 * rc.normal()) : Math.exp(Math.log(60) + 0.75 * z[i]! + 0.25 * rc.normal());
    popBase[i] = c.municipality ? 2000 * Math.exp(0.3 * rc.normal()) : Math.exp(Math.log(380) + 0.3 * z[i]! + 0.45 * rc.normal());
    // control levels are independent of treatment, size, region and resource type: with trends that
    // are common (additive) or proportional to a level that is unrelated to treatment, the controls'
    // within-city variation carries nothing the (heterogeneous, dynamic) effect could leak into
    pg[i] = Math.log(3.5) + T.pgdpLevelSd * rc.normal();
    ind[i] = 47.3 + 10.6 * rc.normal();
    ub[i] = 0.53 + 0.16 * rc.normal();
    fn[i] = Math.log(0.8) + 0.6 * rc.normal();
    fs[i] = Math.log(0.165) + 0.65 * rc.normal();
    // base SO2 level: pilot cities are big emitters (the earlier the batch, the bigger), which keeps the
    // printed effects (about −2.3 × up to 2.4 in 2020–2022) within their levels
    const lp = Number.isNaN(c.adopt) ? 0 : c.adopt <= 2016 ? 15 : c.adopt <= 2018 ? 11.5 : c.adopt <= 2019 ? 9.5 : c.adopt <= 2020 ? 6.5 : 5;
    L[i] = T.so2LevelScale * (lp > 0 ? Math.exp(Math.log(lp * 0.93) + T.so2PilotLevelSd * rc.normal()) : 0.4 + Math.exp(Math.log(0.65) + 0.3 * z[i]! + T.so2OtherLevelSd * rc.normal() + (c.resource_based ? 0.3 : 0)));
    co2a[i] = Math.exp(Math.log(2300) + 0.45 * z[i]! + 0.6 * rc.normal());
    pata[i] = Math.exp(Math.log(60) + 1.1 * z[i]! + 0.6 * rc.normal());
    inta[i] = Math.exp(Math.log(0.0022) + 0.7 * rc.normal() + (c.resource_based ? 0.3 : 0));
  });
  // urban population path: 1.5%/yr growth; a city stays on one side of the 1-million line (Guo Fa [2014] 51)
  const urbanPop = (i: number, t: number) => upBase[i]! * Math.exp(0.015 * (YEARS[t]! - 2014));
  cities.forEach((_, i) => {
    const lo = urbanPop(i, 0);
    const hi = urbanPop(i, nT - 1);
    if (lo < 100 && hi >= 100) upBase[i] = urbanPop(i, 9) >= 100 ? upBase[i]! * (100.5 / lo) : upBase[i]! * (99.5 / hi);
    large.push(urbanPop(i, 9) >= 100);
  });
  // --- controls (all cities first: the effect model is fitted on them)
  const cols: Record<string, Float64Array> = {};
  for (const k of ['city_code', 'year', 'so2', 'pgdp', 'indus', 'urb', 'fin', 'fis', 'gdp', 'pop', 'urban_pop', 'co2', 'green_patents', 'so2_int']) cols[k] = new Float64Array(N);
  const rx = rngFor('controls', seed);
  const Xall: number[][][] = [];
  for (let i = 0; i < nI; i++) {
    const c = cities[i]!;
    const Xs: number[][] = [];
    for (let t = 0; t < nT; t++) {
      const r = i * nT + t;
      const y = YEARS[t]!;
      const dt = y - 2013.5;
      const pgdp = Math.exp(pg[i]! + 0.065 * dt + T.pgdpNoise * rx.normal());
      const indus = Math.min(90, Math.max(9, ind[i]! - 0.55 * dt - (y >= 2015 ? 1.5 : 0) + T.indusNoise * rx.normal()));
      const urb = Math.min(1, Math.max(0.11, ub[i]! + 0.009 * dt + T.urbNoise * rx.normal()));
      const fin = Math.exp(fn[i]! + 0.03 * dt + T.finNoise * rx.normal());
      const fis = Math.exp(fs[i]! + 0.025 * dt + T.fisNoise * rx.normal());
      const pop = popBase[i]! * Math.exp(0.004 * dt + 0.01 * rx.normal());
      Xs.push([pgdp, indus, urb, fin, fis]);
      cols.city_code![r] = Number(c.code);
      cols.year![r] = y;
      cols.pgdp![r] = pgdp;
      cols.indus![r] = indus;
      cols.urb![r] = urb;
      cols.fin![r] = fin;
      cols.fis![r] = fis;
      cols.pop![r] = pop;
      cols.gdp![r] = pgdp * pop;
      cols.urban_pop![r] = urbanPop(i, t) * Math.exp(0.005 * rx.normal());
    }
    Xall.push(Xs);
  }
  const model = fitEffects(cities, large, Xall, T.gamma, T.covidRidge);
  const tauOf = (i: number): number => {
    const c = cities[i]!;
    const p = model.params;
    return p.a + (c.region === 'central' ? p.central : 0) + (c.region === 'west' ? p.west : 0) + (c.region === 'northeast' ? p.northeast : 0) +
      p.resource * c.resource_based + p.large * (large[i] ? 1 : 0);
  };
  // --- outcomes: the city effect absorbs the city mean of θ'X (α_i = base_i − mean_t θ'X_it), so θ acts
  // through within-city variation and levels stay driven by the city's base emissions
  // one stream per outcome: retuning one outcome's noise does not redraw the others
  const ry = { so2: rngFor('so2', seed), co2: rngFor('co2', seed), pat: rngFor('green_patents', seed), int: rngFor('so2_int', seed) };
  const floored = [0, 0]; // so2 cells floored at 0: [untreated, treated]
  // the 2020–2022 shifts are written as non-negative rises (small cities by covid_small; resource-based
  // cities by covid_resource, or the others by −covid_resource when it is negative): only their
  // differences matter, a common shift being absorbed by the year effects, and rises floor no cell at 0
  const kS = model.params.covid_small;
  const kR = model.params.covid_resource;
  const covidShift = (i: number, y: number): number =>
    y < COVID_YEAR ? 0 : Math.max(0, kS) * (large[i] ? 0 : 1) + Math.max(0, -kS) * (large[i] ? 1 : 0) +
      (cities[i]!.resource_based ? Math.max(0, kR) : Math.max(0, -kR));
  const lamSo2 = YEARS.map((y) => T.so2YearScale * (0.3 - 0.03 * (y - 2005) - (y >= 2017 ? 0.2 : 0)));
  const lamCo2 = YEARS.map((y) => 40 * (y - 2005) - 2.2 * (y - 2005) ** 2);
  const lamPat = YEARS.map((y) => 9 * (y - 2005));
  const lamInt = YEARS.map((y) => 0.0004 - 0.00004 * (y - 2005));
  const dot = (th: number[], X: number[]) => th.reduce((s2, b2, k) => s2 + b2 * X[k]!, 0);
  for (let i = 0; i < nI; i++) {
    const c = cities[i]!;
    const Xs = Xall[i]!;
    let e1 = 0;
    const sd1 = (T.so2NoiseBase + T.so2NoiseScale * Math.min(L[i]!, T.so2NoiseCap) ** T.so2NoisePow) * T.so2RegionNoise[c.region] * (large[i] ? T.so2LargeNoise : 1);
    const tau = tauOf(i);
    const mean = (th: number[]) => Xs.reduce((s2, X) => s2 + dot(th, X), 0) / nT;
    const m = { so2: mean(THETA.so2), co2: mean(THETA.co2), pat: mean(THETA.green_patents), int: mean(THETA.so2_int) };
    for (let t = 0; t < nT; t++) {
      const r = i * nT + t;
      const y = YEARS[t]!;
      const X = Xs[t]!;
      const e = y - c.adopt;
      const did = !Number.isNaN(c.adopt) && e >= 0 ? 1 : 0;
      e1 = t === 0 ? ry.so2.normal() * sd1 : T.so2Rho * e1 + Math.sqrt(1 - T.so2Rho ** 2) * sd1 * ry.so2.normal();
      const so2 = L[i]! + lamSo2[t]! + covidShift(i, y) + dot(THETA.so2, X) - m.so2 + (did ? tau * profile(model.gamma, e) : 0) + e1;
      const co2 = co2a[i]! + lamCo2[t]! + dot(THETA.co2, X) - m.co2 + (did ? TARGETS.co2.b : 0) + (T.co2Noise + 0.05 * co2a[i]!) * ry.co2.normal();
      const pat = pata[i]! + lamPat[t]! + dot(THETA.green_patents, X) - m.pat + (did ? TARGETS.green_patents.b : 0) + (T.patNoise + T.patNoiseRel * pata[i]!) * ry.pat.normal();
      const sint = inta[i]! + lamInt[t]! + dot(THETA.so2_int, X) - m.int + (did ? TARGETS.so2_int.b : 0) + T.intNoise * ry.int.normal();
      if (so2 < 0) floored[did]!++;
      cols.so2![r] = Math.max(0, so2);
      cols.co2![r] = Math.max(0, co2);
      cols.green_patents![r] = Math.max(0, Math.round(pat));
      cols.so2_int![r] = Math.max(0, sint);
    }
  }
  // --- missing cells (exact counts, cells drawn without replacement per variable)
  const rm = rngFor('missing', seed);
  for (const [v, k] of Object.entries(MISSING)) {
    const idx = rm.shuffle(Array.from({ length: N }, (_, r) => r)).slice(0, k);
    for (const r of idx) cols[v]![r] = NaN;
  }
  for (let r = 0; r < N; r++) if (Number.isNaN(cols.so2![r]!)) cols.so2_int![r] = NaN;
  return { csv: toCsv(cities, cols), cities, model, columns: cols, floored: { untreated: floored[0]!, treated: floored[1]! } };
}

const DIGITS: Record<string, number> = { so2: 4, pgdp: 4, indus: 3, urb: 4, fin: 4, fis: 4, gdp: 2, pop: 2, urban_pop: 2, co2: 2, green_patents: 0, so2_int: 6 };

function toCsv(cities: SimCity[], cols: Record<string, Float64Array>): string {
  // A plain CSV that pandas.read_csv, R read.csv, Stata import delimited and Excel read with their
  // defaults (no comment line): the last column, source = "simulated", says on every row that the
  // numbers are simulated (ingest warns about it; data/demo/README.md gives the seed and the method).
  const names = ['city_code', 'city', 'city_en', 'province', 'year', 'so2', 'pgdp', 'indus', 'urb', 'fin', 'fis', 'gdp', 'pop', 'urban_pop', 'co2', 'green_patents', 'so2_int', 'source'];
  const lines = [names.join(',')];
  const nT = YEARS.length;
  cities.forEach((c, i) => {
    for (let t = 0; t < nT; t++) {
      const r = i * nT + t;
      const cells = names.map((n) => {
        if (n === 'city') return c.name_zh;
        if (n === 'city_en') return c.name_pinyin.includes(',') ? `"${c.name_pinyin}"` : c.name_pinyin;
        if (n === 'province') return c.province;
        if (n === 'source') return 'simulated';
        const v = cols[n]![r]!;
        if (Number.isNaN(v)) return '';
        if (n === 'city_code' || n === 'year') return String(v);
        return v.toFixed(DIGITS[n]!);
      });
      lines.push(cells.join(','));
    }
  });
  return lines.join('\n') + '\n';
}

/** Summary statistics (N, mean, SD, min, median, max) of a column, NaN skipped. */
export function describeCol(x: ArrayLike<number>) {
  const v = Array.from(x).filter((a) => !Number.isNaN(a)).sort((a, b) => a - b);
  const n = v.length;
  const mean = v.reduce((s, a) => s + a, 0) / n;
  const sd = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / (n - 1));
  const median = n % 2 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
  return { n, mean, sd, min: v[0]!, median, max: v[n - 1]! };
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const res = simulate();
  const out = path.join(ROOT, 'data', 'demo', 'city-panel.csv');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, res.csv);
  console.log(`wrote ${out} (${res.cities.length} cities × ${YEARS.length} years) — SIMULATED data`);
  const did = Float64Array.from(res.columns.year!, (y, r) => {
    const c = res.cities[Math.floor(r / YEARS.length)]!;
    return !Number.isNaN(c.adopt) && y >= c.adopt ? 1 : 0;
  });
  console.log('variable   N(T2)  N(demo)  mean(T2) mean(demo)  sd(T2)  sd(demo)  min(demo) median(T2) median(demo) max(demo)');
  for (const [v, t2] of Object.entries(TABLE2)) {
    const d = describeCol(v === 'did' ? did : res.columns[v]!);
    console.log(
      `${v.padEnd(9)} ${String(t2.n).padStart(6)} ${String(d.n).padStart(7)} ${t2.mean.toFixed(3).padStart(9)} ${d.mean.toFixed(3).padStart(9)} ${t2.sd.toFixed(3).padStart(8)} ${d.sd.toFixed(3).padStart(8)} ${d.min.toFixed(3).padStart(9)} ${t2.median.toFixed(3).padStart(9)} ${d.median.toFixed(3).padStart(11)} ${d.max.toFixed(2).padStart(9)}`,
    );
  }
  console.log('so2 cells floored at 0:', res.floored);
  console.log(`effect model: gamma=${res.model.gamma}`, res.model.params);
  for (const [k, f] of Object.entries(res.model.fit)) console.log(`  ${k.padEnd(18)} target ${f.target.toFixed(3).padStart(7)} (se ${f.se.toFixed(3)})  TWFE estimand ${f.estimand.toFixed(3)}`);
}
