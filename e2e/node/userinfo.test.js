// End-to-end tests of the sign-up / sign-in variants and of the signed-in
// user's own account calls (profile, security level, binding and unbinding
// email and phone, changing password, email and phone, deleting the
// account), driven through the official GenAuth Node SDK, authing-node-sdk
// 4.0.1, against a real Keyhaven server.
//
// Run by e2e/nodesdk_test.go (go test -run NodeSDK ./e2e/), which starts the
// server and a "code mailbox" and passes them in the environment:
//   KEYHAVEN_URL, KEYHAVEN_APP_ID, KEYHAVEN_APP_SECRET, KEYHAVEN_MAILBOX_URL.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const {
  appHost, appId, mailbox, TIMEOUT,
  newClient, newEmail, newPhone, newUsername, newPassword, wrongCode,
  code, messages, waitForMessage, ok, refused,
} = require('./helpers');

function assertTokens(t, what) {
  for (const k of ['access_token', 'id_token', 'refresh_token']) {
    assert.equal(typeof t[k], 'string', `${what}: ${k}`);
    assert.ok(t[k].length > 0, `${what}: ${k}`);
  }
  assert.equal(t.token_type, 'Bearer', what);
}

// signedIn returns a client carrying the access token of `t`.
function signedIn(t) {
  const c = newClient();
  c.setAccessToken(t.access_token);
  return c;
}

async function profileOf(t) {
  return ok(await signedIn(t).getProfile({}), 'get-profile');
}

async function emailUser(tag) {
  const email = newEmail(tag);
  const password = newPassword(tag);
  const user = ok(await newClient().signUpByEmailPassword({ email, password }), `sign up ${email}`);
  assert.equal(typeof user.userId, 'string');
  const t = ok(await newClient().signInByEmailPassword({ email, password }), `sign in ${email}`);
  return { email, password, userId: user.userId, t, c: signedIn(t) };
}

async function phoneUser(tag) {
  const phone = newPhone();
  const password = newPassword(tag);
  const c0 = newClient();
  ok(await c0.sendSms({ phoneNumber: phone, channel: 'CHANNEL_REGISTER' }), 'send-sms register');
  const user = ok(await c0.signUpByPhoneCode({
    phone, passCode: await code(phone), options: { passwordForPhonePassCode: password },
  }), `sign up ${phone}`);
  const t = ok(await newClient().signInByPhonePassword({ phone, password }), `sign in ${phone}`);
  return { phone, password, userId: user.userId, t, c: signedIn(t) };
}

// ---------------------------------------------------------------------------
// Sign-up and sign-in variants

test('username: sign up, sign in by username and by account; wrong password and taken username refused', TIMEOUT, async () => {
  const username = newUsername('alice');
  const password = newPassword('alice');
  const c = newClient();
  const user = ok(await c.signUpByUsernamePassword({ username, password }), 'sign up by username');
  assert.equal(user.username, username);
  assert.equal(typeof user.userId, 'string');

  const t1 = ok(await c.signInByUsernamePassword({ username, password }), 'sign in by username');
  assertTokens(t1, 'username sign-in');
  assert.equal((await c.parseIDToken(t1.id_token)).sub, user.userId);
  const t2 = ok(await c.signInByAccountPassword({ account: username, password }), 'sign in by account = username');
  assertTokens(t2, 'account sign-in');
  assert.equal((await c.parseAccessToken(t2.access_token)).sub, user.userId);
  const p = await profileOf(t2);
  assert.equal(p.userId, user.userId);
  assert.equal(p.username, username);

  refused(await c.signInByUsernamePassword({ username, password: newPassword('wrong') }), 401, 40101, 'wrong password');
  refused(await c.signInByAccountPassword({ account: username, password: newPassword('wrong') }), 401, 40101, 'wrong password by account');
  refused(await c.signInByUsernamePassword({ username: newUsername('nobody'), password }), 401, 40101, 'unknown username');

  refused(await c.signUpByUsernamePassword({ username, password: newPassword('again') }), 409, 40900, 'taken username');
});

