/**
 * Public tokens, wire types and command ids of the jupyter-wp5 front end.
 *
 * The wire types mirror, field for field, the ``to_dict()`` shapes of the records in
 * ``jupyter_wp5/models.py``; keep the two (and ``jupyter_wp5/openapi.yaml``) in step.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/* ------------------------------------------------------------------ wire types */

/** What a search may ask for: one type, all collections or everything (``DidTypeFilter``). */
export type DidTypeFilter =
  'dataset' | 'container' | 'file' | 'collection' | 'all';

/** The search types, in the order the type selector shows them. */
export const DID_TYPE_FILTERS: ReadonlyArray<DidTypeFilter> = [
  'collection',
  'dataset',
  'container',
  'file',
  'all'
];

/** The types of a data identifier (``DidType``). */
export const DID_TYPES = ['file', 'dataset', 'container'] as const;

/** The type of one data identifier (``DidType``). */
export type DidType = (typeof DID_TYPES)[number];

/** The states of a copy request: Rucio's rule states (``ReplicaState``). */
export const REPLICA_STATES = [
  'OK',
  'REPLICATING',
  'STUCK',
  'SUSPENDED',
  'WAITING_APPROVAL',
  'INJECT'
] as const;

/** The state of a copy request (``ReplicaState``). */
export type ReplicaState = (typeof REPLICA_STATES)[number];

/**
 * The states in which a request is still moving (``ReplicaProgress.active``). STUCK is not one:
 * Rucio retries it only after hours, or when asked to (retry).
 */
export const ACTIVE_REPLICA_STATES: ReadonlyArray<ReplicaState> = [
  'REPLICATING',
  'INJECT',
  'WAITING_APPROVAL'
];

/** How a copy is made: a Rucio rule at a storage element, or a download (``ReplicaMode``). */
export const REPLICA_MODES = ['rule', 'download'] as const;

/** How a copy is made (``ReplicaMode``). */
export type ReplicaMode = (typeof REPLICA_MODES)[number];

/** Where an exact (``?deep=1``) count stands (``DeepState``); capped: over the first ``cap`` datasets. */
export const DEEP_STATES = ['running', 'done', 'capped', 'failed'] as const;

/** Where an exact count stands (``DeepState``). */
export type DeepState = (typeof DEEP_STATES)[number];

/** The states of a Dask cluster (``ClusterStatus``). */
export const CLUSTER_STATUSES = [
  'running',
  'degraded',
  'closed',
  'lost'
] as const;

/** The state of a Dask cluster (``ClusterStatus``). */
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** The states of an access request to another community's data (``AccessRequest.status``). */
export const ACCESS_STATUSES = [
  'pending',
  'granted',
  'denied',
  'revoked',
  'expired'
] as const;

/** The state of an access request (``AccessRequest.status``). */
export type AccessStatus = (typeof ACCESS_STATUSES)[number];

/** Which keys the server checked the ledger's checkpoint against (``CheckpointVerification.keys``). */
export const CHECKPOINT_KEY_SOURCES = ['configured', 'published'] as const;

/** ``configured``: the server's trusted keys; ``published``: the log's own (self-consistency). */
export type CheckpointKeySource = (typeof CHECKPOINT_KEY_SOURCES)[number];

/** Body of every error response: ``Wp5Error.to_dict()``. */
export interface IErrorBody {
  /** A stable code: ``invalid_request``, ``invalid_did``, ``not_found``, ``engine_refused``, ... */
  error: string;
  /** A message the user may read. */
  message: string;
}

/** Whether an engine (Rucio, a Dask backend) answers: ``EngineStatus``. */
export interface IEngineStatus {
  name: string;
  reachable: boolean;
  url: string | null;
  version: string | null;
  account: string | null;
  message: string | null;
  /** When the engine was asked (ISO 8601, UTC); health reuses an answer for a second or so. */
  checked_at?: string | null;
}

/** ``GET health``: ``Health``. */
export interface IHealth {
  version: string;
  engines: IEngineStatus[];
}

