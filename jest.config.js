const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// Packages shipped as ES modules that jest must transform. The template's short list fails with
// "Unexpected token 'export'" once a test imports @jupyterlab/ui-components or apputils.
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@lumino/',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  // Only src/ holds tests; keep jest's module map away from the built extension and the venv.
  roots: ['<rootDir>/src'],
  modulePathIgnorePatterns: [
    '<rootDir>/.venv/',
    '<rootDir>/jupyter_wp5/',
    '<rootDir>/ui-tests/'
  ],
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/**/.ipynb_checkpoints/*'
  ],
  // Not 'coverage/': at the repository root Python would import that folder as the `coverage`
  // package (numba, under coffea, does), and break the test session.
  coverageDirectory: '<rootDir>/.jest-coverage',
  coverageReporters: ['lcov', 'text'],
  // No junit.xml in the work tree; CI may add its own reporters on the command line.
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
