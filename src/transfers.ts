/**
 * The transfers model: the user's copy requests (Rucio rules) and their progress, the storage
 * elements a copy may go to, and the requests to make or cancel a copy.
 *
 * Progress comes from the events websocket when one is given and open; otherwise (no socket, or
 * while it reconnects) it is polled every 2 s while the transfers section is visible and a
 * transfer is under way. Every answer (a list, one request, an event) goes through the same pure
 * transitions.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  cancelReplica,
  listReplicas,
  listStorageElements,
  requestReplica,
  updateReplica
} from './api';
import { EventsConnection } from './events';
import { toWp5Error } from './model';
import { Poller, POLL_INTERVAL } from './poll';
import {
  IReplicaProgress,
  IReplicaRequest,
  IStorageElement,
  ITransfersState,
  IWp5Error,
  IWp5Event
} from './tokens';

/** Rule states in which Rucio is still moving (or retrying) files. */
const ACTIVE_STATES = new Set([
  'REPLICATING',
  'STUCK',
  'INJECT',
  'WAITING_APPROVAL'
]);

/** What "extend" gives a copy: this long from now. */
export const EXTEND_LIFETIME = '7d';

/** Whether a request is still under way (worth polling for). */
export function isActive(progress: IReplicaProgress): boolean {
  return ACTIVE_STATES.has(progress.state.toUpperCase());
}

/** The transfers state before the first answer. */
export function initialTransfersState(): ITransfersState {
  return {
    items: [],
    rses: [],
    loading: false,
    error: null,
    submitting: null,
    submitError: null,
    rowErrors: {}
  };
}

function newestFirst(a: IReplicaProgress, b: IReplicaProgress): number {
  return (b.created_at ?? '').localeCompare(a.created_at ?? '');
}

function withoutKey<T>(
  map: { [key: string]: T },
  key: string
): { [key: string]: T } {
  if (!(key in map)) {
    return map;
  }
  const copy = { ...map };
  delete copy[key];
  return copy;
}

/** Pure transitions of the transfers state. */
export namespace TransfersTransitions {
  export function loading(state: ITransfersState): ITransfersState {
    return { ...state, loading: true };
  }

  /** A full list replaces the items. */
  export function listed(
    state: ITransfersState,
    items: IReplicaProgress[]
  ): ITransfersState {
    return {
      ...state,
      items: [...items].sort(newestFirst),
      loading: false,
      error: null
    };
  }

  export function rsesLoaded(
    state: ITransfersState,
    rses: IStorageElement[]
  ): ITransfersState {
    return { ...state, rses };
  }

  export function failed(
    state: ITransfersState,
    error: IWp5Error
  ): ITransfersState {
    return { ...state, loading: false, error };
  }

  /** One request's new progress: replaced in place, or added at the top when new. */
  export function upserted(
    state: ITransfersState,
    progress: IReplicaProgress
  ): ITransfersState {
    const i = state.items.findIndex(item => item.id === progress.id);
    const items =
      i < 0
        ? [progress, ...state.items]
        : state.items.map(item => (item.id === progress.id ? progress : item));
    return { ...state, items };
  }

  export function removed(state: ITransfersState, id: string): ITransfersState {
    return {
      ...state,
      items: state.items.filter(item => item.id !== id),
      rowErrors: withoutKey(state.rowErrors, id)
    };
  }

  export function submitting(
    state: ITransfersState,
    did: string
  ): ITransfersState {
    return { ...state, submitting: did, submitError: null };
  }

  export function submitted(
    state: ITransfersState,
    progress: IReplicaProgress
  ): ITransfersState {
    return {
      ...upserted(state, progress),
      submitting: null,
      submitError: null
    };
  }

  export function submitFailed(
    state: ITransfersState,
    did: string,
    error: IWp5Error
  ): ITransfersState {
    return { ...state, submitting: null, submitError: { did, error } };
  }

  export function rowFailed(
    state: ITransfersState,
    id: string,
    error: IWp5Error
  ): ITransfersState {
    return { ...state, rowErrors: { ...state.rowErrors, [id]: error } };
  }

  export function rowErrorCleared(
    state: ITransfersState,
    id: string
  ): ITransfersState {
    return { ...state, rowErrors: withoutKey(state.rowErrors, id) };
  }
}

export namespace TransfersModel {
  export interface IOptions {
    /** Poll interval in ms (default 2000). */
    interval?: number;
    /** The panel's events websocket: while it is open its events replace the poll. */
    events?: EventsConnection;
  }
}

/** State, polling and actions of the transfers section and of "make available at". */
export class TransfersModel {
  constructor(options: TransfersModel.IOptions = {}) {
    this._poller = new Poller(
      () => this.refresh(),
      options.interval ?? POLL_INTERVAL
    );
    this._events = options.events ?? null;
    if (this._events) {
      this._events.received.connect((_, event) => this.receive(event), this);
      this._events.openChanged.connect(this._onEventsOpen, this);
    }
  }

