/**
 * The clusters model: compute profiles, the running Dask clusters with their live size, and the
 * requests to create, scale and close them.
 *
 * Cluster changes from any surface (panel, magics, Python API) are pushed by the events
 * websocket; ``ListModel`` reloads the list when the section is shown and when the socket
 * (re)opens, and polls only while the socket is closed. Every answer goes through the same pure
 * transitions.
 */

import { clusters as api, toWp5Error } from './api';
import { ListModel, withoutKey } from './listModel';
import {
  ClusterStatus,
  IClusterInfo,
  IClusterRequest,
  IClusterSize,
  IClustersState,
  IProfileInfo,
  IWp5Error
} from './tokens';

/** The status of a cluster that can be used (``ClusterStatus.RUNNING``). */
export const RUNNING: ClusterStatus = 'running';

/** The statuses of a cluster the panel lists: usable, or usable while its lost workers are
 * brought back (``ClusterStatus.DEGRADED``). */
export const LISTED: readonly ClusterStatus[] = [RUNNING, 'degraded'];

/** The clusters state before the first answer. */
export function initialClustersState(): IClustersState {
  return {
    profiles: [],
    clusters: [],
    loading: false,
    error: null,
    creating: false,
    createError: null,
    busy: [],
    rowErrors: {}
  };
}

function oldestFirst(a: IClusterInfo, b: IClusterInfo): number {
  return a.created_at.localeCompare(b.created_at);
}

/** Pure transitions of the clusters state. */
export namespace ClustersTransitions {
  export function loading(state: IClustersState): IClustersState {
    return { ...state, loading: true };
  }

  export function profilesLoaded(
    state: IClustersState,
    profiles: IProfileInfo[]
  ): IClustersState {
    return { ...state, profiles };
  }

  /** A full list replaces the clusters. */
  export function listed(
    state: IClustersState,
    clusters: IClusterInfo[]
  ): IClustersState {
    return {
      ...state,
      clusters: clusters
        .filter(c => LISTED.includes(c.status))
        .sort(oldestFirst),
      loading: false,
      error: null
    };
  }

  export function failed(
    state: IClustersState,
    error: IWp5Error
  ): IClustersState {
    return { ...state, loading: false, error };
  }

  /** One cluster's new state: replaced in place or appended; gone once it is not listed. */
  export function upserted(
    state: IClustersState,
    info: IClusterInfo
  ): IClustersState {
    if (!LISTED.includes(info.status)) {
      return removed(state, info.id);
    }
    const known = state.clusters.some(c => c.id === info.id);
    const clusters = known
      ? state.clusters.map(c => (c.id === info.id ? info : c))
      : [...state.clusters, info];
    return { ...state, clusters };
  }

  export function removed(state: IClustersState, id: string): IClustersState {
    return {
      ...state,
      clusters: state.clusters.filter(c => c.id !== id),
      busy: state.busy.filter(b => b !== id),
      rowErrors: withoutKey(state.rowErrors, id)
    };
  }

  export function creating(state: IClustersState): IClustersState {
    return { ...state, creating: true, createError: null };
  }

  export function created(
    state: IClustersState,
    info: IClusterInfo
  ): IClustersState {
    return { ...upserted(state, info), creating: false, createError: null };
  }

  export function createFailed(
    state: IClustersState,
    error: IWp5Error
  ): IClustersState {
    return { ...state, creating: false, createError: error };
  }

  /** A scale or close of ``id`` started. */
  export function rowBusy(state: IClustersState, id: string): IClustersState {
    return {
      ...state,
      busy: state.busy.includes(id) ? state.busy : [...state.busy, id],
      rowErrors: withoutKey(state.rowErrors, id)
    };
  }

  /** A scale of ``id`` came back with its new state. */
  export function rowDone(
    state: IClustersState,
    info: IClusterInfo
  ): IClustersState {
    const next = upserted(state, info);
    return { ...next, busy: next.busy.filter(b => b !== info.id) };
  }

  export function rowFailed(
    state: IClustersState,
    id: string,
    error: IWp5Error
  ): IClustersState {
    return {
      ...state,
      busy: state.busy.filter(b => b !== id),
      rowErrors: { ...state.rowErrors, [id]: error }
    };
  }
}

/** State and actions of the clusters section. */
export class ClustersModel extends ListModel<IClustersState, IClusterInfo> {
  constructor(options: ListModel.IOptions = {}) {
    super(
      initialClustersState(),
      {
        eventType: 'cluster',
        fetchList: async () => (await api.list()).items,
        ...ClustersTransitions
      },
      options
    );
  }

  /** Load the profiles with the first show. */
  protected shown(): void {
    void this.loadProfiles();
  }

  /** Load the profiles once; they come from the server's configuration. */
  async loadProfiles(): Promise<void> {
    await this.loadOnce(
      'profiles',
      this.state.profiles.length > 0,
      api.profiles,
      ClustersTransitions.profilesLoaded
    );
  }

  /** Start a cluster; a refusal lands in ``state.createError`` and the answer is null. */
  async create(request: IClusterRequest): Promise<IClusterInfo | null> {
    this.setState(ClustersTransitions.creating(this.state));
    try {
      const info = await api.create(request);
      this.membershipChanged();
      this.setState(ClustersTransitions.created(this.state, info));
      return info;
    } catch (error) {
      this.setState(
        ClustersTransitions.createFailed(this.state, toWp5Error(error))
      );
      return null;
    }
  }

  /** Scale a cluster or make it adaptive; a refusal is shown on its row. */
  async scale(id: string, size: IClusterSize): Promise<void> {
    this.setState(ClustersTransitions.rowBusy(this.state, id));
    try {
      const info = await api.resize(id, size);
      this.setState(ClustersTransitions.rowDone(this.state, info));
    } catch (error) {
      this.setState(
        ClustersTransitions.rowFailed(this.state, id, toWp5Error(error))
      );
    }
  }

  /** Close a cluster; a refusal is shown on its row. */
  async close(id: string): Promise<void> {
    this.setState(ClustersTransitions.rowBusy(this.state, id));
    try {
      await api.close(id);
      this.membershipChanged();
      this.setState(ClustersTransitions.removed(this.state, id));
    } catch (error) {
      this.setState(
        ClustersTransitions.rowFailed(this.state, id, toWp5Error(error))
      );
    }
  }
}
