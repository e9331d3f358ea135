/**
 * The report lists the applied data fixes (clean's `fixes` outputs) under Data provenance: every
 * fix with its node, cell, column, old and new value and reason, HTML-escaped; "None" when the
 * wired clean nodes applied none; no section when no fixes input is wired; a miswired input is an error.
 */
import { describe, expect, it } from 'vitest';
import def from '../../steps/report.js';
import clean from '../../steps/clean.js';
import { StepError } from '../../engine/types.js';
import { makeTable } from '../../engine/table.js';
import { renderCtx, text } from './render-ctx.js';
import { runStep } from './ctx.js';

const panel = makeTable({ city_code: Float64Array.from([450300]), year: Float64Array.from([2016]), so2: Float64Array.from([6146]) });
const params = def.params.parse({ paper_notes: false });

describe('report: data fixes', () => {
  it('lists each applied fix of the wired clean nodes', async () => {
    const out = await runStep(clean, { fixes: [{ key: { city_code: 450300, year: 2016 }, column: 'so2', from: 6146, to: 16146, why: 'digit slip <see 2015 & 2017>' }] }, { table: { type: 'table', table: panel } });
    const h = text((await def.run(renderCtx('report'), { fixes: [out.fixes!] }, params)).html);
    const sec = h.slice(h.indexOf('id="fixes"'));
    expect(h).toContain('<h3 id="fixes">Data corrections</h3>');
    expect(sec).toContain('<td class="mono">city_code=450300, year=2016</td><td class="mono">so2</td><td class="num">6146</td><td class="num">16146</td><td>digit slip &lt;see 2015 &amp; 2017&gt;</td>');
  });
  it('says None when the wired nodes applied no fix, and has no section when nothing is wired', async () => {
    const none = await runStep(clean, {}, { table: { type: 'table', table: panel } });
    expect(text((await def.run(renderCtx('report'), { fixes: [none.fixes!] }, params)).html)).toContain('None: no cell of the input data was corrected.');
    expect(text((await def.run(renderCtx('report'), {}, params)).html)).not.toContain('Data corrections');
  });
  it('a miswired fixes input (not a list of applied fixes) is an error naming it', async () => {
    await expect(def.run(renderCtx('report'), { fixes: [{ type: 'json', value: { rows_in: 1 } }] }, params)).rejects.toThrow(StepError);
    await expect(def.run(renderCtx('report'), { fixes: [{ type: 'json', value: { rows_in: 1 } }] }, params)).rejects.toThrow(/input fixes\[0\] is not a list of applied fixes; wire the fixes output of a clean node/);
  });
});
