//go:build tools

// Package tools pins etcd's server, whose main package is its module root.
// `go install go.etcd.io/etcd/server/v3@v3.6.16` refuses because that module's
// go.mod has replace lines, so the build script runs `go build` inside this module.
package tools

import _ "go.etcd.io/etcd/server/v3"
