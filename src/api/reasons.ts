// Condition types and reasons, in one place (CamelCase, as the API conventions ask).

export const ConditionType = {
  Ready: 'Ready',
  NodeAuthorizationReady: 'NodeAuthorizationReady',
  LegacyTokensReady: 'LegacyTokensReady',
  WorkloadsRestarted: 'WorkloadsRestarted',
  ClockSynchronized: 'ClockSynchronized',
  BoundTokensHealthy: 'BoundTokensHealthy',
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** The order conditions are listed in status (Ready first, then the areas). */
export const CONDITION_ORDER: readonly string[] = Object.values(ConditionType);

export const Reason = {
  // Ready
  AllAreasReady: 'AllAreasReady',
  AreasNotReady: 'AreasNotReady',
  AreasUnknown: 'AreasUnknown',
  Conflict: 'Conflict',
  ReconcileError: 'ReconcileError',
  // any area
  Unmanaged: 'Unmanaged',
  DryRun: 'DryRun',
  Forbidden: 'Forbidden',
  ObserveFailed: 'ObserveFailed',
  // nodeAuthorization
  NodeAuthorizer: 'NodeAuthorizer',
  NodeAuthorizerDisabled: 'NodeAuthorizerDisabled',
  LegacyBindingFallback: 'LegacyBindingFallback',
  LegacyBinding: 'LegacyBinding',
  LegacyBindingHasExtraSubjects: 'LegacyBindingHasExtraSubjects',
  KubeletsDenied: 'KubeletsDenied',
  NodeRestrictionDisabled: 'NodeRestrictionDisabled',
  NoNodes: 'NoNodes',
  // legacyTokens
  TokensValid: 'TokensValid',
  TokensInvalid: 'TokensInvalid',
  Rotating: 'Rotating',
  TokenControllerUnavailable: 'TokenControllerUnavailable',
  NoLegacyTokens: 'NoLegacyTokens',
  RestartsPending: 'RestartsPending',
  RolloutTimedOut: 'RolloutTimedOut',
  AllRestarted: 'AllRestarted',
  NothingToRestart: 'NothingToRestart',
  RestartsDisabled: 'RestartsDisabled',
  CleanerOwned: 'CleanerOwned',
  ConsumersNotRestarted: 'ConsumersNotRestarted',
  ManualRestartRequired: 'ManualRestartRequired',
  LegacyTokensNotReissuable: 'LegacyTokensNotReissuable',
  TokensUnjudged: 'TokensUnjudged',
  DeletedSecretReferenced: 'DeletedSecretReferenced',
  // clock
  ClocksInSync: 'ClocksInSync',
  ClockSkewDetected: 'ClockSkewDetected',
  OperatorClockSkewed: 'OperatorClockSkewed',
  NoClockData: 'NoClockData',
  // boundTokens
  NoStaleTokens: 'NoStaleTokens',
  StaleTokensInUse: 'StaleTokensInUse',
  LegacyTokensMounted: 'LegacyTokensMounted',
  AuditSilent: 'AuditSilent',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** What the legacy-token plan decides for one token Secret (the reason of its Secret rule's verdict). */
export const SecretDecision = {
  Terminating: 'Terminating',
  Invalidated: 'Invalidated',
  Revive: 'Revive',
  Orphaned: 'Orphaned',
  Unused: 'Unused',
  AwaitingToken: 'AwaitingToken',
  Undecided: 'Undecided',
  ReissuedRejected: 'ReissuedRejected',
  Rotate: 'Rotate',
  NotReissuable: 'NotReissuable',
  Valid: 'Valid',
  TriggerExcluded: 'TriggerExcluded',
} as const;

/**
 * How a legacy-token rotation goes on this reconcile (the reason of its pacing rules' verdicts): whether the
 * tokens controller is proven enough to blank a live Secret, and how many may be blank at once.
 */
export const RotationPace = {
  // the gate before any live Secret is blanked (TokenControllerUnavailable when it holds: Reason.TokenControllerUnavailable)
  DryRun: 'DryRun',
  NothingToBlank: 'NothingToBlank',
  TokensControllerProven: 'TokensControllerProven',
  CanaryFilled: 'CanaryFilled',
  AwaitingCanary: 'AwaitingCanary',
  ProvingTokensController: 'ProvingTokensController',
  // the batch: how many Secrets may be blank at once
  FirstLiveSecretAlone: 'FirstLiveSecretAlone',
  RefusedTokensMany: 'RefusedTokensMany',
  WorkingTokensFew: 'WorkingTokensFew',
} as const;

/** The reasons of the Events the areas record (kubectl get events --field-selector reason=...). */
export const EventReason = {
  DryRun: 'DryRun',
  ActionFailed: 'ActionFailed',
  // nodeAuthorization
  LegacyBindingCreated: 'LegacyBindingCreated',
  LegacyBindingRepaired: 'LegacyBindingRepaired',
  LegacyBindingDeleted: 'LegacyBindingDeleted',
  // legacyTokens
  TokenRotated: 'TokenRotated',
  TokenRevived: 'TokenRevived',
  TokenControllerUnavailable: 'TokenControllerUnavailable',
  WorkloadRestarted: 'WorkloadRestarted',
  RotationFinished: 'RotationFinished',
} as const;
