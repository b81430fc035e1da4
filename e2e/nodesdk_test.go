package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// nodeSuites are the files under e2e/node that TestNodeSDK runs, each
// against its own server, database and sinks.
var nodeSuites = []string{"reset"}

// TestNodeSDK runs the official GenAuth Node SDK (authing-node-sdk, pinned
// in e2e/node/package-lock.json) against the real binary: each suite is a
// `node --test` file that reads the server's address and app credentials
// from the environment and the codes it was sent from a code mailbox this
// test serves on loopback.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		needCI(t, "Node and e2e/node/node_modules", "(cd e2e/node && npm ci)")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "authing-node-sdk", "package.json")); err != nil {
		needCI(t, "Node and e2e/node/node_modules", "(cd e2e/node && npm ci)")
	}
	for _, suite := range nodeSuites {
		t.Run(suite, func(t *testing.T) {
			mail := mailsink.Start(t)
			sms := smssink.Start(t)
			db := "sqlite://" + filepath.Join(t.TempDir(), "keyhaven.db")
			p := StartProc(t, "KEYHAVEN_DATABASE_URL="+db, "KEYHAVEN_SMTP_URL="+mail.URL(),
				"KEYHAVEN_SMS_WEBHOOK_URL="+sms.URL())
			box := httptest.NewServer(newNodeMailbox(mail, sms))
			t.Cleanup(box.Close)
			nodeRun(t, node, suite+".test.js", "KEYHAVEN_URL="+p.URL, "KEYHAVEN_APP_ID="+testAppID,
				"KEYHAVEN_APP_SECRET="+testAppSecret, "KEYHAVEN_MAILBOX_URL="+box.URL)
			if t.Failed() {
				t.Logf("keyhaven output:\n%s", p.Output())
			}
		})
	}
}

// nodeRun runs `node --test file` in e2e/node, streaming its output into
// the test log, and fails the test if node exits non-zero.
func nodeRun(t *testing.T, node, file string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
	cmd.Dir = "node"
	// node --test runs the file in a child process: on timeout, kill the
	// whole group, and stop waiting for the output of anything left over.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NO_COLOR=1"}, env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	start := time.Now()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		t.Errorf("node --test %s failed after %v: %v", file, time.Since(start).Round(time.Millisecond), err)
	}
}

// nodeMailbox lets the Node tests read what the sinks received:
//
//	GET /code?to=<email or phone>      waits up to 10 s for the next message to
//	                                   that recipient carrying a 6-digit code
//	                                   and answers {"code": "..."}; messages
//	                                   without a code (notices) are passed over.
//	GET /messages?to=<email or phone>  every message received for that
//	                                   recipient so far: [{"subject","text","code"}].
type nodeMailbox struct {
	mail *mailsink.Sink
	sms  *smssink.Sink
}

var nodeSixDigits = regexp.MustCompile(`^\d{6}$`)

func newNodeMailbox(mail *mailsink.Sink, sms *smssink.Sink) http.Handler {
	b := &nodeMailbox{mail: mail, sms: sms}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /code", b.handleCode)
	mux.HandleFunc("GET /messages", b.handleMessages)
	return mux
}

type nodeBoxMessage struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	Code    string `json:"code,omitempty"`
	Channel string `json:"channel,omitempty"`
}

func nodeIsEmail(to string) bool { return strings.Contains(to, "@") }

func (b *nodeMailbox) handleCode(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to == "" {
		http.Error(w, "to is required", http.StatusBadRequest)
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			nodeWriteJSON(w, http.StatusNotFound, map[string]string{"error": "no code to " + to + " within 10s"})
			return
		}
		var code string
		if nodeIsEmail(to) {
			m, err := b.mail.Next(r.Context(), to, left)
			if err != nil {
				nodeWriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
				return
			}
			code = m.Code()
		} else {
			m, err := b.sms.Next(r.Context(), to, left)
			if err != nil {
				nodeWriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
				return
			}
			if nodeSixDigits.MatchString(m.Code) {
				code = m.Code
			}
		}
		if code != "" {
			nodeWriteJSON(w, http.StatusOK, map[string]string{"code": code})
			return
		}
	}
}

func (b *nodeMailbox) handleMessages(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	out := []nodeBoxMessage{}
	if nodeIsEmail(to) {
		for _, m := range b.mail.Messages() {
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) {
					out = append(out, nodeBoxMessage{Subject: m.Subject, Text: m.Text, Code: m.Code()})
					break
				}
			}
		}
	} else {
		for _, m := range b.sms.Messages() {
			if m.PhoneNumber == to || m.PhoneCountryCode+m.PhoneNumber == to {
				out = append(out, nodeBoxMessage{Text: m.Text, Code: m.Code, Channel: m.Channel})
			}
		}
	}
	nodeWriteJSON(w, http.StatusOK, out)
}

func nodeWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
