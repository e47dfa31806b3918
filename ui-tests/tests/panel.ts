/** What the wp5 panel's Galata specs share: its id and the accordion's sections. */
import { expect } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

export const PANEL_ID = 'wp5-panel';

/** Expand or collapse the panel's accordion section titled ``label``. */
export async function setExpanded(
  panel: Locator,
  label: string,
  expanded: boolean
): Promise<void> {
  const title = panel.locator('.lm-AccordionPanel-title', { hasText: label });
  if ((await title.getAttribute('aria-expanded')) !== String(expanded)) {
    await title.click();
  }
  await expect(title).toHaveAttribute('aria-expanded', String(expanded));
}
