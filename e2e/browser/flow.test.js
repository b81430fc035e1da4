'use strict';
// The hosted forgot-password page in headless Chromium, walked as a person
// would. Started by e2e/browser_test.go, which runs the server, the SMTP
// sink and a mailbox for the codes, creates the accounts, and afterwards
// signs in with the new password. Run alone, it needs the same environment:
//
//   KEYHAVEN_URL, KEYHAVEN_APP_ID, MAILBOX_URL, SCREENSHOT_DIR, CHROMIUM_PATH,
//   SIGN_IN_URL, NEW_PASSWORD, UNKNOWN_EMAIL, EMAIL_RESET, EMAIL_WRONG,
//   EMAIL_WAIT, EMAIL_ZH, PHONE

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { chromium } = require('playwright-core');

function need(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run this through go test -run Browser ./e2e/`);
  }
  return v;
}

const base = need('KEYHAVEN_URL');
const appId = need('KEYHAVEN_APP_ID');
const mailbox = need('MAILBOX_URL');
const shots = need('SCREENSHOT_DIR');
const signInURL = need('SIGN_IN_URL');
const newPassword = need('NEW_PASSWORD');
const email = {
  reset: need('EMAIL_RESET'),
  wrong: need('EMAIL_WRONG'),
  wait: need('EMAIL_WAIT'),
  zh: need('EMAIL_ZH'),
  unknown: need('UNKNOWN_EMAIL'),
};
const phoneNumber = need('PHONE'); // as a person types it: "+86 138 0013 8000"

const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const desktop = { viewport: { width: 800, height: 660 }, deviceScaleFactor: 1 };
// The page's clock starts here and stands still unless a test moves it, so
// countdowns (and screenshots) do not depend on how fast the machine is.
const T0 = new Date('2026-03-02T09:00:00Z');

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // Playwright gives each launch a fresh, temporary --user-data-dir.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) {
    await browser.close();
  }
});

// open starts a fresh browser context (no cookies, no cache) and a page
// that records anything the console or the network complains about: a CSP
// violation shows up there, and fails the test.
async function open(device, locale, url) {
  const context = await browser.newContext({ ...device, locale });
  await context.clock.install({ time: T0 });
  await context.clock.pauseAt(new Date(T0.getTime() + 1000));
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      problems.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  const resp = await page.goto(base + url);
  return { context, page, problems, resp };
}

async function close(s) {
  await s.context.close();
  assert.deepEqual(s.problems, [], 'the page logged problems');
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name), fullPage: true, animations: 'disabled', caret: 'hide' });
}

// mail waits for the next message to `to` through the Go test's mailbox.
async function mail(to, waitMs) {
  const u = new URL('/code', mailbox);
  u.searchParams.set('to', to);
  if (waitMs) {
    u.searchParams.set('wait', String(waitMs));
  }
  const r = await fetch(u);
  if (r.status === 404) {
    return null;
  }
  const body = await r.text();
  assert.equal(r.status, 200, `mailbox: ${body}`);
  return JSON.parse(body);
}

async function activeId(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

// wrongCode is a code that is not code: always the same one, so the
// screenshots do not change from run to run.
function wrongCode(code) {
  return code === '123456' ? '654321' : '123456';
}

const sent = (to) => `If an account exists for ${to}, a code is on its way. It is valid for 5 minutes.`;

test('English, at phone width: the whole flow with the keyboard', { timeout: 60000 }, async () => {
  const s = await open(phone, 'en-US', '/forgot-password');
  const { page } = s;
  assert.equal(s.resp.status(), 200);
  assert.equal(s.resp.headers()['content-security-policy'].includes("script-src 'self'"), true);
  assert.equal(await page.title(), 'Reset your password · Acme ID');
  await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
  await shot(page, 'en-1-start.png');

  // The first stop of the Tab key is the address field, found by its label.
  await page.keyboard.press('Tab');
  assert.equal(await activeId(page), 'target');
  assert.equal(await page.getByLabel('Email or phone number').getAttribute('id'), 'target');
  await page.keyboard.type(email.reset, { delay: 5 });
  await page.keyboard.press('Enter');

  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  assert.equal(await activeId(page), 'code', 'focus moves to the code field');
  assert.equal(await page.getByRole('status').textContent(), sent(email.reset));
  const resend = page.getByRole('button', { name: /Send a new code/ });
  assert.equal(await resend.isDisabled(), true, 'no resend before the throttle ends');
  assert.equal(await resend.textContent(), 'Send a new code in 60 s');
  await shot(page, 'en-2-code.png');

  const m = await mail(email.reset);
  assert.match(m.code, /^\d{6}$/);
  await page.keyboard.type(m.code, { delay: 5 });
  await page.keyboard.press('Enter');

  await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
  assert.equal(await activeId(page), 'password');
  const pw = page.getByLabel('New password', { exact: true });
  const pw2 = page.getByLabel('New password again');

  // The policy refuses, and the page says why.
  await pw.fill('short');
  await pw2.fill('short');
  await page.keyboard.press('Enter');
  const alert = page.locator('#password-error');
  await page.waitForFunction(() => document.getElementById('password-error').textContent !== '');
  assert.equal(await alert.textContent(), 'The password must have at least 8 characters.');
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await shot(page, 'en-3-password-refused.png');

  await pw.fill('password');
  await pw2.fill('password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForFunction(() => /commonly used/.test(document.getElementById('password-error').textContent));

  await pw.fill(newPassword);
  await pw2.fill(newPassword + 'x');
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.equal(await alert.textContent(), 'The two passwords are not the same.');

  await pw2.fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('heading', { level: 1, name: 'Password changed' }).waitFor();
  assert.equal(await activeId(page), 'done-title');
  assert.equal(await page.getByRole('link', { name: 'Back to sign in' }).getAttribute('href'), signInURL);
  await shot(page, 'en-4-done.png');
  await close(s);
});

test('a wrong code says how many tries are left', { timeout: 60000 }, async () => {
  const s = await open(desktop, 'en-US', `/forgot-password?app_id=${encodeURIComponent(appId)}&lang=en`);
  const { page } = s;
  await page.getByLabel('Email or phone number').fill(email.wrong);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  const { code } = await mail(email.wrong);

  const field = page.getByLabel('6-digit code');
  await field.fill(wrongCode(code));
  await page.getByRole('button', { name: 'Continue' }).click();
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  await alert.waitFor();
  assert.equal(await alert.textContent(), 'That code is not right. 4 tries left.');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  await shot(page, 'en-wrong-code.png');

  // The right code still works after a wrong one.
  await field.fill(code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
  await close(s);
});

test('an unknown address gets the same words, and no mail', { timeout: 60000 }, async () => {
  const s = await open(desktop, 'en-US', '/forgot-password');
  const { page } = s;
  await page.getByLabel('Email or phone number').fill(email.unknown);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  assert.equal(await page.getByRole('status').textContent(), sent(email.unknown));
  assert.equal(await mail(email.unknown, 1500), null, 'a code was mailed to an unknown address');

  // Back, and asking again at once: throttled exactly as a known address
  // would be, and the page says what to do.
  await page.getByRole('button', { name: 'Use a different email or phone number' }).click();
  await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
  assert.equal(await activeId(page), 'target');
  assert.equal(await page.getByLabel('Email or phone number').inputValue(), email.unknown);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  assert.equal(await page.getByRole('status').textContent(),
    `A code was sent to ${email.unknown} a moment ago. Enter that code, or ask for a new one when the countdown ends.`);
  await close(s);
});

test('resend waits for the throttle, with a countdown', { timeout: 60000 }, async () => {
  const s = await open(desktop, 'en-US', '/forgot-password');
  const { page } = s;
  await page.getByLabel('Email or phone number').fill(email.wait);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  const resend = page.locator('#resend');
  assert.equal(await resend.textContent(), 'Send a new code in 60 s');
  await shot(page, 'en-code-desktop.png');

  await page.clock.runFor(30000);
  assert.equal(await resend.textContent(), 'Send a new code in 30 s');
  assert.equal(await resend.isDisabled(), true);
  await page.clock.runFor(31000);
  assert.equal(await resend.textContent(), 'Send a new code');
  assert.equal(await resend.isDisabled(), false);

  // Only the page's clock moved: the server still throttles, and the page
  // says when to ask again.
  await resend.click();
  await page.waitForFunction(() => document.getElementById('code-error').textContent !== '');
  assert.equal(await page.locator('#code-error').textContent(),
    `A code was sent to ${email.wait} a moment ago. Enter that code, or ask for a new one when the countdown ends.`);
  assert.equal(await resend.textContent(), 'Send a new code in 60 s');

  const { code } = await mail(email.wait);
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
  await close(s);
});

test('Chinese, from Accept-Language', { timeout: 60000 }, async () => {
  const s = await open(phone, 'zh-CN', '/forgot-password');
  const { page } = s;
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.getByRole('heading', { level: 1, name: '忘记密码？' }).waitFor();
  await shot(page, 'zh-1-start.png');

  await page.getByLabel('邮箱或手机号').fill(email.zh);
  await page.getByRole('button', { name: '发送验证码' }).click();
  await page.getByRole('heading', { level: 1, name: '输入验证码' }).waitFor();
  assert.equal(await page.getByRole('status').textContent(),
    `如果 ${email.zh} 对应的账号存在，验证码已在发送途中，5 分钟内有效。`);
  assert.equal(await page.locator('#resend').textContent(), '60 秒后可重新发送');
  await shot(page, 'zh-2-code.png');

  const m = await mail(email.zh);
  assert.match(m.subject + m.text, /[\u4e00-\u9fff]/, 'the mail is in Chinese too');
  await page.getByLabel('6 位验证码').fill(wrongCode(m.code));
  await page.getByRole('button', { name: '继续' }).click();
  await page.waitForFunction(() => document.getElementById('code-error').textContent !== '');
  assert.equal(await page.locator('#code-error').textContent(), '验证码不正确，还可以再试 4 次。');

  // The language switch keeps the person where they were going.
  await page.getByRole('link', { name: 'English' }).click();
  await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await close(s);
});

test('by phone number: the code comes by SMS', { timeout: 60000 }, async () => {
  const s = await open(desktop, 'en-US', '/forgot-password');
  const { page } = s;
  await page.getByLabel('Email or phone number').fill(phoneNumber);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 1, name: 'Enter the code' }).waitFor();
  assert.equal(await page.getByRole('status').textContent(), sent(phoneNumber));
  const m = await mail(phoneNumber.replace(/\s/g, ''));
  await page.getByLabel('6-digit code').fill(m.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('New password again').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('heading', { level: 1, name: 'Password changed' }).waitFor();
  await close(s);
});

test('the server\'s SMS budget spent: the page says so, not that this number had too many', { timeout: 30000 }, async () => {
  // The server runs with KEYHAVEN_SMS_HOURLY_CAP=2, which sign-up and the test
  // above spent.
  const s = await open(desktop, 'en-US', '/forgot-password');
  const { page } = s;
  await page.getByLabel('Email or phone number').fill('+86 139 0013 9000');
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.waitForFunction(() => document.getElementById('target-error').textContent !== '');
  assert.equal(await page.locator('#target-error').textContent(),
    'This service has sent as many text messages as it may for now. Try again later, or use your email address.');
  // The browser logs the 429 itself; nothing else may go wrong.
  s.problems = s.problems.filter((p) => !/status of 429/.test(p));
  await close(s);
});

test('an unknown app gets a page that says so', { timeout: 30000 }, async () => {
  const s = await open(desktop, 'en-US', '/forgot-password?app_id=no-such-app');
  assert.equal(s.resp.status(), 404);
  await s.page.getByRole('heading', { level: 1, name: 'This page is not available' }).waitFor();
  // The browser logs the 404 of the page itself; nothing else may go wrong.
  s.problems = s.problems.filter((p) => !/status of 404/.test(p));
  await close(s);
});
