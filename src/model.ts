/**
 * The panel's data model: catalogue search (in the chosen community's scopes, like ``%wp5 use``)
 * and the selected dataset's details, with their exact count on request (``?deep=1``), and its
 * file list, read a page at a time as the user scrolls (a 10,000-file dataset is 20 pages).
 *
 * State is plain immutable objects, replaced on each transition, and announced by one signal.
 * Every server call goes through ``./api``; answers to a request that a newer one superseded
 * are dropped, so a slow first search never overwrites a later one.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { access, catalog, splitDid, toWp5Error } from './api';
import { EventsConnection } from './events';
import { Poller } from './poll';
import {
  DidTypeFilter,
  ICommunity,
  ICommunityState,
  IDataModel,
  IDatasetDetails,
  IDeepCount,
  IDeepCountEvent,
  IDetailsState,
  IFileListState,
  IFilePage,
  IPanelStore,
  ISearchPage,
  ISearchRequest,
  ISearchState,
  IWp5Error,
  IWp5Event
} from './tokens';

/** Key of the chosen community in the panel's store. */
export const COMMUNITY_KEY = 'jupyter-wp5:community';

/** Rows asked for per page. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * Files asked for per page. Each page also reads its files' replicas, cheaper per file in larger
 * batches: on the SQLite playground 10,000 files took 23 s in pages of 500 (about 1 s each) and
 * 33 s in pages of 100. The server allows 1,000.
 */
export const DEFAULT_FILE_PAGE_SIZE = 500;

/** The search state before the first search. */
export function initialSearchState(): ISearchState {
  return {
    query: '',
    type: 'collection',
    filters: '',
    submitted: null,
    results: [],
    nextCursor: null,
    more: [],
    loading: false,
    error: null
  };
}

/** No community chosen, none known yet. */
export function initialCommunityState(): ICommunityState {
  return {
    communities: [],
    memberOf: [],
    selected: null,
    grantedScopes: [],
    error: null
  };
}

/** The chosen community, or null. */
export function selectedCommunity(state: ICommunityState): ICommunity | null {
  return state.communities.find(c => c.name === state.selected) ?? null;
}

/** The storage element copies go to by default: the chosen community's first. */
export function defaultRse(state: ICommunityState): string | null {
  return selectedCommunity(state)?.rses[0] ?? null;
}

/**
 * The queries a search box text stands for. ``scope:pattern`` is itself; with a community chosen
 * a bare pattern covers its scopes and those of the account's live grants; otherwise a bare word
 * is a scope (everything in it).
 */
export function searchQueries(text: string, state: ICommunityState): string[] {
  const q = text.trim();
  if (q.includes(':')) {
    return [q];
  }
  const community = selectedCommunity(state);
  if (!community) {
    return [`${q}:*`];
  }
  const scopes = [...community.scopes];
  for (const scope of state.grantedScopes) {
    if (!scopes.includes(scope)) {
      scopes.push(scope);
    }
  }
  return scopes.map(scope => `${scope}:${q}`);
}

/** The details state with nothing selected. */
export function initialDetailsState(): IDetailsState {
  return {
    selected: null,
    details: null,
    loading: false,
    error: null,
    deep: null,
    deepError: null
  };
}

/** The file list of ``did`` before its first page. */
export function initialFileListState(
  did: string | null = null
): IFileListState {
  return {
    did,
    items: [],
    nextCursor: null,
    started: false,
    loading: false,
    error: null
  };
}

/** Whether ``state`` has a page left to read (or has not read its first one). */
export function filesRemain(state: IFileListState): boolean {
  return state.did !== null && (!state.started || state.nextCursor !== null);
}

/** Whether an exact count is still under way. */
export function deepRunning(deep: IDeepCount | null): boolean {
  return deep?.state === 'running';
}

