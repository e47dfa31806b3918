/**
 * Facility scale in the panel (issue 9): a dataset of 10,000 files and a container of 1,000
 * datasets open, with Rucio's summary counts and a file list that pages with cursors as it is
 * scrolled. The data is catalogue-only (no bytes), registered in scope `scale` by
 * ../scale_data.py in beforeAll (about 15 s on 2 cores; nothing on a re-run).
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';

import { expect, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';

import { PANEL_ID } from './panel';

const ROOT = process.env.WP5_PLAYGROUND_ROOT || '';
const PYTHON = process.env.WP5_PYTHON || 'python';

const BIG = 'scale:big';
const BIG_FILES = 10_000;
const CONTAINER = 'scale:all';
/** The file list reads this many files per page (DEFAULT_FILE_PAGE_SIZE in src/model.ts). */
const FILE_PAGE = 500;
/** Generous: on a loaded 2-core machine one page of 500 files took up to 2.3 s. */
const WALK_TIMEOUT = 300000;

/** Open the panel, search ``query`` (collections), open ``did``; answers the details. */
async function openDetails(
  page: Page,
  query: string,
  did: string
): Promise<Locator> {
  await page.sidebar.openTab(PANEL_ID);
  const panel = page.locator(`#${PANEL_ID}`);
  await expect(panel).toBeVisible();
  const input = panel.locator('.wp5-search-input');
  await input.fill(query);
  await input.press('Enter');
  const row = panel.locator(`.wp5-result-row[data-did="${did}"]`);
  await expect(row).toBeVisible();
  await row.click();
  const details = panel.locator('.wp5-details');
  await expect(details).toHaveAttribute('data-did', did);
  await expect(details.locator('.wp5-details-body')).toBeVisible();
  return details;
}

/** The file row named ``name`` in ``details``. */
function fileRow(details: Locator, name: string): Locator {
  return details.locator(`.wp5-file-row[data-name="${name}"]`);
}

test.describe('wp5 panel: facility scale', () => {
  test.skip(!ROOT, 'WP5_PLAYGROUND_ROOT is not set (ui-tests/run.sh sets it)');

  test.beforeAll(async () => {
    test.setTimeout(300000);
    await promisify(execFile)(
      PYTHON,
      [path.resolve(__dirname, '..', 'scale_data.py'), ROOT],
      { timeout: 280000 }
    );
  });

  test('a 10,000-file dataset opens and its file list scrolls to the last file', async ({
    page
  }) => {
    test.setTimeout(WALK_TIMEOUT + 120000);
    const details = await openDetails(page, 'scale:big', BIG);

    // The summary: Rucio's stored counts, no per-file walk.
    await expect(details.locator('.wp5-details-files')).toHaveText('10,000');
    await expect(details.locator('.wp5-details-bytes')).toHaveText('20.0 GB');
    await expect(details.locator('.wp5-exact-source')).toHaveText(
      "Counts: Rucio's summary"
    );

    // The first page of files, in Rucio's order, and no more in the DOM than the window shows.
    const files = details.locator('.wp5-file-list');
    await expect(fileRow(details, 'big.f000000')).toBeVisible();
    // Where a user would look: the list below the copies and rules, scrolled into view.
    await files.scrollIntoViewIfNeeded();
    await expect(files).toBeInViewport();
    await expect(details.locator('.wp5-files-count')).toHaveText(
      `${FILE_PAGE} of 10,000 listed; scroll for more`
    );
    expect(await details.locator('.wp5-file-row').count()).toBeLessThan(60);
    await expect(details.locator('.wp5-error')).toHaveCount(0);

    // Scrolling to the end reads the next page, and so on to the last file.
    const last = fileRow(
      details,
      `big.f${String(BIG_FILES - 1).padStart(6, '0')}`
    );
    await expect
      .poll(
        async () => {
          await files.evaluate(node => {
            node.scrollTop = node.scrollHeight;
          });
          return last.count();
        },
        { timeout: WALK_TIMEOUT, intervals: [500] }
      )
      .toBe(1);
    await expect(last).toBeVisible();
    await expect(last).toHaveAttribute('data-index', String(BIG_FILES - 1));
    await expect(details.locator('.wp5-files-count')).toHaveText(
      '10,000 of 10,000 listed'
    );
    // A deep row of a middle page, reached by scrolling back.
    await files.evaluate(node => {
      node.scrollTop = (node.scrollHeight * 5123) / 10000;
    });
    await expect(fileRow(details, 'big.f005123')).toBeVisible();
    await expect(details.locator('.wp5-files-more')).toHaveCount(0);
    await expect(details.locator('.wp5-error')).toHaveCount(0);
  });

  test('a container of 1,000 datasets opens with its files', async ({
    page
  }) => {
    const details = await openDetails(page, 'scale:all', CONTAINER);
    await expect(details.locator('.wp5-details-type')).toHaveText('container');
    await expect(details.locator('.wp5-details-files')).toHaveText('1,000');
    await expect(details.locator('.wp5-details-bytes')).toHaveText('2.00 GB');
    // Rucio lists a container's files in an order of its own: any member's file comes first.
    const first = details.locator('.wp5-file-row').first();
    await expect(first).toBeVisible();
    await expect(first).toHaveAttribute('data-name', /^ds\.\d{4}\.f000000$/);
    await expect(details.locator('.wp5-files-count')).toHaveText(
      `${FILE_PAGE} of 1,000 listed; scroll for more`
    );
    await expect(details.locator('.wp5-error')).toHaveCount(0);
  });
});
