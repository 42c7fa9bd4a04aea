// The areas the operator reconciles, in status order.
import { ConditionType } from '../api/reasons.ts';
import type { Area } from '../areas/area.ts';
import { nodeAuthorizationArea } from '../areas/nodeauth/index.ts';
import { notImplementedArea } from '../areas/not-implemented.ts';

export function allAreas(): Area[] {
  return [
    nodeAuthorizationArea(),
    notImplementedArea('legacyTokens', [ConditionType.LegacyTokensReady, ConditionType.WorkloadsRestarted]),
    notImplementedArea('clock', [ConditionType.ClockSynchronized]),
    notImplementedArea('boundTokens', [ConditionType.BoundTokensHealthy]),
  ];
}
