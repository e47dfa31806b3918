import * as React from 'react';

import { ClustersModel } from '../clusters';
import { clientCode, CodeInserter } from '../snippets';
import { IClusterInfo, IClusterSize, IProfileInfo, IWp5Error } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { formatBytes, formatCount } from './format';

/** The profile's resources in words, e.g. "2 cores, 4.00 GB, GPU=1". */
export function profileSummary(p: IProfileInfo): string {
  const parts = [
    `${p.worker_cores} ${p.worker_cores === 1 ? 'core' : 'cores'}`,
    formatBytes(p.worker_memory),
    ...Object.entries(p.resources).map(([k, v]) => `${k}=${v}`)
  ];
  if (p.arch) {
    parts.push(p.arch);
  }
  return `${parts.join(', ')} per worker`;
}

function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** Props of {@link ClusterForm}. */
export interface IClusterFormProps {
  profiles: ReadonlyArray<IProfileInfo>;
  creating: boolean;
  error: IWp5Error | null;
  onCreate: (profile: string, size: IClusterSize, name: string) => void;
}

/** Profile picker (unservable profiles shown disabled with their reason), size, name, create. */
export function ClusterForm(props: IClusterFormProps): JSX.Element {
  const { profiles, creating, error } = props;
  const servable = profiles.filter(p => p.servable);
  const [chosen, setChosen] = React.useState('');
  const [adaptive, setAdaptive] = React.useState(false);
  const [workers, setWorkers] = React.useState(1);
  const [minimum, setMinimum] = React.useState(0);
  const [maximum, setMaximum] = React.useState(2);
  const [name, setName] = React.useState('');
  const profile =
    servable.find(p => p.name === chosen) ?? servable[0] ?? undefined;
  const size: IClusterSize = adaptive
    ? { adaptive: { minimum, maximum } }
    : { workers };

  return (
    <div className="wp5-cluster-form" data-testid="wp5-cluster-form">
      <div className="wp5-form-row">
        <label>
          Profile{' '}
          <select
            className="wp5-profile-select jp-mod-styled"
            value={profile?.name ?? ''}
            onChange={e => setChosen(e.currentTarget.value)}
          >
            {profiles.map(p => (
              <option
                key={p.name}
                value={p.name}
                disabled={!p.servable}
                title={
                  p.servable
                    ? profileSummary(p)
                    : (p.reason ?? 'cannot be served here')
                }
              >
                {p.servable ? p.label : `${p.label} (unavailable)`}
              </option>
            ))}
          </select>
        </label>
      </div>
      {profile && (
        <div className="wp5-profile-summary">{profileSummary(profile)}</div>
      )}
      <div className="wp5-form-row">
        <label>
          <input
            type="checkbox"
            className="wp5-adaptive-toggle"
            checked={adaptive}
            onChange={e => setAdaptive(e.currentTarget.checked)}
          />{' '}
          adaptive
        </label>
        {adaptive ? (
          <>
            <label>
              min{' '}
              <input
                type="number"
                className="wp5-adaptive-min wp5-number"
                min={0}
                value={minimum}
                onChange={e => setMinimum(Number(e.currentTarget.value))}
              />
            </label>
            <label>
              max{' '}
              <input
                type="number"
                className="wp5-adaptive-max wp5-number"
                min={1}
                max={profile?.max_workers}
                value={maximum}
                onChange={e => setMaximum(Number(e.currentTarget.value))}
              />
            </label>
          </>
        ) : (
          <label>
            workers{' '}
            <input
              type="number"
              className="wp5-workers-input wp5-number"
              min={0}
              max={profile?.max_workers}
              value={workers}
              onChange={e => setWorkers(Number(e.currentTarget.value))}
            />
          </label>
        )}
      </div>
      <div className="wp5-form-row">
        <input
          className="wp5-cluster-name jp-mod-styled"
          placeholder="name (optional)"
          value={name}
          onChange={e => setName(e.currentTarget.value)}
        />
        <button
          className="wp5-cluster-create jp-mod-styled jp-mod-accept"
          disabled={!profile || creating}
          onClick={() => profile && props.onCreate(profile.name, size, name)}
        >
          {creating ? 'Starting\u2026' : 'Create'}
        </button>
      </div>
      {error && <ErrorBanner error={error} />}
    </div>
  );
}

/** Props of {@link ClusterRow}. */
export interface IClusterRowProps {
  cluster: IClusterInfo;
  busy: boolean;
  error: IWp5Error | null;
  onScale: (id: string, size: IClusterSize) => void;
  onClose: (id: string) => void;
  insertCode: CodeInserter;
}

