// The hosted forgot-password page: ask for a code, check it, set a new
// password, through the public /api/v3 endpoints only. Every sentence comes
// from the page's configuration block, in the page's language.
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('kh-config').textContent);
  var T = cfg.text;
  var CHANNEL = 'CHANNEL_RESET_PASSWORD';

  // say fills {name} placeholders of a sentence.
  function say(key, vars) {
    return (T[key] || key).replace(/\{(\w+)\}/g, function (m, k) {
      return vars && Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
    });
  }

  function $(id) { return document.getElementById(id); }

  var steps = {
    start: $('step-start'), code: $('step-code'), password: $('step-password'), done: $('step-done')
  };
  // target is what the API gets; shown is what the person typed, tidied.
  var state = { kind: '', target: '', shown: '', token: '' };
  var resendAt = 0;
  var timer = 0;

  // call POSTs body to an /api/v3 endpoint and returns the reply envelope;
  // a failed connection or a reply that is not the envelope is statusCode 0.
  async function call(endpoint, body) {
    try {
      var resp = await fetch('api/v3/' + endpoint, {
        method: 'POST',
        credentials: 'omit',
        cache: 'no-store',
        headers: {
          'Content-Type': 'application/json',
          'x-authing-app-id': cfg.appId,
          'x-authing-lang': cfg.lang
        },
        body: JSON.stringify(body)
      });
      var env = await resp.json();
      if (env && typeof env.statusCode === 'number') {
        return env;
      }
    } catch (e) {
      // fall through: reported as a network error
    }
    return { statusCode: 0, apiCode: 0, message: '' };
  }

  // explain turns a failed reply into a sentence for a person, and says
  // whether the only way on is to start again.
  function explain(env) {
    var msg = env.message || '';
    var m;
    switch (env.apiCode) {
      case 40103:
        m = /(\d+) tries left/.exec(msg);
        if (m) {
          return { text: m[1] === '1' ? say('wrongCode1') : say('wrongCode', { n: m[1] }) };
        }
        return { text: say('codeDead'), restart: true };
      case 40104:
        return { text: say('tokenDead'), restart: true };
      case 40003:
        return { text: policy(msg) };
      case 40004:
        return { text: say('reused') };
      case 42901:
        // The server's own SMS budget, not this address's: see errSMSBudget.
        if (/as many texts/.test(msg)) { return { text: say('smsBudget') }; }
        if (/hour/.test(msg)) { return { text: say('throttleHour') }; }
        if (/today|tomorrow/.test(msg)) { return { text: say('throttleDay') }; }
        return { text: say('throttleMinute', { target: state.shown }), minute: true };
      case 42900:
        return { text: say('rateLimited') };
      case 40001:
        return { text: say('badApp') };
      case 40000:
        if (/^email/.test(msg)) { return { text: say('badEmail') }; }
        if (/^phone/.test(msg)) { return { text: say('badPhone') }; }
        if (/passCode/.test(msg)) { return { text: say('badCode') }; }
        if (/^password/.test(msg)) { return { text: say('policyEmpty') }; }
        break;
    }
    if (env.statusCode === 0) { return { text: say('networkError') }; }
    if (env.statusCode >= 500) { return { text: say('serverError') }; }
    return { text: msg || say('serverError') };
  }

  // policy names the password policy's reason in the page's language; the
  // server's sentence is kept for a reason this page does not know.
  function policy(msg) {
    var m;
    if ((m = /at least (\d+) characters/.exec(msg))) { return say('policyShort', { n: m[1] }); }
    if ((m = /at most (\d+) characters/.exec(msg))) { return say('policyLong', { n: m[1] }); }
    if (/commonly used/.test(msg)) { return say('policyCommon'); }
    if (/too easy to guess/.test(msg)) { return say('policyWeak'); }
    if (/email address, username or phone/.test(msg)) { return say('policyUserInput'); }
    if (/must not be empty/.test(msg)) { return say('policyEmpty'); }
    return msg.replace(/^password: /, '');
  }

  function show(name, focus) {
    Object.keys(steps).forEach(function (k) { steps[k].hidden = k !== name; });
    if (focus) { focus.focus(); }
  }

  function setError(id, input, text) {
    $(id).textContent = text || '';
    if (input) {
      if (text) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
    }
  }

  // busy disables a form's buttons while its request is on the way.
  function busy(form, on) {
    form.setAttribute('aria-busy', on ? 'true' : 'false');
    Array.prototype.forEach.call(form.querySelectorAll('button[type=submit]'), function (b) { b.disabled = on; });
  }

  // parseTarget tells an email address from a phone number.
  function parseTarget(s) {
    s = s.trim();
    if (s.indexOf('@') >= 0) {
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s) ? { kind: 'email', value: s, shown: s } : null;
    }
    var n = s.replace(/[\s().-]/g, '');
    return /^\+?\d{5,20}$/.test(n) ? { kind: 'phone', value: n, shown: s.replace(/\s+/g, ' ') } : null;
  }

  function sendCode() {
    if (state.kind === 'email') {
      return call('send-email', { email: state.target, channel: CHANNEL });
    }
    return call('send-sms', { phoneNumber: state.target, channel: CHANNEL });
  }

  // countdown keeps the resend button off until the server will send again.
  function countdown(seconds) {
    var btn = $('resend');
    resendAt = Date.now() + seconds * 1000;
    clearInterval(timer);
    function tick() {
      var left = Math.ceil((resendAt - Date.now()) / 1000);
      if (left > 0) {
        btn.disabled = true;
        btn.textContent = say('resendIn', { s: left });
        return;
      }
      clearInterval(timer);
      btn.disabled = false;
      btn.textContent = say('resend');
    }
    tick();
    timer = setInterval(tick, 1000);
  }

  // announce puts text in the code step's live region; setting it replaces
  // the text node, so the same words are read out again after a resend.
  function announce(text) {
    $('code-sent').textContent = text;
  }

  steps.start.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var input = $('target');
    var t = parseTarget(input.value);
    if (!t) {
      setError('target-error', input, say('badTarget'));
      input.focus();
      return;
    }
    setError('target-error', input, '');
    state.kind = t.kind;
    state.target = t.value;
    state.shown = t.shown;
    busy(steps.start, true);
    var env = await sendCode();
    busy(steps.start, false);
    var sent = env.statusCode === 200;
    var why = sent ? null : explain(env);
    if (!sent && !why.minute) {
      setError('target-error', input, why.text);
      input.focus();
      return;
    }
    // Sent, or a code went to this address less than a minute ago: either
    // way the code the person may have is the one to type.
    $('code').value = '';
    setError('code-error', $('code'), '');
    $('account').value = state.target;
    announce(sent ? say('codeSent', { target: state.shown, ttl: cfg.ttl }) : why.text);
    countdown(cfg.resendAfter);
    show('code', $('code'));
  });

  $('resend').addEventListener('click', async function () {
    var code = $('code');
    this.disabled = true;
    var env = await sendCode();
    if (env.statusCode === 200) {
      setError('code-error', code, '');
      code.value = '';
      announce(say('codeSent', { target: state.shown, ttl: cfg.ttl }));
      countdown(cfg.resendAfter);
      code.focus();
      return;
    }
    var why = explain(env);
    setError('code-error', null, why.text);
    if (why.minute) {
      countdown(cfg.resendAfter);
    } else {
      // After an hourly or daily refusal asking again is pointless.
      this.disabled = env.apiCode === 42901;
    }
  });

  steps.code.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var input = $('code');
    var code = input.value.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) {
      setError('code-error', input, say('badCode'));
      input.focus();
      return;
    }
    setError('code-error', input, '');
    var body = state.kind === 'email'
      ? { verifyMethod: 'EMAIL_PASSCODE', emailPassCodePayload: { email: state.target, passCode: code } }
      : { verifyMethod: 'PHONE_PASSCODE', phonePassCodePayload: { phoneNumber: state.target, passCode: code } };
    busy(steps.code, true);
    var env = await call('verify-reset-password-request', body);
    busy(steps.code, false);
    if (env.statusCode !== 200 || !env.data || !env.data.passwordResetToken) {
      setError('code-error', input, explain(env).text);
      input.select();
      input.focus();
      return;
    }
    state.token = env.data.passwordResetToken;
    clearInterval(timer);
    show('password', $('password'));
  });

  steps.password.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var pw = $('password');
    var pw2 = $('password2');
    $('password-restart').hidden = true;
    if (pw.value === '') {
      setError('password-error', pw, say('policyEmpty'));
      pw.focus();
      return;
    }
    if (pw.value !== pw2.value) {
      setError('password-error', pw2, say('mismatch'));
      pw2.focus();
      return;
    }
    setError('password-error', pw, '');
    pw2.removeAttribute('aria-invalid');
    busy(steps.password, true);
    var env = await call('reset-password', { password: pw.value, passwordResetToken: state.token });
    busy(steps.password, false);
    if (env.statusCode !== 200) {
      var why = explain(env);
      setError('password-error', pw, why.text);
      if (why.restart) {
        $('password-restart').hidden = false;
        $('password-restart').focus();
      } else {
        pw.focus();
      }
      return;
    }
    state.token = '';
    pw.value = '';
    pw2.value = '';
    show('done', $('done-title'));
  });

  Array.prototype.forEach.call(document.querySelectorAll('.restart'), function (b) {
    b.addEventListener('click', function () {
      clearInterval(timer);
      state.token = '';
      $('password').value = '';
      $('password2').value = '';
      setError('password-error', $('password'), '');
      setError('code-error', $('code'), '');
      show('start', $('target'));
      $('target').select();
    });
  });

  // Typing again clears the error the field was marked with.
  ['target', 'code', 'password', 'password2'].forEach(function (id) {
    $(id).addEventListener('input', function () { this.removeAttribute('aria-invalid'); });
  });
}());
