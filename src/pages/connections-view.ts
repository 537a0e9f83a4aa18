import { SCOPES, parseScope } from '../oauth/scopes.js';
import type { Connection } from '../storage/types.js';
import { documentPage, html, type Html } from './html.js';
import { ACTION, hiddenFields } from './views.js';

/** Dates on the page, in UTC because the server does not know the reader's time zone. */
const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

function timeElement(at: number): Html {
  return html`<time datetime="${new Date(at).toISOString()}">${DATE_FORMAT.format(at)} UTC</time>`;
}

export interface ConnectionsView {
  readonly csrfToken: string;
  readonly userEmail: string;
  readonly connections: readonly Connection[];
  /** Confirmation shown above the list after a revocation. */
  readonly notice?: string | undefined;
}

function connectionItem(connection: Connection, index: number, csrfToken: string): Html {
  const nameId = `connection-${index}`;
  const scopes = parseScope(connection.scope).map((scope) => html`<li>${SCOPES[scope] ?? scope}</li>`);
  const lastUsed = connection.lastUsedAt === null ? html`never` : timeElement(connection.lastUsedAt);
  return html`<li class="connection">
<h2 id="${nameId}">${connection.clientName}</h2>
<dl class="facts">
<div><dt>First authorized</dt><dd>${timeElement(connection.firstAuthorizedAt)}</dd></div>
<div><dt>Last used</dt><dd>${lastUsed}</dd></div>
</dl>
<p class="can" id="${nameId}-scopes">It can:</p>
<ul class="scopes" aria-labelledby="${nameId}-scopes">
${scopes}
</ul>
<form method="post" action="${ACTION.revokeConnection}">
<input type="hidden" name="client_id" value="${connection.clientId}">
${hiddenFields({ csrfToken })}
<button type="submit" class="danger" aria-describedby="${nameId}">Revoke access</button>
</form>
</li>
`;
}

/** Renders the connected-apps page: every app the user authorized, what it may do, and a way to revoke it. */
export function connectionsPage(view: ConnectionsView): string {
  const notice = view.notice === undefined ? html`` : html`<p class="notice" role="status">${view.notice}</p>
`;
  const list = view.connections.length === 0
    ? html`<p class="muted">No apps are connected to your account.</p>`
    : html`<ul class="connections">
${view.connections.map((connection, index) => connectionItem(connection, index, view.csrfToken))}</ul>`;
  return documentPage('Connected apps', html`<h1>Connected apps</h1>
${notice}<p>These apps can use your Kiwiform account. Revoking access signs an app out at once, and it must ask you again before it can reconnect.</p>
${list}
<form method="post" action="${ACTION.logout}" class="sign-out">
${hiddenFields({ csrfToken: view.csrfToken })}
<p>Signed in as <strong>${view.userEmail}</strong>. <button type="submit" class="link">Sign out</button></p>
</form>`);
}
