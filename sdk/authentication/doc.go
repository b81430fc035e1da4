// Package authentication is the Go client of Keyhaven's GenAuth (formerly
// Authing) V3 authentication API. It mirrors the AuthenticationClient of the
// official SDKs: methods are named as those of authing-node-sdk 4.0.1 in Go
// case (sendEmail → SendEmail), and request and response types as its
// dist/models (SendEmailDto, PasswordResetVerifyResp, IsSuccessRespDto, ...),
// with the wire names as JSON tags. It depends only on the standard library
// and github.com/emmansun/gmsm (for SM2).
//
// # Conventions
//
// Every method that talks to the server takes a [context.Context] first and
// returns the decoded reply and an error. A reply whose statusCode is not 200
// (the API answers business failures with HTTP 200 and the real status in the
// body) returns the decoded reply and an [*Error] with StatusCode, APICode,
// Message and RequestID, so errors.As finds it. The /oidc/* token methods
// follow OAuth 2.0 instead: a non-2xx HTTP status becomes an [*Error] whose
// OAuthError is the "error" code. Transport and decoding failures return a
// nil reply and a wrapped error.
//
// Every request carries x-authing-app-id. The user-profile methods need the
// signed-in user's access token: pass it in the options or call
// [AuthenticationClient.SetAccessToken] after signing in.
//
// Passwords may be sent encrypted ("rsa" or "sm2") with the server's public
// keys; [AuthenticationClient.EncryptPassword] fetches and caches them.
//
// # Forgot password
//
// The complete self-service reset: email a code, trade it for a reset token,
// set the new password (here SM2-encrypted).
//
//	package main
//
//	import (
//		"context"
//		"errors"
//		"fmt"
//		"log"
//
//		"github.com/keyhaven/keyhaven/sdk/authentication"
//	)
//
//	func main() {
//		ctx := context.Background()
//		c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
//			AppID:     "APP_ID",
//			AppSecret: "APP_SECRET",
//			AppHost:   "http://127.0.0.1:8080",
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		email := "alice@example.com"
//
//		// 1. Email a one-time code. The reply is the same for unknown addresses.
//		if _, err := c.SendEmail(ctx, &authentication.SendEmailDto{
//			Email: email, Channel: authentication.ChannelResetPassword,
//		}); err != nil {
//			log.Fatal(err)
//		}
//
//		// 2. Trade the code the user typed in for a single-use reset token.
//		var code string
//		fmt.Print("code: ")
//		fmt.Scanln(&code)
//		v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
//			VerifyMethod:         authentication.VerifyMethodEmailPassCode,
//			EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: email, PassCode: code},
//		})
//		var apiErr *authentication.Error
//		if errors.As(err, &apiErr) {
//			log.Fatalf("code rejected: %d %d %s", apiErr.StatusCode, apiErr.APICode, apiErr.Message)
//		} else if err != nil {
//			log.Fatal(err)
//		}
//
//		// 3. Set the new password, encrypted with the server's SM2 key.
//		enc, err := c.EncryptPassword(ctx, "a new long passphrase", authentication.PasswordEncryptTypeSM2)
//		if err != nil {
//			log.Fatal(err)
//		}
//		r, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{
//			Password:            enc,
//			PasswordResetToken:  v.Data.PasswordResetToken,
//			PasswordEncryptType: authentication.PasswordEncryptTypeSM2,
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		fmt.Println("password changed:", r.Data.Success)
//	}
//
// By SMS, send with [AuthenticationClient.SendSms] and verify with
// VerifyMethodPhonePassCode and a [ResetPasswordByPhonePassCodeDto].
package authentication