/** One running cluster: live size, scale, dashboard, client code, close. */
export function ClusterRow(props: IClusterRowProps): JSX.Element {
  const { cluster: c, busy, error } = props;
  const [target, setTarget] = React.useState(c.workers);
  const [note, setNote] = React.useState('');
  const adaptive = c.adaptive_maximum !== null;

  const insert = async () => {
    const where = await props.insertCode(clientCode(c.name));
    setNote(
      where === 'notebook'
        ? 'Inserted into the notebook.'
        : 'Copied to the clipboard.'
    );
  };

  return (
    <div
      className="wp5-cluster-row"
      data-testid="wp5-cluster-row"
      data-id={c.id}
      data-name={c.name}
      data-workers={c.workers}
      role="listitem"
    >
      <div className="wp5-cluster-head">
        <span className="wp5-cluster-title" title={c.scheduler_address}>
          {c.name}
        </span>
        <span className="wp5-type-badge" title={`backend: ${c.backend}`}>
          {c.profile}
        </span>
        <span className={`wp5-state wp5-state-${c.status}`}>{c.status}</span>
        <button
          className="wp5-icon-button wp5-cluster-close"
          title="Close this cluster"
          aria-label={`Close ${c.name}`}
          disabled={busy}
          onClick={() => props.onClose(c.id)}
        >
          {'\u00d7'}
        </button>
      </div>
      <div className="wp5-cluster-stats">
        <span className="wp5-cluster-workers">
          {plural(c.workers, 'worker')}
        </span>
        <span className="wp5-cluster-cores">{plural(c.cores, 'core')}</span>
        <span className="wp5-cluster-memory">{formatBytes(c.memory)}</span>
        {c.gpus > 0 && (
          <span className="wp5-cluster-gpus">{plural(c.gpus, 'GPU')}</span>
        )}
        {adaptive && (
          <span className="wp5-cluster-adaptive">
            adaptive {c.adaptive_minimum ?? 0}
            {'\u2013'}
            {c.adaptive_maximum}
          </span>
        )}
      </div>
      <div className="wp5-form-row">
        <input
          type="number"
          className="wp5-scale-input wp5-number"
          min={0}
          value={target}
          aria-label={`Workers for ${c.name}`}
          onChange={e => setTarget(Number(e.currentTarget.value))}
        />
        <button
          className="wp5-cluster-scale jp-mod-styled"
          disabled={busy}
          onClick={() => props.onScale(c.id, { workers: target })}
        >
          Scale
        </button>
        <button
          className="wp5-cluster-code jp-mod-styled"
          title="Insert code that connects a Dask client to this cluster"
          onClick={() => void insert()}
        >
          Insert client code
        </button>
        {c.dashboard_link && (
          <a
            className="wp5-cluster-dashboard"
            href={c.dashboard_link}
            target="_blank"
            rel="noopener noreferrer"
          >
            Dashboard
          </a>
        )}
      </div>
      {note && <div className="wp5-note">{note}</div>}
      {error && <ErrorBanner error={error} />}
    </div>
  );
}

/** Props of {@link ClustersSection}. */
export interface IClustersSectionProps {
  model: ClustersModel;
  insertCode: CodeInserter;
}

/** The "Clusters" section: create from a profile, and the running clusters. */
export function ClustersSection(props: IClustersSectionProps): JSX.Element {
  const { model, insertCode } = props;
  const state = model.state;
  return (
    <div className="wp5-clusters-section" data-testid="wp5-clusters">
      <ClusterForm
        profiles={state.profiles}
        creating={state.creating}
        error={state.createError}
        onCreate={(profile, size, name) =>
          void model.create({ profile, ...size, ...(name ? { name } : {}) })
        }
      />
      {state.error && <ErrorBanner error={state.error} />}
      <div className="wp5-cluster-list" role="list">
        {state.clusters.length === 0 ? (
          <div className="wp5-empty">No cluster running.</div>
        ) : (
          state.clusters.map(c => (
            <ClusterRow
              key={c.id}
              cluster={c}
              busy={state.busy.includes(c.id)}
              error={state.rowErrors[c.id] ?? null}
              onScale={(id, size) => void model.scale(id, size)}
              onClose={id => void model.close(id)}
              insertCode={insertCode}
            />
          ))
        )}
      </div>
    </div>
  );
}