/** One search result: ``DidSummary``. */
export interface IDidSummary {
  did: string;
  scope: string;
  name: string;
  type: DidType;
  bytes: number | null;
  files: number | null;
}

/** ``GET datasets``: ``SearchPage``. ``next_cursor`` is null on the last page. */
export interface ISearchPage {
  query: string;
  items: IDidSummary[];
  next_cursor: string | null;
}

/** How much of a DID one storage element holds: ``SiteCopy``. */
export interface ISiteCopy {
  rse: string;
  available_files: number;
  total_files: number;
  available_bytes: number;
  total_bytes: number;
  /** ``available_files / total_files``, 0 when the DID has no files. */
  fraction: number;
}

/** A replication rule on a DID, with its lock counts: ``RuleSummary``. */
export interface IRuleSummary {
  id: string;
  account: string;
  rse_expression: string;
  state: string;
  copies: number;
  locks_ok: number;
  locks_replicating: number;
  locks_stuck: number;
  created_at: string | null;
  expires_at: string | null;
}

/** ``GET datasets/details?did=``: ``DatasetDetails``. */
export interface IDatasetDetails {
  did: string;
  scope: string;
  name: string;
  type: DidType;
  bytes: number | null;
  files: number | null;
  copies: ISiteCopy[];
  rules: IRuleSummary[];
  metadata: { [key: string]: unknown };
  /** Counts are Rucio's stored summaries (true), or exact per-file counts (``?deep=1``). */
  summary?: boolean;
  /** Rucio was slow: the parts named in ``missing`` are left out. */
  partial?: boolean;
  missing?: Array<'metadata' | 'rules' | 'copies' | 'size'>;
  deep?: IDeepCount | null;
}

/** Progress of an exact count (``?deep=1``), also pushed as ``details`` events: ``DeepCount``. */
export interface IDeepCount {
  did: string;
  state: DeepState;
  files_done: number;
  files_total: number | null;
  datasets_done: number;
  datasets_total: number;
  /** Most datasets one count walks, and the setting that says so. */
  cap: number;
  cap_setting: string;
  message?: string | null;
}

/** One file of a dataset with its replica state per storage element: ``FileEntry``. */
export interface IFileEntry {
  scope: string;
  name: string;
  bytes: number | null;
  adler32: string | null;
  states: { [rse: string]: string };
}

/** ``GET datasets/files?did=``: ``FilePage``. */
export interface IFilePage {
  did: string;
  items: IFileEntry[];
  next_cursor: string | null;
}

/** A storage element and the user's quota on it: ``StorageElement``. */
export interface IStorageElement {
  name: string;
  rse_type: string;
  deterministic: boolean;
  availability_read: boolean;
  availability_write: boolean;
  quota_bytes: number | null;
  used_bytes: number | null;
  attributes: { [key: string]: unknown };
}

/** ``GET rses``. */
export interface IStorageElementList {
  items: IStorageElement[];
}

/** A copy being made, as the user follows it: ``ReplicaProgress``. ``files_*`` count Rucio's locks. */
export interface IReplicaProgress {
  /** The replication rule's id. */
  id: string;
  did: string;
  rse_expression: string;
  /** Rucio's rule state (a download's too: REPLICATING, then OK or STUCK). */
  state: ReplicaState;
  copies: number;
  files_total: number;
  files_ok: number;
  files_replicating: number;
  files_stuck: number;
  bytes_total: number | null;
  bytes_ok: number | null;
  error: string | null;
  comment: string | null;
  created_at: string | null;
  expires_at: string | null;
  /** A Rucio rule, or a download to the user's scratch directory. */
  mode: ReplicaMode;
  /** Download mode: the local files so far (empty for a rule). */
  paths: string[];
  /** The access ledger's entries for this request (rule made, copy complete, each file). */
  ledger_indexes: number[];
  /** ``files_ok / files_total``, 0 when there is no file. */
  fraction: number;
}

/** ``GET replicas``. */
export interface IReplicaList {
  items: IReplicaProgress[];
}

