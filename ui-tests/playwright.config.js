/**
 * Galata configuration for jupyter-wp5.
 *
 * Playwright does not start a server: the lead's test script starts `jupyter wp5 playground`
 * (JupyterLab with the extension, against a real Rucio) and passes
 *   WP5_LAB_URL  e.g. http://127.0.0.1:8888/lab  (a ?token=... in it is used when WP5_TOKEN is unset)
 *   WP5_TOKEN    the server token.
 * The browser is Debian's Chromium (never run `playwright install`: it downloads).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const labUrl = new URL(process.env.WP5_LAB_URL || 'http://127.0.0.1:8888/lab');
const token = process.env.WP5_TOKEN || labUrl.searchParams.get('token') || '';

// Galata opens `${baseURL}${appPath}`: split the URL at its trailing /lab.
const match = labUrl.pathname.match(/^(.*?)(\/lab)?\/?$/);
const basePath = match ? match[1] : '';
const appPath = match && match[2] ? match[2] : '/lab';

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  timeout: 120000,
  expect: { timeout: 30000 },
  retries: 0,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: `${labUrl.origin}${basePath}`,
    appPath,
    extraHTTPHeaders: token ? { Authorization: `token ${token}` } : {},
    // Playwright's ffmpeg cannot be downloaded here.
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.WP5_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu']
    }
  }
};