test('email: sign in by account = email; a duplicate email in another case is refused with 409', TIMEOUT, async () => {
  const email = newEmail('acct');
  const password = newPassword('acct');
  const c = newClient();
  const user = ok(await c.signUpByEmailPassword({ email, password }), 'sign up');

  const t = ok(await c.signInByAccountPassword({ account: email, password }), 'sign in by account = email');
  assertTokens(t, 'account = email');
  assert.equal((await c.parseIDToken(t.id_token)).sub, user.userId);
  refused(await c.signInByAccountPassword({ account: email, password: newPassword('wrong') }), 401, 40101, 'wrong password');

  const upper = email.toUpperCase();
  refused(await c.signUpByEmailPassword({ email: upper, password: newPassword('dup') }), 409, 40900, 'duplicate email, other case');
  // The duplicate did not replace the first account's password.
  ok(await c.signInByEmailPassword({ email, password }), 'first password still works');
});

test('email code: sign up by CHANNEL_REGISTER code, sign in by CHANNEL_LOGIN code; wrong or misdirected codes refused', TIMEOUT, async () => {
  const email = newEmail('code');
  const c = newClient();

  // No account: a login code is answered like any other but not sent.
  // (Another address: the throttle counts this send as if it were real.)
  const stranger = newEmail('stranger');
  ok(await c.sendEmail({ email: stranger, channel: 'CHANNEL_LOGIN' }), 'send-email login to an unknown address');

  ok(await c.sendEmail({ email, channel: 'CHANNEL_REGISTER' }), 'send-email register');
  const reg = await code(email);
  refused(await c.signUpByEmailCode({ email, passCode: wrongCode(reg) }), 400, 40103, 'sign up with a wrong code');
  const user = ok(await c.signUpByEmailCode({ email, passCode: reg }), 'sign up by email code');
  assert.equal(user.email, email);
  // The address is taken now: the same register code cannot make a second account.
  refused(await c.signUpByEmailCode({ email, passCode: reg }), 409, 40900, 'reused register code');
  refused(await c.signUpByEmailPassword({ email: email.toUpperCase(), password: newPassword('dup') }), 409, 40900,
    'duplicate of a code-made account, other case');

  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await messages(stranger), [], 'no login code for an address without an account');

  ok(await c.sendEmail({ email, channel: 'CHANNEL_LOGIN' }), 'send-email login');
  const login = await code(email);
  refused(await c.signInByEmailPassCode({ email, passCode: wrongCode(login) }), 400, 40103, 'wrong login code');
  // A register code is no login code.
  refused(await c.signInByEmailPassCode({ email, passCode: reg }), 400, 40103, 'register code used to sign in');

  const t = ok(await c.signInByEmailPassCode({ email, passCode: login }), 'sign in by email code');
  assertTokens(t, 'email code sign-in');
  assert.equal((await c.parseIDToken(t.id_token)).sub, user.userId);
  assert.equal((await profileOf(t)).email, email);
  // A login code works once.
  refused(await c.signInByEmailPassCode({ email, passCode: login }), 400, 40103, 'reused login code');
});

