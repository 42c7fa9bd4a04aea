// Which AuthPolicy is in force when several exist: the oldest (by
// creationTimestamp, then name), like the first-come rule of an IngressClass
// default. The others report Ready=False reason Conflict and cause no action.
import type { AuthPolicy } from '../api/types.ts';

export function pickActive(policies: readonly AuthPolicy[]): AuthPolicy | undefined {
  const live = policies.filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp);
  return [...live].sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    return ta - tb || a.metadata.name.localeCompare(b.metadata.name);
  })[0];
}
