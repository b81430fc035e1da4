// Helpers shared by the Node SDK suites: the server and mailbox the Go test
// (e2e/nodesdk_test.go) passes in the environment, fresh identities, and
// assertions on GenAuth envelopes.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { AuthenticationClient } = require('authing-node-sdk');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this file through go test -run NodeSDK ./e2e/`);
  return v;
}

const appHost = env('KEYHAVEN_URL');
const appId = env('KEYHAVEN_APP_ID');
const appSecret = env('KEYHAVEN_APP_SECRET');
const mailbox = env('KEYHAVEN_MAILBOX_URL');

const TIMEOUT = { timeout: 120_000 };

function newClient(options = {}) {
  return new AuthenticationClient({ appId, appSecret, appHost, ...options });
}

// Fresh addresses, numbers and names per test: one code per address and
// channel a minute, and reruns against a kept database must not collide.
function newEmail(tag) {
  return `${tag}-${crypto.randomBytes(5).toString('hex')}@example.com`;
}

function newPhone() {
  let digits = '';
  for (let i = 0; i < 8; i++) digits += crypto.randomInt(10);
  return '139' + digits;
}

function newUsername(tag) {
  return `${tag}_${crypto.randomBytes(5).toString('hex')}`;
}

// A password the zxcvbn-based policy accepts, distinct per call.
function newPassword(tag) {
  return `${tag}-${crypto.randomBytes(8).toString('hex')}`;
}

// A 6-digit code that differs from `c`.
function wrongCode(c) {
  return String((Number(c) + 1) % 1_000_000).padStart(6, '0');
}

// code fetches the next code sent to `to` from the mailbox (it waits up to 10 s).
async function code(to) {
  const res = await fetch(`${mailbox}/code?to=${encodeURIComponent(to)}`);
  const body = await res.json();
  assert.equal(res.status, 200, `no code reached ${to}: ${JSON.stringify(body)}`);
  assert.match(body.code, /^\d{6}$/);
  return body.code;
}

// messages lists everything the sinks received for `to` so far.
async function messages(to) {
  const res = await fetch(`${mailbox}/messages?to=${encodeURIComponent(to)}`);
  assert.equal(res.status, 200);
  return res.json();
}

// waitForMessage polls until a message to `to` satisfies pred (up to 10 s).
async function waitForMessage(to, pred, what) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await messages(to);
    const m = got.find(pred);
    if (m) return m;
    if (Date.now() > deadline) {
      assert.fail(`${what} did not reach ${to} within 10 s; received: ${JSON.stringify(got)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ok asserts a business success and returns its data.
function ok(reply, what) {
  assert.equal(reply.statusCode, 200, `${what}: ${JSON.stringify(reply)}`);
  return reply.data;
}

// refused asserts a business failure with the given statusCode (and apiCode
// when given) that carries no data.
function refused(reply, statusCode, apiCode, what) {
  assert.equal(reply.statusCode, statusCode, `${what}: ${JSON.stringify(reply)}`);
  if (apiCode !== undefined) assert.equal(reply.apiCode, apiCode, `${what}: ${JSON.stringify(reply)}`);
  assert.notEqual(reply.data?.success, true, `${what}: ${JSON.stringify(reply)}`);
  assert.equal(reply.data?.access_token, undefined, `${what}: ${JSON.stringify(reply)}`);
  return reply;
}

module.exports = {
  appHost, appId, appSecret, mailbox, TIMEOUT,
  newClient, newEmail, newPhone, newUsername, newPassword, wrongCode,
  code, messages, waitForMessage, ok, refused,
};
