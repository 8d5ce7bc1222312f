// Calls Sluice's own AWS APIs from the page: Kinesis and Firehose (AWS JSON 1.1, X-Amz-Target), Lambda
// (REST-JSON) and CloudWatch (AWS JSON 1.0), signed with SigV4 when the user entered credentials
// (sessionStorage only: closing the tab forgets them). Until the user enters credentials the calls
// are signed with a placeholder key, which a server in open mode (no --auth) answers from its
// default account; a server with --auth sigv4 does not know that key and the console asks for
// credentials.
import { sign, signingAvailable } from './sigv4.js';

const STORE = 'sluice.console.credentials';

export class ApiError extends Error {
  constructor(type, message, status) {
    super(message || type);
    this.type = type;
    this.status = status;
  }
  get authProblem() {
    return ['MissingAuthenticationToken', 'MissingAuthenticationTokenException', 'UnrecognizedClientException',
      'InvalidSignatureException', 'IncompleteSignatureException', 'SignatureDoesNotMatch',
      'InvalidClientTokenId', 'ExpiredTokenException', 'AccessDeniedException'].includes(this.type);
  }
}

export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || 'null');
  } catch {
    return null;
  }
}

export function setCredentials(creds) {
  if (creds) sessionStorage.setItem(STORE, JSON.stringify(creds));
  else sessionStorage.removeItem(STORE);
}

// The placeholder of open mode: any key that is not 12 digits means the default account.
export const ANONYMOUS = { accessKeyId: 'sluice-console', secretAccessKey: 'open-mode', anonymous: true };

export function region() {
  return credentials()?.region || 'us-east-1';
}

async function send(service, method, path, query, headers, body) {
  const creds = credentials() || ANONYMOUS;
  const all = { ...headers };
  if (!signingAvailable())
    throw new ApiError('InsecureContext', 'Signing needs a secure context: open the console over https or on localhost');
  Object.assign(all, await sign({ method, host: location.host, path, query, headers: all, body },
    creds, creds.region || 'us-east-1', service));
  const qs = new URLSearchParams(query || {}).toString();
  const res = await fetch(path + (qs ? '?' + qs : ''), { method, headers: all, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (!res.ok) {
    const type = (res.headers.get('x-amzn-errortype') || json?.__type || json?.Type || 'HttpError ' + res.status)
      .split(':')[0].split('#').pop();
    throw new ApiError(type, json?.message || json?.Message || text.slice(0, 200), res.status);
  }
  return json ?? {};
}

// A Kinesis operation: kinesis('ListStreams', {}).
export function kinesis(operation, input = {}) {
  return send('kinesis', 'POST', '/', null, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'Kinesis_20131202.' + operation,
  }, JSON.stringify(input));
}

// A Firehose operation (AWS JSON 1.1): firehose('ListDeliveryStreams', {}).
export function firehose(operation, input = {}) {
  return send('firehose', 'POST', '/', null, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'Firehose_20150804.' + operation,
  }, JSON.stringify(input));
}

// A CloudWatch operation in AWS JSON 1.0 (GetMetricData).
export function cloudwatch(operation, input = {}) {
  return send('monitoring', 'POST', '/', null, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'GraniteServiceVersion20100801.' + operation,
  }, JSON.stringify(input));
}

// A Lambda REST-JSON call: lambda('GET', '/2015-03-31/functions/').
export function lambda(method, path, query = {}, input = null) {
  const headers = input ? { 'content-type': 'application/json' } : {};
  return send('lambda', method, path, query, headers, input ? JSON.stringify(input) : '');
}

// Every page of a paginated Kinesis list: the items under `key`; next(token) is the input of the
// next page (ListShards takes the token alone, ListStreamConsumers the token and the stream ARN).
export async function kinesisAll(operation, input, key, next = (token) => ({ NextToken: token })) {
  const items = [];
  let out = await kinesis(operation, input);
  items.push(...(out[key] || []));
  for (let page = 0; out.NextToken && page < 100; page++) {
    out = await kinesis(operation, next(out.NextToken));
    items.push(...(out[key] || []));
  }
  return items;
}
