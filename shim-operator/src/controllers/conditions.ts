import type { Condition } from '../api/index.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

/**
 * Sets one condition in a list, as metav1.Condition wants: lastTransitionTime moves only when the
 * status changes, so "since when" stays true across reconciles that change only the message.
 */
export function setCondition(list: Condition[] | undefined, input: ConditionInput, generation: number | undefined, now = new Date()): Condition[] {
  const existing = (list ?? []).find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: (input.message ?? '').slice(0, 32_768),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return [...(list ?? []).filter((c) => c.type !== input.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export const conditionOf = (list: Condition[] | undefined, type: string): Condition | undefined => list?.find((c) => c.type === type);
