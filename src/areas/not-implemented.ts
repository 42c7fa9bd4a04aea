// An area whose reconciler has not been built yet: it reports Unknown with
// reason NotImplemented, never a fake True.
import { Reason } from '../api/reasons.ts';
import type { Area, AreaReport } from './area.ts';

export function notImplementedArea(name: Area['name'], conditionTypes: readonly string[]): Area<undefined, AreaReport> {
  const report: AreaReport = {
    conditions: conditionTypes.map((type) => ({ type, status: 'Unknown', reason: Reason.NotImplemented, message: `the ${name} area is not implemented in this version of the operator` })),
    summary: {},
    findings: [],
  };
  return {
    name,
    conditionTypes,
    caches: [],
    observe: () => Promise.resolve(undefined),
    plan: () => report,
    report: (r) => r,
  };
}