test('phone: sign up by code, sign in by phone code and by phone password', TIMEOUT, async () => {
  const phone = newPhone();
  const password = newPassword('phone');
  const c = newClient();

  ok(await c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_REGISTER' }), 'send-sms register');
  const user = ok(await c.signUpByPhoneCode({
    phone, passCode: await code(phone), options: { passwordForPhonePassCode: password },
  }), 'sign up by phone code');
  assert.equal(user.phone, phone);
  assert.equal(user.phoneCountryCode, '+86');

  ok(await c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_LOGIN' }), 'send-sms login');
  const login = await code(phone);
  refused(await c.signInByPhonePassCode({ phone, passCode: wrongCode(login) }), 400, 40103, 'wrong phone login code');
  const t = ok(await c.signInByPhonePassCode({ phone, passCode: login }), 'sign in by phone code');
  assertTokens(t, 'phone code sign-in');
  assert.equal((await c.parseAccessToken(t.access_token)).sub, user.userId);

  const t2 = ok(await c.signInByPhonePassword({ phone, password }), 'sign in by phone and password');
  assertTokens(t2, 'phone password sign-in');
  assert.equal((await profileOf(t2)).userId, user.userId);
  ok(await c.signInByAccountPassword({ account: phone, password }), 'sign in by account = phone');
  refused(await c.signInByPhonePassword({ phone, password: newPassword('wrong') }), 401, 40101, 'wrong phone password');
  refused(await c.signInByPhonePassword({ phone: newPhone(), password }), 401, 40101, 'unknown phone');
});

// ---------------------------------------------------------------------------
// The signed-in user's own account

test('getProfile, updateProfile and getSecurityLevel', TIMEOUT, async () => {
  const u = await emailUser('profile');
  const p = ok(await u.c.getProfile({}), 'get-profile');
  assert.equal(p.userId, u.userId);
  assert.equal(p.email, u.email);

  const nickname = `Nick ${crypto.randomBytes(3).toString('hex')}`;
  const username = newUsername('prof');
  const up = ok(await u.c.updateProfile({ nickname, gender: 'F', username }), 'update-profile');
  assert.equal(up.nickname, nickname);
  assert.equal(up.gender, 'F');
  assert.equal(up.username, username);
  const after = ok(await u.c.getProfile({}), 'get-profile after update');
  assert.equal(after.nickname, nickname);
  assert.equal(after.gender, 'F');
  assert.equal(after.username, username);
  // The new username signs in.
  ok(await newClient().signInByUsernamePassword({ username, password: u.password }), 'sign in by the new username');

  // Another user cannot take that username.
  const other = await emailUser('other');
  refused(await other.c.updateProfile({ username }), 409, 40900, 'taken username');
  const op = ok(await other.c.getProfile({}), 'other profile');
  assert.notEqual(op.username, username);

  // Without a token nothing changes.
  refused(await newClient().updateProfile({ nickname: 'anonymous' }), 401, 40100, 'update-profile without a token');
  refused(await newClient().getSecurityLevel(), 401, 40100, 'get-security-info without a token');
  assert.equal(ok(await u.c.getProfile({}), 'profile').nickname, nickname);

  const s = ok(await u.c.getSecurityLevel(), 'get-security-info');
  assert.equal(s.emailBinded, true);
  assert.equal(s.phoneBinded, false);
  assert.equal(s.passwordSet, true);
  assert.equal(s.mfaEnrolled, false);
  assert.equal(typeof s.securityScore, 'number');
  assert.equal(typeof s.passwordSecurityLevel, 'number');

  // A phone-only user who signed up without a password.
  const phone = newPhone();
  const c = newClient();
  ok(await c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_REGISTER' }), 'send-sms');
  ok(await c.signUpByPhoneCode({ phone, passCode: await code(phone) }), 'sign up by phone without a password');
  ok(await c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_LOGIN' }), 'send-sms login');
  const t = ok(await c.signInByPhonePassCode({ phone, passCode: await code(phone) }), 'sign in by phone code');
  const ps = ok(await signedIn(t).getSecurityLevel(), 'phone user security info');
  assert.equal(ps.emailBinded, false);
  assert.equal(ps.phoneBinded, true);
  assert.equal(ps.passwordSet, false);
  assert.equal(typeof ps.securityScore, 'number');
  assert.ok(ps.securityScore < s.securityScore,
    `a phone-only account without a password scores ${ps.securityScore}, email + password ${s.securityScore}`);
});

test('bindPhone and unbindPhone; a taken number is 409; the last identifier cannot be unbound', TIMEOUT, async () => {
  const u = await emailUser('bindphone');
  const phone = newPhone();

  // A number another account signed up with cannot be bound.
  const owner = await phoneUser('phone-owner');
  ok(await u.c.sendSms({ phoneNumber: owner.phone, channel: 'CHANNEL_BIND_PHONE' }), 'send-sms bind taken');
  refused(await u.c.bindPhone({ phoneNumber: owner.phone, passCode: await code(owner.phone) }), 409, 40900, 'bind a taken phone');
  assert.equal(ok(await u.c.getProfile({}), 'profile after the refusal').phone ?? null, null);
  assert.equal(ok(await owner.c.getProfile({}), 'owner').phone, owner.phone);

  ok(await u.c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_BIND_PHONE' }), 'send-sms bind');
  const bindCode = await code(phone);
  refused(await u.c.bindPhone({ phoneNumber: phone, passCode: wrongCode(bindCode) }), 400, 40103, 'bind with a wrong code');
  ok(await u.c.bindPhone({ phoneNumber: phone, passCode: bindCode }), 'bind-phone');
  const p = ok(await u.c.getProfile({}), 'profile after bind');
  assert.equal(p.phone, phone);
  assert.equal(p.phoneCountryCode, '+86');
  assert.equal(ok(await u.c.getSecurityLevel(), 'security').phoneBinded, true);
  ok(await newClient().signInByPhonePassword({ phone, password: u.password }), 'sign in by the bound phone');


  // Unbind: the code goes to the bound number.
  ok(await u.c.sendSms({ phoneNumber: phone, channel: 'CHANNEL_UNBIND_PHONE' }), 'send-sms unbind');
  const unbindCode = await code(phone);
  refused(await u.c.unbindPhone({ passCode: wrongCode(unbindCode) }), 400, 40103, 'unbind with a wrong code');
  ok(await u.c.unbindPhone({ passCode: unbindCode }), 'unbind-phone');
  assert.equal(ok(await u.c.getProfile({}), 'profile after unbind').phone ?? null, null);
  assert.equal(ok(await u.c.getSecurityLevel(), 'security').phoneBinded, false);
  refused(await newClient().signInByPhonePassword({ phone, password: u.password }), 401, 40101, 'sign in by the unbound phone');
  ok(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 'email still signs in');

  // The email is now the only identifier: unbinding it is refused.
  ok(await u.c.sendEmail({ email: u.email, channel: 'CHANNEL_UNBIND_EMAIL' }), 'send-email unbind');
  refused(await u.c.unbindEmail({ passCode: await code(u.email) }), 400, undefined, 'unbind the only email');
  assert.equal(ok(await u.c.getProfile({}), 'profile').email, u.email);
  ok(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 'email still signs in');
});

test('bindEmail and unbindEmail for a phone user; a taken email is 409; the last identifier cannot be unbound', TIMEOUT, async () => {
  const u = await phoneUser('bindemail');
  const email = newEmail('bound');

  // An email another account signed up with cannot be bound.
  const owner = await emailUser('email-owner');
  ok(await u.c.sendEmail({ email: owner.email, channel: 'CHANNEL_BIND_EMAIL' }), 'send-email bind taken');
  refused(await u.c.bindEmail({ email: owner.email, passCode: await code(owner.email) }), 409, 40900, 'bind a taken email');
  assert.equal(ok(await u.c.getProfile({}), 'profile after the refusal').email ?? null, null);
  ok(await newClient().signInByEmailPassword({ email: owner.email, password: owner.password }), 'owner still signs in');

  ok(await u.c.sendEmail({ email, channel: 'CHANNEL_BIND_EMAIL' }), 'send-email bind');
  const bindCode = await code(email);
  refused(await u.c.bindEmail({ email, passCode: wrongCode(bindCode) }), 400, 40103, 'bind with a wrong code');
  ok(await u.c.bindEmail({ email, passCode: bindCode }), 'bind-email');
  assert.equal(ok(await u.c.getProfile({}), 'profile after bind').email, email);
  assert.equal(ok(await u.c.getSecurityLevel(), 'security').emailBinded, true);
  ok(await newClient().signInByEmailPassword({ email, password: u.password }), 'sign in by the bound email');


  ok(await u.c.sendEmail({ email, channel: 'CHANNEL_UNBIND_EMAIL' }), 'send-email unbind');
  const unbindCode = await code(email);
  refused(await u.c.unbindEmail({ passCode: wrongCode(unbindCode) }), 400, 40103, 'unbind with a wrong code');
  ok(await u.c.unbindEmail({ passCode: unbindCode }), 'unbind-email');
  assert.equal(ok(await u.c.getProfile({}), 'profile after unbind').email ?? null, null);
  assert.equal(ok(await u.c.getSecurityLevel(), 'security').emailBinded, false);
  refused(await newClient().signInByEmailPassword({ email, password: u.password }), 401, 40101, 'sign in by the unbound email');

  // The phone is now the only identifier: unbinding it is refused.
  ok(await u.c.sendSms({ phoneNumber: u.phone, channel: 'CHANNEL_UNBIND_PHONE' }), 'send-sms unbind');
  refused(await u.c.unbindPhone({ passCode: await code(u.phone) }), 400, undefined, 'unbind the only phone');
  assert.equal(ok(await u.c.getProfile({}), 'profile').phone, u.phone);
  ok(await newClient().signInByPhonePassword({ phone: u.phone, password: u.password }), 'phone still signs in');
});

test('updatePassword: wrong old password refused; other sessions end, this one stays; notice sent', TIMEOUT, async () => {
  const u = await emailUser('updpw');
  const other = ok(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 'second session');
  const newPw = newPassword('updated');

  refused(await u.c.updatePassword({ oldPassword: newPassword('wrong'), newPassword: newPw }), 400, undefined, 'wrong old password');
  refused(await u.c.updatePassword({ newPassword: newPw }), 400, undefined, 'no old password');
  refused(await newClient().updatePassword({ oldPassword: u.password, newPassword: newPw }), 401, 40100, 'no token');
  // Nothing changed yet: the other session is alive.
  ok(await signedIn(other).getProfile({}), 'other session before the change');

  ok(await u.c.updatePassword({ oldPassword: u.password, newPassword: newPw }), 'update-password');

  refused(await signedIn(other).getProfile({}), 401, 40100, 'other session after the change');
  ok(await u.c.getProfile({}), 'this session after the change');

  ok(await newClient().signInByEmailPassword({ email: u.email, password: newPw }), 'sign in with the new password');
  refused(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 401, 40101, 'old password');

  await waitForMessage(u.email, (m) => !m.code && /password was changed/i.test(`${m.subject} ${m.text}`),
    'the "password changed" notice');
});

test('updatePassword with a passwordResetToken in place of the old password: spent once, this session stays', TIMEOUT, async () => {
  const u = await emailUser('updpwtok');
  const other = ok(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 'second session');
  const newPw = newPassword('viatoken');

  ok(await u.c.sendEmail({ email: u.email, channel: 'CHANNEL_RESET_PASSWORD' }), 'send-email reset');
  const v = ok(await u.c.verifyResetPasswordRequest({
    verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email: u.email, passCode: await code(u.email) },
  }), 'verify-reset-password-request');

  ok(await u.c.updatePassword({ newPassword: newPw, passwordResetToken: v.passwordResetToken }), 'update-password with the token');
  refused(await u.c.updatePassword({ newPassword: newPassword('again'), passwordResetToken: v.passwordResetToken }),
    400, 40104, 'the token a second time');

  refused(await signedIn(other).getProfile({}), 401, 40100, 'other session after the change');
  ok(await u.c.getProfile({}), 'this session after the change');
  ok(await newClient().signInByEmailPassword({ email: u.email, password: newPw }), 'sign in with the new password');
  refused(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 401, 40101, 'old password');
});

test('verifyUpdateEmailRequest + updateEmail: old address notified, new address signs in, token works once', TIMEOUT, async () => {
  const u = await emailUser('updemail');
  const newAddr = newEmail('moved');

  ok(await u.c.sendEmail({ email: u.email, channel: 'CHANNEL_UPDATE_EMAIL' }), 'send-email old');
  ok(await u.c.sendEmail({ email: newAddr, channel: 'CHANNEL_UPDATE_EMAIL' }), 'send-email new');
  const oldCode = await code(u.email);
  const newCode = await code(newAddr);

  refused(await u.c.verifyUpdateEmailRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { newEmail: newAddr, newEmailPassCode: newCode, oldEmail: u.email, oldEmailPassCode: wrongCode(oldCode) },
  }), 400, 40103, 'wrong old-address code');
  // A taken new address is refused.
  const taken = await emailUser('taken');
  refused(await u.c.verifyUpdateEmailRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { newEmail: taken.email, newEmailPassCode: newCode, oldEmail: u.email, oldEmailPassCode: oldCode },
  }), 409, 40900, 'taken new address');

  const v = ok(await u.c.verifyUpdateEmailRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { newEmail: newAddr, newEmailPassCode: newCode, oldEmail: u.email, oldEmailPassCode: oldCode },
  }), 'verify-update-email-request');
  assert.equal(typeof v.updateEmailToken, 'string');
  assert.ok(v.updateEmailToken.length >= 16);
  assert.equal(v.tokenExpiresIn, 600);

  refused(await newClient().updateEmail({ updateEmailToken: v.updateEmailToken }), 401, 40100, 'update-email without a token');
  assert.equal(ok(await u.c.updateEmail({ updateEmailToken: v.updateEmailToken }), 'update-email').success, true);
  refused(await u.c.updateEmail({ updateEmailToken: v.updateEmailToken }), 400, 40104, 'reused update-email token');

  assert.equal(ok(await u.c.getProfile({}), 'profile').email, newAddr);
  ok(await newClient().signInByEmailPassword({ email: newAddr, password: u.password }), 'sign in with the new address');
  refused(await newClient().signInByEmailPassword({ email: u.email, password: u.password }), 401, 40101, 'sign in with the old address');

  const notice = await waitForMessage(u.email, (m) => !m.code && /email address .* was changed/i.test(m.subject),
    'the "email changed" notice to the old address');
  assert.match(notice.text, /was changed/i);
  assert.ok(!notice.text.includes(newAddr), 'the notice does not reveal the new address');
});

