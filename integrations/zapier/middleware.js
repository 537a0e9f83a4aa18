'use strict';

const TOKEN_PATH = '/api/zapier/token';

const isTokenRequest = (url) => new URL(url).pathname.endsWith(TOKEN_PATH);

// Adds the access token to every request, token requests included, as Zapier's
// OAuth2 templates do. The Kiwiform token endpoint ignores a Bearer header, so
// the expired token that a refresh request carries does no harm.
const includeBearerToken = (request, z, bundle) => {
  if (bundle.authData.access_token) {
    request.headers.Authorization = `Bearer ${bundle.authData.access_token}`;
  }
  return request;
};

// Raises RefreshAuthError on a 401 from the API, so that Zapier refreshes the
// token and retries. With autoRefresh on, zapier-platform-core 19 already does
// this before any afterResponse runs, so this branch matters with it off. A 401
// from the token endpoint means bad client credentials, not a stale token, so it
// goes to core's throwForStatus, which runs after this like for any 4xx or 5xx.
const refreshOnUnauthorized = (response, z) => {
  if (response.status === 401 && !isTokenRequest(response.request.url)) {
    throw new z.errors.RefreshAuthError(
      'Kiwiform rejected the access token as invalid or expired.',
    );
  }
  return response;
};

module.exports = {
  befores: [includeBearerToken],
  afters: [refreshOnUnauthorized],
};
