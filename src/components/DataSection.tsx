import * as React from 'react';

import { DataModel } from '../model';
import { DatasetDetailsView } from './DatasetDetails';
import { ErrorBanner } from './ErrorBanner';
import { ResultList } from './ResultList';
import { SearchBox } from './SearchBox';

/** Props of {@link DataSection}. */
export interface IDataSectionProps {
  model: DataModel;
}

/** The "Data" section: search form, results and the selected dataset. */
export function DataSection(props: IDataSectionProps): JSX.Element {
  const { model } = props;
  const { search, details } = model;
  const onLoadMore = React.useCallback(() => void model.loadMore(), [model]);
  return (
    <div className="wp5-data-section">
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
        hasMore={search.nextCursor !== null}
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
      />
    </div>
  );
}
