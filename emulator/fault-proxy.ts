import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/** An AWS query-protocol fault the proxy answers with instead of forwarding. */
export interface InjectedFault {
    readonly status: number;
    readonly code: string;
    readonly message: string;
    /** Forward the request first, then answer with the fault: a response lost after success. */
    readonly afterForwarding?: boolean;
}

export const FAULTS = {
    throttling: { status: 400, code: "Throttling", message: "Rate exceeded" },
    resourceContention: {
        status: 500,
        code: "ResourceContention",
        message: "You already have a pending update to an Auto Scaling resource.",
    },
    /** The emulator did the work; its answer never reached the caller. */
    lostResponse: {
        status: 503,
        code: "ServiceUnavailable",
        message: "The response was lost after the request succeeded.",
        afterForwarding: true,
    },
} satisfies Record<string, InjectedFault>;

/** Decides, for the n-th request (from 1) of an action, whether to inject a fault. */
export type FaultPlan = (action: string, n: number) => InjectedFault | undefined;

/** AWS's real limit: one token bucket per account and Region, shared by every Auto Scaling API. */
export interface ApiBudget {
    readonly requestsPerSecond: number;
    /** The bucket's size, and how full it starts. Default: requestsPerSecond. */
    readonly burst?: number;
}

export interface FaultProxyOptions {
    /** Scripted faults, answered before the budget is asked; a faulted request takes no token. */
    readonly plan?: FaultPlan;
    /** With no token left, a request is answered as AWS does: FAULTS.throttling. */
    readonly budget?: ApiBudget;
    /** Milliseconds on a monotonic clock, for the budget. Default performance.now. */
    readonly now?: () => number;
    /** Told of every Auto Scaling request: a bench attributes calls to groups by their parameters. */
    readonly onRequest?: (request: ObservedRequest) => void;
}

/** One Auto Scaling request as the proxy saw it, and what it did with it. */
export interface ObservedRequest {
    readonly action: string;
    /** The query-protocol parameters, form and query string together. */
    readonly parameters: Readonly<Record<string, string>>;
    readonly outcome: "served" | "throttled" | "faulted";
}

/** Per Auto Scaling action. Requests to other services pass through and are counted only in `otherRequests`. */
export type FaultProxy = Readonly<ReturnType<typeof newCounts>> & {
    readonly endpoint: string;
    close(): Promise<void>;
};

const newCounts = () => ({
    /** Requests seen per Auto Scaling action: forwarded, faulted or throttled. */
    requests: new Map<string, number>(),
    /** Forwarded to the emulator. */
    served: new Map<string, number>(),
    /** Refused by the budget. */
    throttled: new Map<string, number>(),
    /** When each throttled request arrived, on the proxy's clock (`now`). */
    throttledAtMs: [] as number[],
    /** Answered with the plan's fault (after forwarding, for a lost response). */
    faulted: new Map<string, number>(),
    /** Forwarded, and answered by the emulator with HTTP status 400 or above (e.g. a ValidationError). */
    refused: new Map<string, number>(),
    /** Requests that were not Auto Scaling (SQS, EC2, moto's own API, ...), forwarded untouched. */
    otherRequests: 0,
});

const MAX_BODY_BYTES = 1024 * 1024;

/** A token bucket: starts full with `burst` tokens and refills continuously at the rate. */
export class TokenBucket {
    private readonly ratePerMs: number;
    private readonly capacity: number;
    private tokens: number;
    private refilledAt: number;

    constructor(
        { requestsPerSecond, burst = requestsPerSecond }: ApiBudget,
        private readonly now: () => number,
    ) {
        if (!(Number.isFinite(requestsPerSecond) && requestsPerSecond > 0)) {
            throw new RangeError(`requestsPerSecond must be positive, not ${requestsPerSecond}`);
        }
        if (!(Number.isFinite(burst) && burst >= 1)) {
            throw new RangeError(`burst must be at least 1, not ${burst}`);
        }
        this.ratePerMs = requestsPerSecond / 1000;
        this.capacity = this.tokens = burst;
        this.refilledAt = now();
    }

    /** Takes a token if there is one. */
    tryTake(): boolean {
        const taken = this.available() >= 1;
        this.tokens -= taken ? 1 : 0;
        return taken;
    }

    /** Whole tokens available now; a clock that steps back refills nothing. */
    available(): number {
        const at = this.now();
        const elapsed = Math.max(0, at - this.refilledAt);
        this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerMs);
        this.refilledAt = Math.max(at, this.refilledAt);
        return Math.floor(this.tokens);
    }
}

