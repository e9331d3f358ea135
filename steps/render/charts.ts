/**
 * Vega-Lite specifications of the paper's figures (pure functions: data in, spec out), and the
 * headless renderer: Vega-Lite → Vega → SVG (vega View with renderer 'none') → PNG (resvg).
 *
 * Figure 1, event study: point estimates with 95% confidence intervals per relative period, the base
 * period drawn as a hollow point at 0, a dashed vertical line at adoption (between periods −1 and 0
 * by default: period 0 is the first treated year), and a horizontal zero line.
 *
 * Figure 2, placebo: kernel density of the placebo estimates (left axis, Vega's KDE with Scott's
 * bandwidth unless given), their p-values as a scatter (right axis) with a dotted line at p = 0.1,
 * and the observed estimate as a red vertical line.
 *
 * @example
 * const spec = eventStudySpec(es, { title: 'Figure 1' });
 * const { svg, png } = await renderSpec(spec, 2);
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { EventStudy, PlaceboSummary } from './model.js';
import { StepError } from '../../engine/types.js';

/** The font stack written into the SVG (browsers) — resvg gets the matching font files. */
export const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

export interface ChartLabels {
  x?: string;
  y?: string;
  /** Placebo: the p-value axis. */
  y2?: string;
  /** Legend/annotation text for the observed estimate (placebo) or the base period (event study). */
  marker?: string;
}

export interface ChartOptions {
  title?: string;
  subtitle?: string;
  labels?: ChartLabels;
  /** Printed names of variables, e.g. {so2: 'SO2'}: the default axis titles use them ("Effect on SO2", not "so2"). */
  varLabels?: Record<string, string>;
  width: number;
  height: number;
}

type Spec = Record<string, unknown>;

function config(): Spec {
  return {
    font: FONT,
    view: { stroke: null },
    axis: { grid: true, gridColor: '#e6e6e6', labelFontSize: 11, titleFontSize: 12 },
    title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
    legend: { orient: 'bottom', labelFontSize: 11, titleFontSize: 11, labelLimit: 0 },
  };
}

/**
 * A layered Vega-Lite spec with the chart's title (and subtitle), size and the shared config:
 * the frame every layered chart here uses; `extra` adds top-level keys (e.g. resolve).
 */
function layered(o: Omit<ChartOptions, 'subtitle'>, subtitle: string | string[] | undefined, layer: Spec[], extra: Spec = {}): Spec {
  const title = titleOf({ ...o, subtitle });
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...(title ? { title } : {}), width: o.width, height: o.height, config: config(), layer, ...extra };
}

function titleOf(o: Omit<ChartOptions, 'subtitle'> & { subtitle?: string | string[] }): Spec | undefined {
  if (!o.title && !o.subtitle) return undefined;
  return { text: o.title ?? '', ...(o.subtitle ? { subtitle: o.subtitle } : {}) };
}

export interface EventStudyOptions extends ChartOptions {
  /** x position of the adoption line. Default −0.5. */
  adoptionAt?: number;
  /** Axis labels of particular periods, e.g. {"-10": "≤−10", "5": "≥5"} for binned endpoints. */
  periodLabels?: Record<string, string>;
}

/** A JS string literal safe inside a Vega expression. */
const lit = (s: string) => JSON.stringify(s);

