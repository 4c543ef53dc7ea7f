/**
 * Local stand-ins for AWS and Pulumi, so that the whole project runs on a laptop with no cloud:
 * moto behind a server that refuses what AWS refuses, the offline Pulumi engine (mocks that
 * record every resource), the deployment package loaded as Lambda loads it, Lambda's SQS event
 * source mapping, the queued pipeline, an Auto Scaling budget and fault proxy, and the workshop's
 * environment. Tests and the commands import them from here.
 */
export * from "./emulator";
export * from "./event-source-mapping";
export * from "./fault-proxy";
export * from "./handler-archive";
export * from "./local-pipeline";
export * from "./offline-engine";
export * from "./pulumi-config-merge";
export * from "./sample-event";
export * from "./workshop-environment";
export * from "./group-state";
export { VENV_PYTHON } from "./emulator-install";
export * from "./event-source-mapping-options";
export { judge } from "./batch-response";
export { type QueueCounts, queueCounts, toRecord } from "./sqs-records";
