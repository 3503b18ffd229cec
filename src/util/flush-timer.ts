// One delayed flush per time window, kept alive by the unit of work that armed it.
// Used by the isolate-level buffers (metrics histograms, learning impressions): the first item of
// a window arms a flush inside that request's ctx.waitUntil, so the runtime keeps the isolate until
// the window is shipped; later items of the same window only join the buffer.
export class FlushTimer {
  private armed = false;

  get isArmed(): boolean {
    return this.armed;
  }

  /** Run flush once, delayMs from now, inside waitUntil; a no-op while a flush is already armed. */
  arm(delayMs: number, waitUntil: (p: Promise<unknown>) => void, flush: () => Promise<unknown>): void {
    if (this.armed) return;
    this.armed = true;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => {
        this.armed = false;
        return flush();
      }),
    );
  }
}
