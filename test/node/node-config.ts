// The configuration files of one real node: containerd's (version 3 TOML), a CNI
// network list, and the kubelet's KubeletConfiguration. Every path they name is
// inside the node's own directory; ports are free loopback ports.
import { stringify } from 'yaml';

export const PAUSE_IMAGE = 'registry.local/authpolicy/pause:1';
export const TOKENCALL_IMAGE = 'registry.local/authpolicy/tokencall:1';

export interface NodePaths {
  /** the node's directory (under the OS temp dir) */
  dir: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  runcRoot: string;
  cniConfDir: string;
  cniBinDir: string;
  kubeletRoot: string;
  podLogs: string;
  runc: string;
}

const q = (s: string): string => JSON.stringify(s); // a TOML basic string is a JSON string for these paths

/**
 * containerd with the CRI plugin, runc (Debian's) under the cgroupfs driver, the
 * native snapshotter (no overlay mounts; the images are two small files), the pause
 * image built here, and no plugin that writes outside the node's directory
 * (opt writes /opt/containerd; NRI listens under /var/run/nri).
 */
export function containerdConfig(p: NodePaths): string {
  return `version = 3
root = ${q(p.containerdRoot)}
state = ${q(p.containerdState)}
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(p.containerdSocket)}

[ttrpc]
  address = ${q(`${p.containerdSocket}.ttrpc`)}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${q(PAUSE_IMAGE)}

[plugins."io.containerd.cri.v1.runtime"]
  # This machine's root lacks CAP_SYS_RESOURCE: runc could not lower a sandbox's oom_score_adj to -998.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      snapshotter = "native"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = ${q(p.runc)}
        Root = ${q(p.runcRoot)}
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [${q(p.cniBinDir)}]
    conf_dir = ${q(p.cniConfDir)}
    max_conf_num = 1
`;
}

/**
 * A network list with the loopback plugin only: containerd reports its network
 * ready once it has loaded one list (the kubelet's Node goes Ready on that), while
 * the test's Pods all use the host's network, so no bridge, address range or
 * network namespace is ever made. A Pod that asked for its own network would get a
 * namespace with a loopback interface and nothing else.
 */
export function cniConfig(): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'authpolicy-loopback-only', plugins: [{ type: 'loopback' }] }, null, 2);
}

export interface KubeletSettings {
  containerdSocket: string;
  cgroupRoot: string;
  port: number;
  healthzPort: number;
  clientCAFile: string;
  podLogs: string;
}

/** The kubelet's configuration (kubelet.config.k8s.io/v1beta1). */
export function kubeletConfig(s: KubeletSettings): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine runs cgroup v1; kubelet 1.35+ refuses it unless told not to (KEP-5573).
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    // The test's own cgroup tree (created before, removed after): pods' cgroups go under it.
    cgroupRoot: s.cgroupRoot,
    cgroupsPerQOS: true,
    containerRuntimeEndpoint: `unix://${s.containerdSocket}`,
    address: '127.0.0.1',
    port: s.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: s.healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: s.clientCAFile } },
    authorization: { mode: 'Webhook' },
    podLogsDir: s.podLogs,
    resolvConf: '',
    makeIPTablesUtilChains: false,
    failSwapOn: false,
    // The imported images are never pulled again: never collect them, and never evict for this shared machine's disk.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    // The defaults a kubeadm node runs with: status every 10 s, a 40 s Lease renewed every 10 s.
    nodeStatusUpdateFrequency: '10s',
    nodeLeaseDurationSeconds: 40,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    registerNode: true,
  });
}
