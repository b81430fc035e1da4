// End-to-end tests of the forgot-password flow and its neighbours (sign-up,
// sign-in, tokens, encrypted transport) driven through the official GenAuth
// Node SDK, authing-node-sdk 4.0.1, against a real Keyhaven server.
//
// Run by e2e/nodesdk_test.go (go test -run NodeSDK ./e2e/), which starts the
// server and a "code mailbox" and passes them in the environment:
//   KEYHAVEN_URL, KEYHAVEN_APP_ID, KEYHAVEN_APP_SECRET, KEYHAVEN_MAILBOX_URL.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { sm2 } = require('sm-crypto');

const {
  appHost, appId, appSecret, mailbox, TIMEOUT,
  newClient, newEmail, newPassword,
  code, messages, waitForMessage, ok, refused,
} = require('./helpers');

const RESET = 'CHANNEL_RESET_PASSWORD';

let systemInfo;
async function keys() {
  if (!systemInfo) systemInfo = await newClient().getSystemInfo();
  return systemInfo;
}

// What GenAuth's clients send: sm-crypto's C1C3C2 hex (C1 without its 04).
async function sm2Encrypt(pw) {
  return sm2.doEncrypt(pw, (await keys()).sm2.publicKey, 1);
}

// What JSEncrypt sends: PKCS#1 v1.5, base64.
async function rsaEncrypt(pw) {
  const key = (await keys()).rsa.publicKey;
  return crypto.publicEncrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(pw, 'utf8')).toString('base64');
}

async function signUp(email, password) {
  const data = ok(await newClient().signUpByEmailPassword({ email, password }), `sign up ${email}`);
  assert.equal(typeof data.userId, 'string');
  assert.ok(data.userId.length > 0);
  return data;
}

async function signIn(email, password, options) {
  return newClient().signInByEmailPassword({ email, password, options });
}

// resetToken runs send-email → code → verify and returns the reset token.
async function resetToken(client, email) {
  ok(await client.sendEmail({ email, channel: RESET }), 'send-email');
  const passCode = await code(email);
  const v = ok(await client.verifyResetPasswordRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { email, passCode },
  }), 'verify-reset-password-request');
  assert.equal(typeof v.passwordResetToken, 'string');
  assert.ok(v.passwordResetToken.length >= 16, `short token ${v.passwordResetToken}`);
  assert.equal(v.tokenExpiresIn, 900);
  return v.passwordResetToken;
}

// rejection runs p, which must reject with an HTTP error from axios, and
// returns its response.
async function rejection(p, what) {
  const got = await p.then((value) => ({ value }), (err) => ({ err }));
  if (!got.err) assert.fail(`${what}: resolved with ${JSON.stringify(got.value)}, want an HTTP error`);
  assert.ok(got.err.response, `${what}: ${got.err.stack || got.err}`);
  return got.err.response;
}

test('getSystemInfo: RSA and SM2 keys at the top level and in data', TIMEOUT, async () => {
  const sys = await newClient().getSystemInfo();
  assert.equal(sys.statusCode, 200);
  assert.match(sys.rsa.publicKey, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/);
  const rsa = crypto.createPublicKey(sys.rsa.publicKey);
  assert.equal(rsa.asymmetricKeyType, 'rsa');
  assert.ok(rsa.asymmetricKeyDetails.modulusLength >= 2048, `RSA key of ${rsa.asymmetricKeyDetails.modulusLength} bits`);
  assert.match(sys.sm2.publicKey, /^04[0-9a-fA-F]{128}$/);
  assert.deepEqual(sys.data.rsa, sys.rsa);
  assert.deepEqual(sys.data.sm2, sys.sm2);
  assert.deepEqual(sys.data.version, sys.version);
  assert.ok(Array.isArray(sys.publicIps));
});

test('sign up and sign in by email and password; ID token verifies; profile', TIMEOUT, async () => {
  const email = newEmail('signin');
  const password = newPassword('first');
  const user = await signUp(email, password);
  assert.equal(user.email, email);

  const c = newClient();
  const t = ok(await c.signInByEmailPassword({ email, password }), 'sign in');
  for (const k of ['access_token', 'id_token', 'refresh_token']) {
    assert.equal(typeof t[k], 'string', k);
    assert.ok(t[k].length > 0, k);
  }
  assert.equal(t.token_type, 'Bearer');
  assert.ok(t.expires_in > 0);

  const claims = await c.parseIDToken(t.id_token); // verified with the server's JWKS
  assert.equal(claims.sub, user.userId);
  assert.equal(claims.aud, appId);
  // A tampered ID token must not verify.
  const [h, p, s] = t.id_token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
  await assert.rejects(c.parseIDToken([h, forged, s].join('.')));

  const access = await c.parseAccessToken(t.access_token);
  assert.equal(access.sub, user.userId);
  const info = await c.getUserInfoByAccessToken(t.access_token); // GET /oidc/me?access_token=
  assert.equal(info.sub, user.userId);
  assert.equal(info.email, undefined, 'the default scope (openid profile) does not grant the email claim');
  const te = ok(await c.signInByEmailPassword({ email, password, options: { scope: 'openid profile email' } }),
    'sign in with the email scope');
  assert.equal((await c.getUserInfoByAccessToken(te.access_token)).email, email);

  c.setAccessToken(t.access_token);
  const profile = ok(await c.getProfile({}), 'get-profile');
  assert.equal(profile.email, email);
  assert.equal(profile.userId, user.userId);

  // Without a token the same call is refused in the envelope.
  const anon = await newClient().getProfile({});
  assert.equal(anon.statusCode, 401);
});

