import * as api from '../api';
import { ResponseError } from '../api';
import {
  DataModel,
  DetailsTransitions,
  initialSearchState,
  SearchTransitions
} from '../model';
import { DidType, IDatasetDetails, IDidSummary, ISearchPage } from '../tokens';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockSearch = api.catalog.search as jest.MockedFunction<
  typeof api.catalog.search
>;
const mockGetDataset = api.catalog.describe as jest.MockedFunction<
  typeof api.catalog.describe
>;

function summary(name: string, type: DidType = 'dataset'): IDidSummary {
  return {
    did: `cms:${name}`,
    scope: 'cms',
    name,
    type,
    bytes: 1000,
    files: 2
  };
}

function page(names: string[], next: string | null = null): ISearchPage {
  return {
    query: 'cms:*',
    items: names.map(n => summary(n)),
    next_cursor: next
  };
}

const DETAILS: IDatasetDetails = {
  did: 'cms:DYJetsToLL_M-50_NanoAODv9',
  scope: 'cms',
  name: 'DYJetsToLL_M-50_NanoAODv9',
  type: 'dataset',
  bytes: 2400000,
  files: 2,
  copies: [
    {
      rse: 'SITE-A',
      available_files: 2,
      total_files: 2,
      available_bytes: 2400000,
      total_bytes: 2400000,
      fraction: 1
    }
  ],
  rules: [],
  metadata: { datatype: 'NANOAOD' }
};

