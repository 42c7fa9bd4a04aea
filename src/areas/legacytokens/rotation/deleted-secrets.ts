// Token Secrets seen deleted while this process watched, remembered for as long as a workload
// still uses one: kube-controller-manager's legacy-token cleaner (KEP-2799) deletes a Secret it
// invalidated a clean-up period ago when no Pod mounts it, but a Deployment scaled to zero (or a
// CronJob's next Job) may still name it, and its next Pod will not start. Nothing in the cluster
// says so afterwards: the Secret is simply gone.
import { sortedBy } from '../../../kube/order.ts';
import type { Informer } from '../../../runtime/informer.ts';
import type { TokenSecret } from '../caches.ts';

/** A token Secret as it was when it was deleted. */
export interface DeletedTokenSecret {
  secret: string;
  deletedAt: string;
  /** the legacy-token cleaner's invalid-since label it carried: the cleaner deleted it */
  invalidSince: string | undefined;
  lastUsed: string | undefined;
}

/** At most this many remembered; the oldest goes first. */
const MAX_REMEMBERED = 1000;

/** Made once per area at wiring time; fed by the token-Secret informer's delete events. */
export class DeletedTokenSecrets {
  private readonly deleted = new Map<string, DeletedTokenSecret>();
  private readonly watched = new WeakSet<object>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Listens to the informer's events (once per informer: a new leader term may bring a new one). */
  watch(informer: Pick<Informer<TokenSecret>, 'on'>): void {
    if (this.watched.has(informer)) return;
    this.watched.add(informer);
    informer.on((type, obj) => {
      const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (type !== 'delete') {
        this.deleted.delete(id); // created again under its name
        return;
      }
      this.deleted.set(id, { secret: id, deletedAt: new Date(this.now()).toISOString(), invalidSince: obj.invalidSince, lastUsed: obj.lastUsed });
      if (this.deleted.size > MAX_REMEMBERED) this.deleted.delete(this.deleted.keys().next().value ?? '');
    });
  }

  /** The deleted Secrets `inUse` says are still used; the others are forgotten (nothing left to report). */
  stillUsed(inUse: (secret: string) => boolean): DeletedTokenSecret[] {
    const out: DeletedTokenSecret[] = [];
    for (const [id, d] of this.deleted) {
      if (inUse(id)) out.push(d);
      else this.deleted.delete(id);
    }
    return sortedBy(out, (d) => d.secret);
  }
}
