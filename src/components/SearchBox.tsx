import * as React from 'react';

import { DID_TYPE_FILTERS, DidTypeFilter } from '../tokens';

/** Props of {@link SearchBox}. */
export interface ISearchBoxProps {
  query: string;
  type: DidTypeFilter;
  filters: string;
  loading: boolean;
  onQueryChange: (query: string) => void;
  onTypeChange: (type: DidTypeFilter) => void;
  onFiltersChange: (filters: string) => void;
  onSubmit: () => void;
}

/** The search form: ``scope:pattern``, the DID type and optional metadata filters. */
export function SearchBox(props: ISearchBoxProps): JSX.Element {
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    props.onSubmit();
  };
  return (
    <form className="wp5-search" onSubmit={submit} role="search">
      <div className="wp5-search-line">
        <input
          className="wp5-search-input jp-mod-styled"
          data-testid="wp5-search-input"
          type="search"
          placeholder="scope:pattern, e.g. cms:*DY*"
          aria-label="Search datasets (scope:pattern)"
          spellCheck={false}
          value={props.query}
          onChange={e => props.onQueryChange(e.target.value)}
        />
        <button
          className="wp5-search-button jp-mod-styled jp-mod-accept"
          data-testid="wp5-search-button"
          type="submit"
          disabled={props.loading}
        >
          Search
        </button>
      </div>
      <div className="wp5-search-line">
        <select
          className="wp5-type-select jp-mod-styled"
          data-testid="wp5-type-select"
          aria-label="Type"
          value={props.type}
          onChange={e => props.onTypeChange(e.target.value as DidTypeFilter)}
        >
          {DID_TYPE_FILTERS.map(t => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <input
          className="wp5-filters-input jp-mod-styled"
          data-testid="wp5-filters-input"
          type="text"
          placeholder="filters, e.g. datatype=NANOAOD,events>1000"
          aria-label="Metadata filters"
          spellCheck={false}
          value={props.filters}
          onChange={e => props.onFiltersChange(e.target.value)}
        />
      </div>
    </form>
  );
}
