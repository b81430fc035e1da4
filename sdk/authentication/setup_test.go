package authentication

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// e2eNodeDir is e2e/node, relative to this package (go test runs in the
// package directory).
var e2eNodeDir = filepath.Join("..", "..", "e2e", "node")

// requireNodeModules returns e2e/node/node_modules, where npm ci installs the
// official SDK and sm-crypto. Without it the test is skipped, except in CI,
// where a missing install is a failure rather than silently less coverage.
func requireNodeModules(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(e2eNodeDir, "node_modules")
	for _, pkg := range []string{"authing-node-sdk", "sm-crypto"} {
		if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (%v); run (cd e2e/node && npm ci) before the tests", filepath.Join(dir, pkg), err)
			}
			t.Skip("set up e2e/node: (cd e2e/node && npm ci)")
		}
	}
	return dir
}

// requireNode returns the node binary, with the same skip/fail rule.
func requireNode(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH; CI must install Node.js 20+")
		}
		t.Skip("install Node.js 20+ to cross-check with sm-crypto")
	}
	return p
}
