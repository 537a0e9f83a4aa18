import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a database server, so a test can take the database away from one
 * server under test without stopping it for every other test: `refuse` closes every connection and
 * rejects new ones, `stall` keeps connections open but forwards nothing, `restore` forwards again.
 */
export class TcpProxy {
  #mode: 'forward' | 'refuse' | 'stall' = 'forward';
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      if (this.#mode === 'refuse') {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk) => {
        if (this.#mode === 'forward') upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (this.#mode === 'forward') client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Drops every open connection and turns new ones away, like a database that went down. */
  refuse(): void {
    this.#mode = 'refuse';
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Keeps connections open but forwards nothing, like a database that stopped responding. */
  stall(): void {
    this.#mode = 'stall';
  }

  restore(): void {
    this.#mode = 'forward';
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
