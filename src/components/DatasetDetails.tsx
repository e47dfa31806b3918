import * as React from 'react';

import {
  IDatasetDetails,
  IDeepCount,
  IDetailsState,
  IRuleSummary,
  ISiteCopy
} from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { formatBytes, formatCount, formatFraction } from './format';
import { ProgressBar } from './ProgressBar';

/** Props of {@link DatasetDetailsView}. */
export interface IDatasetDetailsProps {
  state: IDetailsState;
  onRefresh: () => void;
  onClose: () => void;
  /** Rendered under the header ("make available at ..."); kept while the details reload. */
  actions?: React.ReactNode;
  /** Ask for exact per-file counts (``?deep=1``); no such control when absent. */
  onCountExactly?: () => void;
  /** The DID's file list, shown after its rules. */
  fileList?: React.ReactNode;
}

/** The selected dataset: size, file count, copies per site, rules, files and metadata. */
export function DatasetDetailsView(
  props: IDatasetDetailsProps
): JSX.Element | null {
  const { state, onRefresh, onClose, actions, onCountExactly, fileList } =
    props;
  if (!state.selected) {
    return null;
  }
  return (
    <section
      className="wp5-details"
      data-testid="wp5-details"
      data-did={state.selected}
    >
      <header className="wp5-details-header">
        <h3 className="wp5-details-title" title={state.selected}>
          {state.selected}
        </h3>
        <button
          className="wp5-icon-button"
          title="Reload"
          aria-label="Reload"
          onClick={onRefresh}
          disabled={state.loading}
        >
          {'\u21bb'}
        </button>
        <button
          className="wp5-icon-button"
          title="Close"
          aria-label="Close"
          onClick={onClose}
        >
          {'\u00d7'}
        </button>
      </header>
      {state.loading && (
        <div className="wp5-loading" data-testid="wp5-loading">
          Loading{'\u2026'}
        </div>
      )}
      {state.error && <ErrorBanner error={state.error} />}
      {actions}
      {state.details && (
        <DetailsBody details={state.details} fileList={fileList}>
          {state.details.type !== 'file' && onCountExactly && (
            <ExactCount
              deep={state.deep}
              summary={state.details.summary !== false}
              onCount={onCountExactly}
            />
          )}
          {state.deepError && <ErrorBanner error={state.deepError} />}
        </DetailsBody>
      )}
    </section>
  );
}

