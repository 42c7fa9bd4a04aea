// Kubernetes Events on the objects the operator acts on (what `kubectl describe`
// shows). Identical events within ten minutes are aggregated into one with a
// growing count, like client-go's EventCorrelator, so a retry loop cannot flood
// etcd. Recording never fails a reconcile: errors are logged and dropped.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../kube/paths.ts';
import type { Logger } from './log.ts';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
}

export type EventType = 'Normal' | 'Warning';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastAt: number;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  /** the last message recordChange recorded per object, type and reason */
  private readonly lastMessage = new Map<string, string>();
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;

  constructor(client: KubeClient, log: Logger, component = 'authpolicy-operator') {
    this.client = client;
    this.log = log;
    this.component = component;
  }

  async record(object: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const ns = object.namespace ?? 'default';
    const key = [object.kind, object.namespace ?? '', object.name, object.uid ?? '', type, reason, text].join('\u0000');
    const now = new Date();
    try {
      const prev = this.seen.get(key);
      if (prev && now.getTime() - prev.lastAt < AGGREGATE_WINDOW_MS) {
        prev.count++;
        prev.lastAt = now.getTime();
        await this.client.mergePatch(objectPath(Resources.events, prev.name, prev.namespace), { count: prev.count, lastTimestamp: now.toISOString() });
        return;
      }
      const name = `${object.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
      await this.client.create(collectionPath(Resources.events, ns), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: object,
        type,
        reason,
        message: text,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: now.toISOString(),
        lastTimestamp: now.toISOString(),
        count: 1,
      });
      this.seen.set(key, { name, namespace: ns, count: 1, firstTimestamp: now.toISOString(), lastAt: now.getTime() });
      if (this.seen.size > 1000) this.prune(now.getTime());
    } catch (err) {
      this.log.warn('could not record event', { object: `${object.kind}/${object.name}`, reason, error: describeError(err) });
    }
  }

  /**
   * Records only when the message differs from the last one this recorder recorded with the same object,
   * type and reason: what a plan would do is said once per change of plan, not once per reconcile.
   */
  async recordChange(object: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    const key = [object.kind, object.namespace ?? '', object.name, object.uid ?? '', type, reason].join('\u0000');
    if (this.lastMessage.get(key) === message) return;
    this.lastMessage.set(key, message);
    if (this.lastMessage.size > 1000) this.lastMessage.clear();
    await this.record(object, type, reason, message);
  }

  private prune(now: number): void {
    for (const [k, v] of this.seen) if (now - v.lastAt >= AGGREGATE_WINDOW_MS) this.seen.delete(k);
  }
}
