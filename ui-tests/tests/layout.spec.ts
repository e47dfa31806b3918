/**
 * The panel's layout at the default sidebar width and at 400 px: the type selector is never cut,
 * a lone open Data section shows at least 8 result rows, unservable profiles are disabled options
 * that say why on hover.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import { PANEL_ID, setExpanded } from './panel';

/** Whether the select is at least as wide as its longest option's text plus its own padding. */
async function selectFitsItsOptions(select: Locator): Promise<boolean> {
  return select.evaluate((node: HTMLSelectElement) => {
    const style = getComputedStyle(node);
    const context = document.createElement('canvas').getContext('2d')!;
    context.font = `${style.fontSize} ${style.fontFamily}`;
    const widest = Math.max(
      ...Array.from(node.options).map(o => context.measureText(o.text).width)
    );
    const chrome =
      parseFloat(style.paddingLeft) +
      parseFloat(style.paddingRight) +
      parseFloat(style.borderLeftWidth) +
      parseFloat(style.borderRightWidth);
    return node.getBoundingClientRect().width >= widest + chrome;
  });
}

/** How many result rows are wholly inside the list's visible area. */
async function rowsInView(panel: Locator): Promise<number> {
  return panel.locator('.wp5-windowed-list').evaluate(list => {
    const box = list.getBoundingClientRect();
    return Array.from(list.querySelectorAll('.wp5-result-row')).filter(row => {
      const r = row.getBoundingClientRect();
      return r.height > 0 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    }).length;
  });
}

async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.sidebar.openTab(PANEL_ID);
  const panel = page.locator(`#${PANEL_ID}`);
  await expect(panel).toBeVisible();
  return panel;
}

test.describe('wp5 panel: layout', () => {
  test('the type selector is whole at the default width and at 400 px', async ({
    page
  }) => {
    const panel = await openPanel(page);
    const select = panel.locator('.wp5-type-select');
    expect(await selectFitsItsOptions(select)).toBe(true);
    await page.sidebar.setWidth(400);
    expect(await selectFitsItsOptions(select)).toBe(true);
  });

  test('at 400 px a lone Data section shows at least 8 results', async ({
    page
  }) => {
    const panel = await openPanel(page);
    await page.sidebar.setWidth(400);
    await setExpanded(panel, 'Transfers', false);
    await setExpanded(panel, 'Clusters', false);
    await setExpanded(panel, 'Access', false);
    await setExpanded(panel, 'Data', true);
    // Everything in cms: its datasets, their container and their files (more than 8).
    await panel.locator('.wp5-type-select').selectOption('all');
    await panel.locator('.wp5-search-input').fill('cms:*');
    await panel.locator('.wp5-search-input').press('Enter');
    await expect(panel.locator('.wp5-results-count')).toHaveText(
      /^([89]|\d\d+) results/
    );
    expect(await rowsInView(panel)).toBeGreaterThanOrEqual(8);
  });

  test('with every section open, Data gets the most room', async ({ page }) => {
    const panel = await openPanel(page);
    for (const label of ['Data', 'Transfers', 'Clusters', 'Access']) {
      await setExpanded(panel, label, true);
    }
    const height = (id: string) =>
      panel
        .locator(`#${id}`)
        .evaluate(node => node.getBoundingClientRect().height);
    const data = await height('wp5-data-section');
    expect(data).toBeGreaterThan(await height('wp5-transfers-section'));
    expect(data).toBeGreaterThan(await height('wp5-clusters-section'));
    expect(data).toBeGreaterThan(await height('wp5-access-section'));
  });

  test('at 400 px the Access section and the community selector fit the width', async ({
    page
  }) => {
    const panel = await openPanel(page);
    await page.sidebar.setWidth(400);
    await setExpanded(panel, 'Access', true);
    await expect(panel.locator('[data-testid="wp5-access-ask"]')).toBeVisible();
    const overflow = (selector: string) =>
      panel
        .locator(selector)
        .evaluate(node => node.scrollWidth - node.clientWidth);
    expect(await overflow('#wp5-access-section')).toBeLessThanOrEqual(0);
    expect(await overflow('#wp5-data-section')).toBeLessThanOrEqual(0);
    const select = panel.locator('.wp5-community-select');
    expect(
      await select.evaluate(
        node =>
          node.getBoundingClientRect().right <=
          node.closest('.wp5-section')!.getBoundingClientRect().right
      )
    ).toBe(true);
  });

  test('unservable profiles are disabled options with the reason on hover', async ({
    page
  }) => {
    const panel = await openPanel(page);
    await setExpanded(panel, 'Clusters', true);
    const options = panel.locator('.wp5-profile-select option[disabled]');
    await expect(options.first()).toBeAttached();
    for (const option of await options.all()) {
      await expect(option).toHaveText(/\(unavailable\)$/);
      expect((await option.getAttribute('title'))?.length ?? 0).toBeGreaterThan(
        5
      );
    }
    // No list of reasons repeated under the selector.
    await expect(panel.locator('.wp5-profile-reasons')).toHaveCount(0);
  });
});
