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
	good, bad := profileRequest(u.Host, u.Path, env.AppID, tok), profileRequest(u.Host, u.Path, env.AppID, tok+"x")
	for i := range 3 { // the same connection, again and again
		if res := k.get(good); !res.ok() {
			t.Fatalf("call %d with a valid token: %s", i, res.describe())
		}
	}
	if res := k.get(bad); res.ok() || res.err != nil || res.statusCode != 401 {
		t.Fatalf("a forged token: ok=%v, %s", res.ok(), res.describe())
	}
	if res := k.get(good); !res.ok() {
		t.Fatalf("after a refusal: %s", res.describe())
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
	host := srv.Listener.Addr().String()
	k := keepAlive{addr: host, timeout: 10 * time.Second}
	defer k.close()
	for i := range 3 {
		if res := k.get(profileRequest(host, "", "app", "t")); !res.ok() {
			t.Fatalf("call %d: %s", i, res.describe())
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 calls on a server that closes each", n)
	}
	if res := k.get(profileRequest(host, "", "app", "html")); res.err == nil {
		t.Fatalf("a non-envelope reply was taken for %s", res.describe())
	}
}