test('reset by email code: new password works, old one and old sessions do not, notice sent', TIMEOUT, async () => {
  const email = newEmail('reset');
  const oldPw = newPassword('old');
  const newPw = newPassword('new');
  await signUp(email, oldPw);
  const before = ok(await signIn(email, oldPw), 'sign in before the reset');

  const c = newClient();
  const token = await resetToken(c, email);
  const r = ok(await c.resetPassword({ password: newPw, passwordResetToken: token }), 'reset-password');
  assert.equal(r.success, true);

  ok(await signIn(email, newPw), 'sign in with the new password');
  const old = await signIn(email, oldPw);
  assert.equal(old.statusCode, 401, JSON.stringify(old));
  assert.equal(old.data, undefined);

  // The reset ended the sessions that existed before it.
  const stale = newClient();
  stale.setAccessToken(before.access_token);
  const p = await stale.getProfile({});
  assert.equal(p.statusCode, 401, JSON.stringify(p));
  const res = await rejection(newClient().getNewAccessTokenByRefreshToken(before.refresh_token), 'old refresh token');
  assert.equal(res.status, 400);
  assert.equal(res.data.error, 'invalid_grant');

  const notice = await waitForMessage(email, (m) => !m.code && /password was changed/i.test(m.subject),
    'the "password changed" notice');
  assert.match(notice.text, /password was changed/i);
});

test('refusals come back in the envelope without throwing', TIMEOUT, async () => {
  const email = newEmail('refuse');
  const oldPw = newPassword('current');
  await signUp(email, oldPw);
  const c = newClient();

  ok(await c.sendEmail({ email, channel: RESET }), 'send-email');
  const passCode = await code(email);
  const wrong = String((Number(passCode) + 1) % 1_000_000).padStart(6, '0');
  const bad = await c.verifyResetPasswordRequest({
    verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email, passCode: wrong },
  });
  assert.equal(bad.statusCode, 400, JSON.stringify(bad));
  assert.match(bad.message, /tries left/);
  assert.equal(bad.data, undefined);

  // One wrong try does not burn the code.
  const v = ok(await c.verifyResetPasswordRequest({
    verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email, passCode },
  }), 'verify with the right code');
  const token = v.passwordResetToken;

  const same = await c.resetPassword({ password: oldPw, passwordResetToken: token });
  assert.equal(same.statusCode, 400, JSON.stringify(same));
  assert.notEqual(same.data?.success, true);

  // A policy refusal leaves the token usable for a better password.
  const newPw = newPassword('better');
  assert.equal(ok(await c.resetPassword({ password: newPw, passwordResetToken: token }), 'reset').success, true);

  const another = newPassword('another');
  const reused = await c.resetPassword({ password: another, passwordResetToken: token });
  assert.equal(reused.statusCode, 400, JSON.stringify(reused));
  assert.notEqual(reused.data?.success, true);

  const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  const forgedPw = newPassword('forged');
  for (const forged of [crypto.randomBytes(24).toString('base64url'), flipped]) {
    const f = await c.resetPassword({ password: forgedPw, passwordResetToken: forged });
    assert.equal(f.statusCode, 400, JSON.stringify(f));
    assert.notEqual(f.data?.success, true);
  }

  // None of the refused resets changed the password.
  ok(await signIn(email, newPw), 'sign in with the one accepted password');
  for (const pw of [oldPw, another, forgedPw]) {
    assert.equal((await signIn(email, pw)).statusCode, 401, pw);
  }
});

