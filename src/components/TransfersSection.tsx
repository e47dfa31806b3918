import * as React from 'react';

import { EXTEND_LIFETIME, isActive, TransfersModel } from '../transfers';
import { IReplicaProgress, IWp5Error } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { formatBytes, formatCount, formatFraction } from './format';
import { ProgressBar } from './ProgressBar';
import { WindowedList } from './WindowedList';

/** Height of one transfer row, in pixels (kept in step with ``.wp5-transfer-row`` in base.css). */
export const TRANSFER_ROW_HEIGHT = 72;
/** Rows shown before the list scrolls. */
const VISIBLE_ROWS = 6;

/** Files and bytes done, e.g. "40% · 2/5 files · 1.2 MB of 3.0 MB". */
export function progressText(p: IReplicaProgress): string {
  const parts = [
    formatFraction(p.fraction),
    `${formatCount(p.files_ok)}/${formatCount(p.files_total)} files`
  ];
  if (p.bytes_total !== null) {
    parts.push(
      `${formatBytes(p.bytes_ok ?? 0)} of ${formatBytes(p.bytes_total)}`
    );
  }
  return parts.join(' \u00b7 ');
}

/** When the copy may be removed, e.g. "until 2026-12-02 21:00", or "no expiry". */
export function expiryText(p: IReplicaProgress): string {
  return p.expires_at
    ? `until ${p.expires_at.slice(0, 16).replace('T', ' ')}`
    : 'no expiry';
}

/** Props of {@link TransferRow}. */
export interface ITransferRowProps {
  progress: IReplicaProgress;
  error: IWp5Error | null;
  style?: React.CSSProperties;
  onCancel: (id: string) => void;
  onExtend: (id: string) => void;
}

/** One copy request: what, where, state, progress bar, expiry; extend, cancel. */
export function TransferRow(props: ITransferRowProps): JSX.Element {
  const { progress: p, error, style } = props;
  const state = p.state.toLowerCase();
  // Rucio's error for a stuck rule; otherwise the stuck file count is the news.
  const problem =
    p.error ??
    (p.files_stuck > 0 ? `${formatCount(p.files_stuck)} files stuck` : null);
  return (
    <div
      style={style}
      className={`wp5-transfer-row wp5-mod-${state}`}
      data-testid="wp5-transfer-row"
      data-id={p.id}
      data-did={p.did}
      data-rse={p.rse_expression}
      data-state={p.state}
      role="listitem"
      aria-busy={isActive(p)}
    >
      <div className="wp5-transfer-head">
        <span className="wp5-transfer-did" title={p.did}>
          {p.did}
        </span>
        <span className="wp5-transfer-rse" title="Where">
          {'\u2192'} {p.rse_expression}
        </span>
        <span className={`wp5-state wp5-state-${state}`}>{p.state}</span>
        <button
          className="wp5-icon-button wp5-transfer-extend"
          title={`Keep this copy ${EXTEND_LIFETIME} from now`}
          aria-label={`Keep the copy of ${p.did} at ${p.rse_expression} ${EXTEND_LIFETIME} from now`}
          onClick={() => props.onExtend(p.id)}
        >
          {'+'}
        </button>
        <button
          className="wp5-icon-button wp5-transfer-cancel"
          title="Cancel this request (removes its rule)"
          aria-label={`Cancel the copy of ${p.did} at ${p.rse_expression}`}
          onClick={() => props.onCancel(p.id)}
        >
          {'\u00d7'}
        </button>
      </div>
      <ProgressBar
        fraction={p.fraction}
        label={`${p.did} at ${p.rse_expression}`}
        className={`wp5-mod-${state}`}
      />
      <div className="wp5-transfer-foot">
        <span className="wp5-progress-text">{progressText(p)}</span>
        <span
          className="wp5-transfer-expiry"
          title={p.expires_at ?? 'Kept until cancelled'}
        >
          {expiryText(p)}
        </span>
        {error ? (
          <span
            className="wp5-transfer-error"
            role="alert"
            title={error.message}
          >
            {error.message}
          </span>
        ) : (
          problem && (
            <span className="wp5-transfer-problem" title={problem}>
              {problem}
            </span>
          )
        )}
      </div>
    </div>
  );
}

/** Props of {@link TransfersSection}. */
export interface ITransfersSectionProps {
  model: TransfersModel;
}

/** The "Transfers" section: every copy request with its live progress, virtualised. */
export function TransfersSection(props: ITransfersSectionProps): JSX.Element {
  const { model } = props;
  const { items, error, rowErrors, loading } = model.state;
  const renderRow = (
    item: IReplicaProgress,
    _: number,
    style: React.CSSProperties
  ) => (
    <TransferRow
      key={item.id}
      progress={item}
      error={rowErrors[item.id] ?? null}
      style={style}
      onCancel={id => void model.cancel(id)}
      onExtend={id => void model.extend(id)}
    />
  );
  const shown = Math.min(items.length, VISIBLE_ROWS);
  return (
    <div className="wp5-transfers-section" data-testid="wp5-transfers">
      {error && <ErrorBanner error={error} />}
      {items.length === 0 ? (
        <div className="wp5-empty">
          {loading ? 'Loading\u2026' : 'No copy requested yet.'}
        </div>
      ) : (
        <div
          className="wp5-transfer-viewport"
          style={{ height: shown * TRANSFER_ROW_HEIGHT + 2 }}
        >
          <WindowedList
            className="wp5-transfer-list"
            items={items}
            rowHeight={TRANSFER_ROW_HEIGHT}
            renderRow={renderRow}
            initialHeight={shown * TRANSFER_ROW_HEIGHT}
          />
        </div>
      )}
    </div>
  );
}
