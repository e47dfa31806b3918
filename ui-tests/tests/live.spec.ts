/**
 * What a notebook does reaches the panel within 2 s, without a reload: a dataset copy (to a site
 * that already holds the data, so Rucio calls it OK at once and it never "moves"), a container
 * copy, and a cluster started (then closed) from a kernel. Once with the panel opened by its tab,
 * once with it restored open by a page load, once after its events socket was dropped and
 * reconnected. No list request may bring the news: it must come by the events websocket.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, Request, WebSocketRoute } from '@playwright/test';

import { PANEL_ID, setExpanded } from './panel';

const CONTAINER = 'cms:Run3Summer22_NanoAODv9';

/** Datasets to copy to SITE-A, where they already are: one per test. */
const DATASETS: { [label: string]: string } = {
  tab: 'cms:DYJetsToLL_M-50_NanoAODv9',
  restored: 'cms:WJetsToLNu_NanoAODv9',
  reconnected: 'space:debris_catalogue_2026'
};

/**
 * The kernel's set-up, one line per statement (Galata types it). Rucio refuses a duplicate of a
 * rule (same account, DID, expression) for a while after it was cancelled, as the earlier tests'
 * and runs' rules are: ``fresh`` tries expressions that all select the same site until one is free.
 */
const SETUP = String.raw`import jupyter_wp5 as wp5
SITE_A = ["rse=SITE-A", "SITE-A|SITE-A", "SITE-A&SITE-A", r"SITE-A\SITE-B", r"SITE-A\SITE-C"]
SITE_B = ["SITE-B", "rse=SITE-B", "SITE-B|SITE-B", "SITE-B&SITE-B", r"SITE-B\SITE-C"]
exec("def fresh(did, exprs, **o):\n for e in exprs:\n  try:\n   return wp5.replicate(did, to=e, **o)\n  except Exception as err:\n   if 'duplicate' not in str(err): raise\n raise RuntimeError('every expression has a rule still being removed')")`;

/** How long the panel may take to show what a kernel did. */
const LIVE_MS = 2000;

/** Show the Transfers and Clusters sections, Data collapsed. */
async function showLiveSections(panel: Locator): Promise<void> {
  await setExpanded(panel, 'Data', false);
  await setExpanded(panel, 'Transfers', true);
  await setExpanded(panel, 'Clusters', true);
}

/** The list requests (``GET replicas`` / ``GET clusters``) the page sends from now on. */
function listRequests(page: IJupyterLabPageFixture): Request[] {
  const seen: Request[] = [];
  page.on('request', request => {
    const url = new URL(request.url());
    if (
      request.method() === 'GET' &&
      /\/wp5\/api\/(replicas|clusters)$/.test(url.pathname)
    ) {
      seen.push(request);
    }
  });
  return seen;
}

/** Run ``code`` in cell ``index`` of the open notebook; answer its text output. */
async function run(
  page: IJupyterLabPageFixture,
  index: number,
  code: string
): Promise<string> {
  await page.notebook.setCell(index, 'code', code);
  expect(await page.notebook.runCell(index, true)).toBe(true);
  const output = (await page.notebook.getCellTextOutput(index)) ?? [];
  return output.join('').trim();
}

/** Cancel copy requests through the REST API (the token header authenticates). */
async function cancel(page: IJupyterLabPageFixture, ids: string[]) {
  for (const id of ids) {
    await page.request.delete(`wp5/api/replicas/${id}`);
  }
}

