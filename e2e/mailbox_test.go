package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// codeMailbox lets Node scripts read what the Go test's sinks received:
//
//	GET /code?to=<email or phone>[&wait=<ms>]  the next message to that
//	    recipient carrying a 6-digit code, as {"code","subject","text"};
//	    notices without a code are passed over; 404 if none comes within
//	    wait (default 10 s).
//	GET /messages?to=<email or phone>  every message received for that
//	    recipient so far: [{"subject","text","code","channel"}].
func codeMailbox(mail *mailsink.Sink, sms *smssink.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /code", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		if to == "" {
			http.Error(w, "to is required", http.StatusBadRequest)
			return
		}
		wait := 10 * time.Second
		if ms, err := strconv.Atoi(r.URL.Query().Get("wait")); err == nil && ms > 0 {
			wait = time.Duration(ms) * time.Millisecond
		}
		deadline := time.Now().Add(wait)
		for {
			left := time.Until(deadline)
			var m boxMessage
			var err error
			if left <= 0 {
				err = context.DeadlineExceeded
			} else if strings.Contains(to, "@") {
				var mm mailsink.Message
				if mm, err = mail.Next(r.Context(), to, left); err == nil {
					m = boxMessage{Subject: mm.Subject, Text: mm.Text, Code: mm.Code()}
				}
			} else {
				var sm smssink.Message
				if sm, err = sms.Next(r.Context(), to, left); err == nil {
					m = boxMessage{Text: sm.Text, Code: sm.Code, Channel: sm.Channel}
				}
			}
			if err != nil {
				boxJSON(w, http.StatusNotFound, map[string]string{"error": "no code to " + to + ": " + err.Error()})
				return
			}
			if len(m.Code) == 6 {
				boxJSON(w, http.StatusOK, m)
				return
			}
		}
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		out := []boxMessage{}
		if strings.Contains(to, "@") {
			for _, m := range mail.Messages() {
				for _, rcpt := range m.To {
					if strings.EqualFold(rcpt, to) {
						out = append(out, boxMessage{Subject: m.Subject, Text: m.Text, Code: m.Code()})
						break
					}
				}
			}
		} else {
			for _, m := range sms.Messages() {
				if m.PhoneNumber == to || m.PhoneCountryCode+m.PhoneNumber == to {
					out = append(out, boxMessage{Text: m.Text, Code: m.Code, Channel: m.Channel})
				}
			}
		}
		boxJSON(w, http.StatusOK, out)
	})
	return mux
}

type boxMessage struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	Code    string `json:"code,omitempty"`
	Channel string `json:"channel,omitempty"`
}

func boxJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// runNode runs node with args in dir, streaming its output into the test
// log, and fails the test if node exits non-zero or outlives timeout (the
// whole process group is stopped: node --test and Playwright start children).
func runNode(t *testing.T, node, dir string, timeout time.Duration, args, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// SIGTERM first: Playwright closes Chromium on it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
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
		t.Errorf("node %s failed after %v: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), err)
	}
}
