// argocd-health-test runs a resource health check (health.lua) through Argo CD's
// own Lua code, github.com/argoproj/argo-cd/v3/util/lua at the version go.mod
// pins: not a copy of it.
//
//	argocd-health-test [--use-open-libs] DIR
//	    DIR is laid out as Argo CD's resource_customizations/<group>/<kind>/:
//	    health.lua, health_test.yaml and testdata/. Prints one JSON line per
//	    health_test.yaml entry ({inputPath, want, got[, error]}) and exits 1 when
//	    any entry's status or message differs or the script fails.
//	argocd-health-test [--use-open-libs] --eval SCRIPT OBJECT.yaml
//	    Prints the {status, message} the script gives one object.
//
// Without --use-open-libs a check runs as the application controller runs one
// installed into argocd-cm (resource.customizations.health.<group>_<kind>):
// lua.ResourceHealthOverrides.GetResourceHealth, the standard libraries closed.
// With it, as upstream's TestLuaHealthScript (util/lua/health_test.go) runs the
// built-in checks: lua.VM{UseOpenLibs: true}.ExecuteHealthLua.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/argoproj/gitops-engine/pkg/health"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
)

// testStructure is util/lua/health_test.go's TestStructure.
type testStructure struct {
	Tests []struct {
		InputPath    string              `json:"inputPath"`
		HealthStatus health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type line struct {
	InputPath string               `json:"inputPath"`
	Want      health.HealthStatus  `json:"want"`
	Got       *health.HealthStatus `json:"got,omitempty"`
	Error     string               `json:"error,omitempty"`
}

func readObject(path string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// evaluate gives the object's health as Argo CD computes it with this script.
func evaluate(obj *unstructured.Unstructured, script string, openLibs bool) (*health.HealthStatus, error) {
	if openLibs {
		return lua.VM{UseOpenLibs: true}.ExecuteHealthLua(obj, script)
	}
	key := lua.GetConfigMapKey(obj.GroupVersionKind())
	overrides := lua.ResourceHealthOverrides{key: appv1.ResourceOverride{HealthLua: script}}
	return overrides.GetResourceHealth(obj)
}

func runDir(dir string, openLibs bool) (bool, error) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		return false, err
	}
	var tests testStructure
	if err := yaml.Unmarshal(data, &tests); err != nil {
		return false, fmt.Errorf("health_test.yaml: %w", err)
	}
	ok := true
	out := json.NewEncoder(os.Stdout)
	for _, t := range tests.Tests {
		l := line{InputPath: t.InputPath, Want: t.HealthStatus}
		obj, err := readObject(filepath.Join(dir, t.InputPath))
		if err == nil {
			l.Got, err = evaluate(obj, string(script), openLibs)
		}
		if err != nil {
			l.Error = err.Error()
		}
		if l.Got == nil || *l.Got != l.Want {
			ok = false
		}
		if err := out.Encode(l); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func main() {
	openLibs := flag.Bool("use-open-libs", false, "open the standard Lua libraries, as TestLuaHealthScript does for built-in checks")
	eval := flag.String("eval", "", "evaluate this script on the one OBJECT.yaml given")
	flag.Parse()
	err := errors.New("usage: argocd-health-test [--use-open-libs] DIR | argocd-health-test [--use-open-libs] --eval SCRIPT OBJECT.yaml")
	if flag.NArg() == 1 && *eval != "" {
		var script []byte
		var obj *unstructured.Unstructured
		var status *health.HealthStatus
		if script, err = os.ReadFile(*eval); err == nil {
			if obj, err = readObject(flag.Arg(0)); err == nil {
				if status, err = evaluate(obj, string(script), *openLibs); err == nil {
					err = json.NewEncoder(os.Stdout).Encode(status)
				}
			}
		}
	} else if flag.NArg() == 1 {
		var ok bool
		if ok, err = runDir(flag.Arg(0), *openLibs); err == nil && !ok {
			fmt.Fprintln(os.Stderr, "argocd-health-test: some health_test.yaml entries did not match")
			os.Exit(1)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health-test: %v\n", err)
		os.Exit(1)
	}
}
