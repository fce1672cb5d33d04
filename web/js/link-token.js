// A link's token is a secret: it arrives in the fragment (`#token=…`, which never reaches a
// server, a CDN log or a Referer), is kept for this tab only, and leaves the address bar at once.

/**
 * The token of the link that opened this page (or of an earlier one in this tab).
 * Links sent before tokens moved to the fragment carry `?token=`: read the same way.
 * @param {string} storageKey
 * @returns {string | null}
 */
export function takeToken(storageKey) {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  const fromQuery = new URLSearchParams(location.search).get('token');
  const token = fromFragment || fromQuery;
  if (token) {
    sessionStorage.setItem(storageKey, token);
    const rest = new URLSearchParams(location.search);
    rest.delete('token');
    const search = rest.toString();
    history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
  }
  return token || sessionStorage.getItem(storageKey);
}
