/**
 * The transfers model: the user's copy requests (Rucio rules and downloads) and their progress,
 * the storage elements a copy may go to, and the requests to make, extend or cancel a copy.
 *
 * Progress is pushed by the events websocket; ``ListModel`` reloads the list when the section is
 * shown and when the socket (re)opens, and polls only while the socket is closed. Every answer (a
 * list, one request, an event) goes through the same pure transitions.
 */

import { replicas, catalog, toWp5Error } from './api';
import { ListModel, withoutKey } from './listModel';
import {
  ACTIVE_REPLICA_STATES,
  IReplicaProgress,
  IReplicaRequest,
  IStorageElement,
  ITransfersState,
  IWp5Error
} from './tokens';

/** What "extend" gives a copy: this long from now. */
export const EXTEND_LIFETIME = '7d';

/** Whether a request is still moving (``ReplicaProgress.active`` on the server). */
export function isActive(progress: IReplicaProgress): boolean {
  return ACTIVE_REPLICA_STATES.includes(progress.state);
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

/** State and actions of the transfers section and of "make available at". */
export class TransfersModel extends ListModel<
  ITransfersState,
  IReplicaProgress
> {
  constructor(options: ListModel.IOptions = {}) {
    super(
      initialTransfersState(),
      {
        eventType: 'replica',
        fetchList: async () => (await replicas.list()).items,
        ...TransfersTransitions
      },
      options
    );
  }

  /** Load the storage elements once (for the site selector). */
  async loadStorageElements(): Promise<void> {
    await this.loadOnce(
      'rses',
      this.state.rses.length > 0,
      catalog.rses,
      TransfersTransitions.rsesLoaded
    );
  }

  /**
   * Ask for a copy. The server's refusal (quota, unknown site, permission) lands in
   * ``state.submitError``; the answer is the new request, or null when refused.
   */
  async request(request: IReplicaRequest): Promise<IReplicaProgress | null> {
    this.setState(TransfersTransitions.submitting(this.state, request.did));
    try {
      const progress = await replicas.request(request);
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
      await replicas.cancel(id);
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
      const progress = await replicas.update(id, { lifetime });
      this.setState(TransfersTransitions.upserted(this.state, progress));
    } catch (error) {
      this.setState(
        TransfersTransitions.rowFailed(this.state, id, toWp5Error(error))
      );
    }
  }
}
