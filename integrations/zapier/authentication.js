'use strict';

const DEFAULT_BASE_URL = 'https://app.kiwiform.com';

// Reads KIWIFORM_BASE_URL on every call rather than once at load, because
// zapier-platform-core copies each invocation's environment into process.env
// and a warm process keeps this module loaded.
const apiUrl = (path) => {
  const base = (process.env.KIWIFORM_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, '');
  return `${base}/api/zapier${path}`;
};

// Without a scope parameter Kiwiform grants every scope registered for the
// client, so the client's registration decides what Zapier may do.
const authorizeUrl = (z, bundle) => {
  const params = new URLSearchParams({
    client_id: process.env.CLIENT_ID,
    state: bundle.inputData.state,
    redirect_uri: bundle.inputData.redirect_uri,
    response_type: 'code',
  });
  return `${apiUrl('/authorize')}?${params}`;
};

const getAccessToken = async (z, bundle) => {
  const response = await z.request({
    url: apiUrl('/token'),
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: {
      grant_type: 'authorization_code',
      code: bundle.inputData.code,
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uri: bundle.inputData.redirect_uri,
    },
  });

  return {
    access_token: response.data.access_token,
    refresh_token: response.data.refresh_token,
  };
};

// Kiwiform returns the same refresh token unless rotation is on for the client.
// Returning it either way keeps Zapier's stored copy current.
const refreshAccessToken = async (z, bundle) => {
  const response = await z.request({
    url: apiUrl('/token'),
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: {
      grant_type: 'refresh_token',
      refresh_token: bundle.authData.refresh_token,
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
    },
  });

  return {
    access_token: response.data.access_token,
    refresh_token: response.data.refresh_token,
  };
};

// Returns the signed-in user ({id, email, name}), which the connection label reads.
const test = async (z) => {
  const response = await z.request({ url: apiUrl('/me') });
  return response.data;
};

module.exports = {
  type: 'oauth2',
  oauth2Config: {
    authorizeUrl,
    getAccessToken,
    refreshAccessToken,
    autoRefresh: true,
  },
  fields: [],
  test,
  connectionLabel: '{{email}}',
};
