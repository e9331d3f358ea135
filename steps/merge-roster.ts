/**
 * `merge-roster`: attach the pilot-zone roster (Table 1, data/pilot-zones.csv) and the city register
 * (data/cities.csv) to a city-year panel, matching by GB/T 2260 code, never by English name.
 *
 * Each roster entry resolves to a register unit: by its code (rule `code`), a former code
 * (`former_code`), or, when it has no code, its Chinese name or former name (`name_zh`,
 * `former_name`). County-level zones (义乌, 珲春, 绥芬河, 满洲里, 阿拉山口) and 雄安新区 are
 * `ignore`d by default (rule `county_ignored`: the parent prefecture is not treated by them),
 * or attributed to their parent prefecture with `county_zones: parent` (rule `parent`).
 * A city's adoption year is its earliest attributed entry.
 *
 * Adds: adopt (first pilot year, missing = never), treat (1 if ever a pilot), did (1 from the
 * adoption year on), rel_year (year − adopt), region, resource_based, municipality, unit_type,
 * province_code. Panel codes resolve directly, via former codes (毕节地区 522400 → 520500) or, for
 * municipalities, from the XX0100 form. Outputs the panel and a match report.
 *
 * @example
 * panel:
 *   kind: merge-roster
 *   in: {panel: ingest}
 *   with: {roster: data/pilot-zones.csv, register: data/cities.csv, county_zones: ignore}
 */
import { CONTRACT } from './common/contracts.js';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { defineStep, StepError } from '../engine/types.js';
import { readCsvRecords } from './common/csv-records.js';
import { editDistance } from './common/suggest.js';
import { hasCol, isNumeric, type Table, takeRows, withColumn, notNumericWhy } from '../engine/table.js';

const params = z.strictObject({
  roster: z.string().default('data/pilot-zones.csv').describe('pilot-zone roster CSV (year, name_en, code; optional name_zh, level, parent_code), relative to the YAML'),
  register: z.string().default('data/cities.csv').describe('city register CSV (code, name_zh, region, resource_based, municipality, former_names, former_codes …), relative to the YAML'),
  code: z.string().default('city_code').describe('panel column holding the 6-digit GB/T 2260 city code (default city_code)'),
  year: z.string().default('year').describe('panel column holding the year (default year)'),
  county_zones: z
    .enum(['ignore', 'parent'])
    .default('ignore')
    .describe('county-level zones and new areas (义乌, 珲春, 雄安 …): ignore (default; the parent prefecture is not treated by them) or parent (treat the parent prefecture from that year)'),
  allow_unmatched: z
    .array(z.string())
    .default([])
    .describe('roster entries (name_en or name_zh) allowed to resolve to no register unit; they are reported and skipped'),
  unknown_codes: z
    .enum(['error', 'drop'])
    .default('error')
    .describe('panel rows whose code is not in the register: error (default) or drop them (reported)'),
});
export type MergeRosterParams = z.infer<typeof params>;

interface Unit {
  code: string;
  name_zh: string;
  name_pinyin: string;
  region: string;
  resource_based: number;
  municipality: number;
  unit_type: string;
  province_code: string;
}

export interface RosterMatch {
  year: number;
  name_en: string;
  name_zh: string;
  level: string;
  code: string;
  rule: 'code' | 'former_code' | 'name_zh' | 'former_name' | 'parent' | 'county_ignored' | 'allowed_unmatched';
  attributed_to: string | null;
  attributed_name: string | null;
  in_panel: boolean;
}

