/**
 * The panel benchmark (B6 of `python -m bench`): the same Galata set-up as playwright.config.js,
 * over ./bench only, so `jlpm playwright test` (the UI tests) never runs it.
 * WP5_BENCH_QUERY names a query with many results; WP5_BENCH_OUT the JSON file to write.
 */
const config = require('./playwright.config.js');

module.exports = {
  ...config,
  testDir: './bench',
  outputDir: './bench-results',
  reporter: [['list']],
  timeout: 300000
};
