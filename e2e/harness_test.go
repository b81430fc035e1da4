// Package e2e drives the real keyhaven binary and the official GenAuth Node
// SDK against it. TestMain builds the binary once.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyhaven-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "keyhaven")
	build := exec.Command("go", "build", "-o", binary, "../cmd/keyhaven")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build keyhaven:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testAppID     = "e2e-app-0001"
	testAppSecret = "e2e-secret-0123456789abcdef"
)

// Proc is a running keyhaven process.
type Proc struct {
	URL  string
	Env  []string
	cmd  *exec.Cmd
	out  *procOutput
	done chan struct{}
	t    testing.TB
}

// procOutput holds a process's stdout and stderr in one file the process
// writes itself, so whatever it wrote before answering a request is there
// when the answer arrives; a pipe, copied by a goroutine, can lag behind.
type procOutput struct{ f *os.File }

func newProcOutput(t testing.TB) *procOutput {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "keyhaven-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &procOutput{f: f}
}

func (o *procOutput) String() string {
	b, err := os.ReadFile(o.f.Name())
	if err != nil {
		return fmt.Sprintf("(output unreadable: %v)", err)
	}
	return string(b)
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartProc runs `keyhaven serve` with env (KEY=VALUE) on top of a minimal
// environment, waits until it answers, and stops it when the test ends.
// Unless env sets them, the app credentials are testAppID/testAppSecret and
// the per-IP limit is off.
func StartProc(t testing.TB, env ...string) *Proc {
	t.Helper()
	addr := freeAddr(t)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"KEYHAVEN_LISTEN=" + addr, "KEYHAVEN_APP_ID=" + testAppID, "KEYHAVEN_APP_SECRET=" + testAppSecret,
		"KEYHAVEN_RATE_LIMIT_PER_IP=0", "KEYHAVEN_LOG_LEVEL=info"}
	p := &Proc{URL: "http://" + addr, Env: append(base, env...), out: newProcOutput(t), t: t}
	p.start()
	t.Cleanup(func() { p.Stop() })
	return p
}

func (p *Proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = p.Env
	p.cmd.Stdout, p.cmd.Stderr = p.out.f, p.out.f
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("keyhaven exited at start:\n%s", p.out.String())
		default:
		}
		req, _ := http.NewRequest("GET", p.URL+"/api/v3/system", nil)
		req.Header.Set("x-authing-app-id", p.appID())
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("keyhaven did not answer within 20s:\n%s", p.out.String())
}

func (p *Proc) appID() string {
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, "KEYHAVEN_APP_ID="); ok {
			return v
		}
	}
	return testAppID
}

// Output is everything the process printed.
func (p *Proc) Output() string { return p.out.String() }

// Kill9 kills the process without warning.
func (p *Proc) Kill9() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Proc) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("keyhaven did not stop within 30s of SIGTERM")
	}
}

// Restart starts the process again with the same environment and address.
func (p *Proc) Restart() {
	p.t.Helper()
	p.start()
}

// Reply is a decoded envelope.
type Reply struct {
	StatusCode int            `json:"statusCode"`
	Message    string         `json:"message"`
	APICode    int            `json:"apiCode"`
	RequestID  string         `json:"requestId"`
	Data       map[string]any `json:"data"`
	Raw        []byte         `json:"-"`
}

// Call sends a JSON request to p with the app header.
func (p *Proc) Call(ctx context.Context, method, path string, body any, header ...string) (Reply, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Reply{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, r)
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-authing-app-id", p.appID())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	out := Reply{Raw: raw}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("%s %s: %v: %s", method, path, err, raw)
	}
	return out, nil
}

// MustCall is Call that fails the test on transport errors.
func (p *Proc) MustCall(method, path string, body any, header ...string) Reply {
	p.t.Helper()
	r, err := p.Call(context.Background(), method, path, body, header...)
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

// needCI fails in CI and skips elsewhere when a tool is missing.
func needCI(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; in CI it must be there: %s", what, how)
	}
	t.Skipf("%s not available: %s", what, how)
}
