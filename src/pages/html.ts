import type { FastifyReply } from 'fastify';

/** URL of the one stylesheet every page links to. */
export const STYLESHEET_PATH = '/assets/kiwiform.css';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and for quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/**
 * Markup that is already safe to insert into a page. Templates build it only from escaped values, so a
 * plain string can never reach the page without passing through escapeHtml.
 */
export class Html {
  constructor(readonly markup: string) {}
}

/** Tagged template that escapes every interpolated string and inserts Html values as they are. */
export function html(strings: TemplateStringsArray, ...values: readonly (string | Html | readonly Html[])[]): Html {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    if (value instanceof Html) markup += value.markup;
    else if (Array.isArray(value)) markup += value.map((item: Html) => item.markup).join('');
    else markup += escapeHtml(value as string);
    markup += strings[index + 1] ?? '';
  });
  return new Html(markup);
}

/** Wraps page content in the shared document: language, viewport, stylesheet and one main landmark. */
export function documentPage(title: string, content: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Kiwiform</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main class="card">
<p class="brand">Kiwiform</p>
${content}
</main>
</body>
</html>
`.markup;
}

/** Options of one page response. */
export interface PageOptions {
  /** A CSP source the page's forms may be redirected to, beside the page's own origin. */
  readonly formActionSource?: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Sends an HTML page with the headers every page carries: no caching (pages hold CSRF tokens and personal
 * data), no framing, no referrer, and a Content-Security-Policy that allows only the stylesheet.
 */
export function sendPage(reply: FastifyReply, status: number, body: string, options: PageOptions = {}): FastifyReply {
  // Chromium also applies form-action to the redirect that follows a form POST, so the consent page must
  // allow the origin of the verified redirect_uri.
  const formAction = options.formActionSource === undefined ? "'self'" : `'self' ${options.formActionSource}`;
  const policy = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return reply
    .code(status)
    .headers(options.headers ?? {})
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', policy)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send(body);
}
