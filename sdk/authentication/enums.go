package authentication

// Enumerations of the GenAuth V3 API. Each is a named string type so that
// both the constants below and untyped string literals ("sm2") can be used;
// the values are the wire values of authing-node-sdk 4.0.1.

// Channel says what a one-time code sent by [AuthenticationClient.SendEmail]
// or [AuthenticationClient.SendSms] may be used for. A code works only in the
// flows of its own channel. It unites the enums SendEmailDto.channel and
// SendSMSDto.channel of the Node SDK: some values exist for one medium only.
type Channel string

// Channels for email and SMS codes.
const (
	// ChannelLogin: sign-in by code (email and SMS).
	ChannelLogin Channel = "CHANNEL_LOGIN"
	// ChannelRegister: sign-up by code (email and SMS).
	ChannelRegister Channel = "CHANNEL_REGISTER"
	// ChannelResetPassword: the forgot-password flow (email and SMS).
	ChannelResetPassword Channel = "CHANNEL_RESET_PASSWORD"
	// ChannelVerifyEmailLink: email verification link (email only).
	ChannelVerifyEmailLink Channel = "CHANNEL_VERIFY_EMAIL_LINK"
	// ChannelUpdateEmail: changing the account's email (email only).
	ChannelUpdateEmail Channel = "CHANNEL_UPDATE_EMAIL"
	// ChannelBindEmail: binding an email address (email only).
	ChannelBindEmail Channel = "CHANNEL_BIND_EMAIL"
	// ChannelUnbindEmail: unbinding the email address (email only).
	ChannelUnbindEmail Channel = "CHANNEL_UNBIND_EMAIL"
	// ChannelVerifyMFA: MFA verification (email and SMS).
	ChannelVerifyMFA Channel = "CHANNEL_VERIFY_MFA"
	// ChannelUnlockAccount: unlocking a locked account (email only).
	ChannelUnlockAccount Channel = "CHANNEL_UNLOCK_ACCOUNT"
	// ChannelCompleteEmail: completing a missing email address (email only).
	ChannelCompleteEmail Channel = "CHANNEL_COMPLETE_EMAIL"
	// ChannelDeleteAccount: cancelling the account (email and SMS).
	ChannelDeleteAccount Channel = "CHANNEL_DELETE_ACCOUNT"
	// ChannelBindPhone: binding a phone number (SMS only).
	ChannelBindPhone Channel = "CHANNEL_BIND_PHONE"
	// ChannelUnbindPhone: unbinding the phone number (SMS only).
	ChannelUnbindPhone Channel = "CHANNEL_UNBIND_PHONE"
	// ChannelBindMFA: enrolling an SMS MFA factor (SMS only).
	ChannelBindMFA Channel = "CHANNEL_BIND_MFA"
	// ChannelUnbindMFA: removing an SMS MFA factor (SMS only).
	ChannelUnbindMFA Channel = "CHANNEL_UNBIND_MFA"
	// ChannelCompletePhone: completing a missing phone number (SMS only).
	ChannelCompletePhone Channel = "CHANNEL_COMPLETE_PHONE"
	// ChannelIdentityVerification: identity verification (SMS only).
	ChannelIdentityVerification Channel = "CHANNEL_IDENTITY_VERIFICATION"
)

// VerifyMethod says how a user proves control of the account in the
// verify-*-request endpoints (reset password, change email or phone, delete
// account). Not every endpoint accepts every method; see each DTO.
type VerifyMethod string

// Verification methods.
const (
	// VerifyMethodEmailPassCode: a code sent to an email address.
	VerifyMethodEmailPassCode VerifyMethod = "EMAIL_PASSCODE"
	// VerifyMethodPhonePassCode: a code sent by SMS.
	VerifyMethodPhonePassCode VerifyMethod = "PHONE_PASSCODE"
	// VerifyMethodPassword: the current password (delete account only).
	VerifyMethodPassword VerifyMethod = "PASSWORD"
)

// PasswordEncryptType says how a password field in a request is encrypted.
// Use [AuthenticationClient.EncryptPassword] to produce the matching value.
type PasswordEncryptType string

// Password encryption types.
const (
	// PasswordEncryptTypeNone: the password is sent as is (the default).
	PasswordEncryptTypeNone PasswordEncryptType = "none"
	// PasswordEncryptTypeRSA: RSA PKCS #1 v1.5 with the server's RSA key, base64.
	PasswordEncryptTypeRSA PasswordEncryptType = "rsa"
	// PasswordEncryptTypeSM2: SM2 with the server's SM2 key, hex in C1C3C2 order.
	PasswordEncryptTypeSM2 PasswordEncryptType = "sm2"
)

// Connection is the kind of credential used by sign-up and sign-in.
type Connection string

// Connections.
const (
	// ConnectionPassword: a password with an email, phone, username or account.
	ConnectionPassword Connection = "PASSWORD"
	// ConnectionPassCode: a one-time code sent by email or SMS.
	ConnectionPassCode Connection = "PASSCODE"
	// ConnectionLDAP: an LDAP directory account (sign-in only; Keyhaven does not serve it).
	ConnectionLDAP Connection = "LDAP"
	// ConnectionAD: a Windows AD account (sign-in only; Keyhaven does not serve it).
	ConnectionAD Connection = "AD"
)

// Gender of a user profile.
type Gender string

