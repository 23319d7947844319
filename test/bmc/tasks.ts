import type { JsonObject } from './tree.js';
import type { TaskFaults } from './types.js';

export const TASKS_PATH = '/redfish/v1/TaskService/Tasks';
export const MONITORS_PATH = '/redfish/v1/TaskService/TaskMonitors';
const KEEP = 256;

type TaskState = 'Running' | 'Completed' | 'Exception';

interface Task {
  id: string;
  kind: 'reset' | 'patch';
  config: TaskFaults;
  polls: number;
  state: TaskState;
  startedAt: string;
  endedAt: string | null;
  /** The deferred operation: runs when the task completes, so a client that never polls never sees the effect. */
  effect: () => void;
}

export type TaskPoll = { found: false } | { found: true; state: TaskState; body: JsonObject; retryAfterSeconds: number | null };

/** 202-style operations of one BMC. Progress is counted in polls, not time, so tests are deterministic. */
export class TaskStore {
  private readonly tasks = new Map<string, Task>();
  private next = 1;

  create(kind: 'reset' | 'patch', config: TaskFaults, effect: () => void): { id: string; taskPath: string; monitorPath: string; body: JsonObject } {
    // iDRAC-style job ids: never collide with the numeric task ids mockups ship (sushy-tools has 42).
    const id = `JID_${String(this.next++).padStart(12, '0')}`;
    const task: Task = { id, kind, config, polls: 0, state: 'Running', startedAt: new Date().toISOString(), endedAt: null, effect };
    this.tasks.set(id, task);
    if (this.tasks.size > KEEP) {
      const oldest = this.tasks.keys().next().value;
      if (oldest !== undefined) this.tasks.delete(oldest);
    }
    return { id, taskPath: `${TASKS_PATH}/${id}`, monitorPath: `${MONITORS_PATH}/${id}`, body: render(task) };
  }

  /** Ids are matched case-insensitively: lower-cased links (quirk 15) must still reach the task. */
  has(id: string): boolean {
    return this.tasks.has(id.toUpperCase());
  }

  poll(id: string): TaskPoll {
    const task = this.tasks.get(id.toUpperCase());
    if (!task) return { found: false };
    task.polls++;
    if (task.polls <= task.config.notFoundPolls) return { found: false };
    if (task.state === 'Running' && task.polls - task.config.notFoundPolls > task.config.runningPolls) {
      task.endedAt = new Date().toISOString();
      if (task.config.fail) {
        task.state = 'Exception';
      } else {
        task.state = 'Completed';
        task.effect();
      }
    }
    return { found: true, state: task.state, body: render(task), retryAfterSeconds: task.config.retryAfterSeconds };
  }
}

function render(task: Task): JsonObject {
  const done = task.state !== 'Running';
  const percent = done ? 100 : Math.min(90, 10 * Math.max(1, task.polls - task.config.notFoundPolls));
  return {
    '@odata.id': `${TASKS_PATH}/${task.id}`,
    '@odata.type': '#Task.v1_7_0.Task',
    Id: task.id,
    Name: `Task ${task.id} (${task.kind})`,
    TaskState: task.state,
    TaskStatus: task.state === 'Exception' ? 'Critical' : 'OK',
    PercentComplete: percent,
    StartTime: task.startedAt,
    ...(task.endedAt ? { EndTime: task.endedAt } : {}),
    TaskMonitor: `${MONITORS_PATH}/${task.id}`,
    Messages: task.state === 'Exception' ? [{ MessageId: 'Base.1.22.InternalError', Message: 'The task failed (injected).', Severity: 'Critical' }] : [],
  };
}
