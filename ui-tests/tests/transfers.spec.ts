/**
 * Make a dataset available at a site from the wp5 panel and follow the transfer.
 * Runs against `jupyter wp5 playground` (a real Rucio; the rule's locks give the progress).
 */
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from '@jupyterlab/galata';

import { PANEL_ID, setExpanded } from './panel';

const DID = 'cms:TTTo2L2Nu_NanoAODv9';
const SITE = 'SITE-B';

const SCREENSHOT = path.resolve(
  __dirname,
  '..',
  '..',
  'docs',
  'images',
  'panel-transfers.png'
);

test.describe('wp5 panel: data movement', () => {
  test('make TTTo2L2Nu available at SITE-B and follow it', async ({
    page
  }, testInfo) => {
    await page.sidebar.openTab(PANEL_ID);
    await page.sidebar.setWidth(420);
    const panel = page.locator(`#${PANEL_ID}`);
    await setExpanded(panel, 'Clusters', false);
    await expect(panel).toBeVisible();

    // Find and open the dataset.
    await panel.locator('.wp5-type-select').selectOption('dataset');
    await panel.locator('.wp5-search-input').fill(DID);
    await panel.locator('.wp5-search-input').press('Enter');
    await panel.locator(`.wp5-result-row[data-did="${DID}"]`).click();
    const details = panel.locator('.wp5-details');
    await expect(details).toHaveAttribute('data-did', DID);
    await expect(details.locator('.wp5-details-files')).not.toHaveText(
      '\u2014'
    );

    // Make it available at SITE-B for 1 day.
    const sites = details.locator('.wp5-site-select');
    await expect(sites.locator(`option[value="${SITE}"]`)).toHaveCount(1);
    await sites.selectOption(SITE);
    await details.locator('.wp5-lifetime-select').selectOption({
      label: '1 day'
    });
    // Requests left from earlier runs (kept in the user's request store) are not this one.
    const earlier = await panel
      .locator('.wp5-transfer-row')
      .evaluateAll(rows => rows.map(r => r.getAttribute('data-id')));
    await details.locator('.wp5-make-available').click();
    await expect(details.locator('.wp5-make-available')).toHaveText(
      'Make available'
    );
    await expect(
      details.locator('.wp5-make-available-form .wp5-error')
    ).toHaveCount(0);

    // The transfer row, with its bar and files ok/total.
    const row = panel.locator(
      `.wp5-transfer-row[data-did="${DID}"][data-rse="${SITE}"]` +
        earlier.map(id => `:not([data-id="${id}"])`).join('')
    );
    await expect(row).toBeVisible();
    await expect(row.locator('.wp5-progress')).toBeVisible();
    await expect(row.locator('.wp5-progress-text')).toHaveText(
      /\d+% \u00b7 \d+\/[1-9]\d* files/
    );
    await expect(row.locator('.wp5-state')).toHaveText(
      /^(OK|REPLICATING|STUCK)$/
    );

    // The transfer daemons copy the files: the rule goes OK and the bar is full.
    await expect(row).toHaveAttribute('data-state', 'OK', { timeout: 60_000 });
    await expect(row.locator('.wp5-progress')).toHaveAttribute(
      'aria-valuenow',
      '100'
    );
    await expect(row.locator('.wp5-progress-text')).toContainText('100%');

    // The docs' screenshot: the finished copy, no error in view.
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await panel.screenshot({ path: SCREENSHOT });
    await testInfo.attach('panel-transfers', {
      path: SCREENSHOT,
      contentType: 'image/png'
    });

    // Asking again for the same copy: Rucio refuses (duplicate rule), shown in place.
    await details.locator('.wp5-make-available').click();
    const refusal = details.locator('.wp5-make-available-form .wp5-error');
    await expect(refusal).toBeVisible();
    await expect(refusal).toContainText('HTTP 409');

    // Clean up: cancel the request, so a re-run may ask for the same copy again.
    await row.locator('.wp5-transfer-cancel').click();
    await expect(row).toHaveCount(0);
  });
});
