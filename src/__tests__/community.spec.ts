import * as api from '../api';
import { COMMUNITY_KEY, DataModel, defaultRse, searchQueries } from '../model';
import {
  ICommunity,
  ICommunityState,
  IDatasetDetails,
  IDeepCount
} from '../tokens';

import { memoryStore, settle } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mocked = <T extends (...args: any[]) => any>(f: T) =>
  f as jest.MockedFunction<T>;

const INAF: ICommunity = {
  name: 'inaf',
  scopes: ['space'],
  stewards: ['inaf-steward'],
  accounts: ['wp5'],
  rses: ['SITE-A', 'SITE-B'],
  profiles: ['cpu']
};
const LEONARDO: ICommunity = {
  name: 'leonardo',
  scopes: [],
  stewards: [],
  accounts: ['leonardo-user'],
  rses: ['SITE-C'],
  profiles: ['cpu']
};

function communityState(
  overrides: Partial<ICommunityState> = {}
): ICommunityState {
  return {
    communities: [INAF, LEONARDO],
    memberOf: ['leonardo'],
    selected: 'leonardo',
    grantedScopes: ['space'],
    error: null,
    ...overrides
  };
}

const DID = 'archive:big_dataset';
const SUMMARY: IDatasetDetails = {
  did: DID,
  scope: 'archive',
  name: 'big_dataset',
  type: 'dataset',
  bytes: 10_000_000,
  files: 10000,
  copies: [],
  rules: [],
  metadata: {},
  summary: true,
  deep: null
};

function count(overrides: Partial<IDeepCount> = {}): IDeepCount {
  return {
    did: DID,
    state: 'running',
    files_done: 0,
    files_total: 10000,
    datasets_done: 0,
    datasets_total: 1,
    cap: 1000,
    cap_setting: 'DetailsService.max_datasets',
    message: null,
    ...overrides
  };
}

beforeEach(() => {
  for (const group of [api.access, api.catalog]) {
    for (const f of Object.values(group)) {
      mocked(f as (...args: any[]) => any).mockReset();
    }
  }
});

describe('searchQueries', () => {
  it('a bare pattern covers the community scopes and the granted ones', () => {
    expect(searchQueries('*debris*', communityState())).toEqual([
      'space:*debris*'
    ]);
    expect(
      searchQueries(
        '*',
        communityState({ selected: 'inaf', grantedScopes: ['space', 'x'] })
      )
    ).toEqual(['space:*', 'x:*']);
  });

  it('scope:pattern is itself; without a community a bare word is a scope', () => {
    expect(searchQueries('cms:*DY*', communityState())).toEqual(['cms:*DY*']);
    expect(searchQueries('cms', communityState({ selected: null }))).toEqual([
      'cms:*'
    ]);
  });

  it("the default storage element is the community's first", () => {
    expect(defaultRse(communityState())).toBe('SITE-C');
    expect(defaultRse(communityState({ selected: null }))).toBeNull();
  });
});

