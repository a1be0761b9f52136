/** A minimal forward proxy (CONNECT tunnels and absolute-form requests) that counts what passed through it. */
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export interface ProxyServer {
  url: string;
  /** Targets seen, as host:port. */
  targets: string[];
  close(): Promise<void>;
}

export async function proxyServer(): Promise<ProxyServer> {
  const targets: string[] = [];
  const tunnels = new Set<{ destroy(): void }>();
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "");
    targets.push(target.host);
    const up = httpRequest(target, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on("connect", (req, socket, head) => {
    targets.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const up = connect(Number(port), host, () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    tunnels.add(up);
    tunnels.add(socket);
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of tunnels) t.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