/** Vega-Lite spec of an event-study plot. */
export function eventStudySpec(es: EventStudy, o: EventStudyOptions): Spec {
  const rows = es.periods
    .filter((p) => p.estimate !== null)
    .map((p) => ({
      period: p.period,
      estimate: p.estimate,
      ci_low: p.base ? p.estimate : (p.ci_low ?? null),
      ci_high: p.base ? p.estimate : (p.ci_high ?? null),
      kind: p.base || p.period === es.base ? `${o.labels?.marker ?? 'Base period'} (${p.period})` : 'Estimate with 95% CI',
    }));
  const periods = rows.map((r) => r.period).sort((a, b) => a - b);
  const labelMap: Record<string, string> = { ...(o.periodLabels ?? {}) };
  // binned endpoints: label them "≤lo" / "≥hi" unless labels were given
  if (!o.periodLabels || Object.keys(o.periodLabels).length === 0) {
    if (es.bin_endpoints && es.window) {
      labelMap[String(es.window[0])] = `≤${String(es.window[0]).replace('-', '−')}`;
      labelMap[String(es.window[1])] = `≥${String(es.window[1]).replace('-', '−')}`;
    }
  }
  const labelExpr = Object.entries(labelMap).reduce(
    (acc, [k, v]) => `datum.value == ${Number(k)} ? ${lit(v)} : ${acc}`,
    'format(datum.value, "d")',
  );
  const xEnc = {
    field: 'period',
    type: 'quantitative',
    title: o.labels?.x ?? 'Years relative to pilot-zone approval',
    scale: { domain: [periods[0]! - 0.7, periods[periods.length - 1]! + 0.7], nice: false, zero: false },
    axis: { values: periods, labelExpr, grid: false },
  };
  const yTitle = o.labels?.y ?? `Effect on ${es.y === undefined ? 'outcome' : (o.varLabels?.[es.y] ?? es.y)}`;
  const pre = es.pretrend;
  // event-study with vcov wild-cluster: the bootstrap CIs as orange bars just right of the CR1 bars, named in the subtitle
  const bs = es.vcov?.bootstrap;
  const bootRows = es.periods
    .filter((p) => !p.base && p.estimate !== null && typeof p.ci_boot_low === 'number' && typeof p.ci_boot_high === 'number')
    .map((p) => ({ period: p.period + 0.18, ci_boot_low: p.ci_boot_low, ci_boot_high: p.ci_boot_high }));
  const bootNote =
    bs && bootRows.length > 0
      ? `Orange: wild cluster bootstrap 95% CI (${bs.impose_null === false ? 'WCU' : 'WCR'}, ${bs.weights ?? 'rademacher'}, ${bs.enumerated ? `all ${bs.reps} draws enumerated` : `${bs.reps} draws`})`
      : undefined;
  const preNote =
    pre && pre.p !== null && pre.p !== undefined
      ? `Joint test of pre-period coefficients: F(${pre.df1}, ${pre.df2}) = ${Number(pre.stat).toFixed(2)}, p = ${pre.p.toFixed(3)}`
      : undefined;
  const subtitle = o.subtitle ?? (bootNote ? (preNote ? [preNote, bootNote] : bootNote) : preNote);
  return layered(o, subtitle, [
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values: [{ period: o.adoptionAt ?? -0.5 }] },
        mark: { type: 'rule', color: '#b22222', strokeDash: [6, 4] },
        encoding: { x: xEnc },
      },
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: {
              x: xEnc,
              y: { field: 'ci_low', type: 'quantitative', title: yTitle },
              y2: { field: 'ci_high' },
              color: { field: 'kind', type: 'nominal', title: null, scale: { range: ['#555555', '#1f5fa8'] } },
            },
          },
          ...(bootRows.length > 0
            ? [
                {
                  data: { values: bootRows },
                  mark: { type: 'rule', strokeWidth: 1.5, color: '#d07a1f' },
                  encoding: { x: xEnc, y: { field: 'ci_boot_low', type: 'quantitative', title: yTitle }, y2: { field: 'ci_boot_high' } },
                },
              ]
            : []),
          {
            mark: { type: 'point', size: 55, strokeWidth: 2, opacity: 1 },
            encoding: {
              x: xEnc,
              y: { field: 'estimate', type: 'quantitative', title: yTitle },
              color: { field: 'kind', type: 'nominal', title: null },
              shape: { field: 'kind', type: 'nominal', title: null, scale: { range: ['diamond', 'circle'] } },
              fill: { field: 'kind', type: 'nominal', title: null, scale: { range: ['white', '#1f5fa8'] } },
            },
          },
        ],
      },
  ]);
}