/** Faults Auto Scaling requests over real HTTP, so the SDK's own retries run (mocks stub below them). */
export async function startFaultProxy(
    upstream: string,
    planOrOptions: FaultPlan | FaultProxyOptions = {},
): Promise<FaultProxy> {
    const options = typeof planOrOptions === "function" ? { plan: planOrOptions } : planOrOptions;
    const now = options.now ?? (() => performance.now());
    const bucket = options.budget && new TokenBucket(options.budget, now);
    const counts = newCounts();
    const target = new URL(upstream);

    /** Forwards upstream; a 4xx or 5xx answer to `action` counts as refused, and `lost` replaces it. */
    const forward = (
        request: http.IncomingMessage,
        response: http.ServerResponse,
        body: Buffer,
        action?: string,
        lost?: InjectedFault,
    ): void => {
        const headers = { ...request.headers, host: target.host };
        const { hostname: host, port } = target;
        const { method, url: path } = request;
        const options = { host, port, headers, method, path, timeout: 10_000 };
        const forwarded = http.request(options, (upstreamResponse) => {
            const status = upstreamResponse.statusCode ?? 502;
            if (action !== undefined && status >= 400) increment(counts.refused, action);
            if (lost !== undefined) {
                upstreamResponse.resume();
                upstreamResponse.on("end", () => answerWithFault(response, lost));
                return;
            }
            response.writeHead(status, upstreamResponse.headers);
            upstreamResponse.pipe(response);
        });
        forwarded.on("error", (error) => {
            if (!response.headersSent) response.writeHead(502);
            response.end(String(error));
        });
        forwarded.end(body);
    };

    const server = http.createServer(async (request, response) => {
        const body = await readBody(request);
        if (body === undefined) {
            request.destroy(); // Too large, or the client went away.
            return;
        }
        const parameters = queryParameters(request, body);
        const action = autoScalingAction(request, parameters);
        if (action === undefined) {
            counts.otherRequests++;
            forward(request, response, body);
            return;
        }
        const n = increment(counts.requests, action);
        const observe = (outcome: ObservedRequest["outcome"]) => {
            increment(counts[outcome], action);
            options.onRequest?.({ action, parameters, outcome });
        };
        const planned = options.plan?.(action, n);
        if (planned !== undefined && !planned.afterForwarding) {
            observe("faulted");
            answerWithFault(response, planned);
        } else if (bucket !== undefined && !bucket.tryTake()) {
            counts.throttledAtMs.push(now());
            observe("throttled");
            answerWithFault(response, FAULTS.throttling);
        } else {
            observe("served");
            if (planned !== undefined) increment(counts.faulted, action);
            forward(request, response, body, action, planned);
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    // The same object, so that otherRequests stays live.
    return Object.assign(counts, {
        endpoint: `http://127.0.0.1:${port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    });
}

/** The whole body, or undefined when it is too large or the client went away. */
async function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
        for await (const chunk of request as AsyncIterable<Buffer>) {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) return undefined;
            chunks.push(chunk);
        }
    } catch {
        return undefined;
    }
    return Buffer.concat(chunks);
}

// SigV4: "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...".
const CREDENTIAL_SCOPE = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/;

/** The Auto Scaling action called, by the SigV4 scope's service as moto dispatches (EC2 also sends `Action=`). */
function autoScalingAction(
    request: http.IncomingMessage,
    parameters: Readonly<Record<string, string>>,
): string | undefined {
    const service = CREDENTIAL_SCOPE.exec(request.headers.authorization ?? "")?.[1];
    const isAutoScaling =
        service !== undefined
            ? service === "autoscaling"
            : request.headers["x-amz-target"] === undefined && parameters.Version === "2011-01-01";
    return isAutoScaling ? (parameters.Action ?? "unknown") : undefined;
}

/** The query-protocol parameters: the query string's, then the form's, which win. */
function queryParameters(request: http.IncomingMessage, body: Buffer): Record<string, string> {
    const query = new URL(request.url ?? "/", "http://proxy").searchParams;
    return Object.fromEntries([...query, ...new URLSearchParams(body.toString("utf8"))]);
}

function increment(counts: Map<string, number>, key: string): number {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
}

function answerWithFault(response: http.ServerResponse, { status, code, message }: InjectedFault) {
    const type = status >= 500 ? "Receiver" : "Sender";
    response.writeHead(status, { "content-type": "text/xml" });
    response.end(
        `<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
    );
}
