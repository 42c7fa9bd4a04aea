//go:build tools

// Package tools pins kwok, which simulates kubelets (node heartbeats, leases,
// pods Running) so e2e tests and benchmarks can have hundreds of Nodes.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
