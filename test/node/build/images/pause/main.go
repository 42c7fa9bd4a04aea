// Command pause holds a Pod's sandbox (its namespaces) open until the runtime
// stops it, as registry.k8s.io/pause does; built here because images cannot be
// pulled on the test machine.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	// As PID 1 of the Pod it also reaps orphans: SIGCHLD is ignored, so the kernel reaps them.
	signal.Ignore(syscall.SIGCHLD)
	<-stop
}
