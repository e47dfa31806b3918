/**
 * The events websocket and the transfers model fed by it. Only the boundary is faked: the
 * socket (through the settings' ``WebSocket`` class, as Jupyter's own services take it) and the
 * REST calls.
 */
import { ServerConnection } from '@jupyterlab/services';

import * as api from '../api';
import { EventsConnection, eventsUrl } from '../events';
import { ClustersModel } from '../clusters';
import { TransfersModel } from '../transfers';
import { cluster, progress } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockList = api.replicas.list as jest.MockedFunction<
  typeof api.replicas.list
>;
const mockClusters = api.clusters.list as jest.MockedFunction<
  typeof api.clusters.list
>;
const mockProfiles = api.clusters.profiles as jest.MockedFunction<
  typeof api.clusters.profiles
>;

/** A websocket that the test opens, feeds and closes by hand. */
class FakeSocket {
  static made: FakeSocket[] = [];

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closed = false;

  open(): void {
    this.onopen?.({} as Event);
  }

  send(data: unknown): void {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent);
  }

  /** The server went away. */
  drop(): void {
    this.onclose?.({} as CloseEvent);
  }

  close(): void {
    this.closed = true;
  }
}

function settings(): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/lab-base/',
    wsUrl: 'ws://localhost:8888/lab-base/',
    token: 's3cret',
    appendToken: true,
    WebSocket: FakeSocket as unknown as typeof WebSocket
  });
}