export interface PlaceboOptions extends ChartOptions {
  /** Reference line on the p-value axis. Default 0.1. */
  pLine?: number;
  /** KDE bandwidth; default: Vega's Scott's-rule estimate. */
  bandwidth?: number;
}

/** Vega-Lite spec of a placebo plot from the replicate estimates/p-values and the summary. */
export function placeboSpec(reps: { estimate: number; p: number | null }[], s: PlaceboSummary, o: PlaceboOptions): Spec {
  const obs = s.observed.estimate;
  const pRand = s.randomization_p ?? s.p_randomization;
  const values = reps.map((r) => ({ estimate: r.estimate, p: r.p }));
  const xTitle = o.labels?.x ?? 'Placebo estimate';
  const subtitle =
    o.subtitle ??
    `${reps.length} placebo draws; observed estimate ${obs.toFixed(3)}${
      pRand === null || pRand === undefined || Number.isNaN(pRand)
        ? ''
        : // p = share of draws at least as extreme: 0 of n reads "p < 1/n", not "p = 0.000"
          pRand === 0 && reps.length > 0
          ? `; randomization p < ${Number((1 / reps.length).toPrecision(2))} (no draw as extreme)`
          : `; randomization p = ${pRand.toFixed(3)}`
    }`;
  const xScale = { zero: false, nice: true };
  // evaluate the KDE a little beyond the data so its tails come down towards zero
  const ests = values.map((v) => v.estimate);
  const lo = Math.min(...ests);
  const hi = Math.max(...ests);
  const pad = (hi - lo) * 0.15 || 0.1;
  const extent = [lo - pad, hi + pad];
  return layered(o, subtitle, [
      {
        data: { values },
        transform: [{ density: 'estimate', extent, ...(o.bandwidth ? { bandwidth: o.bandwidth } : {}), as: ['estimate', 'density'] }],
        mark: { type: 'area', color: '#1f5fa8', opacity: 0.25, line: { color: '#1f5fa8' } },
        encoding: {
          x: { field: 'estimate', type: 'quantitative', title: xTitle, scale: xScale },
          y: { field: 'density', type: 'quantitative', title: o.labels?.y ?? 'Density of estimates (curve)', axis: { orient: 'left', grid: false, titleColor: '#1f5fa8' } },
        },
      },
      {
        data: { values },
        layer: [
          {
            mark: { type: 'point', size: 14, opacity: 0.55, color: '#e08a1e', filled: true },
            encoding: {
              x: { field: 'estimate', type: 'quantitative', scale: xScale },
              y: { field: 'p', type: 'quantitative', title: o.labels?.y2 ?? 'p-value of each draw (dots)', scale: { domain: [0, 1] }, axis: { orient: 'right', grid: false, titleColor: '#b8680a' } },
            },
          },
          {
            data: { values: [{ p: o.pLine ?? 0.1 }] },
            mark: { type: 'rule', color: '#e08a1e', strokeDash: [2, 3] },
            encoding: { y: { field: 'p', type: 'quantitative', scale: { domain: [0, 1] } } },
          },
        ],
      },
      {
        data: { values: [{ estimate: obs, label: `${o.labels?.marker ?? 'Observed'} ${obs.toFixed(3)}` }] },
        layer: [
          { mark: { type: 'rule', color: '#b22222', strokeWidth: 2, strokeDash: [6, 4] }, encoding: { x: { field: 'estimate', type: 'quantitative', scale: xScale } } },
          {
            mark: { type: 'text', align: 'left', dx: 4, dy: 0, y: 8, color: '#b22222', fontSize: 11 },
            encoding: { x: { field: 'estimate', type: 'quantitative', scale: xScale }, text: { field: 'label' } },
          },
        ],
      },
  ], { resolve: { scale: { y: 'independent' } } });
}

/** DejaVu Sans from the pinned npm package `dejavu-fonts-ttf` (a dependency), so PNGs render alike on any machine. */
function bundledFontFiles(): string[] {
  try {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => path.join(dir, f)).filter((f) => existsSync(f));
  } catch {
    return [];
  }
}