for (const kind of ['sm2', 'rsa']) {
  test(`reset and sign in with a ${kind}-encrypted password`, TIMEOUT, async () => {
    const encrypt = kind === 'sm2' ? sm2Encrypt : rsaEncrypt;
    const email = newEmail(kind);
    // Sign-up takes the same encrypted form.
    const startPw = newPassword(`${kind}-start`);
    ok(await newClient().signUpByEmailPassword({
      email, password: await encrypt(startPw), options: { passwordEncryptType: kind },
    }), `sign up with ${kind}`);
    ok(await signIn(email, startPw), `plain sign-in after a ${kind} sign-up`);
    const c = newClient();
    const token = await resetToken(c, email);
    const newPw = newPassword(`${kind}-transported`);
    const r = ok(await c.resetPassword({
      password: await encrypt(newPw), passwordResetToken: token, passwordEncryptType: kind,
    }), `reset with ${kind}`);
    assert.equal(r.success, true);

    const t = ok(await c.signInByEmailPassword({
      email, password: await encrypt(newPw), options: { passwordEncryptType: kind },
    }), `sign in with ${kind}`);
    assert.equal(typeof t.access_token, 'string');
    // The server stored the plaintext's hash, not the ciphertext's.
    ok(await signIn(email, newPw), 'plain sign-in after an encrypted reset');
    // Ciphertext without its encryptType is just a wrong password.
    assert.equal((await signIn(email, await encrypt(newPw))).statusCode, 401);
    // A ciphertext of the replaced password is refused.
    assert.equal((await c.signInByEmailPassword({
      email, password: await encrypt(startPw), options: { passwordEncryptType: kind },
    })).statusCode, 401);

    if (kind === 'sm2') {
      for (const form of [(ct) => 'sm2:' + ct, (ct) => '04' + ct, (ct) => 'sm2:04' + ct]) {
        const enc = form(await sm2Encrypt(newPw));
        ok(await c.signInByEmailPassword({ email, password: enc, options: { passwordEncryptType: 'sm2' } }),
          `sm2 sign-in with ${enc.slice(0, 6)}…`);
      }
    }
  });
}

test('an unknown address gets the same answer and no mail', TIMEOUT, async () => {
  const known = newEmail('known');
  const unknown = newEmail('nobody');
  await signUp(known, newPassword('known'));
  const c = newClient();
  const u = await c.sendEmail({ email: unknown, channel: RESET });
  const k = await c.sendEmail({ email: known, channel: RESET });
  const strip = ({ requestId, ...rest }) => rest;
  assert.equal(u.statusCode, 200, JSON.stringify(u));
  assert.deepEqual(strip(u), strip(k));

  // The known address got its code; give the unknown one time to show up too.
  await code(known);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await messages(unknown), []);

  // And its throttle answers like a known address's.
  const u2 = await c.sendEmail({ email: unknown, channel: RESET });
  const k2 = await c.sendEmail({ email: known, channel: RESET });
  assert.equal(k2.statusCode, 429, JSON.stringify(k2));
  assert.deepEqual(strip(u2), strip(k2));
});

