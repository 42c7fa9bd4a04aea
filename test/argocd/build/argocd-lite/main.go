// argocd-lite is Argo CD's multi-call binary (github.com/argoproj/argo-cd/v3/cmd/main.go)
// cut down to the two components the e2e runs, so it compiles without the API
// server, UI, CLI, notifications, ApplicationSet or Dex:
//
//	argocd-lite application-controller [flags]   (or called as argocd-application-controller)
//	argocd-lite repo-server [flags]              (or called as argocd-repo-server)
//
// Each runs upstream's own cobra command, unchanged.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	// As upstream's main: klog follows the configured log level and format.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "argocd-lite" && len(args) > 0 {
		name, args = "argocd-"+args[0], args[1:]
	}
	var command *cobra.Command
	switch name {
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	default:
		fmt.Fprintln(os.Stderr, "usage: argocd-lite application-controller|repo-server [flags]")
		os.Exit(2)
	}
	command.SetArgs(args)
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
