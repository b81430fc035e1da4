package loadtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// The profile phase's own HTTP client must count what the server answers:
// a profile is a success, a refused token a failure, never the other way.
func TestKeepAliveCountsWhatTheServerAnswers(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("ka@example.com", "Tr0ub4dor&3-horse")
	tok := env.SignIn("ka@example.com", "Tr0ub4dor&3-horse").MustOK(t).Str("access_token")
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	k := keepAlive{addr: u.Host, timeout: 10 * time.Second}
	defer k.close()
	good := rawRequest(u, "GET", "/api/v3/get-profile", env.AppID, tok, nil)
	bad := rawRequest(u, "GET", "/api/v3/get-profile", env.AppID, tok+"x", nil)
	for i := range 3 { // the same connection, again and again
		if res := k.do("get-profile", good); !res.ok() {
			t.Fatalf("call %d with a valid token: %s", i, res.describe())
		}
	}
	if res := k.do("get-profile", bad); res.ok() || res.err != nil || res.statusCode != 401 {
		t.Fatalf("a forged token: ok=%v, %s", res.ok(), res.describe())
	}
	// A POST with a JSON body, on the same connection: the code is sent.
	send := rawRequest(u, "POST", "/api/v3/send-email", env.AppID, "",
		[]byte(`{"email":"ka@example.com","channel":"CHANNEL_RESET_PASSWORD"}`))
	if res := k.do("send-email", send); !res.ok() {
		t.Fatalf("send-email: %s", res.describe())
	}
	if code := env.CodeFor("ka@example.com"); code == "" {
		t.Fatal("send-email answered 200 but no code arrived")
	}
	if res := k.do("send-email", []byte("POST /api/v3/send-email HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")); res.ok() {
		t.Fatal("a send-email without an app id was counted as a success")
	}
	if res := k.do("get-profile", good); !res.ok() {
		t.Fatalf("after refusals: %s", res.describe())
	}
}

// A server that closes the connection after a reply gets a new one for
// the next call; a reply that is not an envelope is an error.
func TestKeepAliveReconnectsAndRefusesNonEnvelopes(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer html" {
			w.Write([]byte("<html>proxy error</html>"))
			return
		}
		w.Header().Set("Connection", "close")
		w.Write([]byte(`{"statusCode":200,"message":"success","data":{}}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	base := &url.URL{Host: srv.Listener.Addr().String()}
	k := keepAlive{addr: base.Host, timeout: 10 * time.Second}
	defer k.close()
	for i := range 3 {
		if res := k.do("get", rawRequest(base, "GET", "/", "app", "t", nil)); !res.ok() {
			t.Fatalf("call %d: %s", i, res.describe())
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 calls on a server that closes each", n)
	}
	if res := k.do("get", rawRequest(base, "GET", "/", "app", "html", nil)); res.err == nil {
		t.Fatalf("a non-envelope reply was taken for %s", res.describe())
	}
}