test('verifyUpdatePhoneRequest + updatePhone: new number signs in, old one does not and is notified', TIMEOUT, async () => {
  const u = await phoneUser('updphone');
  const newNum = newPhone();

  ok(await u.c.sendSms({ phoneNumber: u.phone, channel: 'CHANNEL_UNBIND_PHONE' }), 'send-sms old');
  ok(await u.c.sendSms({ phoneNumber: newNum, channel: 'CHANNEL_BIND_PHONE' }), 'send-sms new');
  const oldCode = await code(u.phone);
  const newCode = await code(newNum);

  refused(await u.c.verifyUpdatePhoneRequest({
    verifyMethod: 'PHONE_PASSCODE',
    phonePassCodePayload: { newPhoneNumber: newNum, newPhonePassCode: newCode, oldPhoneNumber: u.phone, oldPhonePassCode: wrongCode(oldCode) },
  }), 400, 40103, 'wrong old-number code');

  const v = ok(await u.c.verifyUpdatePhoneRequest({
    verifyMethod: 'PHONE_PASSCODE',
    phonePassCodePayload: { newPhoneNumber: newNum, newPhonePassCode: newCode, oldPhoneNumber: u.phone, oldPhonePassCode: oldCode },
  }), 'verify-update-phone-request');
  assert.equal(typeof v.updatePhoneToken, 'string');
  assert.ok(v.updatePhoneToken.length >= 16);
  assert.ok(v.tokenExpiresIn > 0);

  assert.equal(ok(await u.c.updatePhone({ updatePhoneToken: v.updatePhoneToken }), 'update-phone').success, true);
  refused(await u.c.updatePhone({ updatePhoneToken: v.updatePhoneToken }), 400, 40104, 'reused update-phone token');

  const p = ok(await u.c.getProfile({}), 'profile');
  assert.equal(p.phone, newNum);
  ok(await newClient().signInByPhonePassword({ phone: newNum, password: u.password }), 'sign in with the new number');
  refused(await newClient().signInByPhonePassword({ phone: u.phone, password: u.password }), 401, 40101, 'sign in with the old number');

  await waitForMessage(u.phone, (m) => !m.code && /phone number .* was changed|手机号已修改/i.test(m.text),
    'the "phone changed" notice to the old number');
});

