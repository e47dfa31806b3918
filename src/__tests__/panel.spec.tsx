import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import * as api from '../api';
import { ResponseError } from '../api';
import { DataSection } from '../components/DataSection';
import { DataModel } from '../model';
import { Wp5Panel } from '../panel';
import { IDatasetDetails, ISearchPage } from '../tokens';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockSearch = api.catalog.search as jest.MockedFunction<
  typeof api.catalog.search
>;
const mockGetDataset = api.catalog.describe as jest.MockedFunction<
  typeof api.catalog.describe
>;

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const NAMES = Array.from(
  { length: 500 },
  (_, i) => `ds_${String(i).padStart(4, '0')}`
);

const PAGE: ISearchPage = {
  query: 'cms:*',
  items: NAMES.map(name => ({
    did: `cms:${name}`,
    scope: 'cms',
    name,
    type: 'dataset',
    bytes: 1200000,
    files: 1
  })),
  next_cursor: null
};

const DETAILS: IDatasetDetails = {
  did: 'cms:ds_0001',
  scope: 'cms',
  name: 'ds_0001',
  type: 'dataset',
  bytes: 1200000,
  files: 1,
  copies: [
    {
      rse: 'SITE-A',
      available_files: 1,
      total_files: 1,
      available_bytes: 1200000,
      total_bytes: 1200000,
      fraction: 1
    },
    {
      rse: 'SITE-B',
      available_files: 0,
      total_files: 1,
      available_bytes: 0,
      total_bytes: 1200000,
      fraction: 0
    }
  ],
  rules: [
    {
      id: 'r1',
      account: 'root',
      rse_expression: 'SITE-A',
      state: 'OK',
      copies: 1,
      locks_ok: 1,
      locks_replicating: 0,
      locks_stuck: 0,
      created_at: '2026-11-25T20:00:00',
      expires_at: null
    }
  ],
  metadata: { datatype: 'NANOAOD', events: 10000 }
};

/** Render the data section and re-render on every model change, as UseSignal does. */
function mount(model: DataModel): { container: HTMLElement; root: Root } {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  const render = () => root.render(<DataSection model={model} />);
  model.stateChanged.connect(() => React.act(render));
  React.act(render);
  return { container, root };
}

describe('DataSection', () => {
  beforeEach(() => {
    mockSearch.mockReset();
    mockGetDataset.mockReset();
  });

  it('renders a window of the results and the selected dataset', async () => {
    mockSearch.mockResolvedValue(PAGE);
    mockGetDataset.mockResolvedValue(DETAILS);
    const model = new DataModel();
    const { container, root } = mount(model);

    expect(container.querySelector('.wp5-search-input')).not.toBeNull();
    expect(container.querySelector('.wp5-type-select')).not.toBeNull();
    expect(container.querySelector('.wp5-details')).toBeNull();

    model.setQuery('cms:*');
    await React.act(() => model.runSearch());

    const rows = container.querySelectorAll('.wp5-result-row');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(30); // 500 results, only a window is in the DOM
    expect(rows[0].getAttribute('data-did')).toBe('cms:ds_0000');

    await React.act(async () => {
      (rows[1] as HTMLElement).click();
    });
    expect(mockGetDataset).toHaveBeenCalledWith('cms', 'ds_0001');

    const details = container.querySelector('.wp5-details');
    expect(details?.getAttribute('data-did')).toBe('cms:ds_0001');
    const copies = container.querySelectorAll('.wp5-copy-row');
    expect(Array.from(copies).map(c => c.getAttribute('data-rse'))).toEqual([
      'SITE-A',
      'SITE-B'
    ]);
    expect(copies[0].querySelector('.wp5-fraction-text')?.textContent).toBe(
      '100%'
    );
    expect(copies[1].querySelector('.wp5-fraction-text')?.textContent).toBe(
      '0%'
    );
    expect(container.querySelectorAll('.wp5-rule-row')).toHaveLength(1);
    expect(container.querySelector('.wp5-metadata')?.textContent).toContain(
      'NANOAOD'
    );
    expect(
      container
        .querySelector('.wp5-result-row.wp5-mod-selected')
        ?.getAttribute('data-did')
    ).toBe('cms:ds_0001');

    React.act(() => root.unmount());
  });

  it('shows the server message in an error banner', async () => {
    mockSearch.mockRejectedValue(
      new ResponseError(
        503,
        'engine_unavailable',
        'Rucio at http://127.0.0.1:1 did not answer'
      )
    );
    const model = new DataModel();
    const { container, root } = mount(model);
    model.setQuery('cms:*');
    await React.act(() => model.runSearch());
    const banner = container.querySelector('.wp5-error');
    expect(banner?.textContent).toContain(
      'Rucio at http://127.0.0.1:1 did not answer'
    );
    expect(banner?.textContent).toContain('HTTP 503');
    React.act(() => root.unmount());
  });
});

describe('Wp5Panel', () => {
  it('is the wp5-panel side panel with a Data section', () => {
    const panel = new Wp5Panel({ model: new DataModel() });
    expect(panel.id).toBe('wp5-panel');
    expect(panel.title.icon).toBeDefined();
    expect(panel.widgets.map(w => w.title.label)).toEqual(['Data']);
    panel.dispose();
  });
});
