import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskCancelledError } from '../../src/errors.js';
import { Scheduler } from '../../src/scheduler.js';
import { FakeTime, realTurns as turns } from '../helpers/fake-time.js';
import { createSinkLogger } from '../helpers/log-sink.js';
import { tasksFrom } from '../helpers/tasks.js';

const SCENARIO_2 = `
operation:
  autostart: true
  steps: [{log: start operation}, {spawn: operationsub}, {log: operation1}, {sleep: 0.2},
          {log: operation2}, {sleep: 3}, {log: operation3}]
operationsub:
  steps: [{log: start operationsub}, {log: operationsub10}, {sleep: 1}, {log: operationsub11}]
`;

function setup(yaml: string) {
  const time = new FakeTime();
  const sink = createSinkLogger();
  const stops: string[] = [];
  const scheduler = new Scheduler(tasksFrom(yaml), { time, logger: sink.logger, onStop: (by) => stops.push(by), crash: (error) => assert.fail(error) });
  /** Info lines with the fake time they were logged at. */
  const timeline = (): string[] =>
    sink.records.filter((r) => r.level >= 30).map((r) => `${String(r['at'])} ${r.task ?? '-'}${r.step === undefined ? ':' : `[${r.step}]`} ${r.msg}`);
  // Stamp each record with the fake time it was logged at.
  const push = sink.records.push.bind(sink.records);
  sink.records.push = (...items) => push(...items.map((r) => ({ ...r, at: time.monotonicMs() })));
  return { time, sink, scheduler, stops, timeline };
}

