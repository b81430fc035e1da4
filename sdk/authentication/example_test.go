package authentication_test

// The examples need a running Keyhaven server, so they have no Output line:
// go test compiles them but does not run them.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/keyhaven/keyhaven/sdk/authentication"
)

// readCode stands for however the user gives the code back to the program
// (a web form, a prompt...).
func readCode() string {
	var code string
	fmt.Print("code from the email: ")
	_, _ = fmt.Scanln(&code)
	return code
}

// The whole forgot-password flow: email a code, trade it for a reset token,
// set the new password encrypted with the server's SM2 key.
func ExampleAuthenticationClient_ResetPassword() {
	ctx := context.Background()
	c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
		AppID:     os.Getenv("KEYHAVEN_APP_ID"),
		AppSecret: os.Getenv("KEYHAVEN_APP_SECRET"),
		AppHost:   "http://127.0.0.1:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	email := "alice@example.com"

	// 1. Send the code. The answer is the same whether or not the address
	// has an account.
	if _, err := c.SendEmail(ctx, &authentication.SendEmailDto{
		Email:   email,
		Channel: authentication.ChannelResetPassword,
	}); err != nil {
		log.Fatal(err)
	}

	// 2. Trade the code for a single-use reset token.
	v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
		VerifyMethod: authentication.VerifyMethodEmailPassCode,
		EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{
			Email:    email,
			PassCode: readCode(),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reset token valid for", v.Data.TokenExpiresIn, "seconds")

	// 3. Encrypt the new password and set it.
	enc, err := c.EncryptPassword(ctx, "a new long passphrase", authentication.PasswordEncryptTypeSM2)
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{
		Password:            enc,
		PasswordResetToken:  v.Data.PasswordResetToken,
		PasswordEncryptType: authentication.PasswordEncryptTypeSM2,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("password changed:", r.Data.Success)
}

// Business failures come back as *authentication.Error next to the decoded
// envelope.
func ExampleError() {
	ctx := context.Background()
	c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
		AppID: "APP_ID", AppSecret: "APP_SECRET", AppHost: "http://127.0.0.1:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.ResetPassword(ctx, &authentication.ResetPasswordDto{
		Password:           "a new long passphrase",
		PasswordResetToken: "an-expired-token",
	})
	var apiErr *authentication.Error
	switch {
	case errors.As(err, &apiErr):
		// e.g. 400 with Keyhaven's apiCode for an invalid or used token
		fmt.Println(apiErr.StatusCode, apiErr.APICode, apiErr.Message, apiErr.RequestID)
	case err != nil:
		fmt.Println("transport failure:", err)
	}
}

// If the server rotated its keys, a password encrypted with the cached key
// is refused. Sign-in answers it exactly as a wrong password (statusCode
// 401, so that it is no decryption oracle): refresh the keys and try once
// more.
func ExampleAuthenticationClient_RefreshSystemInfo() {
	ctx := context.Background()
	c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
		AppID: "APP_ID", AppSecret: "APP_SECRET", AppHost: "http://127.0.0.1:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	signIn := func() (*authentication.LoginTokenRespDto, error) {
		enc, err := c.EncryptPassword(ctx, "correct horse battery staple", authentication.PasswordEncryptTypeRSA)
		if err != nil {
			return nil, err
		}
		return c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{
			Email:    "alice@example.com",
			Password: enc,
			Options:  &authentication.SignInOptionsDto{PasswordEncryptType: authentication.PasswordEncryptTypeRSA},
		})
	}
	res, err := signIn()
	var apiErr *authentication.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == 401 {
		if err := c.RefreshSystemInfo(ctx); err != nil {
			log.Fatal(err)
		}
		res, err = signIn()
	}
	if err != nil {
		log.Fatal(err)
	}
	c.SetAccessToken(res.Data.AccessToken)
	p, err := c.GetProfile(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", p.Data.UserID)
}

// Refresh, introspect and revoke tokens through the OIDC endpoints.
func ExampleAuthenticationClient_GetNewAccessTokenByRefreshToken() {
	ctx := context.Background()
	c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
		AppID: "APP_ID", AppSecret: "APP_SECRET", AppHost: "http://127.0.0.1:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	ts, err := c.GetNewAccessTokenByRefreshToken(ctx, "REFRESH_TOKEN")
	var apiErr *authentication.Error
	if errors.As(err, &apiErr) && apiErr.OAuthError == "invalid_grant" {
		fmt.Println("sign in again")
		return
	} else if err != nil {
		log.Fatal(err)
	}
	info, err := c.IntrospectToken(ctx, ts.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", info.Active)
	if _, err := c.RevokeToken(ctx, ts.RefreshToken); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.BuildLogoutURL(authentication.LogoutParams{IDToken: ts.IDToken, RedirectURI: "https://app.example.com/"}))
}
