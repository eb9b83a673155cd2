import assert from 'node:assert/strict';
import { load } from 'js-yaml';
import { readTasks, type TaskDef, type TaskTable } from '../../src/config/tasks.js';

/** A checked task table from YAML text (the `tasks:` mapping's content). */
export function tasksFrom(yaml: string): TaskTable {
  const { tasks, issues } = readTasks(load(yaml));
  assert.deepEqual(issues, [], 'the test tasks must be valid');
  return tasks;
}

export function taskFrom(yaml: string, name: string): TaskDef {
  const task = tasksFrom(yaml).get(name);
  assert.ok(task, `no task ${name}`);
  return task;
}
