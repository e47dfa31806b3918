/**
 * The playground's lab is not empty: its first start copied the demo notebooks into the lab's
 * notebook folder (the folder JupyterLab serves), where the file browser finds them.
 */
import { expect, test } from '@jupyterlab/galata';

const DEMOS = ['01-dimuon-z-peak.ipynb', '02-space-debris.ipynb'];

test('the demo notebooks wait in the lab', async ({ page }) => {
  const root = await page.request.get('api/contents/?content=1');
  expect(root.status()).toBe(200);
  const names = ((await root.json()).content as { name: string }[]).map(
    item => item.name
  );
  expect(names).toEqual(expect.arrayContaining(DEMOS));
  await page.filebrowser.openDirectory('/');
  for (const name of DEMOS) {
    await expect(
      page.locator(`.jp-DirListing-item[title^="Name: ${name}"]`)
    ).toBeVisible();
  }
});
