/**
 * What the transfers and clusters models share: their state and its signal, the live list (pushed
 * by the events websocket, polled only while the socket is closed and the section is visible),
 * a list refresh that an answer sent before a change cannot overwrite, and side lists loaded once.
 *
 * The list is reloaded whenever the section is shown and whenever the events socket (re)opens, so
 * nothing said while the socket was down is missed. Events that arrive while a list is on its way
 * are applied again on top of that list, which the server read before them.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { toWp5Error } from './api';
import { EventsConnection } from './events';
import { Poller, POLL_INTERVAL } from './poll';
import { IWp5Error, IWp5Event } from './tokens';

/** The part of a section's state the shared list logic touches. */
export interface IListState {
  loading: boolean;
}

/** ``map`` without ``key`` (the same object when it has no such key). */
export function withoutKey<T>(
  map: { [key: string]: T },
  key: string
): { [key: string]: T } {
  if (!(key in map)) {
    return map;
  }
  const copy = { ...map };
  delete copy[key];
  return copy;
}

export namespace ListModel {
  /** What makes one list: its items' event type, how to fetch them, how state follows. */
  export interface IKind<S, T> {
    /** The events websocket's ``type`` of this list's items; null when none is pushed. */
    eventType: IWp5Event['type'] | null;
    /** The whole list, from the server. */
    fetchList(): Promise<T[]>;
    /** The state once a full list arrived. */
    listed(state: S, items: T[]): S;
    /** The state once one item's news arrived (an event). */
    upserted(state: S, item: T): S;
    /** The state once a request failed. */
    failed(state: S, error: IWp5Error): S;
  }

  export interface IOptions {
    /** Poll interval in ms while the socket is closed (default 2000). */
    interval?: number;
    /** The panel's events websocket: while it is open its events replace the poll. */
    events?: EventsConnection;
  }
}

export abstract class ListModel<S extends IListState, T> {
  /**
   * @param initial the state before the first answer
   * @param _kind the list's event type, fetch and state transitions
   */
  constructor(
    initial: S,
    private readonly _kind: ListModel.IKind<S, T>,
    options: ListModel.IOptions = {}
  ) {
    this._state = initial;
    this._poller = new Poller(
      () => this.refresh(),
      options.interval ?? POLL_INTERVAL
    );
    this._events = options.events ?? null;
    if (this._events) {
      this._events.received.connect((_, event) => this.receive(event), this);
      this._events.openChanged.connect(this._onEventsOpen, this);
    }
  }

  get state(): S {
    return this._state;
  }

  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /** Whether the fallback poll is on (section visible, events socket closed). */
  get polling(): boolean {
    return this._poller.running;
  }

  /** The section was shown or hidden: reload on show, poll only while shown. */
  setVisible(visible: boolean): void {
    if (visible === this._visible) {
      return;
    }
    this._visible = visible;
    if (visible) {
      this.shown();
      void this.refresh();
    }
    this._updatePoll();
  }

  /** Reload the list. */
  async refresh(): Promise<void> {
    const ticket = ++this._listTicket;
    const epoch = this._epoch;
    this._heard = [];
    this._listing = true;
    this.setState({ ...this._state, loading: true });
    try {
      const items = await this._kind.fetchList();
      if (ticket === this._listTicket) {
        this._listing = false;
        // A list that left before a create or delete is out of date: wait for the next one.
        if (epoch === this._epoch) {
          const heard = this._heard;
          this.setState(
            heard.reduce(
              (state, item) => this._kind.upserted(state, item),
              this._kind.listed(this._state, items)
            )
          );
        } else {
          this.setState({ ...this._state, loading: false });
        }
      }
    } catch (error) {
      if (ticket === this._listTicket) {
        this._listing = false;
        this.setState(this._kind.failed(this._state, toWp5Error(error)));
      }
    }
  }

  /** Take an event of the events websocket; answers whether it was about this list. */
  receive(event: IWp5Event): boolean {
    if (event.type !== this._kind.eventType) {
      return false;
    }
    const item = event.data as unknown as T;
    if (this._listing) {
      this._heard.push(item);
    }
    this.setState(this._kind.upserted(this._state, item));
    return true;
  }

  dispose(): void {
    this._poller.dispose();
    // Also drops this model's connections to other objects' signals (the events socket's).
    Signal.clearData(this);
  }

  /** Called when the section is shown, before the list reloads. */
  protected shown(): void {
    // Nothing by default.
  }

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
      this.setState(this._kind.failed(this._state, toWp5Error(error)));
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
    this._stateChanged.emit();
  }

  /** The socket opened (reload: events sent while it was down are lost) or closed (poll). */
  private _onEventsOpen(_: EventsConnection, open: boolean): void {
    if (open) {
      void this.refresh();
    }
    this._updatePoll();
  }

  /** Poll only while someone looks and no socket brings the news. */
  private _updatePoll(): void {
    const pushed = this._kind.eventType !== null && this._events?.isOpen;
    if (this._visible && !pushed) {
      this._poller.start();
    } else {
      this._poller.stop();
    }
  }

  private _state: S;
  private _visible = false;
  private _poller: Poller;
  private _events: EventsConnection | null;
  private _listTicket = 0;
  private _epoch = 0;
  /** Items pushed since the last list left: the server may have read that list before them. */
  private _heard: T[] = [];
  private _listing = false;
  private _loadingOnce = new Set<string>();
  private _stateChanged = new Signal<this, void>(this);
}