// Genders.
const (
	// GenderMale is "M".
	GenderMale Gender = "M"
	// GenderFemale is "F".
	GenderFemale Gender = "F"
	// GenderUnknown is "U".
	GenderUnknown Gender = "U"
)

// UserStatus is the account status in [UserDto].
type UserStatus string

// User statuses.
const (
	// UserStatusSuspended: the account is suspended.
	UserStatusSuspended UserStatus = "Suspended"
	// UserStatusResigned: the user has left the organisation.
	UserStatusResigned UserStatus = "Resigned"
	// UserStatusActivated: the account is active.
	UserStatusActivated UserStatus = "Activated"
	// UserStatusArchived: the account is archived.
	UserStatusArchived UserStatus = "Archived"
	// UserStatusDeactivated: the account is deactivated.
	UserStatusDeactivated UserStatus = "Deactivated"
)

// WorkStatus is the employment status in [UserDto].
type WorkStatus string

// Work statuses.
const (
	// WorkStatusClosed: no longer employed.
	WorkStatusClosed WorkStatus = "Closed"
	// WorkStatusActive: employed.
	WorkStatusActive WorkStatus = "Active"
)

// UserSourceType says how a user record came to exist.
type UserSourceType string

// User source types.
const (
	// UserSourceTypeExcel: imported from a spreadsheet.
	UserSourceTypeExcel UserSourceType = "excel"
	// UserSourceTypeRegister: the user signed up.
	UserSourceTypeRegister UserSourceType = "register"
	// UserSourceTypeAdminCreated: created by an administrator.
	UserSourceTypeAdminCreated UserSourceType = "adminCreated"
	// UserSourceTypeSync: synchronised from another directory.
	UserSourceTypeSync UserSourceType = "sync"
)

// IdentityProvider names the external identity provider of an [IdentityDto].
type IdentityProvider string

// Identity providers known to the GenAuth API.
const (
	IdentityProviderOIDC       IdentityProvider = "oidc"       // OpenID Connect
	IdentityProviderOAuth2     IdentityProvider = "oauth2"     // OAuth 2.0
	IdentityProviderSAML       IdentityProvider = "saml"       // SAML
	IdentityProviderLDAP       IdentityProvider = "ldap"       // LDAP
	IdentityProviderAD         IdentityProvider = "ad"         // Windows AD
	IdentityProviderCAS        IdentityProvider = "cas"        // CAS
	IdentityProviderAzureAD    IdentityProvider = "azure-ad"   // Azure AD
	IdentityProviderWeChat     IdentityProvider = "wechat"     // WeChat
	IdentityProviderGoogle     IdentityProvider = "google"     // Google
	IdentityProviderQQ         IdentityProvider = "qq"         // QQ
	IdentityProviderWeChatWork IdentityProvider = "wechatwork" // WeCom
	IdentityProviderDingTalk   IdentityProvider = "dingtalk"   // DingTalk
	IdentityProviderWeibo      IdentityProvider = "weibo"      // Weibo
	IdentityProviderGitHub     IdentityProvider = "github"     // GitHub
	IdentityProviderAlipay     IdentityProvider = "alipay"     // Alipay
	IdentityProviderApple      IdentityProvider = "apple"      // Apple
	IdentityProviderBaidu      IdentityProvider = "baidu"      // Baidu
	IdentityProviderLark       IdentityProvider = "lark"       // Lark
	IdentityProviderGitLab     IdentityProvider = "gitlab"     // GitLab
	IdentityProviderTwitter    IdentityProvider = "twitter"    // Twitter
	IdentityProviderFacebook   IdentityProvider = "facebook"   // Facebook
	IdentityProviderSlack      IdentityProvider = "slack"      // Slack
	IdentityProviderLinkedIn   IdentityProvider = "linkedin"   // LinkedIn
	IdentityProviderYidun      IdentityProvider = "yidun"      // NetEase Yidun
	IdentityProviderQingCloud  IdentityProvider = "qingcloud"  // QingCloud
	IdentityProviderGitee      IdentityProvider = "gitee"      // Gitee
	IdentityProviderInstagram  IdentityProvider = "instagram"  // Instagram
	IdentityProviderWeLink     IdentityProvider = "welink"     // Huawei WeLink
	IdentityProviderHuawei     IdentityProvider = "huawei"     // Huawei
	IdentityProviderHonor      IdentityProvider = "honor"      // Honor
	IdentityProviderXiaomi     IdentityProvider = "xiaomi"     // Xiaomi
	IdentityProviderOPPO       IdentityProvider = "oppo"       // OPPO
	IdentityProviderAWS        IdentityProvider = "aws"        // AWS
	IdentityProviderAmazon     IdentityProvider = "amazon"     // Amazon
	IdentityProviderDouyin     IdentityProvider = "douyin"     // Douyin
	IdentityProviderKuaishou   IdentityProvider = "kuaishou"   // Kuaishou
	IdentityProviderLine       IdentityProvider = "line"       // LINE
	IdentityProviderSDBZ       IdentityProvider = "sdbz"       // sdbz
	IdentityProviderZJZWFW     IdentityProvider = "zjzwfw"     // zjzwfw
	IdentityProviderZZDing     IdentityProvider = "zzding"     // zzding
	IdentityProviderSeeyonA8V5 IdentityProvider = "seeyona8v5" // Seeyon A8 V5
)
