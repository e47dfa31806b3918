import * as api from '../api';
import { ResponseError } from '../api';
import {
  ClustersModel,
  ClustersTransitions,
  initialClustersState
} from '../clusters';
import { cluster, profile } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockList = api.clusters.list as jest.MockedFunction<
  typeof api.clusters.list
>;
const mockProfiles = api.clusters.profiles as jest.MockedFunction<
  typeof api.clusters.profiles
>;
const mockCreate = api.clusters.create as jest.MockedFunction<
  typeof api.clusters.create
>;
const mockResize = api.clusters.resize as jest.MockedFunction<
  typeof api.clusters.resize
>;
const mockClose = api.clusters.close as jest.MockedFunction<
  typeof api.clusters.close
>;

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

beforeEach(() => {
  jest.useFakeTimers();
  for (const m of [mockList, mockProfiles, mockCreate, mockResize, mockClose]) {
    m.mockReset();
  }
  mockProfiles.mockResolvedValue({
    items: [
      profile('cpu'),
      profile('arm', { servable: false, reason: 'no ARM workers here' })
    ]
  });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('ClustersTransitions', () => {
  it('keeps running clusters oldest first and drops closed ones', () => {
    let state = ClustersTransitions.listed(initialClustersState(), [
      cluster('bb'),
      cluster('a'),
      cluster('ccc', { status: 'closed' })
    ]);
    expect(state.clusters.map(c => c.id)).toEqual(['a', 'bb']);

    state = ClustersTransitions.upserted(state, cluster('a', { workers: 3 }));
    expect(state.clusters.map(c => [c.id, c.workers])).toEqual([
      ['a', 3],
      ['bb', 1]
    ]);
    state = ClustersTransitions.upserted(state, cluster('dddd'));
    expect(state.clusters.map(c => c.id)).toEqual(['a', 'bb', 'dddd']);
    state = ClustersTransitions.upserted(
      state,
      cluster('a', { status: 'lost' })
    );
    expect(state.clusters.map(c => c.id)).toEqual(['bb', 'dddd']);
  });

  it('keeps a degraded cluster in its row, with its status, until it recovers', () => {
    let state = ClustersTransitions.listed(initialClustersState(), [
      cluster('a', { status: 'degraded', workers: 1 })
    ]);
    expect(state.clusters.map(c => [c.id, c.status])).toEqual([
      ['a', 'degraded']
    ]);
    state = ClustersTransitions.upserted(state, cluster('a', { workers: 2 }));
    expect(state.clusters.map(c => [c.id, c.status, c.workers])).toEqual([
      ['a', 'running', 2]
    ]);
  });

  it('marks a row busy, then done or failed', () => {
    const error = { status: 400, code: 'invalid_request', message: 'too big' };
    let state = ClustersTransitions.listed(initialClustersState(), [
      cluster('a')
    ]);
    state = ClustersTransitions.rowBusy(state, 'a');
    expect(state.busy).toEqual(['a']);
    state = ClustersTransitions.rowFailed(state, 'a', error);
    expect(state.busy).toEqual([]);
    expect(state.rowErrors.a).toEqual(error);
    state = ClustersTransitions.rowBusy(state, 'a');
    expect(state.rowErrors).toEqual({});
    state = ClustersTransitions.rowDone(state, cluster('a', { workers: 2 }));
    expect(state.busy).toEqual([]);
    expect(state.clusters[0].workers).toBe(2);
  });
});

describe('ClustersModel', () => {
  it('loads profiles once and polls every 2 s only while visible', async () => {
    mockList.mockResolvedValue({ items: [cluster('a')] });
    const model = new ClustersModel();

    model.setVisible(true);
    await settle();
    expect(mockProfiles).toHaveBeenCalledTimes(1);
    expect(mockList).toHaveBeenCalledTimes(1);
    expect(model.state.profiles.map(p => [p.name, p.servable])).toEqual([
      ['cpu', true],
      ['arm', false]
    ]);
    expect(model.state.clusters.map(c => c.id)).toEqual(['a']);
    expect(model.polling).toBe(true);

    await jest.advanceTimersByTimeAsync(4000);
    expect(mockList).toHaveBeenCalledTimes(3);

    model.setVisible(false);
    expect(model.polling).toBe(false);
    await jest.advanceTimersByTimeAsync(10000);
    expect(mockList).toHaveBeenCalledTimes(3);

    model.setVisible(true);
    await settle();
    expect(mockProfiles).toHaveBeenCalledTimes(1);
    expect(mockList).toHaveBeenCalledTimes(4);
    model.dispose();
  });

  it('creates a cluster, scales it and closes it', async () => {
    const model = new ClustersModel();
    mockCreate.mockResolvedValueOnce(cluster('a'));
    const info = await model.create({ profile: 'cpu', workers: 1 });
    expect(mockCreate).toHaveBeenCalledWith({ profile: 'cpu', workers: 1 });
    expect(info?.id).toBe('a');
    expect(model.state.clusters.map(c => c.id)).toEqual(['a']);
    expect(model.state.creating).toBe(false);

    mockResize.mockResolvedValueOnce(cluster('a', { workers: 2, cores: 2 }));
    await model.scale('a', { workers: 2 });
    expect(mockResize).toHaveBeenCalledWith('a', { workers: 2 });
    expect(model.state.clusters[0].workers).toBe(2);

    mockClose.mockResolvedValueOnce(undefined);
    await model.close('a');
    expect(mockClose).toHaveBeenCalledWith('a');
    expect(model.state.clusters).toEqual([]);
  });

  it("keeps the server's refusals in place", async () => {
    const model = new ClustersModel();
    mockCreate.mockRejectedValueOnce(
      new ResponseError(
        409,
        'conflict',
        "profile 'arm' cannot be served here: no ARM workers here"
      )
    );
    expect(await model.create({ profile: 'arm', workers: 1 })).toBeNull();
    expect(model.state.createError?.message).toContain('no ARM workers');

    model.receive({ type: 'cluster', data: cluster('a') });
    mockResize.mockRejectedValueOnce(
      new ResponseError(
        400,
        'invalid_request',
        "profile 'cpu' allows at most 4 workers, not 9"
      )
    );
    await model.scale('a', { workers: 9 });
    expect(model.state.rowErrors.a.message).toContain('at most 4 workers');
    expect(model.state.clusters[0].workers).toBe(1);
  });

  it('a list that left before a create does not drop the new cluster', async () => {
    const model = new ClustersModel();
    let answer!: (v: { items: never[] }) => void;
    mockList.mockReturnValueOnce(
      new Promise(resolve => {
        answer = resolve;
      })
    );
    const listing = model.refresh();
    mockCreate.mockResolvedValueOnce(cluster('a'));
    await model.create({ profile: 'cpu', workers: 1 });
    answer({ items: [] });
    await listing;
    expect(model.state.clusters.map(c => c.id)).toEqual(['a']);
    expect(model.state.loading).toBe(false);
  });
});
