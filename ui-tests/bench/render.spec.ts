/**
 * B6: how long the wp5 panel takes to show its first rows, and then all rows, of a search with
 * many results (a catalogue-only scope's 10,000-file dataset), in headless Chromium.
 * Writes {first_rows_s, all_rows_s, rows, dom_rows} to WP5_BENCH_OUT.
 */
import * as fs from 'fs';

import { expect, test } from '@jupyterlab/galata';

const PANEL_ID = 'wp5-panel';
const QUERY = process.env.WP5_BENCH_QUERY || 'archive:big.*';
const ROWS = Number(process.env.WP5_BENCH_ROWS || '10000');
const OUT = process.env.WP5_BENCH_OUT || 'bench-render.json';

test('B6: first render of the result rows', async ({ page }) => {
  await page
    .locator(`.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="${PANEL_ID}"]`)
    .click();
  const panel = page.locator(`#${PANEL_ID}`);
  await expect(panel).toBeVisible();
  await panel.locator('.wp5-type-select').selectOption('file');
  const input = panel.locator('.wp5-search-input');
  await input.fill(QUERY);

  const start = Date.now();
  await input.press('Enter');
  await expect(panel.locator('.wp5-result-row').first()).toBeVisible({
    timeout: 60000
  });
  const firstRows = (Date.now() - start) / 1000;

  // The list pages in as it is scrolled: scroll to its end until every row is there.
  const list = panel.locator('.wp5-result-list');
  const count = panel.locator('.wp5-results-count');
  const all = `${ROWS.toLocaleString('en-US')} results`;
  while ((await count.textContent())?.trim() !== all) {
    await list.evaluate(el => {
      el.scrollTop = el.scrollHeight;
    });
    await page.waitForTimeout(20);
    const more = panel.locator('.wp5-load-more');
    if (await more.isVisible()) {
      await more.click();
    }
  }
  const allRows = (Date.now() - start) / 1000;
  const domRows = await panel.locator('.wp5-result-row').count();
  await expect(panel.locator('.wp5-error')).toHaveCount(0);

  fs.writeFileSync(
    OUT,
    JSON.stringify({
      query: QUERY,
      rows: ROWS,
      first_rows_s: firstRows,
      all_rows_s: allRows,
      dom_rows: domRows
    })
  );
});
