import * as React from 'react';

import { filesRemain } from '../model';
import { IFileEntry, IFileListState } from '../tokens';
import { ErrorBanner } from './ErrorBanner';
import { formatBytes, formatCount } from './format';
import { WindowedList } from './WindowedList';

/** Height of one file row, in pixels (kept in step with ``.wp5-file-row`` in base.css). */
export const FILE_ROW_HEIGHT = 24;

/** Props of {@link FileList}. */
export interface IFileListProps {
  state: IFileListState;
  /** How many files the DID holds (the details' count); null when unknown. */
  total: number | null;
  onLoadMore: () => void;
}

/**
 * The selected DID's files, virtualised: the next page is read when the list is scrolled to
 * its end (or on "More files"), so a 10,000-file dataset never sits in the DOM at once.
 */
export function FileList(props: IFileListProps): JSX.Element {
  const { state, total, onLoadMore } = props;
  const more = filesRemain(state);
  const failed = state.error !== null;

  const onEndReached = React.useCallback(() => {
    // After a failure, paging waits for the user's "Retry".
    if (more && !state.loading && !failed) {
      onLoadMore();
    }
  }, [more, state.loading, failed, onLoadMore]);

  const renderRow = (
    file: IFileEntry,
    index: number,
    style: React.CSSProperties
  ) => (
    <div
      key={`${file.scope}:${file.name}`}
      style={style}
      className="wp5-file-row"
      data-testid="wp5-file-row"
      data-name={file.name}
      data-index={index}
      role="listitem"
      title={`${file.scope}:${file.name}`}
    >
      <span className="wp5-file-name">{file.name}</span>
      <span className="wp5-file-bytes">{formatBytes(file.bytes)}</span>
      <span className="wp5-file-sites">{siteStates(file)}</span>
    </div>
  );

  let footer: JSX.Element | null = null;
  if (state.loading) {
    footer = (
      <div className="wp5-loading" data-testid="wp5-files-loading">
        Loading files{'\u2026'}
      </div>
    );
  } else if (more && state.started) {
    footer = (
      <button
        className="wp5-files-more jp-mod-styled"
        onClick={onLoadMore}
        title="Read the next page of files"
      >
        {failed ? 'Retry' : 'More files'}
      </button>
    );
  } else if (state.started && state.items.length === 0 && !failed) {
    footer = <div className="wp5-empty">No file.</div>;
  }

  const of = total !== null ? ` of ${formatCount(total)}` : '';
  return (
    <div className="wp5-files" data-testid="wp5-files">
      <h4 className="wp5-subtitle">Files</h4>
      {state.items.length > 0 && (
        <div className="wp5-files-count" data-testid="wp5-files-count">
          {formatCount(state.items.length)}
          {of} listed{more ? '; scroll for more' : ''}
        </div>
      )}
      {state.items.length > 0 && (
        <WindowedList
          className="wp5-file-list"
          items={state.items}
          rowHeight={FILE_ROW_HEIGHT}
          renderRow={renderRow}
          onEndReached={onEndReached}
        />
      )}
      {state.error && <ErrorBanner error={state.error} />}
      {footer}
    </div>
  );
}

/** ``SITE-A, SITE-B (COPYING)``: the sites holding a replica, with any state but available. */
function siteStates(file: IFileEntry): string {
  return Object.entries(file.states)
    .map(([rse, state]) => (state === 'AVAILABLE' ? rse : `${rse} (${state})`))
    .join(', ');
}