/**
 * Font files for resvg: the bundled DejaVu Sans (regular, bold); failing that DejaVu or Liberation Sans
 * if installed, else any TTF/OTF found.
 */
export function findFontFiles(dirs = ['/usr/share/fonts', '/usr/local/share/fonts']): string[] {
  const bundled = bundledFontFiles();
  if (bundled.length) return bundled;
  const preferred = [
    '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
    '/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf',
    '/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf',
    '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  ].filter((f) => existsSync(f));
  if (preferred.length) return preferred;
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 4 || found.length >= 8 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.(ttf|otf)$/i.test(e.name)) found.push(p);
    }
  };
  for (const d of dirs) walk(d, 0);
  return found;
}

/**
 * Render a Vega-Lite spec headless: SVG text from vega's View (renderer 'none'), then a PNG at `scale`×
 * with resvg, using explicit font files (no system font scan, so the bytes depend only on those files).
 * Throws a StepError naming the fix when no font is installed (the PNG would have no text).
 */
export async function renderSpec(spec: Spec, scale: number): Promise<{ svg: string; png: Uint8Array; fonts: string[] }> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const { Resvg } = await import('@resvg/resvg-js');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const fonts = findFontFiles();
  if (fonts.length === 0)
    throw new StepError(`no TrueType/OpenType font under /usr/share/fonts, so the PNG would have no text; install one (apt-get install fonts-dejavu-core)`);
  const family = fonts.some((f) => /DejaVuSans/.test(f)) ? 'DejaVu Sans' : fonts.some((f) => /LiberationSans/.test(f)) ? 'Liberation Sans' : undefined;
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: fonts, ...(family ? { defaultFontFamily: family, sansSerifFamily: family } : {}) },
  });
  const png = resvg.render().asPng();
  return { svg, png: new Uint8Array(png), fonts };
}

/** One estimator of an event-study overlay: its legend label and its event study. */
export interface OverlaySeries {
  label: string;
  es: EventStudy;
}

export interface OverlayOptions extends ChartOptions {
  /** x of the dashed adoption line. Default −0.5. */
  adoptionAt?: number;
  /** Total horizontal spread of the dodged points within a period (in periods). Default 0.6. */
  dodge?: number;
  /** Tick labels of given periods, e.g. {"-10": "≤−10"}. */
  periodLabels?: Record<string, string>;
}