/** A compute profile and whether this server can serve it now: ``ProfileInfo``. */
export interface IProfileInfo {
  name: string;
  label: string;
  backend: string;
  worker_cores: number;
  /** Bytes per worker. */
  worker_memory: number;
  resources: { [name: string]: number };
  arch: string | null;
  environment: string | null;
  max_workers: number;
  servable: boolean;
  /** Why the profile cannot be served here; null when it can. */
  reason: string | null;
}

/** ``GET profiles``. */
export interface IProfileList {
  items: IProfileInfo[];
}

/** One Dask cluster and its current size: ``ClusterInfo``. */
export interface IClusterInfo {
  id: string;
  name: string;
  profile: string;
  backend: string;
  status: ClusterStatus;
  workers: number;
  cores: number;
  /** Bytes, all workers together. */
  memory: number;
  gpus: number;
  scheduler_address: string;
  dashboard_link: string | null;
  created_at: string;
  adaptive_minimum: number | null;
  adaptive_maximum: number | null;
  /** Directory of the cluster's TLS key and certificate (0600), null for a gateway cluster. */
  credentials: string | null;
  /** Workers per CPU architecture (``platform.machine()``), e.g. ``{x86_64: 2, aarch64: 1}``. */
  architectures: { [arch: string]: number };
}

/** ``GET clusters``. */
export interface IClusterList {
  items: IClusterInfo[];
}

/** A ``details`` event: an exact count's progress, with the exact details once it ended. */
export interface IDeepCountEvent extends IDeepCount {
  /** The details with exact counts (``summary`` false) once ``state`` is done or capped. */
  details: IDatasetDetails | null;
}

/**
 * A message of the events websocket (``/wp5/api/events``). The models take these through
 * ``receive()``, the same path their polling answers take.
 */
export type IWp5Event =
  | { type: 'replica'; data: IReplicaProgress }
  | { type: 'cluster'; data: IClusterInfo }
  | { type: 'details'; data: IDeepCountEvent };

/* ------------------------------------------------------------------ requests */

/** Parameters of ``GET datasets``. */
export interface ISearchRequest {
  /** ``scope:pattern`` with wildcards, e.g. ``cms:*DY*``. */
  q: string;
  type?: DidTypeFilter;
  /** Metadata filters, ``key=value,key>value``. */
  filters?: string;
  limit?: number;
  cursor?: string | null;
}

/** Parameters of ``GET datasets/files`` (besides ``did``). */
export interface IFilesRequest {
  rse?: string;
  limit?: number;
  cursor?: string | null;
}

/** Body of ``POST replicas``: a copy of ``did`` at the storage elements ``rse_expression`` selects. */
export interface IReplicaRequest {
  did: string;
  rse_expression: string;
  copies?: number;
  /** Seconds; left out (or null) for no expiry. */
  lifetime?: number | null;
  comment?: string;
  /** ``rule`` (default): a Rucio rule; ``download``: into the user's scratch directory. */
  mode?: ReplicaMode;
}

/** Body of ``PATCH replicas/{id}``: a new lifetime from now (e.g. ``7d``) and/or retry now. */
export interface IReplicaUpdate {
  lifetime?: string | number;
  retry?: boolean;
}

/** How big a cluster should be: a fixed number of workers or adaptive bounds (``ClusterSize``). */
export type IClusterSize =
  { workers: number } | { adaptive: { minimum: number; maximum: number } };

/** Body of ``POST clusters``. */
export type IClusterRequest = IClusterSize & {
  profile: string;
  name?: string;
};

/* ------------------------------------------------------------------ model */

/** The search section's state; every field is replaced, never mutated, on a change. */
export interface ISearchState {
  /** The text in the search box. */
  query: string;
  type: DidTypeFilter;
  filters: string;
  /** The query the shown results belong to (null before the first search). */
  submitted: ISearchRequest | null;
  results: IDidSummary[];
  /** Cursor of the next page; null when there is none. */
  nextCursor: string | null;
  /** Queries still to run after the current one (a bare pattern over a community's scopes). */
  more: string[];
  loading: boolean;
  error: IWp5Error | null;
}

