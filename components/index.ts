/**
 * The library entry: the reusable components and the pure builders they are made of.
 * `import { SpotInterruptionHandler } from "spot-interruption-handler"` resolves here.
 */
export * from "./spot-interruption-handler";
export * from "./spot-web-tier";
export {
    type ArgumentRemedy,
    ArgumentValueError,
    ComponentArgsError,
} from "./shared/argument-checks";
export { CapacityOnInterruption, type GroupSelection } from "../contract";
export type { InterruptionSummary } from "../handler/entry";
