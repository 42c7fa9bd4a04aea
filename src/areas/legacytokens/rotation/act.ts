// The rotation's writes to Secrets, each as the plan's step lists it: blank a token for the tokens controller
// to re-issue in place (kube-controller-manager's tokens controller re-issues a Secret's token when its `token`
// key is empty, keeping the Secret's name: upstream pkg/controller/serviceaccount/tokens_controller.go,
// `needsToken := len(tokenData) == 0`), revive a token the cleaner invalidated, make or delete the canary,
// mark a rotation done. Every write to a judged Secret carries the resourceVersion the plan judged.
import { randomBytes } from 'node:crypto';
import * as annotations from '../../../api/annotations.ts';
import { EventReason } from '../../../api/reasons.ts';
import { collectionPath, objectPath, Resources } from '../../../kube/paths.ts';
import type { AreaContext } from '../../area.ts';
import type { LegacyTokensAction } from '../types.ts';
import { CANARY_PREFIX, canarySecret } from './canary.ts';
import type { RotationLedger } from './ledger.ts';

type Of<K extends LegacyTokensAction['kind']> = Extract<LegacyTokensAction, { kind: K }>;

export async function blank(ctx: AreaContext, a: Of<'rotate'>): Promise<void> {
  const path = objectPath(Resources.secrets, a.secret.name, a.secret.namespace);
  // One merge patch blanks the token and records the rotation; the resourceVersion
  // makes it a no-op (409) if the Secret changed since it was judged.
  await ctx.client.mergePatch(path, {
    metadata: {
      resourceVersion: a.secret.resourceVersion,
      annotations: {
        [annotations.ROTATION]: a.rotation,
        [annotations.ROTATION_STATE]: 'pending',
        [annotations.ROTATED_AT]: ctx.now().toISOString(),
        [annotations.ROTATED_FROM]: a.tokenHash ?? null,
        [annotations.ROTATED_UNDER]: a.apiservers,
        ...(a.request ? { [annotations.ROTATED_FOR_REQUEST]: a.request } : {}),
      },
    },
    data: { token: null },
  });
  // Both outcomes exist from the first blank in a namespace: the first failure is an increase the alert sees.
  for (const result of ['succeeded', 'failed']) ctx.metrics?.tokenRotations.inc({ namespace: a.secret.namespace, result }, 0);
  ctx.log.info('rotating token secret', { secret: `${a.secret.namespace}/${a.secret.name}`, rotation: a.rotation, triggers: a.triggers });
}

/** Under the version the plan judged: a Secret changed since (re-labelled, given another token) is a 409, judged again. */
export async function revive(ctx: AreaContext, a: Of<'revive'>): Promise<void> {
  await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
    metadata: { resourceVersion: a.secret.resourceVersion, labels: { [annotations.LEGACY_TOKEN_INVALID_SINCE]: null } },
  });
  await ctx.events?.record(
    ctx.policyRef,
    'Normal',
    EventReason.TokenRevived,
    `removed ${annotations.LEGACY_TOKEN_INVALID_SINCE} from secret ${a.secret.namespace}/${a.secret.name} (spec.legacyTokens.reviveInvalidated)`,
  );
}

/** The canary's create (named here, recorded in the ledger for the next reconcile to judge) or delete (gone already is fine). */
export async function canary(ctx: AreaContext, a: Of<'createCanary'> | Of<'deleteCanary'>, ledger: RotationLedger): Promise<void> {
  if (a.kind === 'deleteCanary') {
    await ctx.client.delete(objectPath(Resources.secrets, a.name, a.namespace)).catch(() => undefined);
    return;
  }
  const name = `${CANARY_PREFIX}${randomBytes(4).toString('hex')}`;
  await ctx.client.create(collectionPath(Resources.secrets, a.namespace), canarySecret(name, a.namespace));
  ledger.canaryCreated(name, ctx.now().getTime());
}

/** Marks a rotation done under the version the plan judged. */
export async function finish(ctx: AreaContext, a: Of<'finish'>): Promise<void> {
  await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
    metadata: { resourceVersion: a.secret.resourceVersion, annotations: { [annotations.ROTATION_STATE]: 'done' } },
  });
}