  get state(): ITransfersState {
    return this._state;
  }

  get stateChanged(): ISignal<TransfersModel, void> {
    return this._stateChanged;
  }

  /** Whether the poll is on (visible, and a transfer under way). */
  get polling(): boolean {
    return this._poller.running;
  }

  /** The transfers section was shown or hidden: refresh on show, poll only while shown. */
  setVisible(visible: boolean): void {
    if (visible === this._visible) {
      return;
    }
    this._visible = visible;
    if (visible) {
      void this.refresh();
    } else {
      this._poller.stop();
    }
  }

  /** Reload the list of requests. */
  async refresh(): Promise<void> {
    const ticket = ++this._listTicket;
    const epoch = this._epoch;
    this._set(TransfersTransitions.loading(this._state));
    try {
      const { items } = await listReplicas();
      if (ticket === this._listTicket) {
        // A list that left before a create or delete is out of date: wait for the next one.
        this._set(
          epoch === this._epoch
            ? TransfersTransitions.listed(this._state, items)
            : { ...this._state, loading: false }
        );
      }
    } catch (error) {
      if (ticket === this._listTicket) {
        this._set(TransfersTransitions.failed(this._state, toWp5Error(error)));
      }
    }
  }

  /** Load the storage elements once (for the site selector). */
  async loadStorageElements(): Promise<void> {
    if (this._state.rses.length || this._rsesLoading) {
      return;
    }
    this._rsesLoading = true;
    try {
      const { items } = await listStorageElements();
      this._set(TransfersTransitions.rsesLoaded(this._state, items));
    } catch (error) {
      this._set(TransfersTransitions.failed(this._state, toWp5Error(error)));
    } finally {
      this._rsesLoading = false;
    }
  }

  /**
   * Ask for a copy. The server's refusal (quota, unknown site, permission) lands in
   * ``state.submitError``; the answer is the new request, or null when refused.
   */
  async request(request: IReplicaRequest): Promise<IReplicaProgress | null> {
    this._set(TransfersTransitions.submitting(this._state, request.did));
    try {
      const progress = await requestReplica(request);
      this._epoch++;
      this._set(TransfersTransitions.submitted(this._state, progress));
      return progress;
    } catch (error) {
      this._set(
        TransfersTransitions.submitFailed(
          this._state,
          request.did,
          toWp5Error(error)
        )
      );
      return null;
    }
  }

  /** Cancel a request; a refusal is shown on its row. */
  async cancel(id: string): Promise<void> {
    this._set(TransfersTransitions.rowErrorCleared(this._state, id));
    try {
      await cancelReplica(id);
      this._epoch++;
      this._set(TransfersTransitions.removed(this._state, id));
    } catch (error) {
      this._set(
        TransfersTransitions.rowFailed(this._state, id, toWp5Error(error))
      );
    }
  }

  /** Keep a copy ``lifetime`` from now (default 7 days); a refusal is shown on its row. */
  async extend(id: string, lifetime: string = EXTEND_LIFETIME): Promise<void> {
    this._set(TransfersTransitions.rowErrorCleared(this._state, id));
    try {
      const progress = await updateReplica(id, { lifetime });
      this._set(TransfersTransitions.upserted(this._state, progress));
    } catch (error) {
      this._set(
        TransfersTransitions.rowFailed(this._state, id, toWp5Error(error))
      );
    }
  }

  /** Take an event of the events websocket; answers whether it was a replica event. */
  receive(event: IWp5Event): boolean {
    if (event.type !== 'replica') {
      return false;
    }
    this._set(TransfersTransitions.upserted(this._state, event.data));
    return true;
  }

  dispose(): void {
    this._poller.dispose();
    // Also drops this model's connections to the events socket's signals.
    Signal.clearData(this);
  }

  /** The socket opened (catch up on what it missed) or closed (fall back to the poll). */
  private _onEventsOpen(_: EventsConnection, open: boolean): void {
    if (open && this._visible) {
      void this.refresh();
    } else {
      this._set(this._state);
    }
  }

  private _set(state: ITransfersState): void {
    this._state = state;
    // Poll only while someone looks, Rucio still has work to do and no socket brings the news.
    if (this._visible && !this._events?.isOpen && state.items.some(isActive)) {
      this._poller.start();
    } else {
      this._poller.stop();
    }
    this._stateChanged.emit();
  }

  private _state: ITransfersState = initialTransfersState();
  private _visible = false;
  private _rsesLoading = false;
  private _listTicket = 0;
  /** Bumped by every create and delete, which a list already under way does not know of. */
  private _epoch = 0;
  private _poller: Poller;
  private _events: EventsConnection | null;
  private _stateChanged = new Signal<TransfersModel, void>(this);
}