test('verifyDeleteAccountRequest by PASSWORD and by EMAIL_PASSCODE + deleteAccount', TIMEOUT, async () => {
  // By password.
  const a = await emailUser('delpw');
  refused(await a.c.verifyDeleteAccountRequest({
    verifyMethod: 'PASSWORD', passwordPayload: { password: newPassword('wrong') },
  }), 400, undefined, 'wrong password');
  refused(await newClient().verifyDeleteAccountRequest({
    verifyMethod: 'PASSWORD', passwordPayload: { password: a.password },
  }), 401, 40100, 'no token');
  const va = ok(await a.c.verifyDeleteAccountRequest({
    verifyMethod: 'PASSWORD', passwordPayload: { password: a.password },
  }), 'verify-delete-account-request by password');
  assert.equal(typeof va.deleteAccountToken, 'string');
  assert.ok(va.tokenExpiresIn > 0);
  refused(await a.c.deleteAccount({ deleteAccountToken: crypto.randomBytes(24).toString('base64url') }), 400, 40104, 'forged delete token');
  ok(await a.c.getProfile({}), 'still there after the refusals');
  assert.equal(ok(await a.c.deleteAccount({ deleteAccountToken: va.deleteAccountToken }), 'delete-account').success, true);
  refused(await a.c.getProfile({}), 401, 40100, 'profile after deletion');
  refused(await newClient().signInByEmailPassword({ email: a.email, password: a.password }), 401, 40101, 'sign in after deletion');

  // By email code.
  const b = await emailUser('delcode');
  const before = ok(await newClient().signInByEmailPassword({ email: b.email, password: b.password }), 'second session');
  ok(await b.c.sendEmail({ email: b.email, channel: 'CHANNEL_DELETE_ACCOUNT' }), 'send-email delete');
  const delCode = await code(b.email);
  refused(await b.c.verifyDeleteAccountRequest({
    verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email: b.email, passCode: wrongCode(delCode) },
  }), 400, 40103, 'wrong delete code');
  const vb = ok(await b.c.verifyDeleteAccountRequest({
    verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email: b.email, passCode: delCode },
  }), 'verify-delete-account-request by email code');
  assert.equal(ok(await b.c.deleteAccount({ deleteAccountToken: vb.deleteAccountToken }), 'delete-account').success, true);
  refused(await b.c.getProfile({}), 401, 40100, 'profile after deletion');
  refused(await signedIn(before).getProfile({}), 401, 40100, 'other session after deletion');
  refused(await newClient().signInByEmailPassword({ email: b.email, password: b.password }), 401, 40101, 'sign in after deletion');

  // The address is free again: a new account, not the old one.
  const fresh = newPassword('again');
  const again = ok(await newClient().signUpByEmailPassword({ email: b.email, password: fresh }), 'sign up again');
  assert.notEqual(again.userId, b.userId);
  ok(await newClient().signInByEmailPassword({ email: b.email, password: fresh }), 'sign in to the new account');
  refused(await newClient().signInByEmailPassword({ email: b.email, password: b.password }), 401, 40101, 'old password on the new account');
});