/** A promise with its resolve/reject exposed, to control the order of answers. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  mockSearch.mockReset();
  mockGetDataset.mockReset();
});

describe('DataModel search', () => {
  it('starts empty', () => {
    const model = new DataModel();
    expect(model.search).toEqual(initialSearchState());
    expect(model.details.selected).toBeNull();
  });

  it('runs a search and stores the results', async () => {
    mockSearch.mockResolvedValueOnce(page(['A', 'B']));
    const model = new DataModel({ pageSize: 2 });
    const changes: boolean[] = [];
    model.stateChanged.connect(() => changes.push(model.search.loading));
    model.setQuery('cms:*');
    model.setType('all');

    const running = model.runSearch();
    expect(model.search.loading).toBe(true);
    await running;

    expect(mockSearch).toHaveBeenCalledWith({
      q: 'cms:*',
      type: 'all',
      filters: undefined,
      limit: 2
    });
    expect(model.search.results.map(r => r.did)).toEqual(['cms:A', 'cms:B']);
    expect(model.search.loading).toBe(false);
    expect(model.search.error).toBeNull();
    expect(model.search.nextCursor).toBeNull();
    // setQuery, setType, started, succeeded
    expect(changes).toEqual([false, false, true, false]);
  });

  it('sends filters and turns a bare scope into scope:*', async () => {
    mockSearch.mockResolvedValueOnce(page([]));
    const model = new DataModel();
    model.setQuery('  cms ');
    model.setFilters(' datatype=NANOAOD ');
    await model.runSearch();
    expect(mockSearch).toHaveBeenCalledWith(
      expect.objectContaining({ q: 'cms:*', filters: 'datatype=NANOAOD' })
    );
  });

  it('refuses an empty query without calling the server', async () => {
    const model = new DataModel();
    await model.runSearch();
    expect(mockSearch).not.toHaveBeenCalled();
    expect(model.search.error?.code).toBe('invalid_request');
  });

  it('appends the next page with the cursor and stops on the last one', async () => {
    mockSearch
      .mockResolvedValueOnce(page(['A', 'B'], 'c1'))
      .mockResolvedValueOnce(page(['C'], null));
    const model = new DataModel({ pageSize: 2 });
    model.setQuery('cms:*');
    await model.runSearch();
    expect(model.search.nextCursor).toBe('c1');

    await model.loadMore();
    expect(mockSearch).toHaveBeenLastCalledWith(
      expect.objectContaining({ q: 'cms:*', cursor: 'c1' })
    );
    expect(model.search.results.map(r => r.name)).toEqual(['A', 'B', 'C']);
    expect(model.search.nextCursor).toBeNull();

    await model.loadMore();
    expect(mockSearch).toHaveBeenCalledTimes(2);
  });

  it('a new search replaces the results', async () => {
    mockSearch
      .mockResolvedValueOnce(page(['A'], 'c1'))
      .mockResolvedValueOnce(page(['Z']));
    const model = new DataModel();
    model.setQuery('cms:*');
    await model.runSearch();
    model.setQuery('cms:Z*');
    await model.runSearch();
    expect(model.search.results.map(r => r.name)).toEqual(['Z']);
    expect(model.search.submitted?.q).toBe('cms:Z*');
  });

  it('keeps the server error message and the earlier page on a failed next page', async () => {
    mockSearch
      .mockResolvedValueOnce(page(['A'], 'c1'))
      .mockRejectedValueOnce(
        new ResponseError(503, 'engine_unavailable', 'Rucio did not answer')
      );
    const model = new DataModel();
    model.setQuery('cms:*');
    await model.runSearch();
    await model.loadMore();
    expect(model.search.error).toEqual({
      status: 503,
      code: 'engine_unavailable',
      message: 'Rucio did not answer'
    });
    expect(model.search.results.map(r => r.name)).toEqual(['A']);
    expect(model.search.nextCursor).toBe('c1');
    expect(model.search.loading).toBe(false);
  });

  it('shows a failed search as an error with no results', async () => {
    mockSearch.mockRejectedValueOnce(
      new ResponseError(400, 'invalid_request', "'c ms' is not a valid scope")
    );
    const model = new DataModel();
    model.setQuery('c ms:*');
    await model.runSearch();
    expect(model.search.error?.message).toBe("'c ms' is not a valid scope");
    expect(model.search.results).toEqual([]);
  });

  it('drops the answer of a search that a newer one superseded', async () => {
    const slow = deferred<ISearchPage>();
    mockSearch
      .mockReturnValueOnce(slow.promise)
      .mockResolvedValueOnce(page(['NEW']));
    const model = new DataModel();
    model.setQuery('cms:*');
    const first = model.runSearch();
    model.setQuery('cms:NEW');
    await model.runSearch();
    slow.resolve(page(['OLD']));
    await first;
    expect(model.search.results.map(r => r.name)).toEqual(['NEW']);
  });
});

describe('DataModel details', () => {
  it('selecting a dataset loads its details', async () => {
    mockGetDataset.mockResolvedValueOnce(DETAILS);
    const model = new DataModel();
    const loading = model.select('cms:DYJetsToLL_M-50_NanoAODv9');
    expect(model.details).toMatchObject({
      selected: 'cms:DYJetsToLL_M-50_NanoAODv9',
      loading: true
    });
    await loading;
    expect(mockGetDataset).toHaveBeenCalledWith(
      'cms',
      'DYJetsToLL_M-50_NanoAODv9'
    );
    expect(model.details.details).toEqual(DETAILS);
    expect(model.details.loading).toBe(false);
  });

  it('keeps a name with slashes and colons whole', async () => {
    mockGetDataset.mockResolvedValueOnce(DETAILS);
    const model = new DataModel();
    await model.select('user.jdoe:a/b:c');
    expect(mockGetDataset).toHaveBeenCalledWith('user.jdoe', 'a/b:c');
  });

  it('shows the server message when details fail', async () => {
    mockGetDataset.mockRejectedValueOnce(
      new ResponseError(404, 'not_found', 'cms:nope does not exist')
    );
    const model = new DataModel();
    await model.select('cms:nope');
    expect(model.details).toEqual({
      selected: 'cms:nope',
      details: null,
      loading: false,
      error: {
        status: 404,
        code: 'not_found',
        message: 'cms:nope does not exist'
      },
      deep: null,
      deepError: null
    });
  });

  it('ignores details of a dataset no longer selected', async () => {
    const slow = deferred<IDatasetDetails>();
    mockGetDataset.mockReturnValueOnce(slow.promise);
    const model = new DataModel();
    const first = model.select('cms:DYJetsToLL_M-50_NanoAODv9');
    await model.select(null);
    slow.resolve(DETAILS);
    await first;
    expect(model.details.selected).toBeNull();
    expect(model.details.details).toBeNull();
  });

  it('refreshDetails reloads the selection', async () => {
    mockGetDataset.mockResolvedValue(DETAILS);
    const model = new DataModel();
    await model.select(DETAILS.did);
    await model.refreshDetails();
    expect(mockGetDataset).toHaveBeenCalledTimes(2);
  });
});

describe('pure transitions', () => {
  it('started without append clears results; with append keeps them', () => {
    const s = SearchTransitions.succeeded(
      initialSearchState(),
      page(['A'], 'c'),
      false
    );
    expect(SearchTransitions.started(s, { q: 'cms:*' }, false).results).toEqual(
      []
    );
    expect(
      SearchTransitions.started(s, { q: 'cms:*' }, true).results
    ).toHaveLength(1);
  });

  it('details failure clears the stale details', () => {
    const ok = DetailsTransitions.succeeded(
      DetailsTransitions.started('cms:x'),
      DETAILS
    );
    const failed = DetailsTransitions.failed(ok, {
      status: 500,
      code: 'internal_error',
      message: 'boom'
    });
    expect(failed.details).toBeNull();
    expect(failed.error?.message).toBe('boom');
  });
});
