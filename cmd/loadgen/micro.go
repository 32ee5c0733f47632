package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// microBenchmarks are the hot paths' Go benchmarks, by package, each with
// what it stands for in the service.
var microBenchmarks = []struct {
	pkg   string
	names []string
}{
	{"./auth", []string{"BenchmarkVerifyAccess"}},
	{"./models", []string{"BenchmarkNextSteps", "BenchmarkBuildProgress", "BenchmarkMarshalProgress", "BenchmarkProjectViews"}},
	{"./notify", []string{"BenchmarkDecide"}},
	{"./internal/projectview", []string{"BenchmarkRefresh", "BenchmarkGetCached"}},
}

// microWhat says what each micro-benchmark stands for.
var microWhat = map[string]string{
	"BenchmarkVerifyAccess":    "access token check (EdDSA signature, one Redis round trip), parallel: every authenticated request",
	"BenchmarkNextSteps":       "next steps of the largest demo project",
	"BenchmarkBuildProgress":   "progress with working-day deadlines, largest demo project",
	"BenchmarkMarshalProgress": "JSON of that progress (the progress read's body)",
	"BenchmarkProjectViews":    "progress + next steps + guide, built and serialized: the CPU part of a view rebuild",
	"BenchmarkDecide":          "push preference decision: every recipient of every notice",
	"BenchmarkRefresh":         "view rebuild with its database reads and Redis write: every applied event, before the 202",
	"BenchmarkGetCached":       "cached progress view from Redis, parallel: every progress read after authentication",
}

// microResult is one benchmark line.
type microResult struct {
	Package    string
	Name       string
	NsPerOp    float64
	BytesPerOp float64
	AllocsOp   float64
	MBPerSec   float64
}

// runMicro runs the micro-benchmarks with go test against the same
// PostgreSQL and Redis (testenv falls back the same way) and parses them.
func runMicro(ctx context.Context, o options, logf func(string, ...any)) ([]microResult, error) {
	var names []string
	args := []string{"test", "-run", "^$", "-benchmem", "-benchtime", o.MicroTime, "-count", "1"}
	var pkgs []string
	for _, mb := range microBenchmarks {
		names = append(names, mb.names...)
		pkgs = append(pkgs, mb.pkg)
	}
	args = append(args, "-bench", "^("+strings.Join(names, "|")+")$")
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+o.PG, "TEST_REDIS_URL="+o.Redis)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res := parseBench(out)
	for _, r := range res {
		logf("  %-28s %12.0f ns/op %10.0f B/op %6.0f allocs/op", r.Name, r.NsPerOp, r.BytesPerOp, r.AllocsOp)
	}
	if err != nil {
		return res, fmt.Errorf("go test -bench: %v: %s", err, firstLine(stderr.String()+string(out)))
	}
	return res, nil
}

// parseBench reads `go test -bench` output.
func parseBench(out []byte) []microResult {
	var res []microResult
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(v), "github.com/weifang/kaigong-zsb/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		r := microResult{Package: pkg, Name: name}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsOp = v
			case "MB/s":
				r.MBPerSec = v
			}
		}
		res = append(res, r)
	}
	return res
}
