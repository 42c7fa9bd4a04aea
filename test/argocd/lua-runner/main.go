// lua-runner evaluates an Argo CD resource health check (health.lua) under
// gopher-lua, the interpreter Argo CD embeds, with the VM set up the way
// Argo CD's util/lua/lua.go sets it up (VM.runLua and VM.ExecuteHealthLua), so
// a script that passes here behaves the same in the application controller.
//
//	lua-runner [--use-open-libs] DIR
//	    DIR holds health.lua, health_test.yaml and testdata/. Prints one JSON
//	    line per health_test.yaml entry ({inputPath, want, got[, error]}) and
//	    exits 1 when any entry's status or message differs or the script fails,
//	    like Argo CD's TestLuaHealthScript (util/lua/health_test.go).
//	lua-runner [--use-open-libs] --eval SCRIPT OBJECT.yaml
//	    Prints the {status, message} the script returns for one object.
//
// Without --use-open-libs the VM is the one a check from argocd-cm
// (resource.customizations.health.<group>_<kind>) runs in: the standard Lua
// libraries closed, only package, base, table and Argo CD's safe os
// (time, date). --use-open-libs is how TestLuaHealthScript runs the built-in
// checks and what resource.customizations.useOpenLibs.<group>_<kind> turns on.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

// HealthStatus is gitops-engine's pkg/health.HealthStatus: what a health check returns.
type HealthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// The codes isValidHealthStatusCode accepts (gitops-engine pkg/health).
var validStatus = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

const (
	incorrectReturnType = "expect %s output from Lua script, not %s"
	invalidHealthStatus = "Lua returned an invalid health status"
	scriptTimeout       = 1 * time.Second // runLua: context.WithTimeout(…, 1*time.Second)
)

type vm struct{ useOpenLibs bool }

// runLua mirrors Argo CD's VM.runLua: a state with the standard libraries
// skipped unless useOpenLibs, then package, base, table and the safe os opened
// explicitly, os also preloaded for require("os"), a 1 s deadline, and the
// object as the global `obj`.
func (v vm) runLua(obj map[string]any, script string) (*lua.LState, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !v.useOpenLibs})
	defer l.Close()
	for _, pair := range []struct {
		n string
		f lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(pair.f), NRet: 0, Protect: true}, lua.LString(pair.n)); err != nil {
			panic(err)
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	err := l.DoString(script)
	return l, err
}

// executeHealthLua mirrors Argo CD's VM.ExecuteHealthLua: the value left on the
// stack is JSON-encoded with layeh.com/gopher-json and decoded into a
// HealthStatus; an unknown status becomes Unknown, nil or an empty table an
// empty status, anything else an error.
func (v vm) executeHealthLua(obj map[string]any, script string) (*HealthStatus, error) {
	l, err := v.runLua(obj, script)
	if err != nil {
		return nil, err
	}
	returnValue := l.Get(-1)
	switch returnValue.Type() {
	case lua.LTTable:
		jsonBytes, err := luajson.Encode(returnValue)
		if err != nil {
			return nil, err
		}
		hs := &HealthStatus{}
		if err := json.Unmarshal(jsonBytes, hs); err != nil {
			typeError := &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeOf(hs)}
			if errors.As(err, &typeError) {
				return &HealthStatus{}, nil
			}
			return nil, err
		}
		if !validStatus[hs.Status] {
			return &HealthStatus{Status: "Unknown", Message: invalidHealthStatus}, nil
		}
		return hs, nil
	case lua.LTNil:
		return &HealthStatus{}, nil
	}
	return nil, fmt.Errorf(incorrectReturnType, "table", returnValue.Type().String())
}

// decodeValue mirrors Argo CD's decodeValue: JSON-shaped Go values to Lua
// values (arrays 1-based, maps keyed by string, json.Number as a string).
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch converted := value.(type) {
	case bool:
		return lua.LBool(converted)
	case float64:
		return lua.LNumber(converted)
	case string:
		return lua.LString(converted)
	case json.Number:
		return lua.LString(converted)
	case int:
		return lua.LNumber(converted)
	case int32:
		return lua.LNumber(converted)
	case int64:
		return lua.LNumber(converted)
	case []any:
		arr := l.CreateTable(len(converted), 0)
		for _, item := range converted {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(converted))
		for key, item := range converted {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// openSafeOs and safeOsLoader mirror Argo CD's util/lua/oslib_safe.go: only
// os.time and os.date. Upstream's OpenSafeOs calls
// RegisterModule(lua.TabLibName, …): the `table` module already exists, and
// gopher-lua v1.1.2's RegisterModule leaves an existing module alone, so with
// the libraries closed the global `os` is nil and only require("os") yields
// the safe functions. Kept as upstream has it.
func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, osFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), osFuncs))
	return 1
}

