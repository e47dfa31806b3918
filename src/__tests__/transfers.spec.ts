import * as api from '../api';
import { ResponseError } from '../api';
import {
  initialTransfersState,
  isActive,
  TransfersModel,
  TransfersTransitions
} from '../transfers';
import { progress, rse } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mockList = api.replicas.list as jest.MockedFunction<
  typeof api.replicas.list
>;
const mockRses = api.catalog.rses as jest.MockedFunction<
  typeof api.catalog.rses
>;
const mockRequest = api.replicas.request as jest.MockedFunction<
  typeof api.replicas.request
>;
const mockCancel = api.replicas.cancel as jest.MockedFunction<
  typeof api.replicas.cancel
>;
const mockUpdate = api.replicas.update as jest.MockedFunction<
  typeof api.replicas.update
>;

/** Let pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

beforeEach(() => {
  jest.useFakeTimers();
  for (const m of [mockList, mockRses, mockRequest, mockCancel, mockUpdate]) {
    m.mockReset();
  }
});

afterEach(() => {
  jest.useRealTimers();
});

describe('TransfersTransitions', () => {
  it('lists newest first and replaces or adds one request', () => {
    const old = progress('a', { created_at: '2026-11-25T19:00:00' });
    const recent = progress('b', { created_at: '2026-11-25T21:00:00' });
    let state = TransfersTransitions.listed(initialTransfersState(), [
      old,
      recent
    ]);
    expect(state.items.map(i => i.id)).toEqual(['b', 'a']);

    const done = progress('a', { state: 'OK', files_ok: 4, fraction: 1 });
    state = TransfersTransitions.upserted(state, done);
    expect(state.items.map(i => [i.id, i.state])).toEqual([
      ['b', 'REPLICATING'],
      ['a', 'OK']
    ]);
    state = TransfersTransitions.upserted(state, progress('c'));
    expect(state.items.map(i => i.id)).toEqual(['c', 'b', 'a']);
  });

  it('keeps a refusal per DID and per row, and clears it on success', () => {
    const error = { status: 403, code: 'forbidden', message: 'no quota' };
    let state = TransfersTransitions.submitting(initialTransfersState(), 'x:y');
    expect(state.submitting).toBe('x:y');
    state = TransfersTransitions.submitFailed(state, 'x:y', error);
    expect(state.submitting).toBeNull();
    expect(state.submitError).toEqual({ did: 'x:y', error });
    state = TransfersTransitions.submitted(state, progress('a'));
    expect(state.submitError).toBeNull();
    state = TransfersTransitions.rowFailed(state, 'a', error);
    expect(state.rowErrors).toEqual({ a: error });
    state = TransfersTransitions.removed(state, 'a');
    expect(state.items).toEqual([]);
    expect(state.rowErrors).toEqual({});
  });

  it('calls REPLICATING active, STUCK, OK and SUSPENDED not (as the server does)', () => {
    expect(isActive(progress('a'))).toBe(true);
    expect(isActive(progress('a', { state: 'INJECT' }))).toBe(true);
    expect(isActive(progress('a', { state: 'STUCK' }))).toBe(false);
    expect(isActive(progress('a', { state: 'OK' }))).toBe(false);
    expect(isActive(progress('a', { state: 'SUSPENDED' }))).toBe(false);
  });
});

describe('TransfersModel', () => {
  it('without an events socket, polls every 2 s while visible, finished or not', async () => {
    const model = new TransfersModel();
    mockList
      .mockResolvedValueOnce({ items: [progress('a')] })
      .mockResolvedValueOnce({ items: [progress('a', { files_ok: 3 })] })
      .mockResolvedValueOnce({
        items: [progress('a', { state: 'OK', files_ok: 4, fraction: 1 })]
      });

    model.setVisible(true);
    await settle();
    expect(mockList).toHaveBeenCalledTimes(1);
    expect(model.polling).toBe(true);

    await jest.advanceTimersByTimeAsync(2000);
    expect(mockList).toHaveBeenCalledTimes(2);
    expect(model.state.items[0].files_ok).toBe(3);

    await jest.advanceTimersByTimeAsync(2000);
    expect(mockList).toHaveBeenCalledTimes(3);
    expect(model.state.items[0].state).toBe('OK');
    // A copy asked for from a notebook must show up too: the poll goes on.
    expect(model.polling).toBe(true);
    model.dispose();
    await jest.advanceTimersByTimeAsync(10000);
    expect(mockList).toHaveBeenCalledTimes(3);
  });

  it('stops polling when hidden and refreshes when shown again', async () => {
    const model = new TransfersModel();
    mockList.mockResolvedValue({ items: [progress('a')] });
    model.setVisible(true);
    await settle();
    expect(model.polling).toBe(true);

    model.setVisible(false);
    expect(model.polling).toBe(false);
    await jest.advanceTimersByTimeAsync(10000);
    expect(mockList).toHaveBeenCalledTimes(1);

    model.setVisible(true);
    await settle();
    expect(mockList).toHaveBeenCalledTimes(2);
    expect(model.polling).toBe(true);
    model.dispose();
    expect(model.polling).toBe(false);
  });

  it('does not poll a hidden section even with an active transfer', async () => {
    const model = new TransfersModel();
    mockRequest.mockResolvedValueOnce(progress('a'));
    const made = await model.request({
      did: 'cms:TTTo2L2Nu_NanoAODv9',
      rse_expression: 'SITE-B',
      lifetime: 86400
    });
    expect(made?.id).toBe('a');
    expect(model.state.items.map(i => i.id)).toEqual(['a']);
    expect(model.polling).toBe(false);
    await jest.advanceTimersByTimeAsync(5000);
    expect(mockList).not.toHaveBeenCalled();
  });

  it("keeps the server's refusal of a copy for that DID", async () => {
    const model = new TransfersModel();
    mockRequest.mockRejectedValueOnce(
      new ResponseError(
        409,
        'engine_refused',
        'RSE SITE-B: quota exceeded for account jovyan'
      )
    );
    const made = await model.request({
      did: 'cms:A',
      rse_expression: 'SITE-B'
    });
    expect(made).toBeNull();
    expect(model.state.submitError).toEqual({
      did: 'cms:A',
      error: {
        status: 409,
        code: 'engine_refused',
        message: 'RSE SITE-B: quota exceeded for account jovyan'
      }
    });
  });

  it('removes a cancelled request and shows a refused cancel on its row', async () => {
    const model = new TransfersModel();
    model.receive({ type: 'replica', data: progress('a') });
    model.receive({ type: 'replica', data: progress('b') });
    mockCancel
      .mockRejectedValueOnce(
        new ResponseError(403, 'forbidden', 'not your rule')
      )
      .mockResolvedValueOnce(undefined);

    await model.cancel('a');
    expect(mockCancel).toHaveBeenCalledWith('a');
    expect(model.state.rowErrors.a.message).toBe('not your rule');
    expect(model.state.items).toHaveLength(2);

    await model.cancel('b');
    expect(model.state.items.map(i => i.id)).toEqual(['a']);
  });

  it('ignores events of other types', () => {
    const model = new TransfersModel();
    expect(
      model.receive({
        type: 'cluster',
        data: {} as never
      })
    ).toBe(false);
    expect(model.state.items).toEqual([]);
  });

  it('loads the storage elements once', async () => {
    const model = new TransfersModel();
    mockRses.mockResolvedValue({ items: [rse('SITE-A'), rse('SITE-B')] });
    await Promise.all([
      model.loadStorageElements(),
      model.loadStorageElements()
    ]);
    await model.loadStorageElements();
    expect(mockRses).toHaveBeenCalledTimes(1);
    expect(model.state.rses.map(r => r.name)).toEqual(['SITE-A', 'SITE-B']);
  });
});

describe('TransfersModel.extend', () => {
  it('asks for 7 more days and shows the new expiry, or the refusal on its row', async () => {
    const model = new TransfersModel();
    model.receive({
      type: 'replica',
      data: progress('a', { expires_at: '2026-11-26T20:00:00' })
    });
    mockUpdate
      .mockRejectedValueOnce(
        new ResponseError(403, 'forbidden', 'not your rule')
      )
      .mockResolvedValueOnce(
        progress('a', { expires_at: '2026-12-02T21:00:00' })
      );

    await model.extend('a');
    expect(mockUpdate).toHaveBeenCalledWith('a', { lifetime: '7d' });
    expect(model.state.rowErrors.a.message).toBe('not your rule');
    expect(model.state.items[0].expires_at).toBe('2026-11-26T20:00:00');

    await model.extend('a');
    expect(model.state.rowErrors.a).toBeUndefined();
    expect(model.state.items[0].expires_at).toBe('2026-12-02T21:00:00');
  });
});