function last(): FakeSocket {
  return FakeSocket.made[FakeSocket.made.length - 1];
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

beforeEach(() => {
  jest.useFakeTimers();
  FakeSocket.made = [];
  mockList.mockReset();
  mockClusters.mockReset();
  mockProfiles.mockReset().mockResolvedValue({ items: [] });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('EventsConnection', () => {
  it('connects to the events URL with the token, as Jupyter sockets do', () => {
    expect(eventsUrl(settings())).toBe(
      'ws://localhost:8888/lab-base/wp5/api/events?token=s3cret'
    );
    const events = new EventsConnection({ settings: settings() });
    events.connect();
    events.connect(); // one socket per connection
    expect(FakeSocket.made).toHaveLength(1);
    expect(last().url).toBe(
      'ws://localhost:8888/lab-base/wp5/api/events?token=s3cret'
    );
    events.dispose();
    expect(last().closed).toBe(true);
  });

  it('emits events, skips what is not one, and reconnects with back-off', async () => {
    const events = new EventsConnection({
      settings: settings(),
      minDelay: 100,
      maxDelay: 300
    });
    const got: string[] = [];
    const opens: boolean[] = [];
    events.received.connect((_, e) => got.push(e.type));
    events.openChanged.connect((_, open) => opens.push(open));
    events.connect();
    last().open();
    last().send({ type: 'replica', data: progress('a') });
    last().onmessage?.({ data: 'not json' } as MessageEvent);
    last().send({ hello: 'world' });
    expect(got).toEqual(['replica']);

    // Dropped: retry after 100, then 200, then 300 ms (capped) while it keeps failing.
    for (const delay of [100, 200, 300, 300]) {
      last().drop();
      const before = FakeSocket.made.length;
      await jest.advanceTimersByTimeAsync(delay - 1);
      expect(FakeSocket.made).toHaveLength(before);
      await jest.advanceTimersByTimeAsync(1);
      expect(FakeSocket.made).toHaveLength(before + 1);
    }
    // Open again: the next drop starts from the shortest delay.
    last().open();
    last().drop();
    const before = FakeSocket.made.length;
    await jest.advanceTimersByTimeAsync(100);
    expect(FakeSocket.made).toHaveLength(before + 1);
    expect(opens).toEqual([true, false, true, false]);

    events.dispose();
    await jest.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.made).toHaveLength(before + 1);
  });
});

describe('TransfersModel with the events socket', () => {
  it('takes progress from events and polls only while the socket is closed', async () => {
    const events = new EventsConnection({ settings: settings(), minDelay: 50 });
    const model = new TransfersModel({ events, interval: 1000 });
    mockList.mockResolvedValue({ items: [progress('a')] });
    events.connect();
    model.setVisible(true);
    await settle();
    // The socket is not open yet and a copy is moving: the poll is the fallback.
    expect(model.polling).toBe(true);

    last().open();
    await settle();
    expect(model.polling).toBe(false);
    expect(mockList).toHaveBeenCalledTimes(2); // caught up once on open
    last().send({
      type: 'replica',
      data: progress('a', { state: 'OK', files_ok: 4, fraction: 1 })
    });
    expect(model.state.items[0].state).toBe('OK');
    last().send({ type: 'replica', data: progress('b') });
    expect(model.state.items.map(i => i.id)).toEqual(['b', 'a']);
    await jest.advanceTimersByTimeAsync(5000);
    expect(mockList).toHaveBeenCalledTimes(2);

    // The server goes away: polling again until the socket is back.
    last().drop();
    expect(model.polling).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(mockList).toHaveBeenCalledTimes(3);

    model.dispose();
    events.dispose();
  });

  it('reloads the list on every (re)connection, shown or hidden', async () => {
    const events = new EventsConnection({ settings: settings(), minDelay: 50 });
    const model = new TransfersModel({ events });
    mockList.mockResolvedValue({ items: [progress('a', { state: 'OK' })] });
    events.connect();
    last().open();
    await settle();
    expect(mockList).toHaveBeenCalledTimes(1);
    expect(model.state.items.map(i => i.id)).toEqual(['a']);

    // While the socket was down a notebook asked for a copy that is already complete: no event
    // will ever tell of it, only the reload after the reconnection.
    last().drop();
    mockList.mockResolvedValue({
      items: [progress('b', { state: 'OK' }), progress('a', { state: 'OK' })]
    });
    await jest.advanceTimersByTimeAsync(50);
    last().open();
    await settle();
    expect(mockList).toHaveBeenCalledTimes(2);
    expect(model.state.items.map(i => i.id).sort()).toEqual(['a', 'b']);
    expect(model.polling).toBe(false);
    model.dispose();
    events.dispose();
  });

  it('keeps what an event told while a list was on its way', async () => {
    const events = new EventsConnection({ settings: settings() });
    const model = new TransfersModel({ events });
    let answer: (list: { items: ReturnType<typeof progress>[] }) => void = () =>
      undefined;
    mockList.mockReturnValue(new Promise(resolve => (answer = resolve)));
    events.connect();
    last().open(); // the reload leaves; the server reads the list now
    last().send({ type: 'replica', data: progress('new', { state: 'OK' }) });
    answer({ items: [progress('old')] }); // read before the new request existed
    await settle();
    expect(model.state.loading).toBe(false);
    expect(model.state.items.map(i => i.id).sort()).toEqual(['new', 'old']);
    expect(model.state.items.find(i => i.id === 'new')?.state).toBe('OK');
    model.dispose();
    events.dispose();
  });
});

describe('ClustersModel with the events socket', () => {
  it('takes clusters from events, polls only while the socket is closed', async () => {
    const events = new EventsConnection({ settings: settings(), minDelay: 50 });
    const model = new ClustersModel({ events, interval: 1000 });
    mockClusters.mockResolvedValue({ items: [] });
    events.connect();
    model.setVisible(true);
    await settle();
    expect(model.polling).toBe(true);

    last().open();
    await settle();
    expect(model.polling).toBe(false);
    const calls = mockClusters.mock.calls.length;
    last().send({ type: 'cluster', data: cluster('c1', { workers: 2 }) });
    expect(model.state.clusters.map(c => [c.id, c.workers])).toEqual([
      ['c1', 2]
    ]);
    last().send({ type: 'cluster', data: cluster('c1', { status: 'closed' }) });
    expect(model.state.clusters).toEqual([]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(mockClusters).toHaveBeenCalledTimes(calls);

    last().drop();
    expect(model.polling).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(mockClusters).toHaveBeenCalledTimes(calls + 1);
    model.dispose();
    events.dispose();
  });
});