/** Pure transitions of the search state. */
export namespace SearchTransitions {
  export function started(
    state: ISearchState,
    request: ISearchRequest,
    append: boolean,
    more: string[] = append ? state.more : []
  ): ISearchState {
    return {
      ...state,
      submitted: request,
      results: append ? state.results : [],
      nextCursor: append ? state.nextCursor : null,
      more,
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
    return { ...initialDetailsState(), selected: did, loading: true };
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

  export function deepStarted(state: IDetailsState): IDetailsState {
    return { ...state, deepError: null };
  }

  /** An answer to ``?deep=1``: the progress, and the exact details once it has ended. */
  export function deepAnswered(
    state: IDetailsState,
    details: IDatasetDetails
  ): IDetailsState {
    const deep = details.deep ?? null;
    return {
      ...state,
      details: details.summary === false ? details : state.details,
      deep,
      deepError: null
    };
  }

  /** A ``details`` event about the selected DID. */
  export function deepProgressed(
    state: IDetailsState,
    event: IDeepCountEvent
  ): IDetailsState {
    const { details, ...deep } = event;
    return {
      ...state,
      details: details ?? state.details,
      deep
    };
  }

  export function deepFailed(
    state: IDetailsState,
    error: IWp5Error
  ): IDetailsState {
    return { ...state, deepError: error };
  }
}

/** Pure transitions of the file list. */
export namespace FileListTransitions {
  export function started(state: IFileListState): IFileListState {
    return { ...state, started: true, loading: true, error: null };
  }

  export function succeeded(
    state: IFileListState,
    page: IFilePage
  ): IFileListState {
    return {
      ...state,
      items: [...state.items, ...page.items],
      nextCursor: page.next_cursor,
      loading: false,
      error: null
    };
  }

  export function failed(
    state: IFileListState,
    error: IWp5Error
  ): IFileListState {
    return { ...state, loading: false, error };
  }
}

/** Pure transitions of the community state. */
export namespace CommunityTransitions {
  export function loaded(
    state: ICommunityState,
    communities: ICommunity[],
    memberOf: string[],
    grantedScopes: string[]
  ): ICommunityState {
    // A community kept from another account's session that this one is not in is dropped.
    const selected =
      state.selected && memberOf.includes(state.selected)
        ? state.selected
        : null;
    return {
      ...state,
      communities,
      memberOf,
      grantedScopes,
      selected,
      error: null
    };
  }

  export function selected(
    state: ICommunityState,
    name: string | null
  ): ICommunityState {
    return { ...state, selected: name };
  }

  export function failed(
    state: ICommunityState,
    error: IWp5Error
  ): ICommunityState {
    return { ...state, error };
  }
}

export namespace DataModel {
  export interface IOptions {
    /** Rows per page (default 100). */
    pageSize?: number;
    /** Files per page of a file list (default 500). */
    filePageSize?: number;
    /** The events websocket: brings an exact count's progress. */
    events?: EventsConnection;
    /** Where the chosen community is kept between sessions. */
    store?: IPanelStore | null;
    /** Poll interval in ms of an exact count while the socket is closed (default 2000). */
    interval?: number;
  }
}

/** The data model of the wp5 panel. */
export class DataModel implements IDataModel {
  constructor(options: DataModel.IOptions = {}) {
    this._pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this._filePageSize = options.filePageSize ?? DEFAULT_FILE_PAGE_SIZE;
    this._store = options.store ?? null;
    this._events = options.events ?? null;
    this._deepPoller = new Poller(() => this._pollDeep(), options.interval);
    if (this._events) {
      this._events.received.connect((_, event) => this.receive(event), this);
      this._events.openChanged.connect(() => this._updateDeepPoll(), this);
    }
  }

  get community(): ICommunityState {
    return this._community;
  }

  get search(): ISearchState {
    return this._search;
  }

  get details(): IDetailsState {
    return this._details;
  }

  get files(): IFileListState {
    return this._files;
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
    if (q && !q.includes(':') && this._community.selected) {
      // A grant may have come since: its scope is searched too (as ``%wp5 search`` does).
      await this.loadCommunities();
    }
    const queries = q ? searchQueries(q, this._community) : [];
    if (queries.length === 0) {
      const community = selectedCommunity(this._community);
      this._setSearch(
        SearchTransitions.failed(this._search, {
          status: 0,
          code: 'invalid_request',
          message:
            q && community
              ? `Community ${community.name} has no scopes and you hold no live grant: search scope:pattern.`
              : 'Type a search such as cms:*DY* (scope:pattern).'
        })
      );
      return;
    }
    const [first, ...more] = queries;
    const request: ISearchRequest = {
      q: first,
      type: this._search.type,
      filters: this._search.filters.trim() || undefined,
      limit: this._pageSize
    };
    await this._fetchPage(request, false, more);
  }

  async loadMore(): Promise<void> {
    const { submitted, nextCursor, loading, more } = this._search;
    if (!submitted || loading) {
      return;
    }
    if (nextCursor) {
      await this._fetchPage({ ...submitted, cursor: nextCursor }, true);
    } else if (more.length > 0) {
      // This scope is done: the next scope's first page.
      const [next, ...rest] = more;
      await this._fetchPage(
        { ...submitted, q: next, cursor: undefined },
        true,
        rest
      );
    }
  }

  /** Load the communities, the account's memberships and grants, and the kept choice. */
  async loadCommunities(): Promise<void> {
    try {
      const [communities, overview, kept] = await Promise.all([
        access.communities(),
        access.overview(),
        this._store
          ? this._store.fetch(COMMUNITY_KEY).catch(() => undefined)
          : undefined
      ]);
      if (typeof kept === 'string' && this._community.selected === null) {
        this._community = CommunityTransitions.selected(this._community, kept);
      }
      const granted = overview.mine
        .filter(r => r.status === 'granted')
        .map(r => r.did.split(':', 1)[0]);
      this._setCommunity(
        CommunityTransitions.loaded(
          this._community,
          communities,
          overview.communities,
          [...new Set(granted)]
        )
      );
    } catch (error) {
      this._setCommunity(
        CommunityTransitions.failed(this._community, toWp5Error(error))
      );
    }
  }

  /** Work as community ``name`` (null: none); kept for the next session. */
  async useCommunity(name: string | null): Promise<void> {
    if (name !== null && !this._community.memberOf.includes(name)) {
      this._setCommunity(
        CommunityTransitions.failed(this._community, {
          status: 0,
          code: 'invalid_request',
          message: `This account is not in community ${name}.`
        })
      );
      return;
    }
    this._setCommunity(CommunityTransitions.selected(this._community, name));
    if (this._store) {
      await this._store.save(COMMUNITY_KEY, name);
    }
  }

  /** Ask for the selected DID's exact per-file counts; progress arrives as events. */
  async countExactly(): Promise<void> {
    const did = this._details.selected;
    if (!did) {
      return;
    }
    const ticket = this._detailsTicket;
    this._setDetails(DetailsTransitions.deepStarted(this._details));
    try {
      const { scope, name } = splitDid(did);
      const details = await catalog.describe(scope, name, undefined, true);
      if (ticket === this._detailsTicket) {
        this._setDetails(
          DetailsTransitions.deepAnswered(this._details, details)
        );
      }
    } catch (error) {
      if (ticket === this._detailsTicket) {
        this._setDetails(
          DetailsTransitions.deepFailed(this._details, toWp5Error(error))
        );
      }
    }
  }

  /** Take an event of the events websocket; answers whether it was about the selected DID. */
  receive(event: IWp5Event): boolean {
    if (event.type !== 'details' || event.data.did !== this._details.selected) {
      return false;
    }
    this._setDetails(
      DetailsTransitions.deepProgressed(this._details, event.data)
    );
    return true;
  }

  dispose(): void {
    this._deepPoller.dispose();
    Signal.clearData(this);
  }

  async select(did: string | null): Promise<void> {
    const ticket = ++this._detailsTicket;
    ++this._filesTicket;
    this._setFiles(initialFileListState(did));
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
        if (details.type !== 'file') {
          await this.loadMoreFiles();
        }
      }
    } catch (error) {
      if (ticket === this._detailsTicket) {
        this._setDetails(
          DetailsTransitions.failed(this._details, toWp5Error(error))
        );
      }
    }
  }