describe('DataModel communities', () => {
  it('loads the kept choice, searches its scopes one after the other, and keeps a new choice', async () => {
    const store = memoryStore({ [COMMUNITY_KEY]: 'inaf' });
    mocked(api.access.communities).mockResolvedValue([INAF, LEONARDO]);
    mocked(api.access.overview).mockResolvedValue({
      account: 'wp5',
      communities: ['inaf'],
      mine: [
        {
          id: 'r1',
          requester: 'wp5',
          did: 'other:x',
          purpose_hmac: '',
          requested: '',
          status: 'granted',
          steward: 's',
          expires: null,
          rses: [],
          decided: null
        }
      ],
      stewarded: []
    });
    const model = new DataModel({ store });
    await model.loadCommunities();
    expect(model.community.selected).toBe('inaf');
    expect(model.community.grantedScopes).toEqual(['other']);

    mocked(api.catalog.search).mockImplementation(async request => ({
      query: request.q,
      items: [
        {
          did: request.q.replace('*', 'one'),
          scope: request.q.split(':')[0],
          name: 'one',
          type: 'dataset',
          bytes: 1,
          files: 1
        }
      ],
      next_cursor: null
    }));
    model.setQuery('*');
    await model.runSearch();
    // The grants are read again before a bare-pattern search.
    expect(mocked(api.access.overview)).toHaveBeenCalledTimes(2);
    expect(mocked(api.catalog.search).mock.calls[0][0].q).toBe('space:*');
    expect(model.search.more).toEqual(['other:*']);
    await model.loadMore();
    expect(mocked(api.catalog.search).mock.calls[1][0]).toMatchObject({
      q: 'other:*',
      cursor: undefined
    });
    expect(model.search.results.map(r => r.scope)).toEqual(['space', 'other']);
    expect(model.search.more).toEqual([]);

    await model.useCommunity(null);
    expect(store.values[COMMUNITY_KEY]).toBeNull();
    model.dispose();
  });

  it('refuses a community the account is not in, and drops a kept one it is not in', async () => {
    mocked(api.access.communities).mockResolvedValue([INAF, LEONARDO]);
    mocked(api.access.overview).mockResolvedValue({
      account: 'wp5',
      communities: ['inaf'],
      mine: [],
      stewarded: []
    });
    const model = new DataModel({
      store: memoryStore({ [COMMUNITY_KEY]: 'leonardo' })
    });
    await model.loadCommunities();
    expect(model.community.selected).toBeNull();
    await model.useCommunity('leonardo');
    expect(model.community.selected).toBeNull();
    expect(model.community.error?.message).toBe(
      'This account is not in community leonardo.'
    );
    model.dispose();
  });
});

describe('DataModel exact counts', () => {
  it('asks with deep=1, follows the details events, then shows the exact numbers', async () => {
    mocked(api.catalog.describe).mockResolvedValueOnce(SUMMARY);
    const model = new DataModel();
    await model.select(DID);
    expect(model.details.details?.summary).toBe(true);

    mocked(api.catalog.describe).mockResolvedValueOnce({
      ...SUMMARY,
      deep: count()
    });
    await model.countExactly();
    expect(mocked(api.catalog.describe)).toHaveBeenLastCalledWith(
      'archive',
      'big_dataset',
      undefined,
      true
    );
    expect(model.details.deep?.state).toBe('running');

    // Progress of another DID is not ours.
    expect(
      model.receive({
        type: 'details',
        data: { ...count({ did: 'archive:other' }), details: null }
      })
    ).toBe(false);
    model.receive({
      type: 'details',
      data: { ...count({ files_done: 4000 }), details: null }
    });
    expect(model.details.deep?.files_done).toBe(4000);
    expect(model.details.details?.summary).toBe(true);

    const exact = {
      ...SUMMARY,
      summary: false,
      files: 10000,
      bytes: 9_999_000
    };
    model.receive({
      type: 'details',
      data: { ...count({ state: 'done', files_done: 10000 }), details: exact }
    });
    expect(model.details.deep?.state).toBe('done');
    expect(model.details.details).toEqual(exact);
    model.dispose();
  });

  it('polls deep=1 while a count runs and no socket is open', async () => {
    jest.useFakeTimers();
    try {
      mocked(api.catalog.describe).mockResolvedValueOnce(SUMMARY);
      const model = new DataModel({ interval: 1000 });
      await model.select(DID);
      mocked(api.catalog.describe).mockResolvedValueOnce({
        ...SUMMARY,
        deep: count()
      });
      await model.countExactly();
      const capped = count({ state: 'capped', datasets_done: 1000 });
      mocked(api.catalog.describe).mockResolvedValueOnce({
        ...SUMMARY,
        summary: false,
        deep: capped
      });
      jest.advanceTimersByTime(1000);
      await settle();
      expect(model.details.deep).toEqual(capped);
      expect(model.details.details?.summary).toBe(false);
      // Ended: no more asking.
      jest.advanceTimersByTime(5000);
      await settle();
      expect(mocked(api.catalog.describe)).toHaveBeenCalledTimes(3);
      model.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});
