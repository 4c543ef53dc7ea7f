import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** An AWS query-protocol fault the proxy answers with instead of forwarding. */
export interface InjectedFault {
    readonly status: number;
    readonly code: string;
    readonly message: string;
}

export const FAULTS = {
    throttling: { status: 400, code: "Throttling", message: "Rate exceeded" },
    resourceContention: {
        status: 500,
        code: "ResourceContention",
        message: "You already have a pending update to an Auto Scaling resource.",
    },
} satisfies Record<string, InjectedFault>;

/** Decides, for the n-th request (from 1) of an action, whether to inject a fault. */
export type FaultPlan = (action: string, n: number) => InjectedFault | undefined;

export interface FaultProxy {
    readonly endpoint: string;
    /** Requests seen per Auto Scaling action, faulted or forwarded. */
    readonly requests: Map<string, number>;
    close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A loopback HTTP proxy in front of the emulator that injects Auto Scaling faults, so that the
 * SDK's real retries run over HTTP (aws-sdk-client-mock stubs `send`, below the retry layer).
 */
export async function startFaultProxy(upstream: string, plan: FaultPlan): Promise<FaultProxy> {
    const requests = new Map<string, number>();
    const target = new URL(upstream);
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        request.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                request.destroy();
                return;
            }
            chunks.push(chunk);
        });
        request.on("end", () => {
            const body = Buffer.concat(chunks);
            const action = new URLSearchParams(body.toString("utf8")).get("Action") ?? "unknown";
            const n = (requests.get(action) ?? 0) + 1;
            requests.set(action, n);
            const fault = plan(action, n);
            if (fault !== undefined) {
                response.writeHead(fault.status, { "content-type": "text/xml" });
                response.end(faultXml(fault));
                return;
            }
            const forwarded = http.request(
                {
                    host: target.hostname,
                    port: target.port,
                    method: request.method,
                    path: request.url,
                    headers: { ...request.headers, host: target.host },
                    timeout: 10_000,
                },
                (upstreamResponse) => {
                    response.writeHead(
                        upstreamResponse.statusCode ?? 502,
                        upstreamResponse.headers,
                    );
                    upstreamResponse.pipe(response);
                },
            );
            forwarded.on("error", (error) => {
                response.writeHead(502);
                response.end(String(error));
            });
            forwarded.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

function faultXml({ status, code, message }: InjectedFault): string {
    const type = status >= 500 ? "Receiver" : "Sender";
    return `<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`;
}
