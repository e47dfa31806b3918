/**
 * Start a Dask cluster from the wp5 panel, see its worker, close it.
 * Runs against `jupyter wp5 playground` (the local backend: a real LocalCluster in its own process).
 */
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from '@jupyterlab/galata';

import { PANEL_ID, setExpanded } from './panel';

const NAME = 'ui-cpu';

const SCREENSHOT = path.resolve(
  __dirname,
  '..',
  '..',
  'docs',
  'images',
  'panel-clusters.png'
);

test.describe('wp5 panel: clusters', () => {
  test('create a cpu cluster with 1 worker, see it, close it', async ({
    page
  }, testInfo) => {
    await page.sidebar.openTab(PANEL_ID);
    await page.sidebar.setWidth(420);
    const panel = page.locator(`#${PANEL_ID}`);
    await setExpanded(panel, 'Data', false);
    await setExpanded(panel, 'Transfers', false);
    const section = panel.locator('.wp5-clusters-section');
    await expect(section).toBeVisible();

    const profiles = section.locator('.wp5-profile-select');
    await expect(profiles.locator('option[value="cpu"]')).toHaveCount(1);
    await expect(profiles.locator('option[value="cpu"]')).toBeEnabled();
    await profiles.selectOption('cpu');
    await section.locator('.wp5-workers-input').fill('1');
    await section.locator('.wp5-cluster-name').fill(NAME);
    await section.locator('.wp5-cluster-create').click();

    const row = section.locator(`.wp5-cluster-row[data-name="${NAME}"]`);
    await expect(row).toBeVisible();
    await expect(section.locator('.wp5-cluster-form .wp5-error')).toHaveCount(
      0
    );
    // The events socket brings the live size in once the worker has joined.
    await expect(row.locator('.wp5-cluster-workers')).toHaveText('1 worker');
    await expect(row.locator('.wp5-cluster-cores')).not.toHaveText('0 cores');

    // The dashboard is served through Jupyter (the owner-only wp5 route), so it opens under
    // the server's base URL, as it would behind JupyterHub.
    const dashboard = row.locator('.wp5-cluster-dashboard');
    await expect(dashboard).toBeVisible();
    const href = await dashboard.getAttribute('href');
    expect(href).toMatch(/\/wp5\/api\/clusters\/[^/]+\/dashboard\/status$/);
    const dash = await page.context().newPage();
    const response = await dash.goto(new URL(href!, page.url()).toString());
    expect(response?.status()).toBe(200);
    await expect(dash).toHaveTitle(/Dask/);
    await dash.close();

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await panel.screenshot({ path: SCREENSHOT });
    await testInfo.attach('panel-clusters', {
      path: SCREENSHOT,
      contentType: 'image/png'
    });

    // "Insert client code" adds a cell to the active notebook.
    await page.notebook.createNew('wp5-client.ipynb');
    await row.locator('.wp5-cluster-code').click();
    await expect(row.locator('.wp5-note')).toHaveText(
      'Inserted into the notebook.'
    );
    await expect(
      page.locator('.jp-NotebookPanel .jp-Cell.jp-mod-active .cm-content')
    ).toHaveText(
      'import jupyter_wp5 as wp5' +
        `client = wp5.cluster("${NAME}").get_client()`
    );

    await row.locator('.wp5-cluster-close').click();
    await expect(row).toHaveCount(0);
    // Still gone after the next polls.
    await page.waitForTimeout(2500);
    await expect(row).toHaveCount(0);
  });
});
