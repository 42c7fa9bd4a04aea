// The areas the operator reconciles, in status order.
import { ConditionType } from '../api/reasons.ts';
import type { Area } from '../areas/area.ts';
import { notImplementedArea } from '../areas/not-implemented.ts';

export function allAreas(): Area[] {
  return [
    notImplementedArea('nodeAuthorization', [ConditionType.NodeAuthorizationReady]),
    notImplementedArea('legacyTokens', [ConditionType.LegacyTokensReady, ConditionType.WorkloadsRestarted]),
    notImplementedArea('clock', [ConditionType.ClockSynchronized]),
    notImplementedArea('boundTokens', [ConditionType.BoundTokensHealthy]),
  ];
}
