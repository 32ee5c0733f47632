package drills

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// enabled is set by `make drills`; otherwise every drill skips, so that
// `make test` stays fast while still compiling and vetting the drills.
var enabled = os.Getenv("ZSB_DRILLS") == "1"

// bins are the binaries under test, built once per run from the work tree
// (or taken from DRILLS_BIN_DIR when set).
var bins struct{ bff, sink string }

func TestMain(m *testing.M) {
	flag.Parse()
	if !enabled {
		os.Exit(m.Run())
	}
	if dir := os.Getenv("DRILLS_BIN_DIR"); dir != "" {
		// Prebuilt binaries, e.g. of another revision.
		bins.bff, bins.sink = filepath.Join(dir, "bff"), filepath.Join(dir, "fcmsink")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "zsb-drills-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "drills:", err)
		os.Exit(1)
	}
	bins.bff, bins.sink = filepath.Join(dir, "bff"), filepath.Join(dir, "fcmsink")
	for out, pkg := range map[string]string{bins.bff: "./cmd/bff", bins.sink: "./cmd/fcmsink"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = ".." // the module root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "drills: go build %s: %v\n", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// drill marks a test as a drill: skipped unless ZSB_DRILLS=1, and run in
// parallel with the other drills (each has its own schema, key prefix,
// ports and processes).
func drill(t *testing.T) {
	t.Helper()
	if !enabled {
		t.Skip("drills run with `make drills` (ZSB_DRILLS=1)")
	}
	t.Parallel()
}
