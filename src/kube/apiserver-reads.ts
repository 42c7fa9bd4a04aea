// What the areas read from the API server about itself (its static pod's flags, its /metrics), each
// at most every 30 s however many areas ask: made once at wiring time (src/policy/areas.ts) and handed
// to the areas, so the memos are dependencies, not module state.
import { ApiserverFlagsReader } from './apiserver-flags.ts';
import { ApiserverMetricsReader } from './apiserver-metrics.ts';

export interface ApiserverReads {
  flags: ApiserverFlagsReader;
  metrics: ApiserverMetricsReader;
}

/** One per operator process (and one per `check`). */
export function apiserverReads(): ApiserverReads {
  return { flags: new ApiserverFlagsReader(), metrics: new ApiserverMetricsReader() };
}
