// The console's shell: the hash router (#/streams, #/streams/<name>/<tab>, #/firehose,
// #/firehose/<name>, #/functions), the
// sign-in form shown when the server wants signed requests (--auth sigv4) and the header with
// the signed-in key. Each page is a function (root, params) that fills `root` and returns a
// cleanup that stops its timers when the user leaves it.
import { ApiError, credentials, kinesis, setCredentials } from './api.js';
import { signingAvailable } from './sigv4.js';
import { h, fill, status } from './ui.js';
import { streamsPage } from './streams.js';
import { streamPage } from './stream.js';
import { functionsPage } from './functions.js';
import { deliveryStreamPage, firehosePage } from './firehose.js';

const app = document.getElementById('app');
let cleanup = null;

function signInPage(root, reason) {
  const c = credentials() || {};
  const form = h('form', { class: 'card signin', id: 'signin' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, reason || 'This server verifies AWS Signature Version 4: enter an access key from its credentials file or an IAM user.'),
    signingAvailable() ? null : h('p', { class: 'error' },
      'This page is not a secure context (https or localhost), so the browser cannot sign requests.'),
    h('label', {}, 'Access key ID', h('input', { id: 'signin-key', autocomplete: 'username', required: true, value: c.accessKeyId || '' })),
    h('label', {}, 'Secret access key', h('input', { id: 'signin-secret', type: 'password', autocomplete: 'current-password', required: true })),
    h('label', {}, 'Session token (optional)', h('input', { id: 'signin-token', autocomplete: 'off' })),
    h('label', {}, 'Region', h('input', { id: 'signin-region', value: c.region || 'us-east-1', required: true })),
    h('div', { class: 'row' }, h('button', { id: 'signin-submit', class: 'primary', type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const creds = {
      accessKeyId: form.querySelector('#signin-key').value.trim(),
      secretAccessKey: form.querySelector('#signin-secret').value,
      sessionToken: form.querySelector('#signin-token').value.trim() || undefined,
      region: form.querySelector('#signin-region').value.trim() || 'us-east-1',
    };
    setCredentials(creds);
    try {
      await kinesis('ListStreams', { Limit: 1 });
      status('Signed in as ' + creds.accessKeyId);
      if (!location.hash || location.hash === '#/signin') location.hash = '#/streams';
      route();
    } catch (err) {
      setCredentials(null);
      status(`${err.type || 'Error'}: ${err.message}`, 'error');
    }
  });
  fill(root, form);
  return null;
}

function header() {
  const c = credentials();
  fill(document.getElementById('who'),
    c ? [h('span', { class: 'muted' }, c.region + ' · '), h('span', { id: 'who-key' }, c.accessKeyId), ' ',
      h('button', { class: 'link', id: 'signout', onclick: () => { setCredentials(null); route(); } }, 'Sign out')]
      : [h('span', { class: 'muted', id: 'who-open' }, 'open mode · '), h('a', { href: '#/signin' }, 'Sign in')]);
  const tab = (location.hash.split('/')[1] || 'streams');
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === tab);
}

// A page failed because the server refused our (missing) credentials: ask for them.
export function needSignIn(err) {
  if (err instanceof ApiError && err.authProblem && err.type !== 'AccessDeniedException') {
    if (cleanup) cleanup();
    cleanup = null;
    signInPage(app, credentials() ? `${err.type}: ${err.message}` : undefined);
    return true;
  }
  return false;
}

export function route() {
  if (cleanup) cleanup();
  cleanup = null;
  header();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (parts[0] === 'signin') cleanup = signInPage(app);
    else if (parts[0] === 'functions') cleanup = functionsPage(app);
    else if (parts[0] === 'firehose' && parts[1]) cleanup = deliveryStreamPage(app, parts[1]);
    else if (parts[0] === 'firehose') cleanup = firehosePage(app);
    else if (parts[0] === 'streams' && parts[1]) cleanup = streamPage(app, parts[1], parts[2] || 'overview');
    else cleanup = streamsPage(app);
  } catch (err) {
    if (!needSignIn(err)) status(err.message, 'error');
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  if (!needSignIn(e.reason)) status(e.reason?.message || String(e.reason), 'error');
});
route();
