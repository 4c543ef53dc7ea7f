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

/**
 * AWS's real limit: all Auto Scaling APIs share one token bucket per account and Region. Each
 * request takes a token; the bucket holds `burst` tokens and refills at `requestsPerSecond`.
 */
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
export interface FaultProxy {
    readonly endpoint: string;
    /** Requests seen per Auto Scaling action: forwarded, faulted or throttled. */
    readonly requests: Map<string, number>;
    /** Forwarded to the emulator. */
    readonly served: Map<string, number>;
    /** Refused by the budget. */
    readonly throttled: Map<string, number>;
    /** When each throttled request arrived, on the proxy's clock (`now`). */
    readonly throttledAtMs: number[];
    /** Answered with the plan's fault (after forwarding, for a lost response). */
    readonly faulted: Map<string, number>;
    /** Forwarded, and answered by the emulator with HTTP status 400 or above (e.g. a ValidationError). */
    readonly refused: Map<string, number>;
    /** Requests that were not Auto Scaling (SQS, EC2, moto's own API, ...), forwarded untouched. */
    readonly otherRequests: number;
    close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** A token bucket: starts full with `burst` tokens and refills continuously at the rate. */
export class TokenBucket {
    private tokens: number;
    private refilledAt: number;
    readonly ratePerMs: number;
    readonly capacity: number;

    constructor(
        budget: ApiBudget,
        private readonly now: () => number,
    ) {
        const { requestsPerSecond, burst = requestsPerSecond } = budget;
        if (!(Number.isFinite(requestsPerSecond) && requestsPerSecond > 0)) {
            throw new RangeError(`requestsPerSecond must be positive, not ${requestsPerSecond}`);
        }
        if (!(Number.isFinite(burst) && burst >= 1)) {
            throw new RangeError(`burst must be at least 1, not ${burst}`);
        }
        this.ratePerMs = requestsPerSecond / 1000;
        this.capacity = burst;
        this.tokens = burst;
        this.refilledAt = now();
    }

    /** Takes a token if there is one. */
    tryTake(): boolean {
        this.refill();
        if (this.tokens < 1) {
            return false;
        }
        this.tokens -= 1;
        return true;
    }

    /** Whole tokens available now. */
    available(): number {
        this.refill();
        return Math.floor(this.tokens);
    }

    private refill(): void {
        const at = this.now();
        // A clock that steps back refills nothing rather than draining the bucket.
        const elapsed = Math.max(0, at - this.refilledAt);
        this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerMs);
        this.refilledAt = Math.max(at, this.refilledAt);
    }
}

/**
 * A loopback HTTP proxy in front of the emulator that injects Auto Scaling faults, scripted by a
 * plan or from an API budget, so that the SDK's real retries run over HTTP (aws-sdk-client-mock
 * stubs `send`, below the retry layer). Only Auto Scaling requests are faulted and counted; the
 * rest pass untouched, so one proxy can front the whole emulator.
 *
 * `startFaultProxy(upstream, plan)` is short for `startFaultProxy(upstream, { plan })`.
 */
export async function startFaultProxy(
    upstream: string,
    planOrOptions: FaultPlan | FaultProxyOptions = {},
): Promise<FaultProxy> {
    const options: FaultProxyOptions =
        typeof planOrOptions === "function" ? { plan: planOrOptions } : planOrOptions;
    const plan = options.plan ?? (() => undefined);
    const now = options.now ?? (() => performance.now());
    const bucket = options.budget === undefined ? undefined : new TokenBucket(options.budget, now);
    const requests = new Map<string, number>();
    const served = new Map<string, number>();
    const throttled = new Map<string, number>();
    const throttledAtMs: number[] = [];
    const faulted = new Map<string, number>();
    const refused = new Map<string, number>();
    let otherRequests = 0;
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
            const action = autoScalingAction(request, body);
            if (action === undefined) {
                otherRequests++;
                forward(request, response, body);
                return;
            }
            const n = increment(requests, action);
            const observe = (outcome: ObservedRequest["outcome"]) =>
                options.onRequest?.({
                    action,
                    parameters: queryParameters(request, body),
                    outcome,
                });
            const planned = plan(action, n);
            if (planned !== undefined && !planned.afterForwarding) {
                increment(faulted, action);
                observe("faulted");
                answerWithFault(response, planned);
                return;
            }
            if (bucket !== undefined && !bucket.tryTake()) {
                increment(throttled, action);
                throttledAtMs.push(now());
                observe("throttled");
                answerWithFault(response, FAULTS.throttling);
                return;
            }
            increment(served, action);
            observe("served");
            if (planned !== undefined) {
                increment(faulted, action);
            }
            forward(request, response, body, action, planned);
        });
    });

    function forward(
        request: http.IncomingMessage,
        response: http.ServerResponse,
        body: Buffer,
        action?: string,
        lostAnswer?: InjectedFault,
    ): void {
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
                if (action !== undefined && (upstreamResponse.statusCode ?? 502) >= 400) {
                    increment(refused, action);
                }
                if (lostAnswer !== undefined) {
                    upstreamResponse.resume();
                    upstreamResponse.on("end", () => answerWithFault(response, lostAnswer));
                    return;
                }
                response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
                upstreamResponse.pipe(response);
            },
        );
        forwarded.on("error", (error) => {
            if (!response.headersSent) {
                response.writeHead(502);
            }
            response.end(String(error));
        });
        forwarded.end(body);
    }

    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        requests,
        served,
        throttled,
        throttledAtMs,
        faulted,
        refused,
        get otherRequests() {
            return otherRequests;
        },
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

// SigV4: "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...".
const CREDENTIAL_SCOPE = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/;
const AUTO_SCALING_SERVICE = "autoscaling";
const AUTO_SCALING_API_VERSION = "2011-01-01";

/**
 * The Auto Scaling action a request calls, or undefined for any other service. The SigV4 scope
 * names the service, as moto dispatches on it: EC2 and ELBv2 also speak the query protocol with
 * `Action=`, and SQS's JSON protocol has no `Action=` at all. An unsigned request counts as
 * Auto Scaling only with a query-protocol `Action` and Auto Scaling's API version.
 */
export function autoScalingAction(request: http.IncomingMessage, body: Buffer): string | undefined {
    const query = new URL(request.url ?? "/", "http://proxy").searchParams;
    const form = new URLSearchParams(body.toString("utf8"));
    const parameter = (name: string): string | undefined =>
        form.get(name) ?? query.get(name) ?? undefined;
    const service = CREDENTIAL_SCOPE.exec(request.headers.authorization ?? "")?.[1];
    const isAutoScaling =
        service !== undefined
            ? service === AUTO_SCALING_SERVICE
            : request.headers["x-amz-target"] === undefined &&
              parameter("Version") === AUTO_SCALING_API_VERSION;
    if (!isAutoScaling) {
        return undefined;
    }
    return parameter("Action") ?? "unknown";
}

function queryParameters(request: http.IncomingMessage, body: Buffer): Record<string, string> {
    const query = new URL(request.url ?? "/", "http://proxy").searchParams;
    return Object.fromEntries([...query, ...new URLSearchParams(body.toString("utf8"))]);
}

function increment(counts: Map<string, number>, key: string): number {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
}

function answerWithFault(response: http.ServerResponse, fault: InjectedFault): void {
    response.writeHead(fault.status, { "content-type": "text/xml" });
    response.end(faultXml(fault));
}

function faultXml({ status, code, message }: InjectedFault): string {
    const type = status >= 500 ? "Receiver" : "Sender";
    return `<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`;
}