test('verifyDeleteAccountRequest by PHONE_PASSCODE + deleteAccount; a deletion notice is sent', TIMEOUT, async () => {
  const u = await phoneUser('delphone');
  ok(await u.c.sendSms({ phoneNumber: u.phone, channel: 'CHANNEL_DELETE_ACCOUNT' }), 'send-sms delete');
  const delCode = await code(u.phone);
  refused(await u.c.verifyDeleteAccountRequest({
    verifyMethod: 'PHONE_PASSCODE', phonePassCodePayload: { phoneNumber: '13000000000', passCode: delCode },
  }), 400, 40000, 'another number');
  refused(await u.c.verifyDeleteAccountRequest({
    verifyMethod: 'PHONE_PASSCODE', phonePassCodePayload: { phoneNumber: u.phone, passCode: wrongCode(delCode) },
  }), 400, 40103, 'wrong delete code');
  const v = ok(await u.c.verifyDeleteAccountRequest({
    verifyMethod: 'PHONE_PASSCODE', phonePassCodePayload: { phoneNumber: u.phone, phoneCountryCode: '+86', passCode: delCode },
  }), 'verify-delete-account-request by phone code');
  assert.equal(v.tokenExpiresIn, 600);
  assert.equal(ok(await u.c.deleteAccount({ deleteAccountToken: v.deleteAccountToken }), 'delete-account').success, true);
  refused(await u.c.getProfile({}), 401, 40100, 'profile after deletion');
  refused(await newClient().signInByPhonePassword({ phone: u.phone, password: u.password }), 401, 40101, 'sign in after deletion');
  await waitForMessage(u.phone, (m) => !m.code && /delet|注销|删除/i.test(m.text), 'the deletion notice');
});

