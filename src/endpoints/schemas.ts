/**
 * JSON Schemas of the wire formats. The routes serialize with them and /openapi.json is built from them, so
 * the published description cannot drift from what the server sends.
 */

export const TOKEN_REQUEST_SCHEMA = {
  type: 'object',
  description: 'Token request parameters (RFC 6749 §4.1.3 and §6). Every value is a string.',
  properties: {
    grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token'] },
    code: { type: 'string', description: 'Required for authorization_code.' },
    redirect_uri: { type: 'string', description: 'Required for authorization_code when the authorization request had one.' },
    code_verifier: { type: 'string', description: 'PKCE verifier (RFC 7636); required when the authorization request had a code_challenge.' },
    refresh_token: { type: 'string', description: 'Required for refresh_token.' },
    scope: { type: 'string', description: 'refresh_token only: a narrower scope for the new access token.' },
    client_id: { type: 'string', description: 'Required for authorization_code unless HTTP Basic is used; optional for refresh_token.' },
    client_secret: { type: 'string', description: 'Required for authorization_code unless HTTP Basic is used; optional for refresh_token.' },
  },
  required: ['grant_type'],
  additionalProperties: { type: 'string' },
} as const;

export const TOKEN_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    access_token: { type: 'string', pattern: '^atk_' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', minimum: 1 },
    refresh_token: { type: 'string', pattern: '^rtk_' },
    scope: { type: 'string' },
  },
  required: ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope'],
  additionalProperties: false,
} as const;

export const OAUTH_ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

export const USER_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
  },
  required: ['id', 'email', 'name'],
  additionalProperties: false,
} as const;

export const INTROSPECTION_SCHEMA = {
  type: 'object',
  description: 'Token introspection response (RFC 7662 §2.2). Only active tokens carry more than "active".',
  properties: {
    active: { type: 'boolean' },
    scope: { type: 'string' },
    client_id: { type: 'string' },
    username: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer', 'refresh_token'] },
    exp: { type: 'integer' },
    iat: { type: 'integer' },
    sub: { type: 'string' },
    iss: { type: 'string' },
  },
  required: ['active'],
  additionalProperties: false,
} as const;
