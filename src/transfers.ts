/**
 * The transfers model: the user's copy requests (Rucio rules) and their progress, the storage
 * elements a copy may go to, and the requests to make or cancel a copy.
 *
 * Progress comes from the events websocket when one is given and open; otherwise (no socket, or
 * while it reconnects) it is polled every 2 s while the transfers section is visible and a
 * transfer is under way. Every answer (a list, one request, an event) goes through the same pure
 * transitions.
 */

import {
  cancelReplica,
  listReplicas,
  listStorageElements,
  requestReplica,
  updateReplica
} from './api';
import { EventsConnection } from './events';
import { ListModel } from './listModel';
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
export class TransfersModel extends ListModel<
  ITransfersState,
  IReplicaProgress
> {
  constructor(options: TransfersModel.IOptions = {}) {
    super(initialTransfersState());
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

  /** Load the storage elements once (for the site selector). */
  async loadStorageElements(): Promise<void> {
    await this.loadOnce(
      'rses',
      this.state.rses.length > 0,
      listStorageElements,
      TransfersTransitions.rsesLoaded
    );
  }

  protected async fetchList(): Promise<IReplicaProgress[]> {
    return (await listReplicas()).items;
  }

  protected listed(
    state: ITransfersState,
    items: IReplicaProgress[]
  ): ITransfersState {
    return TransfersTransitions.listed(state, items);
  }

  protected failed(state: ITransfersState, error: IWp5Error): ITransfersState {
    return TransfersTransitions.failed(state, error);
  }

  /**
   * Ask for a copy. The server's refusal (quota, unknown site, permission) lands in
   * ``state.submitError``; the answer is the new request, or null when refused.
   */
  async request(request: IReplicaRequest): Promise<IReplicaProgress | null> {
    this.setState(TransfersTransitions.submitting(this.state, request.did));
    try {
      const progress = await requestReplica(request);
      this.membershipChanged();
      this.setState(TransfersTransitions.submitted(this.state, progress));
      return progress;
    } catch (error) {
      this.setState(
        TransfersTransitions.submitFailed(
          this.state,
          request.did,
          toWp5Error(error)
        )
      );
      return null;
    }
  }

  /** Cancel a request; a refusal is shown on its row. */
  async cancel(id: string): Promise<void> {
    this.setState(TransfersTransitions.rowErrorCleared(this.state, id));
    try {
      await cancelReplica(id);
      this.membershipChanged();
      this.setState(TransfersTransitions.removed(this.state, id));
    } catch (error) {
      this.setState(
        TransfersTransitions.rowFailed(this.state, id, toWp5Error(error))
      );
    }
  }

  /** Keep a copy ``lifetime`` from now (default 7 days); a refusal is shown on its row. */
  async extend(id: string, lifetime: string = EXTEND_LIFETIME): Promise<void> {
    this.setState(TransfersTransitions.rowErrorCleared(this.state, id));
    try {
      const progress = await updateReplica(id, { lifetime });
      this.setState(TransfersTransitions.upserted(this.state, progress));
    } catch (error) {
      this.setState(
        TransfersTransitions.rowFailed(this.state, id, toWp5Error(error))
      );
    }
  }

  /** Take an event of the events websocket; answers whether it was a replica event. */
  receive(event: IWp5Event): boolean {
    if (event.type !== 'replica') {
      return false;
    }
    this.setState(TransfersTransitions.upserted(this.state, event.data));
    return true;
  }

  dispose(): void {
    this._poller.dispose();
    // Also drops this model's connections to the events socket's signals.
    super.dispose();
  }

  /** The socket opened (catch up on what it missed) or closed (fall back to the poll). */
  private _onEventsOpen(_: EventsConnection, open: boolean): void {
    if (open && this._visible) {
      void this.refresh();
    } else {
      this.setState(this.state);
    }
  }

  /** Poll only while someone looks, Rucio still has work to do and no socket brings the news. */
  protected stateSet(): void {
    if (
      this._visible &&
      !this._events?.isOpen &&
      this.state.items.some(isActive)
    ) {
      this._poller.start();
    } else {
      this._poller.stop();
    }
  }

  private _visible = false;
  private _poller: Poller;
  private _events: EventsConnection | null;
}
