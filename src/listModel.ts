/**
 * What the transfers and clusters models share: their state and its signal, a list refresh that
 * an answer sent before a create or delete cannot overwrite, and side lists loaded once.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { toWp5Error } from './model';
import { IWp5Error } from './tokens';

/** The part of a section's state the shared list logic touches. */
export interface IListState {
  loading: boolean;
}

export abstract class ListModel<S extends IListState, T> {
  constructor(initial: S) {
    this._state = initial;
  }

  get state(): S {
    return this._state;
  }

  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /** Reload the list. */
  async refresh(): Promise<void> {
    const ticket = ++this._listTicket;
    const epoch = this._epoch;
    this.setState({ ...this._state, loading: true });
    try {
      const items = await this.fetchList();
      if (ticket === this._listTicket) {
        // A list that left before a create or delete is out of date: wait for the next one.
        this.setState(
          epoch === this._epoch
            ? this.listed(this._state, items)
            : { ...this._state, loading: false }
        );
      }
    } catch (error) {
      if (ticket === this._listTicket) {
        this.setState(this.failed(this._state, toWp5Error(error)));
      }
    }
  }

  dispose(): void {
    // Also drops this model's connections to other objects' signals.
    Signal.clearData(this);
  }

  /** The current list from the server. */
  protected abstract fetchList(): Promise<T[]>;

  /** The state once a full list arrived. */
  protected abstract listed(state: S, items: T[]): S;

  /** The state once a request failed. */
  protected abstract failed(state: S, error: IWp5Error): S;

  /** Load, once, a list that does not change while the panel is open (profiles, sites). */
  protected async loadOnce<U>(
    name: string,
    loaded: boolean,
    fetch: () => Promise<{ items: U[] }>,
    apply: (state: S, items: U[]) => S
  ): Promise<void> {
    if (loaded || this._loadingOnce.has(name)) {
      return;
    }
    this._loadingOnce.add(name);
    try {
      const { items } = await fetch();
      this.setState(apply(this._state, items));
    } catch (error) {
      this.setState(this.failed(this._state, toWp5Error(error)));
    } finally {
      this._loadingOnce.delete(name);
    }
  }

  /** A create or delete went through: lists already under way do not know of it. */
  protected membershipChanged(): void {
    this._epoch++;
  }

  protected setState(state: S): void {
    this._state = state;
    this.stateSet();
    this._stateChanged.emit();
  }

  /** Called after every change of state, before listeners hear of it. */
  protected stateSet(): void {
    // Nothing by default.
  }

  private _state: S;
  private _listTicket = 0;
  private _epoch = 0;
  private _loadingOnce = new Set<string>();
  private _stateChanged = new Signal<this, void>(this);
}