// Found as a server bug by these tests, fixed since: kept as regressions.

test('a wrong new-address code does not burn the correct old-address code', {
  ...TIMEOUT,
}, async () => {
  const u = await emailUser('burn');
  const newAddr = newEmail('burn-new');
  ok(await u.c.sendEmail({ email: u.email, channel: 'CHANNEL_UPDATE_EMAIL' }), 'send-email old');
  ok(await u.c.sendEmail({ email: newAddr, channel: 'CHANNEL_UPDATE_EMAIL' }), 'send-email new');
  const oldCode = await code(u.email);
  const newCode = await code(newAddr);
  refused(await u.c.verifyUpdateEmailRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { newEmail: newAddr, newEmailPassCode: wrongCode(newCode), oldEmail: u.email, oldEmailPassCode: oldCode },
  }), 400, 40103, 'wrong new-address code');
  // A typo in one code must leave both codes usable (as a wrong try does
  // everywhere else): the user cannot ask for another code for a minute.
  ok(await u.c.verifyUpdateEmailRequest({
    verifyMethod: 'EMAIL_PASSCODE',
    emailPassCodePayload: { newEmail: newAddr, newEmailPassCode: newCode, oldEmail: u.email, oldEmailPassCode: oldCode },
  }), 'retry with both right codes');
});

