import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface FakeIdentityEndpoint {
  /** For IDENTITY_ENDPOINT. */
  url: string;
  header: string;
  token: string;
  /** The resources tokens were asked for. */
  resources: string[];
  /** The client_id of each request (a user-assigned identity), or null. */
  clientIds: (string | null)[];
  close(): Promise<void>;
}

/**
 * The App Service / Functions managed identity endpoint (api-version 2019-08-01): plain http on the
 * platform too. DefaultAzureCredential finds it through IDENTITY_ENDPOINT and IDENTITY_HEADER.
 */
export async function startFakeIdentity(): Promise<FakeIdentityEndpoint> {
  const header = `hdr-${Math.random().toString(36).slice(2)}`;
  const token = `mi-token-${Math.random().toString(36).slice(2)}`;
  const resources: string[] = [];
  const clientIds: (string | null)[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/msi/token" || req.headers["x-identity-header"] !== header) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_request", error_description: "bad path or X-IDENTITY-HEADER" }));
      return;
    }
    const resource = url.searchParams.get("resource") ?? "";
    resources.push(resource);
    clientIds.push(url.searchParams.get("client_id"));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: "Bearer" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}/msi/token`,
    header,
    token,
    resources,
    clientIds,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
