/**
 * The panel's Access section, community selector and exact counts, against the playground.
 *
 * A Leonardo user's panel (a second lab acting as `leonardo-user`, started by account_lab.py)
 * asks for INAF's space-debris catalogue; INAF's steward grants it from Python with the steward's
 * own Rucio account (as notebook 03 does); the Leonardo panel then shows the request granted and
 * the ledger's checkpoint verified. The playground's own lab (an INAF member) chooses its
 * community and counts a dataset's files exactly.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

import { expect, test } from '@jupyterlab/galata';
import { Page } from '@playwright/test';

import { PANEL_ID, setExpanded } from './panel';

const DATASET = 'space:debris_catalogue_2026';
const ROOT = process.env.WP5_PLAYGROUND_ROOT || '';
const PYTHON = process.env.WP5_PYTHON || 'python';

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Run Python with the playground's root as ``root`` (a pathlib.Path). */
function python(code: string): string {
  return execFileSync(
    PYTHON,
    [
      '-c',
      `from pathlib import Path\nroot = Path(${JSON.stringify(ROOT)})\n${code}`
    ],
    { encoding: 'utf8', timeout: 120000 }
  );
}

/** Open the wp5 panel of ``page`` and expand its section ``label``. */
async function openSection(page: Page, label: string) {
  const tab = page.locator(
    `.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="${PANEL_ID}"]`
  );
  await expect(tab).toBeVisible({ timeout: 120000 });
  if ((await page.locator(`#${PANEL_ID}`).isVisible()) === false) {
    await tab.click();
  }
  const panel = page.locator(`#${PANEL_ID}`);
  await expect(panel).toBeVisible();
  await setExpanded(panel, label, true);
  return panel;
}

test.describe('wp5 panel: access between communities', () => {
  test.skip(!ROOT, 'WP5_PLAYGROUND_ROOT is not set (ui-tests/run.sh sets it)');

  let lab: ChildProcess | null = null;
  let labUrl = '';

  test.beforeAll(async () => {
    test.setTimeout(240000);
    const port = await freePort();
    const token = `leonardo${Date.now()}`;
    lab = spawn(
      PYTHON,
      [
        path.resolve(__dirname, '..', 'account_lab.py'),
        ROOT,
        String(port),
        token
      ],
      { stdio: 'ignore' }
    );
    labUrl = `http://127.0.0.1:${port}/lab?token=${token}`;
    // Ready once the server answers its status with the token.
    await expect
      .poll(
        async () => {
          try {
            const r = await fetch(
              `http://127.0.0.1:${port}/api/status?token=${token}`
            );
            return r.status;
          } catch {
            return 0;
          }
        },
        { timeout: 180000, intervals: [1000] }
      )
      .toBe(200);
  });

  test.afterAll(() => {
    lab?.kill('SIGINT');
  });

  test('a Leonardo user asks, the INAF steward grants, the panel shows it granted', async ({
    browser
  }) => {
    test.setTimeout(240000);
    const context = await browser.newContext({
      viewport: { width: 1200, height: 900 }
    });
    const page = await context.newPage();
    await page.goto(labUrl);
    const panel = await openSection(page, 'Access');
    const access = panel.locator('[data-testid="wp5-access"]');

    await access.locator('.wp5-access-ask-did').fill(DATASET);
    await access
      .locator('.wp5-access-ask-purpose')
      .fill('close-approach screening');
    await access.locator('.wp5-access-ask-button').click();
    const row = access
      .locator('[data-testid="wp5-access-mine"] [data-testid="wp5-access-row"]')
      .first();
    await expect(row.locator('[data-testid="wp5-access-status"]')).toHaveText(
      'pending'
    );
    await expect(row).toContainText(DATASET);
    // The purpose is shown to its requester only: the server keeps its salted hash.
    await expect(row).toContainText('Purpose: close-approach screening');
    const id = await row.getAttribute('data-request-id');
    expect(id).toMatch(/^[0-9a-f]+$/);

    // A Leonardo user is a steward of nothing: no decisions are offered to it.
    await expect(
      access.locator('[data-testid="wp5-access-stewarded"]')
    ).toHaveCount(0);

    python(
      'from jupyter_wp5.playground.parties import client_as\n' +
        `client_as("inaf-steward", root).grant_access(${JSON.stringify(id)}, "7d")`
    );
    // The section polls: the grant shows without a reload.
    await expect(row.locator('[data-testid="wp5-access-status"]')).toHaveText(
      'granted',
      { timeout: 30000 }
    );
    await expect(row).toContainText('until');

    // The grant is a ledger entry. Once the log has checkpointed it (here on request, as a
    // receipt does), the badge names the checked checkpoint's size and signers.
    python(
      'from jupyter_wp5.ledger import LedgerClient\n' +
        'from jupyter_wp5.playground.info import FacilityInfo\n' +
        'LedgerClient(FacilityInfo.read(root / "facility.json").ledger.url).checkpoint()'
    );
    const badge = access.locator('[data-testid="wp5-ledger-badge"]');
    await expect(badge).toHaveText('verified', { timeout: 30000 });
    const ledger = access.locator('[data-testid="wp5-ledger"]');
    await expect(ledger).toContainText(/tree size \d+, signed by .+, .+, .+/);
    await expect(panel.locator('.wp5-error')).toHaveCount(0);
    await context.close();
  });
});

test.describe('wp5 panel: community and exact counts', () => {
  test('choosing INAF makes a bare pattern search its space scope', async ({
    page
  }) => {
    const panel = await openSection(page, 'Data');
    const selector = panel.locator('.wp5-community-select');
    await expect(selector).toBeVisible();
    // The state database is saved with the workspace: wait for that before reloading.
    const saved = page.waitForRequest(
      r => r.url().includes('/api/workspaces') && r.method() === 'PUT'
    );
    await selector.selectOption('inaf');
    await expect(
      panel.locator('[data-testid="wp5-community-note"]')
    ).toContainText('Searches space');
    const input = panel.locator('.wp5-search-input');
    await input.fill('*debris*');
    await input.press('Enter');
    await expect(
      panel.locator(`.wp5-result-row[data-did="${DATASET}"]`)
    ).toBeVisible();
    await expect(
      panel.locator('.wp5-result-row[data-did^="cms:"]')
    ).toHaveCount(0);

    // Kept across a reload, in JupyterLab's state database.
    await saved;
    await page.reload();
    const again = await openSection(page, 'Data');
    await expect(again.locator('.wp5-community-select')).toHaveValue('inaf');
    await again.locator('.wp5-community-select').selectOption('');
  });

  test("a dataset's summary counts, then its exact per-file counts", async ({
    page
  }) => {
    const panel = await openSection(page, 'Data');
    const input = panel.locator('.wp5-search-input');
    await input.fill('cms:DYJetsToLL*');
    await input.press('Enter');
    await panel
      .locator('.wp5-result-row[data-did="cms:DYJetsToLL_M-50_NanoAODv9"]')
      .click();
    const details = panel.locator('[data-testid="wp5-details"]');
    const source = details.locator('[data-testid="wp5-exact-source"]');
    await expect(source).toHaveText("Counts: Rucio's summary");
    const files = await details.locator('.wp5-details-files').textContent();
    await details.locator('.wp5-exact-button').click();
    await expect(source).toHaveText('Counts: exact, file by file', {
      timeout: 60000
    });
    await expect(details.locator('.wp5-details-files')).toHaveText(files ?? '');
    await expect(details.locator('.wp5-error')).toHaveCount(0);
  });
});
