/**
 * Opens the report built from fixtures in headless Chromium (Debian `chromium` + playwright-core):
 * no console errors or failed requests, every table and both figures visible, a screenshot saved to
 * test-output/report.png. Skipped (with a message) only when /usr/bin/chromium is missing;
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
  it('renders with no console errors; every table and both figures are visible; screenshot saved', async () => {
    const { html, tableTitles, figureTitles } = await buildFixtureReport();
    const outDir = path.join(ROOT, 'test-output');
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, 'report.html');
    writeFileSync(file, html);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
        expect(await figs.nth(i).locator('figcaption').innerText()).toBe(figureTitles[i]);
        // the plot's marks are drawn: points of the event study / density area of the placebo
        expect(await figs.nth(i).locator('g.mark-symbol path').count()).toBeGreaterThan(10);
      }

      expect(await page.locator('#simulated-banner').isVisible()).toBe(true);
      expect(await page.locator('.dag-node').count()).toBe(11);
      expect(await page.locator('#comparison-summary').isVisible()).toBe(true);

      await page.evaluate(() => window.scrollTo(0, 0));
      const shot = await page.screenshot({ fullPage: true });
      writeFileSync(path.join(outDir, 'report.png'), shot);
      expect(shot.length).toBeGreaterThan(10_000);

      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
