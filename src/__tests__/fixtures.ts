/** Wire records for the jest tests, shaped as the server sends them. */
import {
  IClusterInfo,
  IProfileInfo,
  IReplicaProgress,
  IStorageElement
} from '../tokens';

export function progress(
  id: string,
  overrides: Partial<IReplicaProgress> = {}
): IReplicaProgress {
  return {
    id,
    did: 'cms:TTTo2L2Nu_NanoAODv9',
    rse_expression: 'SITE-B',
    state: 'REPLICATING',
    copies: 1,
    files_total: 4,
    files_ok: 1,
    files_replicating: 3,
    files_stuck: 0,
    bytes_total: 4000000,
    bytes_ok: 1000000,
    error: null,
    comment: null,
    created_at: '2026-11-25T20:00:00',
    expires_at: null,
    mode: 'rule',
    paths: [],
    ledger_indexes: [],
    fraction: 0.25,
    ...overrides
  };
}

export function rse(
  name: string,
  overrides: Partial<IStorageElement> = {}
): IStorageElement {
  return {
    name,
    rse_type: 'DISK',
    deterministic: true,
    availability_read: true,
    availability_write: true,
    quota_bytes: null,
    used_bytes: null,
    attributes: {},
    ...overrides
  };
}

export function profile(
  name: string,
  overrides: Partial<IProfileInfo> = {}
): IProfileInfo {
  return {
    name,
    label: name.toUpperCase(),
    backend: 'local',
    worker_cores: 1,
    worker_memory: 2000000000,
    resources: {},
    arch: null,
    environment: null,
    max_workers: 4,
    servable: true,
    reason: null,
    ...overrides
  };
}

export function cluster(
  id: string,
  overrides: Partial<IClusterInfo> = {}
): IClusterInfo {
  return {
    id,
    name: `wp5-${id}`,
    profile: 'cpu',
    backend: 'local',
    status: 'running',
    workers: 1,
    cores: 1,
    memory: 2000000000,
    gpus: 0,
    scheduler_address: 'tls://127.0.0.1:8786',
    dashboard_link: 'http://127.0.0.1:8787/status',
    created_at: `2026-11-25T20:00:0${id.length}`,
    adaptive_minimum: null,
    adaptive_maximum: null,
    credentials: '/run/user/1000/jupyter/wp5-dask-x',
    architectures: { x86_64: 1 },
    ...overrides
  };
}
