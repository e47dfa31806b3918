/**
 * The panel's data model: catalogue search and the selected dataset's details.
 *
 * State is plain immutable objects, replaced on each transition, and announced by one signal.
 * Every server call goes through ``./api``; answers to a request that a newer one superseded
 * are dropped, so a slow first search never overwrites a later one.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { catalog, splitDid, toWp5Error } from './api';
import {
  DidTypeFilter,
  IDataModel,
  IDatasetDetails,
  IDetailsState,
  ISearchPage,
  ISearchRequest,
  ISearchState,
  IWp5Error
} from './tokens';

/** Rows asked for per page. */
export const DEFAULT_PAGE_SIZE = 100;

/** The search state before the first search. */
export function initialSearchState(): ISearchState {
  return {
    query: '',
    type: 'collection',
    filters: '',
    submitted: null,
    results: [],
    nextCursor: null,
    loading: false,
    error: null
  };
}

/** The details state with nothing selected. */
export function initialDetailsState(): IDetailsState {
  return { selected: null, details: null, loading: false, error: null };
}

/** Pure transitions of the search state. */
export namespace SearchTransitions {
  export function started(
    state: ISearchState,
    request: ISearchRequest,
    append: boolean
  ): ISearchState {
    return {
      ...state,
      submitted: request,
      results: append ? state.results : [],
      nextCursor: append ? state.nextCursor : null,
      loading: true,
      error: null
    };
  }

  export function succeeded(
    state: ISearchState,
    page: ISearchPage,
    append: boolean
  ): ISearchState {
    return {
      ...state,
      results: append ? [...state.results, ...page.items] : page.items,
      nextCursor: page.next_cursor,
      loading: false,
      error: null
    };
  }

  export function failed(state: ISearchState, error: IWp5Error): ISearchState {
    return { ...state, loading: false, error };
  }
}

/** Pure transitions of the details state. */
export namespace DetailsTransitions {
  export function started(did: string): IDetailsState {
    return { selected: did, details: null, loading: true, error: null };
  }

  export function succeeded(
    state: IDetailsState,
    details: IDatasetDetails
  ): IDetailsState {
    return { ...state, details, loading: false, error: null };
  }

  export function failed(
    state: IDetailsState,
    error: IWp5Error
  ): IDetailsState {
    return { ...state, details: null, loading: false, error };
  }
}

export namespace DataModel {
  export interface IOptions {
    /** Rows per page (default 100). */
    pageSize?: number;
  }
}

/** The data model of the wp5 panel. */
export class DataModel implements IDataModel {
  constructor(options: DataModel.IOptions = {}) {
    this._pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  get search(): ISearchState {
    return this._search;
  }

  get details(): IDetailsState {
    return this._details;
  }

  get stateChanged(): ISignal<IDataModel, void> {
    return this._stateChanged;
  }

  get pageSize(): number {
    return this._pageSize;
  }

  setQuery(query: string): void {
    if (query !== this._search.query) {
      this._setSearch({ ...this._search, query });
    }
  }

  setType(type: DidTypeFilter): void {
    if (type !== this._search.type) {
      this._setSearch({ ...this._search, type });
    }
  }

  setFilters(filters: string): void {
    if (filters !== this._search.filters) {
      this._setSearch({ ...this._search, filters });
    }
  }

  async runSearch(): Promise<void> {
    const q = this._search.query.trim();
    if (!q) {
      this._setSearch(
        SearchTransitions.failed(this._search, {
          status: 0,
          code: 'invalid_request',
          message: 'Type a search such as cms:*DY* (scope:pattern).'
        })
      );
      return;
    }
    // A bare scope means everything in it.
    const request: ISearchRequest = {
      q: q.includes(':') ? q : `${q}:*`,
      type: this._search.type,
      filters: this._search.filters.trim() || undefined,
      limit: this._pageSize
    };
    await this._fetchPage(request, false);
  }

  async loadMore(): Promise<void> {
    const { submitted, nextCursor, loading } = this._search;
    if (!submitted || !nextCursor || loading) {
      return;
    }
    await this._fetchPage({ ...submitted, cursor: nextCursor }, true);
  }

  async select(did: string | null): Promise<void> {
    const ticket = ++this._detailsTicket;
    if (did === null) {
      this._setDetails(initialDetailsState());
      return;
    }
    this._setDetails(DetailsTransitions.started(did));
    try {
      const { scope, name } = splitDid(did);
      const details = await catalog.describe(scope, name);
      if (ticket === this._detailsTicket) {
        this._setDetails(DetailsTransitions.succeeded(this._details, details));
      }
    } catch (error) {
      if (ticket === this._detailsTicket) {
        this._setDetails(
          DetailsTransitions.failed(this._details, toWp5Error(error))
        );
      }
    }
  }

  /** Reload the selected dataset's details. */
  async refreshDetails(): Promise<void> {
    await this.select(this._details.selected);
  }

  private async _fetchPage(
    request: ISearchRequest,
    append: boolean
  ): Promise<void> {
    const ticket = ++this._searchTicket;
    this._setSearch(SearchTransitions.started(this._search, request, append));
    try {
      const page = await catalog.search(request);
      if (ticket === this._searchTicket) {
        this._setSearch(
          SearchTransitions.succeeded(this._search, page, append)
        );
      }
    } catch (error) {
      if (ticket === this._searchTicket) {
        this._setSearch(
          SearchTransitions.failed(this._search, toWp5Error(error))
        );
      }
    }
  }

  private _setSearch(state: ISearchState): void {
    this._search = state;
    this._stateChanged.emit();
  }

  private _setDetails(state: IDetailsState): void {
    this._details = state;
    this._stateChanged.emit();
  }

  private _pageSize: number;
  private _search: ISearchState = initialSearchState();
  private _details: IDetailsState = initialDetailsState();
  private _searchTicket = 0;
  private _detailsTicket = 0;
  private _stateChanged = new Signal<IDataModel, void>(this);
}
