import type { EventView } from '../core/schemas/event.js';
import type { DaemonMetrics } from './registry.js';

const KNOWN_REASONS = new Set(['ChecksumMismatch', 'DownloadFailed', 'NoTargetDisk', 'WriteFailed', 'KexecFailed', 'WipeFailed', 'ProvisioningTimeout', 'RamdiskFailed']);

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
      case 'InspectionFailed':
        metrics.inspectionFailures.inc({ reason: 'Failed' });
        return;
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
    // The reason may come from a ramdisk: only known values become label values, so the series stay few.
    const reason = typeof event.data.reason === 'string' && KNOWN_REASONS.has(event.data.reason) ? event.data.reason : 'Other';
    metrics.machineFailures.inc({ reason });
  }
}