const PALETTE = ['#1f5fa8', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#555555'];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'triangle-down', 'cross', 'circle'];

/**
 * Vega-Lite spec of several event studies in one plot (Figure 3): per period, one point per
 * estimator with its 95% interval, dodged side by side (x = period + offset of the estimator), one
 * legend. An estimator's base period (estimate 0, `base: true`) is drawn hollow without an interval;
 * estimators without a base period (`base: null`: did-imputation, did-cs with a varying base) simply
 * have an estimate in every period. Periods with a null estimate are left out.
 */
export function eventStudyOverlaySpec(series: OverlaySeries[], o: OverlayOptions): Spec {
  if (series.length === 0) throw new StepError(`no event study to draw; wire at least one in data`);
  const k = series.length;
  const dodge = o.dodge ?? 0.6;
  const step = k > 1 ? dodge / (k - 1) : 0;
  const labels = series.map((s) => s.label);
  const rows: Record<string, unknown>[] = [];
  series.forEach((s, j) => {
    const off = (j - (k - 1) / 2) * step;
    for (const p of s.es.periods) {
      if (p.estimate === null) continue;
      const isBase = p.base === true || (s.es.base !== null && p.period === s.es.base);
      rows.push({
        period: p.period,
        x: p.period + off,
        estimate: p.estimate,
        ci_low: isBase ? null : (p.ci_low ?? null),
        ci_high: isBase ? null : (p.ci_high ?? null),
        estimator: s.label,
        filled: isBase ? 'base period (hollow)' : 'estimate',
      });
    }
  });
  if (rows.length === 0) throw new StepError(`the event studies have no estimates to draw`);
  const periods = [...new Set(rows.map((r) => r.period as number))].sort((a, b) => a - b);
  const labelExpr = Object.entries(o.periodLabels ?? {}).reduce(
    (acc, [key, v]) => `datum.value == ${Number(key)} ? ${lit(v)} : ${acc}`,
    'format(datum.value, "d")',
  );
  const xScale = { domain: [periods[0]! - 0.7, periods[periods.length - 1]! + 0.7], nice: false, zero: false };
  const xEnc = { field: 'x', type: 'quantitative', title: o.labels?.x ?? 'Years relative to pilot-zone approval', scale: xScale, axis: { values: periods, labelExpr, grid: false } };
  const y0 = series[0]!.es.y;
  const yTitle = o.labels?.y ?? `Effect on ${y0 === undefined ? 'outcome' : (o.varLabels?.[y0] ?? y0)}`;
  const color = { field: 'estimator', type: 'nominal', title: null, sort: labels, scale: { domain: labels, range: labels.map((_, i) => PALETTE[i % PALETTE.length]) } };
  const shape = { field: 'estimator', type: 'nominal', title: null, sort: labels, scale: { domain: labels, range: labels.map((_, i) => SHAPES[i % SHAPES.length]) } };
  const subtitle = o.subtitle ?? 'Points: estimates; bars: 95% confidence intervals; hollow: base period (0 by construction)';
  return layered(o, subtitle, [
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values: [{ x: o.adoptionAt ?? -0.5 }] },
        mark: { type: 'rule', color: '#b22222', strokeDash: [6, 4] },
        encoding: { x: { field: 'x', type: 'quantitative', scale: xScale } },
      },
      {
        data: { values: rows },
        layer: [
          {
            transform: [{ filter: 'datum.ci_low !== null && datum.ci_high !== null' }],
            mark: { type: 'rule', strokeWidth: 1.4 },
            encoding: { x: xEnc, y: { field: 'ci_low', type: 'quantitative', title: yTitle }, y2: { field: 'ci_high' }, color },
          },
          {
            transform: [{ filter: "datum.filled == 'estimate'" }],
            mark: { type: 'point', size: 40, strokeWidth: 1.6, opacity: 1, filled: true },
            encoding: { x: xEnc, y: { field: 'estimate', type: 'quantitative', title: yTitle }, color, shape },
          },
          {
            transform: [{ filter: "datum.filled != 'estimate'" }],
            mark: { type: 'point', size: 40, strokeWidth: 1.6, opacity: 1, filled: false, fill: 'white' },
            encoding: { x: xEnc, y: { field: 'estimate', type: 'quantitative', title: yTitle }, color, shape },
          },
        ],
      },
  ]);
}

/** One 2×2 comparison of a Bacon decomposition. */
export interface BaconPair {
  type: string;
  treated: number;
  control: number | null;
  estimate: number;
  weight: number;
}

const BACON_TYPES: Record<string, string> = {
  treated_vs_never: 'Treated vs never treated',
  earlier_vs_later: 'Earlier vs later treated',
  later_vs_earlier: 'Later vs earlier treated (forbidden comparison)',
};

/**
 * Vega-Lite spec of a Goodman-Bacon decomposition (Figure 4): each 2×2 DID estimate against its
 * weight, coloured and shaped by comparison type, and the TWFE coefficient (= Σ w·β) as a dashed
 * horizontal line.
 */