test('phone: sign up by SMS code, reset by PHONE_PASSCODE, sign in by phone and password', TIMEOUT, async () => {
  const phone = '13800138000';
  const firstPw = newPassword('phone-first');
  const newPw = newPassword('phone-new');
  const c = newClient();

  ok(await c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_REGISTER' }), 'send-sms register');
  const reg = ok(await c.signUpByPhoneCode({
    phone, passCode: await code(phone), options: { passwordForPhonePassCode: firstPw },
  }), 'sign up by phone code');
  assert.equal(typeof reg.userId, 'string');
  assert.match(reg.phone, /13800138000$/);
  ok(await c.signInByPhonePassword({ phone, password: firstPw }), 'sign in with the first password');

  ok(await c.sendSms({ phoneNumber: phone, channel: RESET }), 'send-sms reset');
  const v = ok(await c.verifyResetPasswordRequest({
    verifyMethod: 'PHONE_PASSCODE',
    phonePassCodePayload: { phoneNumber: phone, passCode: await code(phone) },
  }), 'verify by phone');
  assert.equal(v.tokenExpiresIn, 900);
  assert.equal(ok(await c.resetPassword({ password: newPw, passwordResetToken: v.passwordResetToken }), 'reset').success, true);

  const t = ok(await c.signInByPhonePassword({ phone, password: newPw }), 'sign in with the new password');
  assert.equal(typeof t.access_token, 'string');
  const old = await c.signInByPhonePassword({ phone, password: firstPw });
  assert.equal(old.statusCode, 401, JSON.stringify(old));

  await waitForMessage(phone, (m) => !m.code && /password was changed/i.test(m.text), 'the "password changed" SMS');
});

test('client_secret_basic: right secret signs in, wrong secret gets 401', TIMEOUT, async () => {
  const email = newEmail('basic');
  const password = newPassword('basic');
  await signUp(email, password);

  const basic = newClient({ tokenEndPointAuthMethod: 'client_secret_basic' });
  const t = ok(await basic.signInByEmailPassword({ email, password }), 'basic sign-in');
  assert.equal(typeof t.access_token, 'string');
  // The basic client refreshes through the same header.
  const n = await basic.getNewAccessTokenByRefreshToken(t.refresh_token);
  assert.equal(typeof n.access_token, 'string');
  // Introspection and revocation: this client sends the secret both in the
  // Basic header and (their own default, client_secret_post) in the body.
  const live = await basic.introspectToken(n.access_token);
  assert.equal(live.active, true, JSON.stringify(live));
  const extra = ok(await basic.signInByEmailPassword({ email, password }), 'basic sign-in, to revoke');
  assert.equal(await basic.revokeToken(extra.access_token), true);
  assert.equal((await basic.introspectToken(extra.access_token)).active, false);

  const wrongBasic = newClient({ tokenEndPointAuthMethod: 'client_secret_basic', appSecret: 'not-the-secret-0000000000' });
  const w = await wrongBasic.signInByEmailPassword({ email, password });
  assert.equal(w.statusCode, 401, JSON.stringify(w));
  assert.equal(w.data, undefined);

  const wrongPost = newClient({ appSecret: 'not-the-secret-0000000000' });
  const wp = await wrongPost.signInByEmailPassword({ email, password });
  assert.equal(wp.statusCode, 401, JSON.stringify(wp));

  const res = await rejection(wrongBasic.getNewAccessTokenByRefreshToken(n.refresh_token), 'refresh with a wrong secret');
  assert.equal(res.status, 401);
  assert.equal(res.data.error, 'invalid_client');
});

test('tokens: refresh rotates, an old refresh token fails, introspect and revoke', TIMEOUT, async () => {
  const email = newEmail('tokens');
  const password = newPassword('token');
  await signUp(email, password);
  const first = ok(await signIn(email, password), 'sign in');

  const c = newClient();
  const next = await c.getNewAccessTokenByRefreshToken(first.refresh_token);
  assert.equal(typeof next.access_token, 'string');
  assert.notEqual(next.access_token, first.access_token);
  assert.equal(typeof next.refresh_token, 'string');
  assert.notEqual(next.refresh_token, first.refresh_token);

  const res = await rejection(c.getNewAccessTokenByRefreshToken(first.refresh_token), 'reused refresh token');
  assert.equal(res.status, 400);
  assert.equal(res.data.error, 'invalid_grant');

  // Introspection and revocation on a session of their own, so that a
  // server that ends the whole session on refresh-token reuse (as RFC 9700
  // recommends) is not mistaken for a working revocation.
  const second = ok(await signIn(email, password), 'second sign-in');
  const live = await c.introspectToken(second.access_token);
  assert.equal(live.active, true, JSON.stringify(live));

  assert.equal(await c.revokeToken(second.access_token), true);
  const dead = await c.introspectToken(second.access_token);
  assert.equal(dead.active, false, JSON.stringify(dead));

  const after = newClient();
  after.setAccessToken(second.access_token);
  assert.equal((await after.getProfile({})).statusCode, 401);

  // revokeToken takes a refresh token too; it stops refreshing.
  const third = ok(await signIn(email, password), 'third sign-in');
  assert.equal(await c.revokeToken(third.refresh_token), true);
  const gone = await rejection(c.getNewAccessTokenByRefreshToken(third.refresh_token), 'revoked refresh token');
  assert.equal(gone.status, 400);
  assert.equal(gone.data.error, 'invalid_grant');
});

// Found as server bugs by these tests, fixed since: kept as regressions.

test('introspectToken accepts a refresh token', {
  ...TIMEOUT,
}, async () => {
  const email = newEmail('introspect-rt');
  const password = newPassword('introspect');
  const user = await signUp(email, password);
  const t = ok(await signIn(email, password), 'sign in');
  const c = newClient();
  const live = await c.introspectToken(t.refresh_token);
  assert.equal(live.active, true, JSON.stringify(live));
  assert.equal(live.sub, user.userId);
  await c.revokeToken(t.refresh_token);
  assert.equal((await c.introspectToken(t.refresh_token)).active, false);
});

test('a refreshed token keeps the scope granted at sign-in', {
  ...TIMEOUT,
}, async () => {
  const email = newEmail('scope');
  const password = newPassword('scope');
  await signUp(email, password);
  const scope = 'openid profile email';
  const t = ok(await signIn(email, password, { scope }), 'sign in');
  assert.equal(t.scope, scope);
  const c = newClient();
  const next = await c.getNewAccessTokenByRefreshToken(t.refresh_token);
  assert.equal(next.scope, scope, JSON.stringify({ ...next, access_token: '…', id_token: '…' }));
  assert.equal((await c.parseAccessToken(next.access_token)).scope, scope);
  assert.equal((await c.parseIDToken(next.id_token)).email, email);
  assert.equal((await c.introspectToken(next.access_token)).scope, scope);
});