var osFuncs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	tbl := l.CheckTable(1)
	field := func(key string, def int) int {
		if n, ok := tbl.RawGetString(key).(lua.LNumber); ok {
			return int(n)
		}
		return def
	}
	t := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1), field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(t.Unix()))
	return 1
}

// osDate: upstream's os.date, with the same strftime flags and "*t" tables
// (its flag scanner written as a plain loop).
func osDate(l *lua.LState) int {
	t := time.Now()
	cfmt := "%c"
	if l.GetTop() >= 1 {
		cfmt = l.CheckString(1)
		if strings.HasPrefix(cfmt, "!") {
			t = time.Now().UTC()
			cfmt = strings.TrimLeft(cfmt, "!")
		}
		if l.GetTop() >= 2 {
			t = time.Unix(l.CheckInt64(2), 0)
		}
		if strings.HasPrefix(cfmt, "*t") {
			ret := l.NewTable()
			for k, n := range map[string]int{"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(), "min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": 0} {
				ret.RawSetString(k, lua.LNumber(n))
			}
			ret.RawSetString("isdst", lua.LFalse)
			l.Push(ret)
			return 1
		}
	}
	l.Push(lua.LString(strftime(t, cfmt)))
	return 1
}

var cDateFlagToGo = map[byte]string{
	'a': "mon", 'A': "Monday", 'b': "Jan", 'B': "January", 'c': "02 Jan 06 15:04 MST", 'd': "02",
	'F': "2006-01-02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'P': "pm", 'S': "05",
	'x': "15/04/05", 'X': "15:04:05", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
}

func strftime(t time.Time, cfmt string) string {
	var b strings.Builder
	for i := 0; i < len(cfmt); i++ {
		c := cfmt[i]
		if c != '%' || i == len(cfmt)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		f := cfmt[i]
		switch {
		case f == '%':
			b.WriteByte('%')
		case f == 'w':
			fmt.Fprint(&b, int(t.Weekday()))
		default:
			if layout, ok := cDateFlagToGo[f]; ok {
				b.WriteString(t.Format(layout))
			} else {
				b.WriteByte('%')
				b.WriteByte(f)
			}
		}
	}
	return b.String()
}

// The health_test.yaml format of Argo CD's resource_customizations (util/lua/health_test.go).
type testStructure struct {
	Tests []individualTest `json:"tests"`
}

type individualTest struct {
	InputPath    string       `json:"inputPath"`
	HealthStatus HealthStatus `json:"healthStatus"`
}

type result struct {
	InputPath string        `json:"inputPath"`
	Want      HealthStatus  `json:"want"`
	Got       *HealthStatus `json:"got,omitempty"`
	Error     string        `json:"error,omitempty"`
}

// readObject parses a YAML object the way TestLuaHealthScript's getObj does (sigs.k8s.io/yaml into map[string]any).
func readObject(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}

func runTests(v vm, dir string) (bool, error) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return false, err
	}
	testFile := filepath.Join(dir, "health_test.yaml")
	data, err := os.ReadFile(testFile)
	if err != nil {
		return false, err
	}
	var tests testStructure
	if err := yaml.UnmarshalStrict(data, &tests); err != nil {
		return false, fmt.Errorf("%s: %w", testFile, err)
	}
	if len(tests.Tests) == 0 {
		return false, fmt.Errorf("%s: no tests", testFile)
	}
	ok := true
	enc := json.NewEncoder(os.Stdout)
	for _, tc := range tests.Tests {
		r := result{InputPath: tc.InputPath, Want: tc.HealthStatus}
		obj, err := readObject(filepath.Join(dir, tc.InputPath))
		if err == nil {
			r.Got, err = v.executeHealthLua(obj, string(script))
		}
		if err != nil {
			r.Error = err.Error()
		}
		if err != nil || r.Got == nil || *r.Got != tc.HealthStatus {
			ok = false
		}
		if err := enc.Encode(r); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func eval(v vm, scriptPath, objPath string) error {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return err
	}
	obj, err := readObject(objPath)
	if err != nil {
		return err
	}
	hs, err := v.executeHealthLua(obj, string(script))
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(hs)
}

func main() {
	args := os.Args[1:]
	v := vm{}
	if len(args) > 0 && args[0] == "--use-open-libs" {
		v.useOpenLibs = true
		args = args[1:]
	}
	var err error
	switch {
	case len(args) == 3 && args[0] == "--eval":
		err = eval(v, args[1], args[2])
	case len(args) == 1 && !strings.HasPrefix(args[0], "-"):
		var ok bool
		ok, err = runTests(v, args[0])
		if err == nil && !ok {
			fmt.Fprintln(os.Stderr, "lua-runner: some health_test.yaml entries did not match")
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: lua-runner [--use-open-libs] DIR | lua-runner [--use-open-libs] --eval SCRIPT OBJECT.yaml")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lua-runner: %v\n", err)
		os.Exit(1)
	}
}
