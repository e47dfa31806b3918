/**
 * Typed client of the jupyter-wp5 REST API (``/wp5/api``): one generic request function and one
 * typed call per endpoint, grouped and named as the server's services name their operations
 * (``catalog.search``, ``replicas.request``, ``clusters.resize``, ...). Components never fetch;
 * the models call these.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IAccessOutcome,
  IAccessOverview,
  IAccessRequest,
  IClusterInfo,
  IClusterList,
  IClusterRequest,
  IClusterSize,
  IDatasetDetails,
  ICommunity,
  IErrorBody,
  IFilePage,
  IFilesRequest,
  IGrantRequest,
  IHealth,
  ILedgerCheckpoint,
  IProfileList,
  IReplicaList,
  IReplicaProgress,
  IReplicaRequest,
  IReplicaUpdate,
  ISearchPage,
  ISearchRequest,
  IStorageElementList,
  IWp5Error
} from './tokens';

/** Path of the API under the server's base URL. */
export const API_PREFIX = 'wp5/api';

/** A failed API call: the HTTP status plus the server's error code and message. */
export class ResponseError extends Error implements IWp5Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly response: Response | null = null
  ) {
    super(message);
    this.name = 'ResponseError';
  }

  /** Build the error for a non-2xx response from its JSON ``{error, message}`` body. */
  static async fromResponse(response: Response): Promise<ResponseError> {
    let text = '';
    try {
      text = await response.text();
    } catch {
      // fall through with an empty body
    }
    let body: Partial<IErrorBody> = {};
    try {
      body = text ? (JSON.parse(text) as Partial<IErrorBody>) : {};
    } catch {
      body = {};
    }
    const code =
      typeof body.error === 'string' && body.error ? body.error : 'http_error';
    const message =
      typeof body.message === 'string' && body.message
        ? body.message
        : `HTTP ${response.status} ${response.statusText || ''}`.trim();
    return new ResponseError(response.status, code, message, response);
  }
}

/** Query parameters; undefined, null and empty values are left out. */
export type QueryParams = {
  [key: string]: string | number | boolean | null | undefined;
};

/** Build the ``?a=1&b=2`` part, encoding keys and values; '' when there is none. */
export function queryString(params: QueryParams = {}): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Split ``scope:name`` into its parts. */
export function splitDid(did: string): { scope: string; name: string } {
  const i = did.indexOf(':');
  if (i <= 0 || i === did.length - 1) {
    throw new ResponseError(
      0,
      'invalid_did',
      `'${did}' is not a DID: expected scope:name`
    );
  }
  return { scope: did.slice(0, i), name: did.slice(i + 1) };
}

