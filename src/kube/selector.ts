// Label selector matching (metav1.LabelSelector semantics): every matchLabels
// pair and every matchExpressions requirement must hold; an empty selector
// matches everything.
import type { LabelSelector } from '../api/types.ts';

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        if (!has || value === undefined || !(r.values ?? []).includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && (r.values ?? []).includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
