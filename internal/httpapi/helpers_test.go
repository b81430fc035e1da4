package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func httpPostForm(url, form string) (int, error) {
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// oidcForm posts v to an /oidc endpoint as app (with secret, if not empty)
// and returns the status and the decoded JSON reply.
func oidcForm(t *testing.T, env *khtest.Env, app, secret, path string, v url.Values) (int, map[string]any) {
	t.Helper()
	v.Set("client_id", app)
	if secret != "" {
		v.Set("client_secret", secret)
	}
	return khtest.PostForm(t, env.URL+path, v)
}
