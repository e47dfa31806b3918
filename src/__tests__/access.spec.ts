import { Signal } from '@lumino/signaling';

import * as api from '../api';
import { ResponseError } from '../api';
import {
  AccessModel,
  AccessTransitions,
  initialAccessState,
  PURPOSES_KEY
} from '../access';
import { EventsConnection } from '../events';
import { IAccessOverview, IAccessRequest, ILedgerCheckpoint } from '../tokens';

import { accessRequest, memoryStore, settle } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mocked = <T extends (...args: any[]) => any>(f: T) =>
  f as jest.MockedFunction<T>;

function overview(
  mine: IAccessRequest[],
  stewarded: IAccessRequest[] = []
): IAccessOverview {
  return {
    account: 'leonardo-user',
    communities: ['leonardo'],
    mine,
    stewarded
  };
}

const CHECKPOINT: ILedgerCheckpoint = {
  checkpoint: 'wp5.example/log\n3\nAAAA\n\n\u2014 wp5.example/log sig\n',
  verifier_keys: ['wp5.example/log+01234567+AAAA'],
  verification: {
    verified: true,
    tree_size: 3,
    operator: 'wp5.example/log',
    witnesses: ['inaf-witness', 'leonardo-witness'],
    keys: 'configured',
    reason: null
  }
};

beforeEach(() => {
  jest.useFakeTimers();
  for (const f of Object.values(api.access)) {
    mocked(f as (...args: any[]) => any).mockReset();
  }
});

afterEach(() => {
  jest.useRealTimers();
});

describe('AccessTransitions', () => {
  it('a decision replaces the request wherever it is listed and ends its busy mark', () => {
    const pending = accessRequest('r1');
    let state = AccessTransitions.listed(initialAccessState(), [
      {
        overview: overview([pending], [pending]),
        checkpoint: CHECKPOINT,
        checkpointError: null
      }
    ]);
    state = AccessTransitions.deciding(state, 'r1');
    expect(state.busy).toEqual(['r1']);
    const granted = accessRequest('r1', {
      status: 'granted',
      expires: '2026-12-09T07:00:00Z'
    });
    state = AccessTransitions.decided(state, granted);
    expect(state.busy).toEqual([]);
    expect(state.mine[0].status).toBe('granted');
    expect(state.stewarded[0].status).toBe('granted');
  });
});

describe('AccessModel', () => {
  it('lists my requests and the checkpoint; a ledger error does not fail the list', async () => {
    mocked(api.access.overview).mockResolvedValue(
      overview([accessRequest('r1')])
    );
    mocked(api.access.checkpoint).mockRejectedValue(
      new ResponseError(
        404,
        'not_found',
        'this server reports to no access ledger'
      )
    );
    const model = new AccessModel();
    await model.refresh();
    expect(model.state.account).toBe('leonardo-user');
    expect(model.state.mine.map(r => r.id)).toEqual(['r1']);
    expect(model.state.error).toBeNull();
    expect(model.state.checkpointError?.message).toBe(
      'this server reports to no access ledger'
    );
    model.dispose();
  });

  it('polls while shown even with the events socket open (no access events are pushed)', async () => {
    mocked(api.access.overview).mockResolvedValue(overview([]));
    mocked(api.access.checkpoint).mockResolvedValue(CHECKPOINT);
    const owner = {};
    const events = {
      isOpen: true,
      received: new Signal(owner),
      openChanged: new Signal(owner)
    } as unknown as EventsConnection;
    const model = new AccessModel({ interval: 1000, events });
    model.setVisible(true);
    await settle();
    expect(model.polling).toBe(true);
    const granted = accessRequest('r1', { status: 'granted' });
    mocked(api.access.overview).mockResolvedValue(overview([granted]));
    jest.advanceTimersByTime(1000);
    await settle();
    expect(model.state.mine[0].status).toBe('granted');
    model.setVisible(false);
    expect(model.polling).toBe(false);
    model.dispose();
  });

  it('keeps the purpose of a request made here, and only in its own store', async () => {
    const store = memoryStore();
    mocked(api.access.request).mockResolvedValue({
      request: accessRequest('r2'),
      ledger_index: 7,
      purpose_salt: 'salt'
    });
    const model = new AccessModel({ store });
    const made = await model.ask(
      ' space:debris_catalogue_2026 ',
      ' debris study '
    );
    expect(made?.id).toBe('r2');
    expect(mocked(api.access.request)).toHaveBeenCalledWith(
      'space:debris_catalogue_2026',
      ' debris study '
    );
    expect(model.state.mine.map(r => r.id)).toEqual(['r2']);
    expect(model.state.purposes.r2).toEqual({
      purpose: 'debris study',
      salt: 'salt'
    });
    expect(store.values[PURPOSES_KEY]).toEqual({
      r2: { purpose: 'debris study', salt: 'salt' }
    });

    // A later session reads them back when the section is first shown.
    mocked(api.access.overview).mockResolvedValue(
      overview([accessRequest('r2')])
    );
    mocked(api.access.checkpoint).mockResolvedValue(CHECKPOINT);
    const later = new AccessModel({ store });
    later.setVisible(true);
    await settle();
    expect(later.state.purposes.r2.purpose).toBe('debris study');
    later.dispose();
    model.dispose();
  });

  it("shows a refused request's message and keeps nothing", async () => {
    const store = memoryStore();
    mocked(api.access.request).mockRejectedValue(
      new ResponseError(
        409,
        'conflict',
        'inaf-member is in community inaf: no grant needed'
      )
    );
    const model = new AccessModel({ store });
    expect(await model.ask('space:x', 'p')).toBeNull();
    expect(model.state.askError).toEqual({
      status: 409,
      code: 'conflict',
      message: 'inaf-member is in community inaf: no grant needed'
    });
    expect(model.state.mine).toEqual([]);
    expect(store.save).not.toHaveBeenCalled();
    model.dispose();
  });

  it('grants with an expiry and storage elements, then reads the new list and checkpoint', async () => {
    mocked(api.access.grant).mockResolvedValue({
      request: accessRequest('r1', { status: 'granted', rses: ['SITE-C'] }),
      ledger_index: 8
    });
    mocked(api.access.overview).mockResolvedValue(
      overview(
        [],
        [accessRequest('r1', { status: 'granted', rses: ['SITE-C'] })]
      )
    );
    mocked(api.access.checkpoint).mockResolvedValue(CHECKPOINT);
    const model = new AccessModel();
    await model.grant('r1', {
      expires: '2026-12-09T07:00:00Z',
      rses: ['SITE-C']
    });
    expect(mocked(api.access.grant)).toHaveBeenCalledWith('r1', {
      expires: '2026-12-09T07:00:00Z',
      rses: ['SITE-C']
    });
    await settle();
    expect(model.state.stewarded[0].status).toBe('granted');
    expect(model.state.checkpoint?.verification.tree_size).toBe(3);
    model.dispose();
  });

  it("shows a non-steward's 403 with the server's message on the row", async () => {
    const message =
      'leonardo-user is not a steward of scope space: only inaf-steward may decide on request r1';
    mocked(api.access.deny).mockRejectedValue(
      new ResponseError(403, 'forbidden', message)
    );
    const model = new AccessModel();
    await model.deny('r1');
    expect(model.state.rowErrors.r1).toEqual({
      status: 403,
      code: 'forbidden',
      message
    });
    expect(model.state.busy).toEqual([]);
    model.dispose();
  });
});
