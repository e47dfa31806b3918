/**
 * The events websocket (``/wp5/api/events``): the server pushes ``{"type", "data"}`` messages as
 * replica progress (later cluster states) changes. One connection per panel; it reconnects with
 * exponential back-off after the server went away, and tells its listeners whether it is open so
 * that the models poll only while it is not.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { API_PREFIX } from './api';
import { IWp5Event } from './tokens';

/** The events endpoint, below the API prefix. */
export const EVENTS_PATH = 'events';

/** The websocket URL of the events endpoint, with the token as Jupyter's own sockets send it. */
export function eventsUrl(settings: ServerConnection.ISettings): string {
  const url = URLExt.join(settings.wsUrl, API_PREFIX, EVENTS_PATH);
  // Browsers cannot set headers on a websocket: the token goes in the query, as for kernels.
  return settings.appendToken && settings.token
    ? `${url}?token=${encodeURIComponent(settings.token)}`
    : url;
}

/** Whether a parsed message looks like an event (a type and an object of data). */
function isEvent(value: unknown): value is IWp5Event {
  const v = value as { type?: unknown; data?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.type === 'string' &&
    typeof v.data === 'object' &&
    v.data !== null
  );
}

export namespace EventsConnection {
  export interface IOptions {
    /** Server settings (their ``WebSocket`` class opens the socket); the default ones if omitted. */
    settings?: ServerConnection.ISettings;
    /** First reconnection delay in ms (default 1000); doubled after each failure. */
    minDelay?: number;
    /** Longest reconnection delay in ms (default 30000). */
    maxDelay?: number;
  }
}

/** A self-reconnecting connection to the events websocket. */
export class EventsConnection implements IDisposable {
  constructor(options: EventsConnection.IOptions = {}) {
    this._settings = options.settings ?? ServerConnection.makeSettings();
    this._minDelay = options.minDelay ?? 1000;
    this._maxDelay = options.maxDelay ?? 30000;
    this._delay = this._minDelay;
  }

  /** Whether the socket is open (events arrive). */
  get isOpen(): boolean {
    return this._open;
  }

  /** Emits the new ``isOpen`` whenever it changes. */
  get openChanged(): ISignal<EventsConnection, boolean> {
    return this._openChanged;
  }

  /** Emits every event the server pushes. */
  get received(): ISignal<EventsConnection, IWp5Event> {
    return this._received;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the socket (no-op when already connecting or open). */
  connect(): void {
    if (this._disposed || this._socket) {
      return;
    }
    this._clearTimer();
    const socket = new this._settings.WebSocket(eventsUrl(this._settings));
    this._socket = socket;
    socket.onopen = () => {
      this._delay = this._minDelay;
      this._setOpen(true);
    };
    socket.onmessage = (message: MessageEvent) => this._onMessage(message);
    // An error is always followed by a close: reconnect there only.
    socket.onclose = () => {
      if (this._socket !== socket) {
        return;
      }
      this._socket = null;
      this._setOpen(false);
      this._scheduleReconnect();
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._clearTimer();
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.close();
    }
    this._setOpen(false);
    Signal.clearData(this);
  }

  private _onMessage(message: MessageEvent): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(message.data));
    } catch {
      return; // not ours to interpret; the next poll or event brings the news
    }
    if (isEvent(parsed)) {
      this._received.emit(parsed);
    }
  }

  private _scheduleReconnect(): void {
    if (this._disposed) {
      return;
    }
    const delay = this._delay;
    this._delay = Math.min(this._delay * 2, this._maxDelay);
    this._timer = setTimeout(() => {
      this._timer = null;
      this.connect();
    }, delay);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _setOpen(open: boolean): void {
    if (open !== this._open) {
      this._open = open;
      this._openChanged.emit(open);
    }
  }

  private readonly _settings: ServerConnection.ISettings;
  private readonly _minDelay: number;
  private readonly _maxDelay: number;
  private _delay: number;
  private _socket: WebSocket | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _open = false;
  private _disposed = false;
  private _openChanged = new Signal<EventsConnection, boolean>(this);
  private _received = new Signal<EventsConnection, IWp5Event>(this);
}