export function baconSpec(pairs: BaconPair[], twfe: number, o: ChartOptions): Spec {
  if (pairs.length === 0) throw new StepError(`the Bacon decomposition has no 2×2 comparisons to draw`);
  const present = Object.keys(BACON_TYPES).filter((t) => pairs.some((p) => p.type === t));
  const other = [...new Set(pairs.map((p) => p.type))].filter((t) => !(t in BACON_TYPES));
  const types = [...present, ...other].map((t) => BACON_TYPES[t] ?? t);
  const values = pairs.map((p) => ({
    weight: p.weight,
    estimate: p.estimate,
    type: BACON_TYPES[p.type] ?? p.type,
    pair: `${p.treated} vs ${p.control === null ? 'never' : p.control}`,
  }));
  const wsum = (t: string) => pairs.filter((p) => p.type === t).reduce((s, p) => s + p.weight, 0);
  const subtitle: string | string[] = o.subtitle ?? [
    `TWFE estimate ${twfe.toFixed(3)} (dashed line) = weighted mean of ${pairs.length} 2×2 DIDs`,
    `weights: ${[...present, ...other].map((t) => `${(BACON_TYPES[t] ?? t).replace(/ \(.*\)$/, '').toLowerCase()} ${wsum(t).toFixed(2)}`).join(', ')}`,
  ];
  const colors = ['#1f5fa8', '#009e73', '#d55e00', '#cc79a7', '#555555'];
  return layered(o, subtitle, [
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#999' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values },
        mark: { type: 'point', size: 60, strokeWidth: 1.6, filled: true, opacity: 0.85 },
        encoding: {
          x: { field: 'weight', type: 'quantitative', title: o.labels?.x ?? 'Weight of the 2×2 comparison', scale: { zero: true } },
          y: { field: 'estimate', type: 'quantitative', title: o.labels?.y ?? '2×2 DID estimate' },
          color: { field: 'type', type: 'nominal', title: null, sort: types, scale: { domain: types, range: types.map((_, i) => colors[i % colors.length]) } },
          shape: { field: 'type', type: 'nominal', title: null, sort: types, scale: { domain: types, range: types.map((_, i) => ['circle', 'triangle-up', 'square', 'diamond', 'cross'][i % 5]) } },
          tooltip: [{ field: 'pair' }, { field: 'estimate', format: '.3f' }, { field: 'weight', format: '.4f' }],
        },
      },
      {
        data: { values: [{ y: twfe, label: `${o.labels?.marker ?? 'TWFE'} ${twfe.toFixed(3)}` }] },
        layer: [
          { mark: { type: 'rule', color: '#b22222', strokeWidth: 2, strokeDash: [6, 4] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'right', dy: -6, x: o.width - 4, color: '#b22222', fontSize: 11 }, encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
  ]);
}

/** One row of a HonestDiD sensitivity table. */
export interface SensitivityRow {
  M: number;
  lb: number | null;
  ub: number | null;
}

/**
 * Vega-Lite spec of a HonestDiD sensitivity plot (Figure 5): the robust confidence interval of the
 * target for each M̄ (or M), and the original (non-robust) CI at the left, as intervals on an ordinal
 * x axis; a zero line. An empty robust set (lb/ub null) is left out and named in the subtitle.
 */
export function sensitivitySpec(rows: SensitivityRow[], original: { lb: number; ub: number; estimate?: number }, o: ChartOptions & { parameter?: string; breakdown?: number | null }): Spec {
  const par = o.parameter ?? 'M̄';
  const fmtM = (m: number) => String(Number(m.toPrecision(6)));
  const xs = ['Original', ...rows.map((r) => `${par} = ${fmtM(r.M)}`)];
  const values = [
    { x: 'Original', lb: original.lb, ub: original.ub, mid: (original.lb + original.ub) / 2, kind: 'Original CI' },
    ...rows.filter((r) => r.lb !== null && r.ub !== null && Number.isFinite(r.lb) && Number.isFinite(r.ub)).map((r) => ({ x: `${par} = ${fmtM(r.M)}`, lb: r.lb!, ub: r.ub!, mid: (r.lb! + r.ub!) / 2, kind: 'Robust CI' })),
  ];
  const empty = rows.filter((r) => r.lb === null || r.ub === null || !Number.isFinite(r.lb) || !Number.isFinite(r.ub)).map((r) => fmtM(r.M));
  const subtitle: string | string[] = o.subtitle ?? [
    '95% confidence sets of the target effect',
    `${o.breakdown === null || o.breakdown === undefined ? `no ${par} in the grid excludes 0` : `breakdown ${par} = ${fmtM(o.breakdown)} (the largest in the grid whose robust CI excludes 0)`}${empty.length ? `; empty set at ${par} = ${empty.join(', ')}` : ''}`,
  ];
  const color = { field: 'kind', type: 'nominal', title: null, scale: { domain: ['Original CI', 'Robust CI'], range: ['#b22222', '#1f5fa8'] } };
  const xEnc = { field: 'x', type: 'ordinal', sort: xs, title: o.labels?.x ?? `${par}: post-treatment violation of parallel trends ≤ ${par} × the largest pre-treatment one`, scale: { domain: xs }, axis: { labelAngle: 0 } };
  return layered(o, subtitle, [
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values },
        layer: [
          { mark: { type: 'rule', strokeWidth: 2.5 }, encoding: { x: xEnc, y: { field: 'lb', type: 'quantitative', title: o.labels?.y ?? 'Confidence interval of the target effect' }, y2: { field: 'ub' }, color } },
          { mark: { type: 'tick', thickness: 2, size: 14 }, encoding: { x: xEnc, y: { field: 'lb', type: 'quantitative' }, color } },
          { mark: { type: 'tick', thickness: 2, size: 14 }, encoding: { x: xEnc, y: { field: 'ub', type: 'quantitative' }, color } },
        ],
      },
  ]);
}