export default defineStep<MergeRosterParams>({
  kind: 'merge-roster',
  doc: 'Attach the pilot-zone roster and city register to a panel by GB/T 2260 code: adopt, treat, did, rel_year, region, resource_based, municipality; plus a match report.',
  params,
  pathParams: ['roster', 'register'],
  inputs: { panel: { type: 'table', doc: 'city-year panel with a GB/T 2260 code column and a year column' } },
  outputs: { panel: 'table', report: { type: 'json', contract: CONTRACT.dataReport } },
  async run(ctx, inputs, p) {
    const a = inputs.panel;
    if (!a || Array.isArray(a) || a.type !== 'table') throw new StepError(`input "panel" must be one table artifact`);
    let t: Table = a.table;
    const load = (param: 'roster' | 'register', need: string[]) => {
      const f = ctx.resolvePath(p[param]);
      if (!existsSync(f)) throw new StepError(`${param} file not found: ${f} (param ${param} "${p[param]}", relative to ${ctx.baseDir}). Fix param ${param}.`);
      const rows = readCsvRecords(f);
      if (rows.length === 0) throw new StepError(`${param} file ${f} has no rows.`);
      const cols = Object.keys(rows[0]!);
      for (const c of need) if (!cols.includes(c)) throw new StepError(`${param} file ${f} lacks column "${c}"; its columns are: ${cols.join(', ')}.`);
      return { f, rows };
    };
    const reg = load('register', ['code', 'name_zh', 'region', 'resource_based', 'municipality']);
    const ros = load('roster', ['year', 'name_en', 'code']);

    // --- register indexes
    const units = new Map<string, Unit>();
    const byFormerCode = new Map<string, string>();
    const byName = new Map<string, string>();
    const byFormerName = new Map<string, string>();
    for (const r of reg.rows) {
      const u: Unit = {
        code: r.code!,
        name_zh: r.name_zh!,
        name_pinyin: r.name_pinyin ?? '',
        region: r.region!,
        resource_based: Number(r.resource_based),
        municipality: Number(r.municipality),
        unit_type: r.unit_type ?? '',
        province_code: r.province_code ?? r.code!.slice(0, 2),
      };
      if (!/^\d{6}$/.test(u.code)) throw new StepError(`register ${reg.f} has a bad code "${u.code}" (${u.name_zh}); codes are 6 digits.`);
      units.set(u.code, u);
      byName.set(u.name_zh, u.code);
      for (const c of (r.former_codes ?? '').split(';').filter(Boolean)) byFormerCode.set(c, u.code);
      for (const n of (r.former_names ?? '').split(';').filter(Boolean)) byFormerName.set(n, u.code);
    }
    const closest = (name: string): string => {
      const scored = [...units.values()].map((u) => ({
        u,
        d: Math.min(editDistance(name, u.name_zh), u.name_pinyin ? editDistance(name.toLowerCase(), u.name_pinyin.toLowerCase()) : 99),
      }));
      scored.sort((x, y) => x.d - y.d || x.u.code.localeCompare(y.u.code));
      return scored
        .slice(0, 3)
        .map((s) => `${s.u.name_zh} ${s.u.name_pinyin} (${s.u.code})`)
        .join(', ');
    };
    const resolveUnit = (code: string, zh: string): { code: string; rule: RosterMatch['rule'] } | null => {
      if (code && units.has(code)) return { code, rule: 'code' };
      if (code && byFormerCode.has(code)) return { code: byFormerCode.get(code)!, rule: 'former_code' };
      if (code) return null; // a code that resolves to nothing is an error, never silently matched by name
      if (zh && byName.has(zh)) return { code: byName.get(zh)!, rule: 'name_zh' };
      if (zh && byFormerName.has(zh)) return { code: byFormerName.get(zh)!, rule: 'former_name' };
      return null;
    };

    // --- panel codes
    if (!hasCol(t, p.code)) throw new StepError(`the panel has no code column "${p.code}"; its columns are: ${t.names.join(', ')}. Set param code.`);
    if (!hasCol(t, p.year)) throw new StepError(`the panel has no year column "${p.year}"; its columns are: ${t.names.join(', ')}. Set param year.`);
    const yc = t.columns[p.year]!;
    if (!isNumeric(yc)) throw new StepError(`year column "${p.year}" ${notNumericWhy(yc)}; it must be numeric.`);
    const rawCode = t.columns[p.code]!;
    const codeStr = (i: number): string | null => {
      const v = rawCode[i];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
      return typeof v === 'number' ? String(Math.round(v)) : v.trim();
    };
    const panelUnit: (string | null)[] = new Array(t.nrows);
    const viaFormer = new Map<string, string>();
    const unknown = new Map<string, number[]>();
    for (let i = 0; i < t.nrows; i++) {
      const c = codeStr(i);
      let u: string | null = null;
      if (c !== null) {
        if (units.has(c)) u = c;
        else if (byFormerCode.has(c)) u = byFormerCode.get(c)!;
        else if (/^(11|12|31|50)0[12]00$/.test(c)) u = `${c.slice(0, 2)}0000`; // municipality written as 市辖区 / 县
        if (u !== null && u !== c) viaFormer.set(c, u);
      }
      if (u === null) {
        const k = c ?? '(missing)';
        if (!unknown.has(k)) unknown.set(k, []);
        unknown.get(k)!.push(i);
      }
      panelUnit[i] = u;
    }
    const droppedUnknown: { code: string; rows: number }[] = [];
    if (unknown.size > 0) {
      const list = [...unknown.entries()].map(([c, rows]) => ({ code: c, rows: rows.length }));
      if (p.unknown_codes === 'error') {
        const shown = list
          .slice(0, 8)
          .map((x) => `${x.code} (${x.rows} rows, first at panel row ${unknown.get(x.code)![0]! + 1}, counting data rows from 1)`)
          .join(', ');
        throw new StepError(
          `${list.length} panel city code(s) in column "${p.code}" are not in the register ${reg.f}: ${shown}${list.length > 8 ? ', …' : ''}. ` +
            `Fix the codes (6-digit GB/T 2260), add the unit to the register, or set unknown_codes: drop.`,
        );
      }
      droppedUnknown.push(...list);
    }
    const panelCodes = new Set(panelUnit.filter((u): u is string => u !== null));

    // --- roster entries
    const matches: RosterMatch[] = [];
    const adopt = new Map<string, number>();
    const unmatched: string[] = [];
    for (const r of ros.rows) {
      const year = Number(r.year);
      if (!Number.isInteger(year)) throw new StepError(`roster ${ros.f}: entry "${r.name_en}" has a bad year "${r.year}".`);
      const level = r.level ?? 'prefecture';
      const base = { year, name_en: r.name_en!, name_zh: r.name_zh ?? '', level, code: r.code ?? '' };
      const allowed = p.allow_unmatched.includes(base.name_en) || (base.name_zh !== '' && p.allow_unmatched.includes(base.name_zh));
      let attributed: string | null = null;
      let rule: RosterMatch['rule'];
      if (level === 'county' || level === 'new-area') {
        const parent = r.parent_code ?? '';
        const res = parent ? resolveUnit(parent, '') : null;
        if (!res && !allowed) {
          unmatched.push(`${base.name_en} (${base.year}, parent_code "${parent}")`);
          continue;
        }
        if (!res) rule = 'allowed_unmatched';
        else if (p.county_zones === 'parent') {
          rule = 'parent';
          attributed = res.code;
        } else rule = 'county_ignored';
      } else {
        const res = resolveUnit(base.code, base.name_zh);
        if (!res) {
          if (!allowed) {
            unmatched.push(`${base.name_en} ${base.name_zh} (${base.year}, code "${base.code}"; closest register names: ${closest(base.name_zh || base.name_en)})`);
            continue;
          }
          rule = 'allowed_unmatched';
        } else {
          rule = res.rule;
          attributed = res.code;
        }
      }
      if (attributed !== null) adopt.set(attributed, Math.min(adopt.get(attributed) ?? Infinity, year));
      matches.push({
        ...base,
        rule,
        attributed_to: attributed,
        attributed_name: attributed ? units.get(attributed)!.name_zh : null,
        in_panel: attributed !== null && panelCodes.has(attributed),
      });
    }
    if (unmatched.length > 0) {
      throw new StepError(
        `${unmatched.length} roster entr${unmatched.length === 1 ? 'y resolves' : 'ies resolve'} to no city in the register ${reg.f}: ${unmatched.join('; ')}. ` +
          `Fix the code in ${ros.f}, or list the entry in param allow_unmatched.`,
      );
    }

    // --- new columns
    const n = t.nrows;
    const cAdopt = new Float64Array(n);
    const cTreat = new Float64Array(n);
    const cDid = new Float64Array(n);
    const cRel = new Float64Array(n);
    const cRes = new Float64Array(n);
    const cMun = new Float64Array(n);
    const cRegion: (string | null)[] = new Array(n);
    const cType: (string | null)[] = new Array(n);
    const cProv: (string | null)[] = new Array(n);
    const keep: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = panelUnit[i];
      if (u === null || u === undefined) continue;
      keep.push(i);
      const unit = units.get(u)!;
      const ad = adopt.get(u) ?? NaN;
      const y = yc[i]!;
      cAdopt[i] = ad;
      cTreat[i] = Number.isNaN(ad) ? 0 : 1;
      cDid[i] = Number.isNaN(y) ? NaN : !Number.isNaN(ad) && y >= ad ? 1 : 0;
      cRel[i] = Number.isNaN(ad) ? NaN : y - ad;
      cRes[i] = unit.resource_based;
      cMun[i] = unit.municipality;
      cRegion[i] = unit.region;
      cType[i] = unit.unit_type || null;
      cProv[i] = unit.province_code;
    }
    const added: [string, Float64Array | (string | null)[]][] = [
      ['adopt', cAdopt], ['treat', cTreat], ['did', cDid], ['rel_year', cRel], ['region', cRegion],
      ['resource_based', cRes], ['municipality', cMun], ['unit_type', cType], ['province_code', cProv],
    ];
    for (const [name, col] of added) {
      if (hasCol(t, name)) ctx.warn(`the panel already has a column "${name}"; it is replaced by the roster/register value`);
      t = withColumn(t, name, col);
    }
    if (keep.length !== n) {
      t = takeRows(t, keep);
      ctx.warn(`dropped ${n - keep.length} panel rows whose code is not in the register (${droppedUnknown.map((d) => d.code).join(', ')})`);
    }
    const adoptCounts: Record<string, number> = {};
    for (const [u, y] of adopt) if (panelCodes.has(u)) adoptCounts[y] = (adoptCounts[y] ?? 0) + 1;
    const report = {
      roster: p.roster,
      register: p.register,
      county_zones: p.county_zones,
      entries: matches,
      treated_units: adopt.size,
      treated_in_panel: [...adopt.keys()].filter((u) => panelCodes.has(u)).length,
      panel_units: panelCodes.size,
      adopt_year_counts_in_panel: adoptCounts,
      not_in_panel: matches.filter((m) => m.attributed_to !== null && !m.in_panel).map((m) => `${m.name_en} (${m.attributed_to})`),
      panel_codes_remapped: Object.fromEntries(viaFormer),
      dropped_unknown_codes: droppedUnknown,
    };
    ctx.info(`${report.treated_in_panel} of ${report.panel_units} panel cities are pilots (county_zones: ${p.county_zones})`);
    return { panel: { type: 'table', table: t }, report: { type: 'json', value: report } };
  },
});
