import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { makePsmCsv, PSM_FIXTURE } from '../fixtures/psm-fixture.js';

describe('psm fixture', () => {
  it('the committed CSV is exactly what the seeded generator produces', () => {
    const csv = makePsmCsv();
    if (process.env.REGEN === '1') writeFileSync(PSM_FIXTURE, csv);
    expect(readFileSync(PSM_FIXTURE, 'utf8')).toBe(csv);
  });
});
