import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchEventLoop } from '../../src/event-loop-watch.js';
import { FakeTime } from '../helpers/fake-time.js';
import { createSinkLogger } from '../helpers/log-sink.js';

describe("debug mode's event-loop watch", () => {
  it('reports a block longer than the threshold once the loop runs again, and nothing while it runs freely', async () => {
    const time = new FakeTime();
    const sink = createSinkLogger('debug');
    const stop = watchEventLoop({ time, logger: sink.logger, thresholdMs: 100 });
    await time.advance(1000);
    assert.deepEqual(sink.lines(), [], 'on time: nothing to say');
    // Something holds the loop for 350 ms: the watch's timer cannot run until it is free.
    // Its timer was due 100 ms into the block, so it runs 250 ms late: that is what it reports.
    time.jump(350);
    await time.advance(0);
    assert.deepEqual(sink.lines(), ['event loop blocked for about 250ms (threshold 100ms)']);
    assert.deepEqual(sink.records[0]?.['blockedMs'], 250);
    assert.equal(sink.records[0]?.level, 40);
    // A block under the threshold is not reported.
    await time.advance(100);
    time.jump(90);
    await time.advance(100);
    assert.equal(sink.records.length, 1);
    stop();
    assert.deepEqual(time.pendingDelays(), [], 'stopping the watch clears its timer');
  });
});