  /**
   * Read the selected DID's next page of files (its first when none was read). One page at a
   * time; answers about a selection since replaced (or reloaded) are dropped.
   */
  async loadMoreFiles(): Promise<void> {
    const state = this._files;
    if (state.did === null || state.loading || !filesRemain(state)) {
      return;
    }
    const did = state.did;
    const ticket = this._filesTicket;
    this._setFiles(FileListTransitions.started(state));
    try {
      const { scope, name } = splitDid(did);
      const page = await catalog.files(scope, name, {
        limit: this._filePageSize,
        cursor: state.nextCursor
      });
      if (ticket === this._filesTicket) {
        this._setFiles(FileListTransitions.succeeded(this._files, page));
      }
    } catch (error) {
      if (ticket === this._filesTicket) {
        this._setFiles(
          FileListTransitions.failed(this._files, toWp5Error(error))
        );
      }
    }
  }

  /** Reload the selected dataset's details. */
  async refreshDetails(): Promise<void> {
    await this.select(this._details.selected);
  }

  /** While a count runs and no socket brings its progress, ask again. */
  private async _pollDeep(): Promise<void> {
    if (deepRunning(this._details.deep)) {
      await this.countExactly();
    }
  }

  private _updateDeepPoll(): void {
    if (deepRunning(this._details.deep) && !this._events?.isOpen) {
      this._deepPoller.start();
    } else {
      this._deepPoller.stop();
    }
  }

  private async _fetchPage(
    request: ISearchRequest,
    append: boolean,
    more?: string[]
  ): Promise<void> {
    const ticket = ++this._searchTicket;
    this._setSearch(
      SearchTransitions.started(this._search, request, append, more)
    );
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
    this._updateDeepPoll();
    this._stateChanged.emit();
  }

  private _setFiles(state: IFileListState): void {
    this._files = state;
    this._stateChanged.emit();
  }

  private _setCommunity(state: ICommunityState): void {
    this._community = state;
    this._stateChanged.emit();
  }

  private _pageSize: number;
  private _filePageSize: number;
  private _search: ISearchState = initialSearchState();
  private _details: IDetailsState = initialDetailsState();
  private _files: IFileListState = initialFileListState();
  private _community: ICommunityState = initialCommunityState();
  private _store: IPanelStore | null;
  private _events: EventsConnection | null;
  private _deepPoller: Poller;
  private _searchTicket = 0;
  private _detailsTicket = 0;
  private _filesTicket = 0;
  private _stateChanged = new Signal<IDataModel, void>(this);
}