/**
 * Call the API and parse its JSON answer.
 *
 * @param endPoint path below ``/wp5/api``, already encoded (e.g. ``replicas/a%20b``)
 * @param init fetch options
 * @param params query parameters
 * @param settings server settings; the default ones when omitted
 * @throws ResponseError on a network failure (status 0) or a 4xx/5xx answer
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  params: QueryParams = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url =
    URLExt.join(settings.baseUrl, API_PREFIX, endPoint) + queryString(params);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ResponseError(0, 'network_error', reason);
  }

  if (!response.ok) {
    throw await ResponseError.fromResponse(response);
  }

  const text = await response.text();
  if (!text) {
    return undefined as unknown as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ResponseError(
      response.status,
      'invalid_response',
      `The server's answer to ${endPoint} is not JSON`,
      response
    );
  }
}

/** Turn anything thrown into the error the panel shows. */
export function toWp5Error(error: unknown): IWp5Error {
  if (error instanceof ResponseError) {
    return { status: error.status, code: error.code, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 0, code: 'client_error', message };
}

/** Options of a call that sends ``body`` as JSON with ``method``. */
function jsonInit(method: string, body: unknown): RequestInit {
  return {
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

/**
 * The ``did`` query parameter naming one DID. Never a path: names may hold '/' (and CMS block
 * names '#'); the query string percent-encodes both.
 */
function didParam(scope: string, name: string): { did: string } {
  return { did: `${scope}:${name}` };
}

/** The path of one item of a collection (``replicas/{id}``). */
function itemPath(collection: string, id: string): string {
  return `${collection}/${encodeURIComponent(id)}`;
}

/** ``GET``, ``PATCH`` and ``DELETE`` of one record of a collection (``<collection>/{id}``). */
function recordCalls<T, C>(collection: string) {
  return {
    read(id: string, settings?: Settings): Promise<T> {
      return requestAPI<T>(itemPath(collection, id), {}, {}, settings);
    },
    change(id: string, body: C, settings?: Settings): Promise<T> {
      return requestAPI<T>(
        itemPath(collection, id),
        jsonInit('PATCH', body),
        {},
        settings
      );
    },
    async remove(id: string, settings?: Settings): Promise<void> {
      await requestAPI<void>(
        itemPath(collection, id),
        { method: 'DELETE' },
        {},
        settings
      );
    }
  };
}

const replicaRecords = recordCalls<IReplicaProgress, IReplicaUpdate>(
  'replicas'
);
const clusterRecords = recordCalls<IClusterInfo, IClusterSize>('clusters');

type Settings = ServerConnection.ISettings;

/* ------------------------------------------------------------------ health */

/** ``GET health``: version and the reachability of each engine. */
export function health(settings?: Settings): Promise<IHealth> {
  return requestAPI<IHealth>('health', {}, {}, settings);
}

/* ------------------------------------------------------------------ catalog */

/** The data catalogue (the server's ``CatalogService``). */
export const catalog = {
  /** ``GET datasets``: one page of a catalogue search. */
  search(request: ISearchRequest, settings?: Settings): Promise<ISearchPage> {
    return requestAPI<ISearchPage>(
      'datasets',
      {},
      {
        q: request.q,
        type: request.type,
        filters: request.filters,
        limit: request.limit,
        cursor: request.cursor
      },
      settings
    );
  },

  /**
   * ``GET datasets/details?did=``: size, file count, copies per site, rules, metadata, from
   * Rucio's summaries; with ``deep``, starts (or answers) the exact per-file count.
   */
  describe(
    scope: string,
    name: string,
    settings?: Settings,
    deep = false
  ): Promise<IDatasetDetails> {
    return requestAPI<IDatasetDetails>(
      'datasets/details',
      {},
      { ...didParam(scope, name), deep: deep ? 1 : undefined },
      settings
    );
  },

  /** ``GET datasets/files?did=``: one page of the file list. */
  files(
    scope: string,
    name: string,
    request: IFilesRequest = {},
    settings?: Settings
  ): Promise<IFilePage> {
    return requestAPI<IFilePage>(
      'datasets/files',
      {},
      {
        ...didParam(scope, name),
        rse: request.rse,
        limit: request.limit,
        cursor: request.cursor
      },
      settings
    );
  },

  /** ``GET rses``: the storage elements the user may target. */
  rses(settings?: Settings): Promise<IStorageElementList> {
    return requestAPI<IStorageElementList>('rses', {}, {}, settings);
  }
};

/* ------------------------------------------------------------------ replicas */

/** The user's copies of data (the server's ``ReplicaService``). */
export const replicas = {
  /** ``POST replicas``: ask for a copy (a Rucio rule); answers the new request's progress. */
  request(
    request: IReplicaRequest,
    settings?: Settings
  ): Promise<IReplicaProgress> {
    return requestAPI<IReplicaProgress>(
      'replicas',
      jsonInit('POST', request),
      {},
      settings
    );
  },

  /** ``GET replicas``: the user's copy requests with their progress. */
  list(settings?: Settings): Promise<IReplicaList> {
    return requestAPI<IReplicaList>('replicas', {}, {}, settings);
  },

  /** ``GET replicas/{id}``: one request's progress. */
  get: replicaRecords.read,

  /** ``PATCH replicas/{id}``: extend a request's lifetime (from now) or retry it. */
  update: replicaRecords.change,

  /** ``DELETE replicas/{id}``: cancel a request (removes its rule). */
  cancel: replicaRecords.remove
};

/* ------------------------------------------------------------------ clusters */

/** Dask clusters and their profiles (the server's ``ClusterManager``). */
export const clusters = {
  /** ``GET profiles``: the compute profiles, servable here or not. */
  profiles(settings?: Settings): Promise<IProfileList> {
    return requestAPI<IProfileList>('profiles', {}, {}, settings);
  },

  /** ``POST clusters``: start a cluster of a profile, fixed-size or adaptive. */
  create(request: IClusterRequest, settings?: Settings): Promise<IClusterInfo> {
    return requestAPI<IClusterInfo>(
      'clusters',
      jsonInit('POST', request),
      {},
      settings
    );
  },

  /** ``GET clusters``: the running clusters. */
  list(settings?: Settings): Promise<IClusterList> {
    return requestAPI<IClusterList>('clusters', {}, {}, settings);
  },

  /** ``GET clusters/{id}``: one open cluster. */
  get: clusterRecords.read,

  /** ``PATCH clusters/{id}``: scale to a number of workers, or make adaptive. */
  resize: clusterRecords.change,

  /** ``DELETE clusters/{id}``: close a cluster. */
  close: clusterRecords.remove
};

/* ------------------------------------------------------------------ access */

/** The path of one access request's decision (``access/requests/{id}/grant``). */
function decisionPath(id: string, decision: 'grant' | 'deny' | 'revoke') {
  return `${itemPath('access/requests', id)}/${decision}`;
}

/** Communities, access requests and the access ledger (the server's ``AccessService``). */
export const access = {
  /** ``GET access/communities``: the configured communities. */
  async communities(settings?: Settings): Promise<ICommunity[]> {
    const list = await requestAPI<{ items: ICommunity[] }>(
      'access/communities',
      {},
      {},
      settings
    );
    return list.items;
  },

  /** ``GET access/requests``: my requests, and those waiting for me as a steward. */
  overview(settings?: Settings): Promise<IAccessOverview> {
    return requestAPI<IAccessOverview>('access/requests', {}, {}, settings);
  },

  /** ``POST access/requests``: ask for access to ``did``; the answer holds the purpose's salt. */
  request(
    did: string,
    purpose: string,
    settings?: Settings
  ): Promise<IAccessOutcome> {
    return requestAPI<IAccessOutcome>(
      'access/requests',
      jsonInit('POST', { did, purpose }),
      {},
      settings
    );
  },

  /** ``GET access/requests/{id}``. */
  get(id: string, settings?: Settings): Promise<IAccessRequest> {
    return requestAPI<IAccessRequest>(
      itemPath('access/requests', id),
      {},
      {},
      settings
    );
  },

  /** ``POST access/requests/{id}/grant``: until ``expires``, optionally only at ``rses``. */
  grant(
    id: string,
    grant: IGrantRequest,
    settings?: Settings
  ): Promise<IAccessOutcome> {
    return requestAPI<IAccessOutcome>(
      decisionPath(id, 'grant'),
      jsonInit('POST', grant),
      {},
      settings
    );
  },

  /** ``POST access/requests/{id}/deny``. */
  deny(id: string, settings?: Settings): Promise<IAccessOutcome> {
    return requestAPI<IAccessOutcome>(
      decisionPath(id, 'deny'),
      jsonInit('POST', {}),
      {},
      settings
    );
  },

  /** ``POST access/requests/{id}/revoke``: ends the grant and the rules made under it. */
  revoke(id: string, settings?: Settings): Promise<IAccessOutcome> {
    return requestAPI<IAccessOutcome>(
      decisionPath(id, 'revoke'),
      jsonInit('POST', {}),
      {},
      settings
    );
  },

  /** ``GET access/ledger/checkpoint``: the latest checkpoint and the server's check of it. */
  checkpoint(settings?: Settings): Promise<ILedgerCheckpoint> {
    return requestAPI<ILedgerCheckpoint>(
      'access/ledger/checkpoint',
      {},
      {},
      settings
    );
  }
};
