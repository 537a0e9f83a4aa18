import { existsSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createAccount, harness, type Harness, type TestAccount } from '../helpers/fixtures.js';

/** Set to 1 to skip the browser tests on a machine without Chromium. Without it, a missing Chromium fails them. */
export const SKIP_BROWSER = process.env.KIWIFORM_TEST_SKIP_BROWSER === '1';

/** Debian's Chromium by default. KIWIFORM_CHROMIUM_PATH points elsewhere. */
const CHROMIUM_PATH = process.env.KIWIFORM_CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
  '--disable-component-update', '--disable-sync',
];

/** Folder the screenshots go to, at the project root. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

/** The only host the browser may reach. */
const LOCAL_HOST = '127.0.0.1';

function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOCAL_HOST, () => resolve((server.address() as AddressInfo).port));
  });
}

function closed(server: Server | ReturnType<typeof createHttpServer>): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Returns the host a proxy request line names: `CONNECT host:443 HTTP/1.1` or `GET http://host/… HTTP/1.1`. */
function proxiedHost(requestLine: string): string {
  const [method = '', target = ''] = requestLine.split(' ');
  if (method !== 'CONNECT' && URL.canParse(target)) return new URL(target).host;
  return target === '' ? 'unknown host' : target;
}

/**
 * A browser with everything a test needs around it: the Kiwiform app listening on a loopback port, a client
 * whose redirect URI is a small callback server on another loopback port, and Chromium.
 *
 * Requests to any other host are stopped twice. Each context aborts the requests of its pages in a route
 * handler and records them in `blocked`. Route handlers never see Chromium's own background requests, so
 * Chromium is launched with a proxy for all non-loopback traffic: a local socket that only records the host
 * and closes the connection. Nothing reaches the network either way.
 */
export class BrowserRig {
  /** URLs of other hosts that a page requested and the route handler aborted. */
  readonly blocked: string[] = [];
  /** Request paths the callback server received. */
  readonly callbacks: string[] = [];
  /** Hosts Chromium tried to reach through the proxy trap, outside any page's routes. */
  readonly backgroundHosts = new Set<string>();
  /** URL of the callback server, the registered redirect URI of every client the rig creates. */
  callbackUrl = '';

  private browserInstance: Browser | undefined;
  private readonly servers: (Server | ReturnType<typeof createHttpServer>)[] = [];

  private constructor(readonly h: Harness, readonly base: string) {}

  get browser(): Browser {
    if (this.browserInstance === undefined) throw new Error('Chromium is not running');
    return this.browserInstance;
  }

  /** Starts the servers and launches Chromium, or throws with the fix when Chromium is missing. */
  static async start(): Promise<BrowserRig> {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM_PATH}. Install it (apt-get install -y chromium), set KIWIFORM_CHROMIUM_PATH, `
        + 'or set KIWIFORM_TEST_SKIP_BROWSER=1 to skip the browser tests.',
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const h = await harness();
    await h.app.listen({ host: LOCAL_HOST, port: 0 });
    const rig = new BrowserRig(h, `http://${LOCAL_HOST}:${(h.app.server.address() as AddressInfo).port}`);
    try {
      const callbackServer = createHttpServer((request: IncomingMessage, response) => {
        rig.callbacks.push(request.url ?? '');
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><html lang="en"><title>Callback</title><p id="callback">Callback received</p></html>');
      });
      rig.servers.push(callbackServer);
      rig.callbackUrl = `http://${LOCAL_HOST}:${await listening(callbackServer)}/callback`;

      const proxyTrap = createTcpServer((socket) => {
        socket.once('data', (chunk) => {
          rig.backgroundHosts.add(proxiedHost(chunk.toString('latin1').split('\r\n')[0] ?? ''));
          socket.destroy();
        });
        socket.on('error', () => socket.destroy());
      });
      rig.servers.push(proxyTrap);
      const proxyPort = await listening(proxyTrap);

      rig.browserInstance = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_ARGS,
        proxy: { server: `http://${LOCAL_HOST}:${proxyPort}`, bypass: LOCAL_HOST },
      });
    } catch (error) {
      await rig.close();
      throw error;
    }
    return rig;
  }

  /** Opens a fresh browser context (no cookies) whose requests may reach only 127.0.0.1. */
  async newContext(options: { width?: number } = {}): Promise<BrowserContext> {
    const context = await this.browser.newContext({ viewport: { width: options.width ?? 1024, height: 800 } });
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).hostname === LOCAL_HOST) return route.continue();
      this.blocked.push(url);
      return route.abort('blockedbyclient');
    });
    return context;
  }

  /** Creates a user and a client whose only redirect URI is the callback server. */
  async createAccount(clientName?: string): Promise<TestAccount> {
    const overrides = clientName === undefined ? {} : { name: clientName };
    const account = await createAccount(this.h.context, { redirectUris: [this.callbackUrl], ...overrides });
    return { ...account, redirectUri: this.callbackUrl };
  }

  /** Returns the authorize URL of an ordinary request for the account's client. */
  authorizeUrl(account: TestAccount, extra: Readonly<Record<string, string>> = {}): string {
    const query = new URLSearchParams({ response_type: 'code', client_id: account.client.id, redirect_uri: account.redirectUri, state: 'state-1', ...extra });
    return `${this.base}/api/zapier/authorize?${query.toString()}`;
  }

  /** Closes Chromium, the servers and the app, even when starting stopped half-way. */
  async close(): Promise<void> {
    await this.browserInstance?.close();
    await Promise.all(this.servers.map(closed));
    await this.h.close();
  }
}