test('a wrong new-number code does not burn the correct old-number code', {
  ...TIMEOUT,
}, async () => {
  const u = await phoneUser('burn-phone');
  const newNum = newPhone();
  ok(await u.c.sendSms({ phoneNumber: u.phone, channel: 'CHANNEL_UNBIND_PHONE' }), 'send-sms old');
  ok(await u.c.sendSms({ phoneNumber: newNum, channel: 'CHANNEL_BIND_PHONE' }), 'send-sms new');
  const oldCode = await code(u.phone);
  const newCode = await code(newNum);
  refused(await u.c.verifyUpdatePhoneRequest({
    verifyMethod: 'PHONE_PASSCODE',
    phonePassCodePayload: { newPhoneNumber: newNum, newPhonePassCode: wrongCode(newCode), oldPhoneNumber: u.phone, oldPhonePassCode: oldCode },
  }), 400, 40103, 'wrong new-number code');
  ok(await u.c.verifyUpdatePhoneRequest({
    verifyMethod: 'PHONE_PASSCODE',
    phonePassCodePayload: { newPhoneNumber: newNum, newPhonePassCode: newCode, oldPhoneNumber: u.phone, oldPhonePassCode: oldCode },
  }), 'retry with both right codes');
});

test('signUpByUsernamePassword with profile.email completed by a CHANNEL_COMPLETE_EMAIL code', TIMEOUT, async () => {
  const c = newClient();
  const email = newEmail('complete');
  const username = newUsername('complete');
  const password = newPassword('complete');
  // Without the code the address is refused, naming the option.
  refused(await c.signUpByUsernamePassword({ username, password, profile: { email } }), 400, 40000, 'no completion code');

  ok(await c.sendEmail({ email, channel: 'CHANNEL_COMPLETE_EMAIL' }), 'send-email complete');
  const u = ok(await c.signUpByUsernamePassword({
    username, password, profile: { email },
    options: { emailPassCodeForInformationCompletion: await code(email) },
  }), 'sign up with a completed email');
  assert.equal(u.email, email);
  assert.equal(u.emailVerified, true);
  assert.equal(u.username, username);
  assertTokens(ok(await c.signInByEmailPassword({ email, password }), 'sign in by the completed email'), 'sign-in');
});

test('signInByEmailPassword with options.autoRegister registers an unknown email first', TIMEOUT, async () => {
  const c = newClient();
  const email = newEmail('autoreg');
  const password = newPassword('autoreg');
  refused(await c.signInByEmailPassword({ email, password }), 401, 40101, 'unknown account, no autoRegister');
  assertTokens(ok(await c.signInByEmailPassword({ email, password, options: { autoRegister: true } }), 'autoRegister'), 'autoRegister');
  assertTokens(ok(await c.signInByEmailPassword({ email, password }), 'sign in again'), 'sign in again');
  refused(await c.signInByEmailPassword({ email, password: newPassword('other'), options: { autoRegister: true } }),
    401, 40101, 'known account, wrong password');
});