/** One specification of a spec curve, as the figure reads it from the specs table. */
export interface SpecCurveRow {
  spec: number;
  /** Printed choice values by choice key. */
  values: Record<string, string>;
  estimate: number;
  ci_low: number;
  ci_high: number;
  p: number;
  base: boolean;
  highlight: boolean;
}

export interface SpecCurveOptions extends Omit<ChartOptions, 'subtitle'> {
  subtitle?: string | string[];
  /** The choice keys drawn as indicator rows, in order, and their values in order. */
  choices: { key: string; values: string[] }[];
  /** Legend name of the highlighted specifications (default "Base specification" when only the base is highlighted, else "Highlighted"). */
  highlightLabel?: string;
  /** Significance level of the colouring (default 0.05). */
  alpha?: number;
  /** Printed names of the choice keys (default: the key). */
  keyLabels?: Record<string, string>;
  /** Confidence level of the intervals, in (0, 1) (default 0.95), for the axis title. */
  level?: number;
}

/**
 * Vega-Lite spec of a specification curve (Simonsohn, Simmons & Nelson 2020, Fig. 2): on top, the
 * estimates sorted from smallest to largest with their confidence intervals, coloured by p < alpha
 * and the highlighted (base) specification in red; below, one row per choice value with a mark
 * under each specification that uses it, so a column reads as the specification above it. With
 * several outcomes (a `y` choice) each outcome gets its own curve and indicator panel, stacked,
 * because estimates on different outcomes are on different scales.
 */
