import * as React from 'react';
import { createRoot } from 'react-dom/client';

import * as api from '../api';
import { ResponseError } from '../api';
import { DataSection } from '../components/DataSection';
import { DataModel, DEFAULT_FILE_PAGE_SIZE } from '../model';
import { IDatasetDetails, IFilePage } from '../tokens';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockDescribe = api.catalog.describe as jest.MockedFunction<
  typeof api.catalog.describe
>;
const mockFiles = api.catalog.files as jest.MockedFunction<
  typeof api.catalog.files
>;

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const BIG = 'scale:big';
const TOTAL = 10_000;

const DETAILS: IDatasetDetails = {
  did: BIG,
  scope: 'scale',
  name: 'big',
  type: 'dataset',
  bytes: TOTAL * 2_000_000,
  files: TOTAL,
  copies: [],
  rules: [],
  metadata: {},
  summary: true
};

/** Files ``start`` to ``start + count`` of the big dataset, with the cursor of the next page. */
function filePage(
  start: number,
  count: number,
  next: string | null
): IFilePage {
  return {
    did: BIG,
    items: Array.from({ length: count }, (_, i) => ({
      scope: 'scale',
      name: `big.f${String(start + i).padStart(6, '0')}`,
      bytes: 2_000_000,
      adler32: '00000001',
      states: { 'SITE-A': 'AVAILABLE' }
    })),
    next_cursor: next
  };
}

