// AWS Signature Version 4 in the browser, with WebCrypto (SHA-256, HMAC-SHA256). The console signs
// every call it makes to Sluice's own AWS APIs with the credentials the user entered; the server
// verifies them exactly as it verifies an SDK's (--auth sigv4). WebCrypto exists only in a secure
// context: https, or http on localhost/127.0.0.1 (docs/console.md).

const utf8 = new TextEncoder();

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function signingAvailable() {
  return typeof crypto !== 'undefined' && !!crypto.subtle;
}

async function sha256Hex(data) {
  return hex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? utf8.encode(data) : data));
}

async function hmac(key, message) {
  const k = await crypto.subtle.importKey('raw', typeof key === 'string' ? utf8.encode(key) : key,
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, utf8.encode(message)));
}

// RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX).
export function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// The amz date of `date`: 20260101T120000Z.
export function amzDate(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// Returns the headers to add to the request (x-amz-date, authorization, x-amz-security-token).
// request: { method, host, path, query (object), headers (lower-case names), body (string) }.
export async function sign(request, creds, region, service, date = new Date()) {
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const headers = { ...request.headers, host: request.host, 'x-amz-date': stamp };
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(headers).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const query = Object.entries(request.query || {})
    .map(([k, v]) => [uriEncode(k), uriEncode(String(v))])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const path = request.path.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/');
  const canonical = [request.method, path, query, canonicalHeaders, signedHeaders,
    await sha256Hex(request.body || '')].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, await sha256Hex(canonical)].join('\n');
  let key = await hmac('AWS4' + creds.secretAccessKey, day);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, 'aws4_request');
  const signature = hex(await hmac(key, toSign));
  const out = {
    'x-amz-date': stamp,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
  if (creds.sessionToken) out['x-amz-security-token'] = creds.sessionToken;
  return out;
}
