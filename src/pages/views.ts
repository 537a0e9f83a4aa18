import { SCOPES } from '../oauth/scopes.js';
import { documentPage, html, type Html } from './html.js';

/**
 * Form actions and links of the pages. They are paths without a host, so they work behind any proxy that keeps
 * the path.
 */
export const ACTION = {
  login: '/api/zapier/authorize/login',
  consent: '/api/zapier/authorize/consent',
  logout: '/api/zapier/logout',
  connections: '/account/connections',
  revokeConnection: '/account/connections/revoke',
} as const;

/** Returns the URL of the page that continues a pending request: consent when signed in, else sign-in. */
export function continueUrl(requestId: string): string {
  return `${ACTION.consent}?${new URLSearchParams({ request: requestId }).toString()}`;
}

/**
 * The hidden fields a form carries back: the CSRF token, and either the id of the authorization request the
 * form belongs to or, for a sign-in outside an authorization request, the path to return to.
 */
export interface FormContext {
  readonly csrfToken: string;
  readonly requestId?: string | undefined;
  readonly returnTo?: string | undefined;
}

/** Renders the hidden inputs of a form, one a line. */
export function hiddenFields(form: FormContext): Html {
  const inputs: Html[] = [];
  if (form.requestId !== undefined) inputs.push(html`<input type="hidden" name="request" value="${form.requestId}">\n`);
  if (form.returnTo !== undefined) inputs.push(html`<input type="hidden" name="return_to" value="${form.returnTo}">\n`);
  inputs.push(html`<input type="hidden" name="csrf" value="${form.csrfToken}">`);
  return html`${inputs}`;
}

/** Renders a page that only explains something: an error, or the end of a flow. */
export function messagePage(title: string, explanation: string): string {
  return documentPage(title, html`<h1>${title}</h1>
<p>${explanation}</p>`);
}

/** Returns a wait in whole minutes, rounded up, for messages such as "Try again in 5 minutes". */
export function minutesInWords(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

export interface LoginView extends FormContext {
  /** End of the heading "Sign in to …": continuing to an app, or the account. */
  readonly destination: string;
  readonly email?: string;
  readonly error?: string;
}

/** Renders the sign-in form. Only the email is filled in again after a failed attempt. */
export function loginPage(view: LoginView): string {
  const invalid = view.error === undefined ? html`` : html` aria-invalid="true" aria-describedby="sign-in-error"`;
  const error = view.error === undefined ? html`` : html`<p class="error" id="sign-in-error" role="alert">${view.error}</p>`;
  return documentPage('Sign in', html`<h1>Sign in to ${view.destination}</h1>
${error}
<form method="post" action="${ACTION.login}">
${hiddenFields(view)}
<div class="field">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${view.email ?? ''}"${invalid}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${invalid}>
</div>
<div class="actions">
<button type="submit" class="primary">Sign in</button>
</div>
</form>`);
}

export interface ConsentView extends FormContext {
  readonly requestId: string;
  readonly clientName: string;
  readonly userEmail: string;
  readonly scopes: readonly string[];
  /** Host the browser returns to after the decision, shown so the person can recognize the app. */
  readonly returnHost: string;
}

/** Renders the consent page: who is asking, for what, as whom, and where the browser goes next. */
export function consentPage(view: ConsentView): string {
  const items = view.scopes.map((scope) => html`<li>${SCOPES[scope] ?? scope}</li>`);
  const returnNote = view.returnHost === ''
    ? html``
    : html`<p class="muted">After you choose, you will return to ${view.returnHost}.</p>`;
  return documentPage('Allow access', html`<h1>Allow ${view.clientName} to access your Kiwiform account?</h1>
<p>You are signed in as <strong>${view.userEmail}</strong>.</p>
<p id="scopes-heading">${view.clientName} will be able to:</p>
<ul class="scopes" aria-labelledby="scopes-heading">
${items}
</ul>
<form method="post" action="${ACTION.consent}">
${hiddenFields(view)}
<div class="actions">
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
${returnNote}
<form method="post" action="${ACTION.logout}" class="sign-out">
${hiddenFields(view)}
<p>Not you? <button type="submit" class="link">Sign out</button></p>
</form>`);
}