/** The dataset view's state. */
export interface IDetailsState {
  /** The DID shown, ``scope:name``; null when nothing is selected. */
  selected: string | null;
  details: IDatasetDetails | null;
  loading: boolean;
  error: IWp5Error | null;
  /** The exact count (``?deep=1``) asked for the selected DID: its progress, then its end. */
  deep: IDeepCount | null;
  /** Why asking for the exact count failed. */
  deepError: IWp5Error | null;
}

/** The selected DID's file list, read page by page (``GET datasets/files``) as it is scrolled. */
export interface IFileListState {
  /** The DID listed, ``scope:name``; null when nothing is selected. */
  did: string | null;
  /** The files of the pages read so far, in Rucio's order. */
  items: IFileEntry[];
  /** Where the next page starts; null once the last page was read (or before the first). */
  nextCursor: string | null;
  /** Whether the first page was asked for. */
  started: boolean;
  loading: boolean;
  /** Why the last page failed; paging waits for the user then. */
  error: IWp5Error | null;
}

/** The community the panel works as (like ``%wp5 use``), and the ones it may choose. */
export interface ICommunityState {
  /** The configured communities. */
  communities: ICommunity[];
  /** The names of those the server's account belongs to (the choosable ones). */
  memberOf: string[];
  /** The chosen community's name; null: bare search text is a scope. */
  selected: string | null;
  /** Scopes of the account's live grants: searched too while a community is chosen. */
  grantedScopes: string[];
  error: IWp5Error | null;
}

/** An error as the panel shows it. */
export interface IWp5Error {
  /** HTTP status; 0 when the request never reached the server. */
  status: number;
  code: string;
  message: string;
}

/** The panel's data model: search and dataset details (replicas and clusters come later). */
export interface IDataModel {
  readonly search: ISearchState;
  readonly details: IDetailsState;
  /** The selected DID's files, as far as they were read. */
  readonly files: IFileListState;
  /** Emitted whenever ``search``, ``details`` or ``files`` changes. */
  readonly stateChanged: ISignal<IDataModel, void>;
  setQuery(query: string): void;
  setType(type: DidTypeFilter): void;
  setFilters(filters: string): void;
  /** Run the search in the box from its first page. */
  runSearch(): Promise<void>;
  /** Append the next page of the current search, if any. */
  loadMore(): Promise<void>;
  /** Select a DID (``scope:name``) and load its details; null clears the selection. */
  select(did: string | null): Promise<void>;
  /** Read the selected DID's next page of files, if any. */
  loadMoreFiles(): Promise<void>;
}

/** The transfers section's state (``TransfersModel``); replaced, never mutated, on a change. */
export interface ITransfersState {
  /** The user's copy requests, newest first. */
  items: IReplicaProgress[];
  /** Storage elements the user may target (for "make available at"). */
  rses: IStorageElement[];
  /** A list or storage-element load is under way. */
  loading: boolean;
  /** Why the last list failed; null when it did not. */
  error: IWp5Error | null;
  /** The DID a copy is being requested for, while the request is under way. */
  submitting: string | null;
  /** The server's refusal of the last copy request, and the DID it was for. */
  submitError: { did: string; error: IWp5Error } | null;
  /** Refusals of a cancel, by request id. */
  rowErrors: { [id: string]: IWp5Error };
}

/** The clusters section's state (``ClustersModel``); replaced, never mutated, on a change. */
export interface IClustersState {
  profiles: IProfileInfo[];
  /** Running clusters, oldest first. */
  clusters: IClusterInfo[];
  loading: boolean;
  /** Why the last list failed; null when it did not. */
  error: IWp5Error | null;
  /** A cluster is being created. */
  creating: boolean;
  /** The server's refusal of the last create. */
  createError: IWp5Error | null;
  /** Ids of clusters with a scale or close under way. */
  busy: string[];
  /** Refusals of a scale or close, by cluster id. */
  rowErrors: { [id: string]: IWp5Error };
}

