package authentication

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
)

// The /oidc/* endpoints follow the OAuth 2.0 and OpenID Connect RFCs rather
// than the GenAuth envelope: form-encoded requests, real HTTP statuses and
// {"error","error_description"} bodies, which the methods below turn into
// *Error (StatusCode = HTTP status, OAuthError = "error").

// TokenSet is the reply of the OIDC token endpoint (RFC 6749 §5.1). The Node
// SDK types it as any.
type TokenSet struct {
	// AccessToken is the new access token.
	AccessToken string `json:"access_token"`
	// IDToken is the new ID token, when the scope includes openid.
	IDToken string `json:"id_token,omitempty"`
	// RefreshToken is the refresh token to use next time (it may be rotated).
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
	// Scope is the granted scope.
	Scope string `json:"scope,omitempty"`
}

// IntrospectTokenResp is the reply of the token introspection endpoint
// (RFC 7662 §2.2). The Node SDK types it as any. Only Active is always
// present; an inactive, expired or revoked token gives Active false.
type IntrospectTokenResp struct {
	// Active is true when the token is valid now.
	Active bool `json:"active"`
	// Scope is the token's scope.
	Scope string `json:"scope,omitempty"`
	// ClientID is the application the token was issued to.
	ClientID string `json:"client_id,omitempty"`
	// Username is a human-readable identifier of the user.
	Username string `json:"username,omitempty"`
	// TokenType is the kind of token.
	TokenType string `json:"token_type,omitempty"`
	// Exp is the expiry time, in seconds since the Unix epoch.
	Exp int64 `json:"exp,omitempty"`
	// Iat is the issue time, in seconds since the Unix epoch.
	Iat int64 `json:"iat,omitempty"`
	// Nbf is the not-before time, in seconds since the Unix epoch.
	Nbf int64 `json:"nbf,omitempty"`
	// Sub is the user id.
	Sub string `json:"sub,omitempty"`
	// Aud is the audience.
	Aud Audience `json:"aud,omitempty"`
	// Iss is the issuer.
	Iss string `json:"iss,omitempty"`
	// Jti is the token id.
	Jti string `json:"jti,omitempty"`
}

// Audience is a JWT "aud" claim, which may be one string or an array of
// strings on the wire; it always decodes to a slice.
type Audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("authentication: aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// GetNewAccessTokenByRefreshToken calls POST /oidc/token with
// grant_type=refresh_token and returns the new tokens. The client
// authenticates as TokenEndPointAuthMethod says.
func (c *AuthenticationClient) GetNewAccessTokenByRefreshToken(ctx context.Context, refreshToken string) (*TokenSet, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	out := new(TokenSet)
	return result(out, c.callForm(ctx, "/oidc/token", c.tokenAuth, form, out))
}

// IntrospectToken calls POST /oidc/token/introspection and reports whether
// token (an access or refresh token) is active. The client authenticates as
// IntrospectionEndPointAuthMethod says.
func (c *AuthenticationClient) IntrospectToken(ctx context.Context, token string) (*IntrospectTokenResp, error) {
	form := url.Values{"token": {token}}
	out := new(IntrospectTokenResp)
	return result(out, c.callForm(ctx, "/oidc/token/introspection", c.introspectionAuth, form, out))
}

// RevokeToken calls POST /oidc/token/revocation to revoke an access or
// refresh token, and returns true when the server accepted the request (as
// RFC 7009 requires, also for tokens that were already invalid). The client
// authenticates as RevocationEndPointAuthMethod says.
func (c *AuthenticationClient) RevokeToken(ctx context.Context, token string) (bool, error) {
	form := url.Values{"token": {token}}
	if err := c.callForm(ctx, "/oidc/token/revocation", c.revocationAuth, form, nil); err != nil {
		return false, err
	}
	return true, nil
}

// LogoutParams are the arguments of BuildLogoutURL, as in the Node SDK.
type LogoutParams struct {
	// IDToken is the user's ID token, sent as id_token_hint (recommended).
	IDToken string
	// RedirectURI is where to go after logout; empty means
	// AuthenticationClientOptions.LogoutRedirectURI. Keyhaven redirects only
	// to a relative path, a URL on its own origin, or a URL registered for
	// the app named by IDToken (keyhaven app update --logout-redirect-uri),
	// compared exactly (anything else would be an open redirect); for any
	// other URI it ends the session and answers 200 "You are signed out."
	// instead. An IDToken that is not one of its tokens gets 400, and
	// nothing is ended.
	RedirectURI string
	// State is passed back to RedirectURI; it is only sent with one.
	State string
}

// BuildLogoutURL returns the OIDC RP-initiated logout URL
// AppHost/oidc/session/end?id_token_hint=...&post_logout_redirect_uri=...&state=...
// It makes no request.
func (c *AuthenticationClient) BuildLogoutURL(p LogoutParams) string {
	q := url.Values{}
	if p.IDToken != "" {
		q.Set("id_token_hint", p.IDToken)
	}
	redirect := p.RedirectURI
	if redirect == "" {
		redirect = c.logoutRedirectURI
	}
	if redirect != "" {
		q.Set("post_logout_redirect_uri", redirect)
		if p.State != "" {
			q.Set("state", p.State)
		}
	}
	u := c.host + "/oidc/session/end"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
