/**
 * Opens the report built from fixtures in headless Chromium (Debian `chromium` + playwright-core) at
 * 1400 px and 390 px (a phone): no console errors or requests, every table and both figures visible
 * and legible, nothing wider than the page outside a box that scrolls sideways, and in print media
 * no navigation and every <details> open; screenshots saved to test-output/report-<width>.png. Skipped (with a message) only when /usr/bin/chromium is missing;
 * install it with: apt-get install -y --no-install-recommends chromium fonts-dejavu-core
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFixtureReport, ROOT } from './render-ctx.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`report.browser.test: SKIPPED — ${CHROMIUM} is missing; install it with: apt-get install -y --no-install-recommends chromium fonts-dejavu-core`);

describe.skipIf(!haveChromium)('report in headless Chromium', () => {
  for (const width of [1400, 390]) {
    it(`at ${width} px: no console errors or requests, every table and figure visible, nothing wider than the page; prints with details open`, async () => {
      const { html, tableTitles, figureTitles } = await buildFixtureReport();
      const outDir = path.join(ROOT, 'test-output');
      mkdirSync(outDir, { recursive: true });
      const file = path.join(outDir, `report-${width}.html`);
      writeFileSync(file, html);

      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width, height: 900 } });
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

        await page.goto(`file://${file}`, { waitUntil: 'load' });

        // only the page itself (and data: URIs) is loaded
        expect(requests.filter((u) => !u.startsWith('data:') && u !== `file://${file}`)).toEqual([]);

        const tables = page.locator('.report-table table');
        expect(await tables.count()).toBe(tableTitles.length);
        for (let i = 0; i < tableTitles.length; i++) {
          const t = tables.nth(i);
          await t.scrollIntoViewIfNeeded();
          expect(await t.isVisible()).toBe(true);
          expect(await t.locator('caption').innerText()).toBe(tableTitles[i]);
          const box = await t.boundingBox();
          expect(box!.width).toBeGreaterThan(100);
          expect(box!.height).toBeGreaterThan(50);
        }

        const figs = page.locator('figure.report-figure');
        expect(await figs.count()).toBe(2);
        for (let i = 0; i < 2; i++) {
          const svg = figs.nth(i).locator('svg').first();
          await svg.scrollIntoViewIfNeeded();
          expect(await svg.isVisible()).toBe(true);
          const box = await svg.boundingBox();
          expect(box!.width).toBeGreaterThan(300);
          expect(box!.height).toBeGreaterThan(150);
          // the caption is there for screen readers; the title is drawn once, in the figure
          expect(await figs.nth(i).locator('figcaption').textContent()).toBe(figureTitles[i]);
          expect((await figs.nth(i).locator('figcaption').boundingBox())!.height).toBeLessThanOrEqual(1);
          // the plot's marks are drawn: points of the event study / density area of the placebo
          expect(await figs.nth(i).locator('g.mark-symbol path').count()).toBeGreaterThan(10);
          // legible: axis tick labels are drawn at least 8 px tall
          const label = figs.nth(i).locator('g.role-axis-label text').first();
          expect((await label.boundingBox())!.height).toBeGreaterThanOrEqual(8);
        }

        expect(await page.locator('#simulated-banner').isVisible()).toBe(true);
        expect(await page.locator('#paper').isVisible()).toBe(true);
        // the banner is the first thing on the page, and the page never scrolls sideways
        await page.evaluate(() => window.scrollTo(0, 0));
        expect((await page.locator('#simulated-banner').boundingBox())!.y).toBe(0);
        // also with every <details> opened: anything wider than the page sits in a box that scrolls
        // sideways (overflow-x auto/scroll) and that box itself fits
        const overflowing = await page.evaluate(() => {
          document.querySelectorAll('details').forEach((d) => (d.open = true));
          const vw = document.documentElement.clientWidth;
          const inScrollBox = (e: Element): boolean => {
            for (let a = e.parentElement; a; a = a.parentElement) {
              if (a instanceof SVGElement) continue; // an inline <svg> clips (overflow: hidden); its HTML box is what counts
              const ox = getComputedStyle(a).overflowX;
              if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') return a.getBoundingClientRect().right <= vw + 0.5 && a.getBoundingClientRect().left >= -0.5;
            }
            return false;
          };
          return [...document.querySelectorAll('body *')]
            .filter((e) => {
              const r = e.getBoundingClientRect();
              if (r.width === 0 && r.height === 0) return false;
              return (r.right > vw + 0.5 || r.left < -0.5) && !inScrollBox(e);
            })
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}: ${e.outerHTML.slice(0, 80)}`);
        });
        expect(overflowing).toEqual([]);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = false)));
        expect(await page.locator('.dag-node').count()).toBe(11);
        expect(await page.locator('#comparison-summary').isVisible()).toBe(true);
        expect(await page.locator('#provenance-details table').isVisible()).toBe(false);

        await page.evaluate(() => window.scrollTo(0, 0));
        const shot = await page.screenshot({ fullPage: true });
        writeFileSync(path.join(outDir, `report-${width}.png`), shot);
        expect(shot.length).toBeGreaterThan(10_000);

        // print: no navigation, closed <details> (durations, comparisons, provenance) printed open
        await page.emulateMedia({ media: 'print' });
        expect(await page.locator('nav').isVisible()).toBe(false);
        expect(await page.locator('#provenance-details table').isVisible()).toBe(true);
        expect(await page.evaluate(() => getComputedStyle(document.querySelectorAll('.report-table')[1]!).breakBefore)).toBe('page');
        if (width === 1400) writeFileSync(path.join(outDir, 'report.pdf'), await page.pdf({ format: 'A4' }));

        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  }

  it('a wide table artifact (9 columns with long names, like psm.balance) fits the page: headers wrap', async () => {
    const def = (await import('../../steps/report.js')).default;
    const { fromRows } = await import('../../engine/table.js');
    const { renderCtx, text } = await import('./render-ctx.js');
    const row = (c: string, x: number) => ({ covariate: c, mean_treated: 4.758612 * x, mean_control: 4.46311 * x, mean_treated_matched: 4.758612 * x, mean_control_matched: 4.642913 * x, smd_before: 0.088, smd_after: 0.0345, var_ratio_before: 1.0733, var_ratio_after: 1.146 });
    const balance = fromRows(['_ps', 'pgdp', 'indus', 'urb', 'fin', 'fis'].map((c, i) => row(c, 10 ** (i % 3))));
    const html = text((await def.run(renderCtx('report'), { tables: [{ type: 'table', table: balance }] }, def.params.parse({ paper_notes: false, table_captions: ['PSM balance'] }))).html);
    const file = path.join(ROOT, 'test-output', 'report-wide-table.html');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, html);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const t = page.locator('.report-table table');
      expect(await t.locator('th').nth(3).innerText()).toBe('mean treated matched');
      const box = (await t.boundingBox())!;
      const section = (await page.locator('.report-table .repro-table').boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(section.x + section.width + 0.5);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    } finally {
      await browser.close();
    }
  });
});
