/**
 * The browser's real login path: no token header, a cookie from Jupyter's login form, XSRF checks
 * on (ui-tests/jupyter-config turns them back on after Galata's set-up). The events websocket must
 * open with the cookie alone and carry a new copy to the panel; the poll must not stand in for it.
 */
import { expect, test } from '@jupyterlab/galata';
import { Request } from '@playwright/test';

import { PANEL_ID, setExpanded } from './panel';

const DATASET = 'cms:TTTo2L2Nu_NanoAODv9';
const SITE_A = [
  'rse=SITE-A',
  'SITE-A|SITE-A',
  'SITE-A&SITE-A',
  'SITE-A\\SITE-B'
];

test('a cookie login opens the events socket, which brings a new copy', async ({
  browser,
  baseURL
}) => {
  const token = process.env.WP5_TOKEN ?? '';
  expect(token).not.toBe('');
  // A plain browser context: no token header, no Galata helpers; only what a user's browser has.
  const context = await browser.newContext({ extraHTTPHeaders: {} });
  const page = await context.newPage();

  // Jupyter's login form: the token as password; the server answers with its login cookie.
  await page.goto(`${baseURL}/login?next=${encodeURIComponent('/lab')}`);
  await page.locator('#password_input').fill(token);
  const events = page.waitForEvent('websocket', ws =>
    ws.url().includes('/wp5/api/events')
  );
  await page.locator('#login_submit').click();
  await page.waitForURL(/\/lab/);
  const socket = await events;
  expect(socket.url()).not.toContain('token=');

  // This context keeps the server's own workspace, which may have restored the panel open
  // already: its command shows it either way (a click on its tab would hide an open one).
  await page.waitForFunction(() => 'jupyterapp' in window);
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    await app.restored;
    await app.commands.execute('wp5:open-panel');
  });
  const panel = page.locator(`#${PANEL_ID}`);
  await setExpanded(panel, 'Transfers', true);
  await expect(panel.locator('.wp5-transfers-section')).toBeVisible();

  // A write with the cookie needs the XSRF header: without it the server refuses.
  const xsrf = (await context.cookies()).find(c => c.name === '_xsrf');
  expect(xsrf).toBeDefined();
  const copy = (rse_expression: string) => ({
    did: DATASET,
    rse_expression,
    comment: 'login'
  });
  const refused = await page.request.post(`${baseURL}/wp5/api/replicas`, {
    data: copy('rse=SITE-A')
  });
  expect(refused.status()).toBe(403);

  const lists: Request[] = [];
  page.on('request', r => {
    if (r.method() === 'GET' && /\/wp5\/api\/replicas$/.test(r.url())) {
      lists.push(r);
    }
  });
  const frame = socket.waitForEvent('framereceived', {
    timeout: 5000,
    predicate: f => String(f.payload).includes('"login"')
  });
  // Rucio refuses a duplicate of a rule for a while after it was cancelled (an earlier run's):
  // expressions that all select SITE-A, which already holds the data, the first one free.
  let id = '';
  for (const expression of SITE_A) {
    const made = await page.request.post(`${baseURL}/wp5/api/replicas`, {
      data: copy(expression),
      headers: { 'X-XSRFToken': xsrf!.value }
    });
    if (made.status() === 201) {
      id = (await made.json()).id;
      break;
    }
    expect(made.status()).toBe(409);
  }
  expect(id).not.toBe('');
  try {
    await frame;
    await expect(
      panel.locator(`.wp5-transfer-row[data-id="${id}"]`)
    ).toBeVisible({ timeout: 2000 });
    expect(socket.isClosed()).toBe(false);
    expect(lists).toEqual([]);
  } finally {
    await page.request.delete(`${baseURL}/wp5/api/replicas/${id}`, {
      headers: { 'X-XSRFToken': xsrf!.value }
    });
    await context.close();
  }
});
