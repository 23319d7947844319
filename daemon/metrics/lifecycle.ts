import type { EventView } from '../core/schemas/event.js';
import type { DaemonMetrics } from './registry.js';

const seconds = (data: Record<string, unknown>): number | null => (typeof data.runSeconds === 'number' ? data.runSeconds : null);

/** Lifecycle metrics follow from the events the engine writes, so they can never disagree with them. */
export function observeLifecycle(metrics: DaemonMetrics, event: EventView): void {
  if (event.kind === 'host') {
    switch (event.type) {
      case 'InspectionReported': {
        const s = seconds(event.data);
        if (s !== null) metrics.inspectionDuration.observe(s);
        return;
      }
      case 'Booted': {
        const s = seconds(event.data);
        if (s !== null && event.data.first === true) metrics.provisioningDuration.observe(s);
        return;
      }
      case 'InspectionTimeout':
        metrics.inspectionFailures.inc({ reason: 'Timeout' });
        return;
      case 'ValidationFailed':
        metrics.inspectionFailures.inc({ reason: 'ValidationFailed' });
        return;
      case 'StepFailed':
        metrics.stepFailures.inc();
        return;
    }
  } else if (event.kind === 'machine' && event.type === 'Failed') {
    metrics.machineFailures.inc({ reason: typeof event.data.reason === 'string' ? event.data.reason : 'Unknown' });
  }
}
