package e2e

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// nodeSuites are the files under e2e/node that TestNodeSDK runs, each
// against its own server, database and sinks.
var nodeSuites = []string{"reset", "userinfo"}

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
			box := httptest.NewServer(codeMailbox(mail, sms))
			t.Cleanup(box.Close)
			runNode(t, node, "node", 5*time.Minute, []string{"--test", "--test-reporter=spec", suite + ".test.js"}, []string{"KEYHAVEN_URL=" + p.URL, "KEYHAVEN_APP_ID=" + testAppID,
				"KEYHAVEN_APP_SECRET=" + testAppSecret, "KEYHAVEN_MAILBOX_URL=" + box.URL})
			if t.Failed() {
				t.Logf("keyhaven output:\n%s", p.Output())
			}
		})
	}
}
