// Cluster sizes and presets. A preset lists sizes run one after another on the same
// control plane, the cluster growing from one size to the next (cost growth).

export interface Size {
  name: string;
  /** kwok Nodes, each with a Lease kwok renews every 10 s, as a kubelet does */
  nodes: number;
  namespaces: number;
  /** legacy token Secrets (kubernetes.io/service-account-token), spread over the namespaces */
  secrets: number;
  /** one-replica Deployments, each mounting one or two of the Secrets of its namespace */
  deployments: number;
  /** Pods in all: the Deployments' plus bare Pods up to this number */
  pods: number;
}

export interface Preset {
  name: string;
  sizes: Size[];
  /** idle measurement after Ready */
  idleSeconds: number;
  /** per contender: a rotation not finished by then is reported unfinished */
  rotationTimeoutSeconds: number;
}

const size = (nodes: number, secrets: number, deployments: number, pods: number, namespaces = 100): Size => ({
  name: `${nodes}n-${secrets}s-${deployments}d-${pods}p`,
  nodes,
  namespaces,
  secrets,
  deployments,
  pods,
});

export const PRESETS: Record<string, Preset> = {
  // About 6 minutes on 2 cores: proves the whole pipeline, figures are indicative only.
  // Idle 60 s: long enough for four lease renewals at config/manager's 15 s retry period.
  quick: { name: 'quick', sizes: [size(40, 60, 16, 60, 4)], idleSeconds: 60, rotationTimeoutSeconds: 120 },
  // Three small sizes on one cluster: how memory, requests and time grow (about 15 minutes on 2 cores).
  growth: {
    name: 'growth',
    sizes: [size(50, 100, 25, 100, 10), size(100, 200, 50, 200, 10), size(200, 400, 100, 400, 10)],
    idleSeconds: 60,
    rotationTimeoutSeconds: 300,
  },
  // The sizes: 200/500/100, 1,000/2,500/500 and the default 2,000/5,000/1,000 with 10,000 Pods.
  default: {
    name: 'default',
    sizes: [size(200, 500, 100, 1000), size(1000, 2500, 500, 5000), size(2000, 5000, 1000, 10000)],
    idleSeconds: 300,
    rotationTimeoutSeconds: 1800,
  },
  large: { name: 'large', sizes: [size(5000, 10000, 2000, 30000)], idleSeconds: 300, rotationTimeoutSeconds: 3600 },
};
