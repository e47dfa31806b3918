/**
 * The events websocket and the transfers model fed by it. Only the boundary is faked: the
 * socket (through the settings' ``WebSocket`` class, as Jupyter's own services take it) and the
 * REST calls.
 */
import { ServerConnection } from '@jupyterlab/services';

import { listReplicas } from '../api';
import { EventsConnection, eventsUrl } from '../events';
import { TransfersModel } from '../transfers';
import { progress } from './fixtures';

jest.mock('../api', () => ({
  ...jest.requireActual('../api'),
  listReplicas: jest.fn()
}));

const mockList = listReplicas as jest.MockedFunction<typeof listReplicas>;

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
});
