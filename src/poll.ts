/**
 * A poll that the models switch on and off: while running it calls ``tick`` ``interval`` ms after
 * the start and then ``interval`` ms after each call settles, so slow answers never pile up. The
 * models start it right after fresh data came in, hence no tick at once.
 */
/** Refresh interval of the live sections while they are visible (ms). */
export const POLL_INTERVAL = 2000;

export class Poller {
  /**
   * @param tick the refresh; its errors are the caller's to record (a rejection is ignored)
   * @param interval ms between the end of one tick and the start of the next
   */
  constructor(
    private readonly _tick: () => Promise<void>,
    readonly interval: number = POLL_INTERVAL
  ) {}

  get running(): boolean {
    return this._running;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start polling (the first tick after ``interval``); no-op when already running. */
  start(): void {
    if (this._running || this._disposed) {
      return;
    }
    this._running = true;
    this._schedule(++this._generation);
  }

  /** Stop polling; a tick under way finishes, but none follows it. */
  stop(): void {
    this._running = false;
    this._generation++;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  dispose(): void {
    this.stop();
    this._disposed = true;
  }

  private async _run(generation: number): Promise<void> {
    this._timer = null;
    try {
      await this._tick();
    } catch {
      // The tick records its own errors in the model's state.
    }
    if (this._running && generation === this._generation) {
      this._schedule(generation);
    }
  }

  private _schedule(generation: number): void {
    this._timer = setTimeout(() => void this._run(generation), this.interval);
  }

  private _running = false;
  private _disposed = false;
  /** Bumped by every start and stop, so a tick from an earlier run schedules nothing. */
  private _generation = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
}
