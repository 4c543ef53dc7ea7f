/**
 * The library entry: the reusable components and the pure builders they are made of.
 * `import { SpotInterruptionHandler } from "spot-interruption-handler"` resolves here.
 */
export * from "./handler-settings";
export * from "./policies";
export * from "./spot-interruption-handler";
export * from "./spot-web-tier";
export { CapacityOnInterruption } from "../handler/decision";
export type { InterruptionSummary } from "../handler/entry";
