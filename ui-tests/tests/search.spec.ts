/**
 * Search the playground's catalogue from the wp5 side panel and open a dataset.
 * Runs against `jupyter wp5 playground` (a real Rucio with the seeded cms datasets).
 */
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from '@jupyterlab/galata';

import { PANEL_ID, setExpanded } from './panel';

const DATASETS = [
  'cms:DYJetsToLL_M-50_NanoAODv9',
  'cms:TTTo2L2Nu_NanoAODv9',
  'cms:WJetsToLNu_NanoAODv9'
];
const CONTAINER = 'cms:Run3Summer22_NanoAODv9';
const DYJETS = DATASETS[0];
/** The seeded CMS block: a leading '/', '/' segments and a '#' in its name. */
const CMS_BLOCK =
  'cmsblock:/DYJetsToMuMu_M-50_TuneCP5/Run3Summer22NanoAODv12-130X_mcRun3/NANOAODSIM#a1b2';

/** Storage elements that hold a complete copy of DYJets in the seeded playground. */
const COMPLETE_SITES = (process.env.WP5_EXPECT_SITES || 'SITE-A,SITE-B').split(
  ','
);

/** Where the screenshot for the docs goes (relative to the repository root). */
const SCREENSHOT = path.resolve(
  __dirname,
  '..',
  '..',
  'docs',
  'images',
  'panel-search.png'
);

test.describe('wp5 panel: data search', () => {
  test('search cms:* and open DYJets', async ({ page }, testInfo) => {
    // Open the panel from its tab in the left sidebar.
    const tab = page.locator(
      `.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="${PANEL_ID}"]`
    );
    await expect(tab).toBeVisible();
    await tab.click();
    const panel = page.locator(`#${PANEL_ID}`);
    await expect(panel).toBeVisible();
    expect(await page.sidebar.isTabOpen(PANEL_ID)).toBe(true);

    const input = panel.locator('.wp5-search-input');
    const typeSelect = panel.locator('.wp5-type-select');
    const rows = panel.locator('.wp5-result-row');
    const row = (did: string) =>
      panel.locator(`.wp5-result-row[data-did="${did}"]`);

    // Collections (the default type): the three datasets and their container.
    await expect(typeSelect).toHaveValue('collection');
    await input.fill('cms:*');
    await input.press('Enter');
    for (const did of [...DATASETS, CONTAINER]) {
      await expect(row(did)).toBeVisible();
    }
    await expect(panel.locator('.wp5-error')).toHaveCount(0);

    // Datasets only: the container is gone.
    await typeSelect.selectOption('dataset');
    await panel.locator('.wp5-search-button').click();
    await expect(row(CONTAINER)).toHaveCount(0);
    for (const did of DATASETS) {
      await expect(row(did)).toBeVisible();
    }
    await expect(rows.first()).toBeVisible();

    // Open DYJets: copies at the seeded sites, all files there.
    await row(DYJETS).click();
    await expect(row(DYJETS)).toHaveClass(/wp5-mod-selected/);
    const details = panel.locator('.wp5-details');
    await expect(details).toHaveAttribute('data-did', DYJETS);
    await expect(details.locator('.wp5-loading')).toHaveCount(0);
    await expect(details.locator('.wp5-error')).toHaveCount(0);
    await expect(details.locator('.wp5-details-files')).not.toHaveText(
      '\u2014'
    );
    for (const rse of COMPLETE_SITES) {
      const copy = details.locator(`.wp5-copy-row[data-rse="${rse}"]`);
      await expect(copy).toBeVisible();
      await expect(copy.locator('.wp5-fraction-text')).toHaveText('100%');
      await expect(copy).toHaveClass(/wp5-mod-complete/);
    }

    // The docs' picture: the Data section alone, with the dataset's details and files.
    for (const section of ['Transfers', 'Clusters', 'Access']) {
      await setExpanded(panel, section, false);
    }
    await expect(details.locator('.wp5-file-row').first()).toBeVisible();
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await panel.screenshot({ path: SCREENSHOT });
    await testInfo.attach('panel-search', {
      path: SCREENSHOT,
      contentType: 'image/png'
    });
  });

  test('a CMS block name (/ segments and #) opens its details', async ({
    page
  }) => {
    await page.sidebar.openTab(PANEL_ID);
    const panel = page.locator(`#${PANEL_ID}`);
    await panel.locator('.wp5-search-input').fill('cmsblock:*');
    await panel.locator('.wp5-search-input').press('Enter');
    const row = panel.locator(`.wp5-result-row[data-did="${CMS_BLOCK}"]`);
    await expect(row).toBeVisible();
    await row.click();
    const details = panel.locator('.wp5-details');
    await expect(details).toHaveAttribute('data-did', CMS_BLOCK);
    await expect(details.locator('.wp5-loading')).toHaveCount(0);
    await expect(details.locator('.wp5-error')).toHaveCount(0);
    await expect(details.locator('.wp5-details-files')).toHaveText('2');
    const copy = details.locator('.wp5-copy-row[data-rse="SITE-A"]');
    await expect(copy.locator('.wp5-fraction-text')).toHaveText('100%');
  });

  test('a malformed search shows the server message', async ({ page }) => {
    await page.sidebar.openTab(PANEL_ID);
    const panel = page.locator(`#${PANEL_ID}`);
    await panel.locator('.wp5-search-input').fill('not a scope:*');
    await panel.locator('.wp5-search-input').press('Enter');
    const banner = panel.locator('.wp5-error');
    await expect(banner).toBeVisible();
    await expect(banner).toContainText('not a valid scope');
    await expect(banner).toContainText('HTTP 400');
  });
});
