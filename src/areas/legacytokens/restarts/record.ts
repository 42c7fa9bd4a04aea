// What this process restarted, kept until the workload cache shows it: shared by
// observe (which treats those restarts as in flight) and act (which records them),
// so neither imports the other.

/**
 * Restarts this process made that the workload cache may not show yet: until it
 * does, observe treats them as in flight, so a quick second reconcile can neither
 * restart the same workload again nor start more rollouts than allowed.
 */
export type RecentRestarts = Map<string, { generation: number; restartedAt: string; rotations: string[] }>;

export const restartKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