/** The data model token, for other plugins that want to react to the user's search. */
export const IDataModel = new Token<IDataModel>(
  'jupyter-wp5:IDataModel',
  'The jupyter-wp5 data model: catalogue search and dataset details.'
);

/* ------------------------------------------------------------------ access */

/** A community: its scopes, people, storage elements and profiles (``Community``). */
export interface ICommunity {
  name: string;
  scopes: string[];
  stewards: string[];
  accounts: string[];
  /** The first is the community's default storage element. */
  rses: string[];
  profiles: string[];
}

/** A request for access to another community's DID (``AccessRequest``). */
export interface IAccessRequest {
  id: string;
  requester: string;
  did: string;
  /** HMAC-SHA-256 of the purpose; the requester keeps the text and the salt. */
  purpose_hmac: string;
  requested: string;
  status: AccessStatus;
  steward: string | null;
  expires: string | null;
  rses: string[];
  decided: string | null;
}

/** What an access operation did, with its ledger entry (``AccessOutcome``). */
export interface IAccessOutcome {
  request: IAccessRequest;
  ledger_index: number | null;
  purpose_salt?: string;
  rules_removed?: string[];
}

/** The user's access requests and those waiting for them as a steward (``AccessOverview``). */
export interface IAccessOverview {
  account: string;
  communities: string[];
  mine: IAccessRequest[];
  stewarded: IAccessRequest[];
}

/** The server's check of the ledger's latest checkpoint: ``CheckpointVerification``. */
export interface ICheckpointVerification {
  verified: boolean;
  /** The checkpoint's tree size, also when it fails; null when absent or unreadable. */
  tree_size: number | null;
  /** The log operator's key name, when verified. */
  operator: string | null;
  /** The witnesses' key names, when verified. */
  witnesses: string[];
  keys: CheckpointKeySource;
  /** Why it does not verify. */
  reason: string | null;
}

/** ``GET access/ledger/checkpoint``. */
export interface ILedgerCheckpoint {
  /** The C2SP checkpoint as a signed note; null before the first. */
  checkpoint: string | null;
  verifier_keys: string[];
  verification: ICheckpointVerification;
}

/** Body of ``POST access/requests/{id}/grant``. */
export interface IGrantRequest {
  /** RFC 3339, in the future. */
  expires: string;
  /** Only at these storage elements; empty or absent: anywhere. */
  rses?: string[];
}

/** A purpose as its requester keeps it: the text and the salt of its HMAC. */
export interface IKeptPurpose {
  purpose: string;
  salt: string;
}

/** The access section's state (``AccessModel``); replaced, never mutated, on a change. */
export interface IAccessState {
  /** The server's Rucio account; null before the first answer. */
  account: string | null;
  /** The account's requests, oldest first. */
  mine: IAccessRequest[];
  /** Requests on the scopes the account is a steward of. */
  stewarded: IAccessRequest[];
  /** Purposes this browser asked with, by request id: shown only to their requester. */
  purposes: { [id: string]: IKeptPurpose };
  /** The ledger's latest checkpoint and the server's check of it. */
  checkpoint: ILedgerCheckpoint | null;
  /** Why the checkpoint could not be read (no ledger, ledger down). */
  checkpointError: IWp5Error | null;
  loading: boolean;
  /** Why the last list failed (a 403 shows the server's message). */
  error: IWp5Error | null;
  /** A request for access is being sent. */
  asking: boolean;
  askError: IWp5Error | null;
  /** Ids of requests with a decision under way. */
  busy: string[];
  /** Refusals of a grant, deny or revoke, by request id. */
  rowErrors: { [id: string]: IWp5Error };
}

/** Where the panel keeps what it restores next time (JupyterLab's state database). */
export interface IPanelStore {
  fetch(id: string): Promise<unknown>;
  save(id: string, value: any): Promise<unknown>;
}

/* ------------------------------------------------------------------ commands */

export namespace CommandIDs {
  /** Open (activate) the wp5 side panel. */
  export const openPanel = 'wp5:open-panel';
}

/** Id of the side panel widget (also its restorer key). */
export const PANEL_ID = 'wp5-panel';