/** A promise with its resolve exposed, to control the order of answers. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>(res => {
    resolve = res;
  });
  return { promise, resolve };
}

beforeEach(() => {
  mockDescribe.mockReset();
  mockFiles.mockReset();
});

describe('DataModel file list', () => {
  it('reads the first page with the details, then the next ones by cursor', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    mockFiles
      .mockResolvedValueOnce(filePage(0, 3, 'c1'))
      .mockResolvedValueOnce(filePage(3, 3, 'c2'))
      .mockResolvedValueOnce(filePage(6, 1, null));
    const model = new DataModel({ filePageSize: 3 });

    await model.select(BIG);
    expect(mockFiles).toHaveBeenLastCalledWith('scale', 'big', {
      limit: 3,
      cursor: null
    });
    expect(model.files.items).toHaveLength(3);
    expect(model.files.nextCursor).toBe('c1');

    await model.loadMoreFiles();
    expect(mockFiles).toHaveBeenLastCalledWith('scale', 'big', {
      limit: 3,
      cursor: 'c1'
    });
    await model.loadMoreFiles();
    expect(model.files.items.map(f => f.name)).toEqual(
      Array.from({ length: 7 }, (_, i) => `big.f00000${i}`)
    );
    expect(model.files.nextCursor).toBeNull();

    // The last page was read: nothing more is asked.
    await model.loadMoreFiles();
    expect(mockFiles).toHaveBeenCalledTimes(3);
  });

  it('asks 500 files a page by default and one page at a time', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    mockFiles.mockResolvedValueOnce(filePage(0, 2, 'c1'));
    const model = new DataModel();
    await model.select(BIG);
    expect(DEFAULT_FILE_PAGE_SIZE).toBe(500);
    expect(mockFiles).toHaveBeenLastCalledWith(
      'scale',
      'big',
      expect.objectContaining({ limit: 500 })
    );

    const slow = deferred<IFilePage>();
    mockFiles.mockReturnValueOnce(slow.promise);
    const first = model.loadMoreFiles();
    await model.loadMoreFiles(); // while one page is on its way, no second request
    expect(mockFiles).toHaveBeenCalledTimes(2);
    slow.resolve(filePage(2, 2, null));
    await first;
    expect(model.files.items).toHaveLength(4);
  });

  it('lists no files for a file DID', async () => {
    mockDescribe.mockResolvedValue({ ...DETAILS, type: 'file', files: 1 });
    const model = new DataModel();
    await model.select('scale:big.f000001');
    expect(mockFiles).not.toHaveBeenCalled();
    expect(model.files.started).toBe(false);
  });

  it('drops a page that arrives after another DID was selected', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    const slow = deferred<IFilePage>();
    mockFiles
      .mockReturnValueOnce(slow.promise)
      .mockResolvedValueOnce({ ...filePage(0, 1, null), did: 'scale:all' });
    const model = new DataModel();
    const first = model.select(BIG);
    await Promise.resolve();
    await Promise.resolve();
    await model.select('scale:all');
    slow.resolve(filePage(0, 5, 'c1'));
    await first;
    expect(model.files.did).toBe('scale:all');
    expect(model.files.items).toHaveLength(1);
  });

  it('keeps the files read when a page fails, and retries the same cursor', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    mockFiles
      .mockResolvedValueOnce(filePage(0, 2, 'c1'))
      .mockRejectedValueOnce(
        new ResponseError(503, 'rucio_unavailable', 'Rucio did not answer')
      )
      .mockResolvedValueOnce(filePage(2, 2, null));
    const model = new DataModel();
    await model.select(BIG);
    await model.loadMoreFiles();
    expect(model.files.items).toHaveLength(2);
    expect(model.files.error?.message).toBe('Rucio did not answer');
    expect(model.files.nextCursor).toBe('c1');

    await model.loadMoreFiles();
    expect(mockFiles).toHaveBeenLastCalledWith(
      'scale',
      'big',
      expect.objectContaining({ cursor: 'c1' })
    );
    expect(model.files.items).toHaveLength(4);
    expect(model.files.error).toBeNull();
  });
});

describe('FileList in the details', () => {
  function mount(model: DataModel): HTMLElement {
    const container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    const render = () => root.render(<DataSection model={model} />);
    model.stateChanged.connect(() => React.act(render));
    React.act(render);
    return container;
  }

  it('shows a window of the first page, the count of the whole, and pages on demand', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    mockFiles
      .mockResolvedValueOnce(filePage(0, 500, 'c1'))
      .mockResolvedValueOnce(filePage(500, 500, 'c2'));
    const model = new DataModel();
    const container = mount(model);
    await React.act(() => model.select(BIG));

    const rows = container.querySelectorAll('.wp5-file-row');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40); // 500 files, only a window is in the DOM
    expect(rows[0].getAttribute('data-name')).toBe('big.f000000');
    expect(rows[0].textContent).toContain('2.00 MB');
    expect(rows[0].textContent).toContain('SITE-A');
    expect(container.querySelector('.wp5-files-count')?.textContent).toBe(
      '500 of 10,000 listed; scroll for more'
    );

    await React.act(async () => {
      (container.querySelector('.wp5-files-more') as HTMLElement).click();
    });
    expect(mockFiles).toHaveBeenLastCalledWith(
      'scale',
      'big',
      expect.objectContaining({ cursor: 'c1' })
    );
    expect(container.querySelector('.wp5-files-count')?.textContent).toBe(
      '1,000 of 10,000 listed; scroll for more'
    );
  });

  it('shows a failed page with the server message and a retry', async () => {
    mockDescribe.mockResolvedValue(DETAILS);
    mockFiles
      .mockResolvedValueOnce(filePage(0, 10, 'c1'))
      .mockRejectedValueOnce(
        new ResponseError(503, 'rucio_unavailable', 'Rucio did not answer')
      );
    const model = new DataModel();
    const container = mount(model);
    // Ten rows do not fill the list: the next page is read at once, and fails.
    await React.act(() => model.select(BIG));
    await React.act(async () => {
      await Promise.resolve();
    });
    expect(mockFiles).toHaveBeenCalledTimes(2);

    const banner = container.querySelector('.wp5-files .wp5-error');
    expect(banner?.textContent).toContain('Rucio did not answer');
    expect(container.querySelector('.wp5-files-more')?.textContent).toBe(
      'Retry'
    );
    // The files read before stay listed.
    expect(container.querySelectorAll('.wp5-file-row').length).toBe(10);

    mockFiles.mockResolvedValueOnce(filePage(10, 5, null));
    await React.act(async () => {
      (container.querySelector('.wp5-files-more') as HTMLElement).click();
    });
    expect(container.querySelector('.wp5-files .wp5-error')).toBeNull();
    expect(container.querySelectorAll('.wp5-file-row').length).toBe(15);
    expect(container.querySelector('.wp5-files-count')?.textContent).toBe(
      '15 of 10,000 listed'
    );
  });
});
