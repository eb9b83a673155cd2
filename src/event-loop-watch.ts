import { formatDuration } from './config/duration.js';
import type { Logger } from './log/logger.js';
import type { Time } from './time.js';

/**
 * Debug mode's event-loop watch: a timer that expects to run every
 * `periodMs` and reports when it runs more than `thresholdMs` late, which
 * means something held the loop (a slow step, a synchronous write, GC). The
 * per-step report names the task; this one catches blocks outside steps too.
 *
 * Returns the function that stops the watch.
 */
export function watchEventLoop({ time, logger, thresholdMs }: { time: Time; logger: Logger; thresholdMs: number }): () => void {
  // Check often enough that a block just over the threshold is seen, but not so often that an idle Pi wakes for nothing.
  const periodMs = Math.max(10, Math.min(thresholdMs, 1000));
  let expected = time.monotonicMs() + periodMs;
  // ref: false, because the watch must never be what keeps a stopping daemon alive.
  const timer = time.setInterval(
    () => {
      const now = time.monotonicMs();
      const late = now - expected;
      expected = now + periodMs;
      if (late > thresholdMs) logger.warn({ blockedMs: Math.round(late) }, `event loop blocked for about ${formatDuration(late)} (threshold ${thresholdMs}ms)`);
    },
    periodMs,
    { ref: false },
  );
  return () => time.clearInterval(timer);
}