describe('scheduler', () => {
  it("reproduces scenario 2's order and times: a spawned task starts on the next turn", async () => {
    const { time, scheduler, timeline } = setup(SCENARIO_2);
    scheduler.startAutostart();
    await turns();
    await time.advance(4000);
    assert.deepEqual(timeline(), [
      '0 operation[0] start operation',
      '0 operation[2] operation1',
      '0 operationsub[0] start operationsub',
      '0 operationsub[1] operationsub10',
      '200 operation[4] operation2',
      '1000 operationsub[3] operationsub11',
      '3200 operation[6] operation3',
    ]);
    assert.deepEqual(scheduler.running(), { tasks: [], more: 0 });
  });

  it('cancels a sleeping task at once: its next line never comes', async () => {
    const yaml = SCENARIO_2.replace('{sleep: 0.2},', '{sleep: 0.2}, {cancel: operationsub},');
    const { time, scheduler, timeline } = setup(yaml);
    scheduler.startAutostart();
    await time.advance(4000);
    const lines = timeline();
    assert.ok(lines.includes('200 operationsub[2] cancelled by operation[4]'), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('operationsub11')));
  });

  it('ignores a spawn of a task that is already running or about to start, and says so at debug level', async () => {
    const { time, scheduler, sink } = setup(`
a: {autostart: true, steps: [{spawn: b}, {spawn: b}, {sleep: 1}, {spawn: b}]}
b: {steps: [{log: b runs}, {sleep: 2}]}`);
    scheduler.startAutostart();
    await turns();
    await time.advance(1000);
    assert.equal(sink.records.filter((r) => r.msg === 'b runs').length, 1);
    const ignored = sink.records.filter((r) => r.msg.includes('already running'));
    assert.deepEqual(ignored.map((r) => [r.level, r.task, r.msg]), [
      [20, 'b', 'already running; spawn by a[1] ignored'],
      [20, 'b', 'already running; spawn by a[3] ignored'],
    ]);
  });

  it('a task cancelled before its first turn never runs a step', async () => {
    const { time, scheduler, sink } = setup(`
a: {autostart: true, steps: [{spawn: b}, {cancel: b}, {sleep: 1}]}
b: {steps: [{log: b runs}]}`);
    scheduler.startAutostart();
    await time.advance(1000);
    assert.ok(!sink.records.some((r) => r.msg === 'b runs'));
    assert.ok(sink.records.some((r) => r.task === 'b' && r.msg === 'cancelled by a[1] before it started'));
  });

  it('a failing task does not take the others down', async () => {
    const { time, scheduler, sink } = setup(`
a: {autostart: true, steps: [{sleep: 0.1}, {fail: broken}]}
b: {autostart: true, repeat: 3, steps: [{sleep: 0.1}, {log: b tick}]}`);
    scheduler.startAutostart();
    await time.advance(1000);
    assert.equal(sink.records.filter((r) => r.msg === 'b tick').length, 3);
    assert.ok(sink.records.some((r) => r.task === 'a' && r.level === 50));
  });

  it('asks the daemon to stop once the stopping task has ended', async () => {
    const { time, scheduler, stops } = setup(`a: {autostart: true, steps: [{sleep: 0.5}, {stop: true}]}`);
    scheduler.startAutostart();
    await time.advance(499);
    assert.deepEqual(stops, []);
    await time.advance(1);
    assert.deepEqual(stops, ['a[1]']);
    assert.deepEqual(scheduler.running(), { tasks: [], more: 0 });
  });

  it('cancelAll cancels every task and waits until each has logged it', async () => {
    const { time, scheduler, sink } = setup(`
a: {autostart: true, repeat: forever, steps: [{sleep: 10}]}
b: {autostart: true, steps: [{sleep: 100}]}`);
    scheduler.startAutostart();
    await time.advance(1);
    await scheduler.cancelAll(new TaskCancelledError('cancelled: stopping (SIGTERM)'));
    assert.deepEqual(
      sink.records.filter((r) => r.msg.startsWith('cancelled')).map((r) => `${r.task}[${r.step}] ${r.msg}`).sort(),
      ['a[0] cancelled: stopping (SIGTERM)', 'b[0] cancelled: stopping (SIGTERM)'],
    );
    assert.deepEqual(scheduler.running(), { tasks: [], more: 0 });
    scheduler.spawn('a', 'test');
    assert.deepEqual(scheduler.running(), { tasks: [], more: 0 }, 'nothing starts after cancelAll');
  });

  it('applies a reload: keeps unchanged tasks, restarts changed ones, cancels removed ones, starts new autostart ones', async () => {
    const { time, scheduler, sink } = setup(`
keep: {autostart: true, repeat: forever, steps: [{sleep: 1}, {log: keep}]}
change: {autostart: true, repeat: forever, steps: [{sleep: 1}, {log: change}]}
remove: {autostart: true, repeat: forever, steps: [{sleep: 1}, {log: remove}]}`);
    scheduler.startAutostart();
    await time.advance(1500);
    const changes = scheduler.apply(
      tasksFrom(`
keep: {autostart: true, repeat: forever, steps: [{sleep: 1}, {log: keep}]}
change: {autostart: true, repeat: forever, steps: [{sleep: 0.25}, {log: changed}]}
fresh: {autostart: true, repeat: forever, steps: [{sleep: 1}, {log: fresh}]}`),
    );
    assert.deepEqual(changes, { kept: ['keep'], restarted: ['change'], cancelled: ['remove'], started: ['fresh'] });
    await turns();
    await time.advance(500);
    const at = (msg: string): number => sink.records.filter((r) => r.msg === msg).length;
    assert.equal(at('keep'), 2, 'keep runs on its old schedule: ticks at 1000 and 2000');
    assert.equal(at('changed'), 2, 'change restarted with its new timing: ticks at 1750 and 2000');
    assert.equal(at('remove'), 1);
    assert.ok(sink.records.some((r) => r.task === 'remove' && r.msg === 'cancelled: removed from the config by a reload'));
    assert.ok(sink.records.some((r) => r.task === 'change' && r.msg === 'cancelled: its definition changed; a reload starts it again'));
    assert.deepEqual(scheduler.running().tasks.map((r) => r.name).sort(), ['change', 'fresh', 'keep']);
  });
});
