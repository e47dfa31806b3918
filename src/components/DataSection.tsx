import * as React from 'react';

import { DataModel, defaultRse } from '../model';
import { CodeInserter, filesetCode } from '../snippets';
import { TransfersModel } from '../transfers';
import { CommunitySelect } from './CommunitySelect';
import { DatasetDetailsView } from './DatasetDetails';
import { ErrorBanner } from './ErrorBanner';
import { FileList } from './FileList';
import { MakeAvailable } from './MakeAvailable';
import { ResultList } from './ResultList';
import { SearchBox } from './SearchBox';

/** Props of {@link DataSection}. */
export interface IDataSectionProps {
  model: DataModel;
  /** Copy requests and storage elements; no "make available" without it. */
  transfers?: TransfersModel;
  /** Where "copy fileset code" puts its code. */
  insertCode?: CodeInserter;
}

/** The "Data" section: search form, results and the selected dataset. */
export function DataSection(props: IDataSectionProps): JSX.Element {
  const { model, transfers, insertCode } = props;
  const { search, details, community } = model;
  const did = details.selected;
  const loadRses = !!transfers && !!did;
  React.useEffect(() => {
    if (loadRses) {
      void transfers?.loadStorageElements();
    }
  }, [transfers, loadRses]);

  let actions: JSX.Element | null = null;
  if (transfers && insertCode && did) {
    const { rses, submitting, submitError } = transfers.state;
    actions = (
      <MakeAvailable
        key={did}
        did={did}
        rses={rses}
        submitting={submitting === did}
        error={submitError?.did === did ? submitError.error : null}
        onRequest={async (rse, lifetime) => {
          const made = await transfers.request({
            did,
            rse_expression: rse,
            lifetime
          });
          if (made) {
            // The new rule and the site's copy show in the details.
            void model.refreshDetails();
          }
        }}
        preferred={defaultRse(community)}
        filesetCode={rse => filesetCode(did, rse)}
        insertCode={insertCode}
      />
    );
  }
  const onLoadMore = React.useCallback(() => void model.loadMore(), [model]);
  const onMoreFiles = React.useCallback(
    () => void model.loadMoreFiles(),
    [model]
  );
  const shown = details.details;
  const fileList =
    shown && shown.type !== 'file' && model.files.did === did ? (
      <FileList
        state={model.files}
        total={shown.files}
        onLoadMore={onMoreFiles}
      />
    ) : null;
  return (
    <div className="wp5-data-section">
      <CommunitySelect
        state={community}
        onChange={name => void model.useCommunity(name)}
      />
      <SearchBox
        query={search.query}
        type={search.type}
        filters={search.filters}
        loading={search.loading}
        onQueryChange={q => model.setQuery(q)}
        onTypeChange={t => model.setType(t)}
        onFiltersChange={f => model.setFilters(f)}
        onSubmit={() => void model.runSearch()}
      />
      {search.error && <ErrorBanner error={search.error} />}
      <ResultList
        results={search.results}
        selected={details.selected}
        hasMore={search.nextCursor !== null || search.more.length > 0}
        loading={search.loading}
        failed={search.error !== null}
        searched={search.submitted !== null}
        onSelect={did => void model.select(did)}
        onLoadMore={onLoadMore}
      />
      <DatasetDetailsView
        state={details}
        onRefresh={() => void model.refreshDetails()}
        onClose={() => void model.select(null)}
        onCountExactly={() => void model.countExactly()}
        actions={actions}
        fileList={fileList}
      />
    </div>
  );
}
