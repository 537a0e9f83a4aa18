import { createHash } from 'node:crypto';

/**
 * The stylesheet of every page. Text and controls keep a contrast ratio of at least 4.5:1 against their
 * background, and every focusable element shows a visible focus ring.
 */
export const STYLESHEET = `:root {
  color-scheme: light;
  --text: #1b1f1c;
  --muted: #4a524c;
  --background: #f3f5f1;
  --surface: #ffffff;
  --border: #c4ccc5;
  --accent: #1d5e36;
  --accent-hover: #154a2a;
  --danger: #9b1c1c;
  --danger-background: #fdecec;
  --notice-background: #e8f3ec;
  --focus: #1a56db;
}

*, *::before, *::after { box-sizing: border-box; }

html { font-size: 100%; }

body {
  margin: 0;
  min-height: 100vh;
  padding: 2rem 1rem;
  background: var(--background);
  color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
}

.card {
  max-width: 28rem;
  margin: 0 auto;
  padding: 2rem;
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: 0.75rem;
}

.brand {
  margin: 0 0 1rem;
  color: var(--accent);
  font-weight: 700;
  letter-spacing: 0.02em;
}

h1 { margin: 0 0 1rem; font-size: 1.5rem; line-height: 1.25; }

h2 { margin: 0 0 0.5rem; font-size: 1.125rem; line-height: 1.3; }

p { margin: 0 0 1rem; }

.muted { color: var(--muted); }

.error {
  padding: 0.75rem 1rem;
  border: 1px solid var(--danger);
  border-radius: 0.5rem;
  background: var(--danger-background);
  color: var(--danger);
}

.notice {
  padding: 0.75rem 1rem;
  border: 1px solid var(--accent);
  border-radius: 0.5rem;
  background: var(--notice-background);
  color: var(--accent);
}

.field { margin: 0 0 1rem; }

label { display: block; margin-bottom: 0.25rem; font-weight: 600; }

input[type="email"], input[type="password"] {
  width: 100%;
  padding: 0.625rem 0.75rem;
  border: 1px solid var(--muted);
  border-radius: 0.5rem;
  background: var(--surface);
  color: var(--text);
  font: inherit;
}

.scopes { margin: 0 0 1.5rem; padding-left: 1.25rem; list-style: disc; }

.scopes li { margin-bottom: 0.25rem; }

.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 1.5rem 0 1rem; }

button {
  min-height: 2.75rem;
  padding: 0.625rem 1.25rem;
  border: 2px solid var(--accent);
  border-radius: 0.5rem;
  background: var(--surface);
  color: var(--accent);
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}

button:hover { background: var(--notice-background); }

button.primary { background: var(--accent); color: #ffffff; }

button.primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); }

button.link, button.link:hover {
  min-height: auto;
  padding: 0;
  border: 0;
  background: none;
  color: var(--accent);
  font-weight: 400;
  text-decoration: underline;
}

button.danger { border-color: var(--danger); color: var(--danger); }

button.danger:hover { background: var(--danger-background); }

.connections { margin: 0 0 1.5rem; padding: 0; list-style: none; }

.connection { padding: 1.25rem 0; border-top: 1px solid var(--border); }

.connection:last-child { border-bottom: 1px solid var(--border); }

.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }

.facts div { display: contents; }

.facts dt { color: var(--muted); }

.facts dd { margin: 0; }

.can { margin-bottom: 0.25rem; }

.connection .scopes { margin-bottom: 1rem; }

.sign-out { margin: 0; }

/* The card's padding alone spaces its last line from the edge. */
.card > :last-child, .card > form:last-child > :last-child { margin-bottom: 0; }

:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

@media (max-width: 30rem) {
  body { padding: 0; }
  .card { min-height: 100vh; border: 0; border-radius: 0; padding: 1.5rem 1rem; }
  .actions button { flex: 1 1 100%; }
}
`;

/** Strong validator of the stylesheet, so revalidation can return 304 without sending it again. */
export const STYLESHEET_ETAG = `"${createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 27)}"`;