export function specCurveSpec(rows: SpecCurveRow[], o: SpecCurveOptions): Spec {
  const valid = rows.filter((r) => Number.isFinite(r.estimate));
  if (valid.length === 0) throw new StepError(`the specification curve has no specification with an estimate to draw`);
  const alpha = o.alpha ?? 0.05;
  const onlyBase = rows.every((r) => r.highlight === r.base);
  const hlLabel = o.highlightLabel ?? (onlyBase ? 'Base specification' : 'Highlighted');
  const cats = [hlLabel, `p < ${alpha}`, `p ≥ ${alpha}`];
  const color = { field: 'cat', type: 'nominal', title: null, sort: cats, scale: { domain: cats, range: ['#d62728', '#1f5fa8', '#a0a0a0'] }, legend: { orient: 'top', direction: 'horizontal' } };
  const keyLabel = (k: string) => o.keyLabels?.[k] ?? k;
  const yChoice = o.choices.find((c) => c.key === 'y');
  const blocks = yChoice && yChoice.values.length > 1 ? yChoice.values.map((v) => ({ title: `${keyLabel('y')}: ${o.varLabels?.[v] ?? v}`, rows: valid.filter((r) => r.values.y === v) })).filter((b) => b.rows.length > 0) : [{ title: '', rows: valid }];
  const indicatorKeys = o.choices.filter((c) => !(blocks.length > 1 && c.key === 'y'));
  const rowLabels = indicatorKeys.flatMap((c) => c.values.map((v) => `${keyLabel(c.key)}: ${c.key === 'y' ? (o.varLabels?.[v] ?? v) : v}`));
  const size = (m: number) => (m <= 60 ? 40 : m <= 200 ? 18 : 8);
  const panel = (b: { title: string; rows: SpecCurveRow[] }, last: boolean): Spec => {
    const sorted = [...b.rows].sort((a, c) => a.estimate - c.estimate || a.spec - c.spec);
    const m = sorted.length;
    const cat = (r: SpecCurveRow) => (r.highlight ? hlLabel : r.p < alpha ? cats[1] : cats[2]);
    const curve = sorted.map((r, i) => ({ rank: i + 1, spec: r.spec, estimate: r.estimate, lo: r.ci_low, hi: r.ci_high, cat: cat(r), hl: r.highlight ? 1 : 0 }));
    const marks = sorted.flatMap((r, i) => indicatorKeys.map((c) => ({ rank: i + 1, row: `${keyLabel(c.key)}: ${c.key === 'y' ? (o.varLabels?.[r.values[c.key]!] ?? r.values[c.key]) : r.values[c.key]}`, cat: cat(r), hl: r.highlight ? 1 : 0 })));
    const x = (title: string | null, labels: boolean) => ({ field: 'rank', type: 'quantitative', title, scale: { domain: [0.5, m + 0.5], nice: false, zero: false }, axis: { labels, ticks: labels, grid: false, tickMinStep: 1, format: 'd' } });
    const order = { field: 'hl', type: 'quantitative' };
    const top: Spec = {
      width: o.width,
      height: o.height,
      ...(b.title ? { title: { text: b.title, fontSize: 12, anchor: 'start' } } : {}),
      layer: [
        { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#555' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        {
          data: { values: curve },
          layer: [
            { mark: { type: 'rule', opacity: 0.55, strokeWidth: m <= 200 ? 1.5 : 1 }, encoding: { x: x(null, false), y: { field: 'lo', type: 'quantitative', title: o.labels?.y ?? `Estimate (${Math.round((o.level ?? 0.95) * 100)}% CI)` }, y2: { field: 'hi' }, color, order } },
            { mark: { type: 'point', filled: true, opacity: 1, size: size(m) }, encoding: { x: x(null, false), y: { field: 'estimate', type: 'quantitative' }, color, order, tooltip: [{ field: 'spec', title: 'spec' }, { field: 'estimate', format: '.4f' }, { field: 'lo', format: '.4f', title: 'ci_low' }, { field: 'hi', format: '.4f', title: 'ci_high' }] } },
          ],
        },
      ],
    };
    const bottom: Spec = {
      width: o.width,
      height: Math.max(40, rowLabels.length * 14),
      data: { values: marks },
      mark: { type: 'tick', orient: 'vertical', thickness: m <= 200 ? 2 : 1, size: 10 },
      encoding: {
        x: x(last ? (o.labels?.x ?? `Specification (sorted by estimate; ${valid.length} of ${rows.length} with an estimate)`) : null, last),
        y: { field: 'row', type: 'nominal', title: null, sort: rowLabels, scale: { domain: rowLabels }, axis: { grid: true, labelLimit: 0 } },
        color,
        order,
      },
    };
    return { vconcat: [top, bottom], spacing: 6 };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(o),
    config: { ...config(), axis: { ...(config().axis as Spec), labelFontSize: 10 } },
    vconcat: blocks.map((b, i) => panel(b, i === blocks.length - 1)),
    spacing: 18,
  };
}
