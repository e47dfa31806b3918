/**
 * The access model: the account's requests for other communities' data, the requests waiting for
 * it as a steward (grant, deny, revoke), and the access ledger's latest checkpoint with the
 * server's check of its signatures.
 *
 * The server pushes no access events, so ``ListModel`` polls while the section is shown. Purposes
 * stay with their requester: the server keeps only their salted hash, so the text and salt of a
 * request made here are kept in the panel's store and shown only in this user's list.
 */

import { access, toWp5Error } from './api';
import { ListModel, withoutKey } from './listModel';
import {
  IAccessOverview,
  IAccessRequest,
  IAccessState,
  IGrantRequest,
  IKeptPurpose,
  ILedgerCheckpoint,
  IPanelStore,
  IWp5Error
} from './tokens';

/** Key of the kept purposes in the panel's store. */
export const PURPOSES_KEY = 'jupyter-wp5:access-purposes';

/** What one poll reads: the requests and the checkpoint (or why it could not be read). */
export interface IAccessSnapshot {
  overview: IAccessOverview;
  checkpoint: ILedgerCheckpoint | null;
  checkpointError: IWp5Error | null;
}

/** The access state before the first answer. */
export function initialAccessState(): IAccessState {
  return {
    account: null,
    mine: [],
    stewarded: [],
    purposes: {},
    checkpoint: null,
    checkpointError: null,
    loading: false,
    error: null,
    asking: false,
    askError: null,
    busy: [],
    rowErrors: {}
  };
}

/** ``list`` with ``request`` in place of the one with its id (unchanged when absent). */
function replaced(
  list: IAccessRequest[],
  request: IAccessRequest
): IAccessRequest[] {
  return list.map(r => (r.id === request.id ? request : r));
}

/** Pure transitions of the access state. */
export namespace AccessTransitions {
  export function listed(
    state: IAccessState,
    snapshots: IAccessSnapshot[]
  ): IAccessState {
    const [{ overview, checkpoint, checkpointError }] = snapshots;
    return {
      ...state,
      account: overview.account,
      mine: overview.mine,
      stewarded: overview.stewarded,
      checkpoint,
      checkpointError,
      loading: false,
      error: null
    };
  }

  export function upserted(
    state: IAccessState,
    snapshot: IAccessSnapshot
  ): IAccessState {
    return listed(state, [snapshot]);
  }

  export function failed(state: IAccessState, error: IWp5Error): IAccessState {
    return { ...state, loading: false, error };
  }

  export function purposesLoaded(
    state: IAccessState,
    purposes: { [id: string]: IKeptPurpose }
  ): IAccessState {
    return { ...state, purposes: { ...purposes, ...state.purposes } };
  }

  export function asking(state: IAccessState): IAccessState {
    return { ...state, asking: true, askError: null };
  }

  /** A request made here: listed at once, with the purpose it was made with. */
  export function asked(
    state: IAccessState,
    request: IAccessRequest,
    purpose: IKeptPurpose | null
  ): IAccessState {
    return {
      ...state,
      asking: false,
      askError: null,
      mine: [...state.mine.filter(r => r.id !== request.id), request],
      purposes: purpose
        ? { ...state.purposes, [request.id]: purpose }
        : state.purposes
    };
  }

  export function askFailed(
    state: IAccessState,
    error: IWp5Error
  ): IAccessState {
    return { ...state, asking: false, askError: error };
  }

  export function deciding(state: IAccessState, id: string): IAccessState {
    return {
      ...state,
      busy: [...state.busy.filter(b => b !== id), id],
      rowErrors: withoutKey(state.rowErrors, id)
    };
  }

  /** A decision went through: the request's new state wherever it is listed. */
  export function decided(
    state: IAccessState,
    request: IAccessRequest
  ): IAccessState {
    return {
      ...state,
      busy: state.busy.filter(b => b !== request.id),
      mine: replaced(state.mine, request),
      stewarded: replaced(state.stewarded, request)
    };
  }

  export function decisionFailed(
    state: IAccessState,
    id: string,
    error: IWp5Error
  ): IAccessState {
    return {
      ...state,
      busy: state.busy.filter(b => b !== id),
      rowErrors: { ...state.rowErrors, [id]: error }
    };
  }
}

/** The requests and the checkpoint; a ledger that cannot be read does not fail the list. */
async function snapshot(): Promise<IAccessSnapshot[]> {
  const [overview, ledger] = await Promise.all([
    access.overview(),
    access.checkpoint().then(
      checkpoint => ({ checkpoint, checkpointError: null }),
      error => ({ checkpoint: null, checkpointError: toWp5Error(error) })
    )
  ]);
  return [{ overview, ...ledger }];
}

export namespace AccessModel {
  export interface IOptions extends ListModel.IOptions {
    /** Where the purposes of requests made here are kept (JupyterLab's state database). */
    store?: IPanelStore | null;
  }
}

/** State and actions of the access section. */
export class AccessModel extends ListModel<IAccessState, IAccessSnapshot> {
  constructor(options: AccessModel.IOptions = {}) {
    super(
      initialAccessState(),
      { eventType: null, fetchList: snapshot, ...AccessTransitions },
      options
    );
    this._store = options.store ?? null;
  }

  /** Read the purposes kept from earlier sessions (once, when the section is first shown). */
  protected shown(): void {
    if (this._store && !this._purposesRead) {
      this._purposesRead = true;
      void this._store.fetch(PURPOSES_KEY).then(
        kept => {
          if (kept && typeof kept === 'object') {
            this.setState(
              AccessTransitions.purposesLoaded(
                this.state,
                kept as { [id: string]: IKeptPurpose }
              )
            );
          }
        },
        () => undefined // nothing kept, or no store: the purposes stay unknown here
      );
    }
  }

  /** Ask for access to ``did`` for ``purpose``; the server's refusal lands in ``askError``. */
  async ask(did: string, purpose: string): Promise<IAccessRequest | null> {
    this.setState(AccessTransitions.asking(this.state));
    try {
      const outcome = await access.request(did.trim(), purpose);
      const kept = outcome.purpose_salt
        ? { purpose: purpose.trim(), salt: outcome.purpose_salt }
        : null;
      this.setState(AccessTransitions.asked(this.state, outcome.request, kept));
      if (kept && this._store) {
        await this._store.save(PURPOSES_KEY, this.state.purposes);
      }
      return outcome.request;
    } catch (error) {
      this.setState(AccessTransitions.askFailed(this.state, toWp5Error(error)));
      return null;
    }
  }

  /** Grant a pending request (stewards only); a refusal is shown on its row. */
  grant(id: string, grant: IGrantRequest): Promise<void> {
    return this._decide(id, () => access.grant(id, grant));
  }

  /** Deny a pending request (stewards only). */
  deny(id: string): Promise<void> {
    return this._decide(id, () => access.deny(id));
  }

  /** Revoke a grant (stewards only): its rules end too. */
  revoke(id: string): Promise<void> {
    return this._decide(id, () => access.revoke(id));
  }

  private async _decide(
    id: string,
    call: () => Promise<{ request: IAccessRequest }>
  ): Promise<void> {
    this.setState(AccessTransitions.deciding(this.state, id));
    try {
      const { request } = await call();
      this.setState(AccessTransitions.decided(this.state, request));
      // The decision is a new ledger entry: read the new checkpoint with the list.
      void this.refresh();
    } catch (error) {
      this.setState(
        AccessTransitions.decisionFailed(this.state, id, toWp5Error(error))
      );
    }
  }

  private _store: IPanelStore | null;
  private _purposesRead = false;
}