/** The notebook's copies, then its cluster, appear (and the cluster goes) within 2 s. */
async function kernelWorkShowsUp(
  page: IJupyterLabPageFixture,
  panel: Locator,
  label: string
): Promise<void> {
  await page.notebook.createNew();
  await run(page, 0, SETUP);
  await page.notebook.addCell('code', '');
  await page.notebook.addCell('code', '');
  await page.notebook.addCell('code', '');
  const ids: string[] = [];
  try {
    const lists = listRequests(page);
    const printed = await run(
      page,
      1,
      [
        `a = fresh("${DATASETS[label]}", SITE_A, comment="${label}")`,
        `b = fresh("${CONTAINER}", SITE_B, lifetime="1d", comment="${label}")`,
        'print(a.id, a.state, b.id)'
      ].join('\n')
    );
    const [dataset, state, container] = printed.split(/\s+/);
    ids.push(dataset, container);
    expect(state).toBe('OK'); // complete from the start: no progress will ever be polled
    await expect(
      panel.locator(`.wp5-transfer-row[data-id="${dataset}"]`)
    ).toBeVisible({ timeout: LIVE_MS });
    await expect(
      panel.locator(`.wp5-transfer-row[data-id="${container}"]`)
    ).toBeVisible({ timeout: LIVE_MS });
    await expect(
      panel.locator(`.wp5-transfer-row[data-id="${dataset}"]`)
    ).toHaveAttribute('data-state', 'OK');

    const name = `live-${label}`;
    await run(page, 2, `c = wp5.new_cluster("cpu", workers=1, name="${name}")`);
    const row = panel.locator(`.wp5-cluster-row[data-name="${name}"]`);
    await expect(row).toBeVisible({ timeout: LIVE_MS });
    await run(page, 3, 'c.close()');
    await expect(row).toHaveCount(0, { timeout: LIVE_MS });
    // The events socket brought all of it: no list was asked for meanwhile.
    expect(lists.map(r => r.url())).toEqual([]);
  } finally {
    await cancel(page, ids);
  }
}

test.describe('wp5 panel: live from notebooks', () => {
  // A kernel and a Dask cluster start in each test: slow on a busy machine (the 2 s are the
  // panel's, measured from the end of each cell).
  test.setTimeout(300_000);

  test('copies and a cluster from a kernel, panel opened by its tab', async ({
    page
  }) => {
    await page.sidebar.openTab(PANEL_ID);
    const panel = page.locator(`#${PANEL_ID}`);
    await showLiveSections(panel);
    await kernelWorkShowsUp(page, panel, 'tab');
  });

  test('copies and a cluster from a kernel, panel restored open', async ({
    page
  }) => {
    await page.sidebar.openTab(PANEL_ID);
    const panel = page.locator(`#${PANEL_ID}`);
    await showLiveSections(panel);
    // The layout restorer saves the workspace a moment after a change: wait for that save.
    await page
      .waitForRequest(
        r => r.method() === 'PUT' && r.url().includes('/api/workspaces/'),
        { timeout: 10_000 }
      )
      .catch(() => undefined);
    await page.reload();
    // The layout restorer opened the panel again: nobody clicked its tab.
    await expect(panel).toBeVisible();
    await expect(panel.locator('.wp5-transfers-section')).toBeVisible();
    await kernelWorkShowsUp(page, panel, 'restored');
  });

  test('copies and a cluster from a kernel, after the socket dropped', async ({
    page
  }) => {
    // Route the events socket through the test, to drop it as a network would.
    const sockets: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/wp5\/api\/events/, ws => {
      ws.connectToServer();
      sockets.push(ws);
    });
    await page.reload();
    await page.sidebar.openTab(PANEL_ID);
    const panel = page.locator(`#${PANEL_ID}`);
    await showLiveSections(panel);
    await expect.poll(() => sockets.length).toBe(1);

    const lists = listRequests(page);
    await sockets[0].close({ code: 1001, reason: 'dropped by the test' });
    // The panel reconnects (after 1 s) and reloads both lists at once.
    await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(2);
    await expect
      .poll(() => lists.map(r => new URL(r.url()).pathname).sort())
      .toEqual(
        expect.arrayContaining(['/wp5/api/clusters', '/wp5/api/replicas'])
      );
    await kernelWorkShowsUp(page, panel, 'reconnected');
  });
});
