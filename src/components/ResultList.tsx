import * as React from 'react';

import { IDidSummary } from '../tokens';
import { formatBytes, formatCount } from './format';
import { WindowedList } from './WindowedList';

/** Height of one result row, in pixels (kept in step with ``.wp5-result-row`` in base.css). */
export const RESULT_ROW_HEIGHT = 44;

/** Props of {@link ResultList}. */
export interface IResultListProps {
  results: ReadonlyArray<IDidSummary>;
  selected: string | null;
  hasMore: boolean;
  loading: boolean;
  /** Whether a search ran (to tell "no match" from "not searched yet"). */
  searched: boolean;
  /** The last request failed: no automatic paging until the user acts. */
  failed: boolean;
  onSelect: (did: string) => void;
  onLoadMore: () => void;
}

/** The search results, virtualised, with paging on scroll and a "more" button. */
export function ResultList(props: IResultListProps): JSX.Element {
  const { results, selected, hasMore, loading, failed, onSelect, onLoadMore } =
    props;

  const onEndReached = React.useCallback(() => {
    if (hasMore && !loading && !failed) {
      onLoadMore();
    }
  }, [hasMore, loading, failed, onLoadMore]);

  const renderRow = (
    item: IDidSummary,
    index: number,
    style: React.CSSProperties
  ) => {
    const isSelected = item.did === selected;
    return (
      <div
        key={item.did}
        style={style}
        className={`wp5-result-row${isSelected ? ' wp5-mod-selected' : ''}`}
        data-testid="wp5-result-row"
        data-did={item.did}
        role="listitem"
        aria-selected={isSelected}
        tabIndex={0}
        title={item.did}
        onClick={() => onSelect(item.did)}
        onKeyDown={e => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            onSelect(item.did);
          }
        }}
      >
        <div className="wp5-result-name">
          <span className={`wp5-type-badge wp5-type-${item.type}`}>
            {item.type}
          </span>
          <span className="wp5-result-did">{item.did}</span>
        </div>
        <div className="wp5-result-meta">
          <span className="wp5-result-bytes">{formatBytes(item.bytes)}</span>
          <span className="wp5-result-files">
            {item.files === null ? '' : `${formatCount(item.files)} files`}
          </span>
        </div>
      </div>
    );
  };

  let footer: JSX.Element | null = null;
  if (loading) {
    footer = (
      <div className="wp5-loading" data-testid="wp5-loading">
        Searching{'\u2026'}
      </div>
    );
  } else if (hasMore) {
    footer = (
      <button className="wp5-load-more jp-mod-styled" onClick={onLoadMore}>
        More results
      </button>
    );
  } else if (props.searched && results.length === 0) {
    footer = <div className="wp5-empty">No data identifier matches.</div>;
  }

  return (
    <div className="wp5-results" data-testid="wp5-results">
      {results.length > 0 && (
        <div className="wp5-results-count">
          {formatCount(results.length)}
          {hasMore ? '+' : ''} {results.length === 1 ? 'result' : 'results'}
        </div>
      )}
      <WindowedList
        className="wp5-result-list"
        items={results}
        rowHeight={RESULT_ROW_HEIGHT}
        renderRow={renderRow}
        onEndReached={onEndReached}
      />
      {footer}
    </div>
  );
}
