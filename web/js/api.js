// The one way pages reach the API: JSON in, JSON or an RFC 9457 problem out.

/**
 * @typedef {object} Problem
 * @property {string} [type]
 * @property {string} [title]
 * @property {number} status
 * @property {string} detail
 * @property {Record<string, string>} [errors]
 * @property {string} [request_id]
 * @property {string} [existing_holder_id] with `duplicate-holder`: the profile it would repeat
 */

/** A refusal of the API, with its Italian detail and the fields at fault. */
export class ApiError extends Error {
  /** @param {Problem} problem */
  constructor(problem) {
    super(problem.detail);
    this.problem = problem;
    this.status = problem.status;
    this.errors = problem.errors ?? {};
  }
}

/**
 * @typedef {object} CallOptions
 * @property {unknown} [body]
 * @property {string | null} [bearer] the account login or a link token
 * @property {Record<string, string>} [headers]
 */

/**
 * Calls `method path`; writes carry a fresh Idempotency-Key, so a retried click applies once.
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<any>}
 */
export async function call(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json, application/problem+json', ...options.headers };
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST' || method === 'PUT') headers['idempotency-key'] = crypto.randomUUID();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError({
      status: 0,
      detail: 'Il servizio non risponde: controlla la connessione e riprova.',
    });
  }
  const text = await response.text();
  /** @type {any} */
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const problem = body && typeof body.detail === 'string'
      ? body
      : { status: response.status, detail: `Errore ${response.status}: riprova più tardi.` };
    throw new ApiError(problem);
  }
  return body;
}

/**
 * A query string of the non-empty values, e.g. "?cognome=test".
 * @param {Record<string, string | number | boolean | null | undefined>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '' && value !== false) {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