/** Where the counts come from, and the control that asks for exact ones. */
function ExactCount(props: {
  deep: IDeepCount | null;
  summary: boolean;
  onCount: () => void;
}): JSX.Element {
  const { deep, summary, onCount } = props;
  const running = deep?.state === 'running';
  let progress: string | null = null;
  if (deep && running) {
    const of =
      deep.files_total !== null ? ` of ${formatCount(deep.files_total)}` : '';
    progress = `Counting: ${formatCount(deep.files_done)}${of} files, ${formatCount(deep.datasets_done)} of ${formatCount(deep.datasets_total)} datasets\u2026`;
  } else if (deep?.state === 'failed') {
    progress = `The exact count failed${deep.message ? `: ${deep.message}` : '.'}`;
  }
  const fraction =
    deep && running && deep.files_total
      ? deep.files_done / deep.files_total
      : null;
  return (
    <div className="wp5-exact" data-testid="wp5-exact">
      <span className="wp5-exact-source" data-testid="wp5-exact-source">
        {summary ? "Counts: Rucio's summary" : 'Counts: exact, file by file'}
      </span>{' '}
      {!running && summary && (
        <button
          className="wp5-exact-button jp-mod-styled"
          title="Count every file and its replicas (may take a while for large datasets)"
          onClick={onCount}
        >
          Exact counts
        </button>
      )}
      {fraction !== null && (
        <ProgressBar fraction={fraction} label="Exact count progress" />
      )}
      {progress && (
        <div className="wp5-exact-progress" data-testid="wp5-exact-progress">
          {progress}
        </div>
      )}
      {deep?.state === 'capped' && (
        <div className="wp5-exact-cap" data-testid="wp5-exact-cap">
          Exact over the first {formatCount(deep.cap)} datasets only (the
          server's {deep.cap_setting}).
        </div>
      )}
    </div>
  );
}

function DetailsBody(props: {
  details: IDatasetDetails;
  fileList?: React.ReactNode;
  children?: React.ReactNode;
}): JSX.Element {
  const { details } = props;
  const metadata = Object.entries(details.metadata ?? {}).filter(
    ([, value]) => value !== null && value !== undefined && value !== ''
  );
  return (
    <div className="wp5-details-body">
      <dl className="wp5-summary">
        <dt>Type</dt>
        <dd className="wp5-details-type">{details.type}</dd>
        <dt>Size</dt>
        <dd className="wp5-details-bytes">{formatBytes(details.bytes)}</dd>
        <dt>Files</dt>
        <dd className="wp5-details-files">{formatCount(details.files)}</dd>
      </dl>
      {props.children}

      <SectionTable
        title="Copies"
        className="wp5-copies"
        empty="No copy at any storage element."
        headers={['Site', 'Available', 'Files', 'Size']}
        rows={details.copies.map(copy => (
          <CopyRow key={copy.rse} copy={copy} />
        ))}
      />

      <SectionTable
        title="Rules"
        className="wp5-rules"
        empty="No replication rule."
        headers={['Where', 'State', 'Locks', 'Account', 'Expires']}
        rows={details.rules.map(rule => (
          <RuleRow key={rule.id} rule={rule} />
        ))}
      />

      {props.fileList}

      {metadata.length > 0 && (
        <>
          <h4 className="wp5-subtitle">Metadata</h4>
          <dl className="wp5-metadata" data-testid="wp5-metadata">
            {metadata.map(([key, value]) => (
              <React.Fragment key={key}>
                <dt>{key}</dt>
                <dd>
                  {typeof value === 'object'
                    ? JSON.stringify(value)
                    : String(value)}
                </dd>
              </React.Fragment>
            ))}
          </dl>
        </>
      )}
    </div>
  );
}

/** One storage element's copy, with a bar for the fraction of files available there. */
function CopyRow(props: { copy: ISiteCopy }): JSX.Element {
  const { copy } = props;
  const pct = Math.round(Math.min(1, Math.max(0, copy.fraction)) * 100);
  const complete =
    copy.total_files > 0 && copy.available_files >= copy.total_files;
  return (
    <tr
      className={`wp5-copy-row${complete ? ' wp5-mod-complete' : ''}`}
      data-testid="wp5-copy-row"
      data-rse={copy.rse}
    >
      <td className="wp5-copy-rse">{copy.rse}</td>
      <td className="wp5-copy-fraction">
        <div
          className="wp5-fraction-bar"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          aria-label={`${copy.rse} availability`}
        >
          <div className="wp5-fraction-fill" style={{ width: `${pct}%` }} />
        </div>
        <span className="wp5-fraction-text">
          {formatFraction(copy.fraction)}
        </span>
      </td>
      <td className="wp5-copy-files">
        {formatCount(copy.available_files)}/{formatCount(copy.total_files)}
      </td>
      <td className="wp5-copy-bytes">{formatBytes(copy.available_bytes)}</td>
    </tr>
  );
}

function RuleRow(props: { rule: IRuleSummary }): JSX.Element {
  const { rule } = props;
  return (
    <tr
      className="wp5-rule-row"
      data-testid="wp5-rule-row"
      data-rule-id={rule.id}
    >
      <td title={rule.id}>{rule.rse_expression}</td>
      <td>
        <span className={`wp5-state wp5-state-${rule.state.toLowerCase()}`}>
          {rule.state}
        </span>
      </td>
      <td title="OK / replicating / stuck">
        {rule.locks_ok}/{rule.locks_replicating}/{rule.locks_stuck}
      </td>
      <td>{rule.account}</td>
      <td>{rule.expires_at ?? 'never'}</td>
    </tr>
  );
}

/** A titled table of the details, or a line saying there is nothing. */
function SectionTable(props: {
  title: string;
  className: string;
  empty: string;
  headers: string[];
  rows: JSX.Element[];
}): JSX.Element {
  return (
    <>
      <h4 className="wp5-subtitle">{props.title}</h4>
      {props.rows.length === 0 ? (
        <div className="wp5-empty">{props.empty}</div>
      ) : (
        <table className={`wp5-table ${props.className}`}>
          <thead>
            <tr>
              {props.headers.map(header => (
                <th key={header}>{header}</th>
              ))}
            </tr>
          </thead>
          <tbody>{props.rows}</tbody>
        </table>
      )}
    </>
  );
}
