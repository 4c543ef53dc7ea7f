/**
 * The Lambda side of the project, for importers: the factory the component serializes into the
 * deployment package, what it returns, and the events it takes. Tests import the modules they test.
 */
export {
    createLambdaHandler,
    type InterruptionSummary,
    type LambdaContext,
    type LambdaHandler,
} from "./entry";
export {
    type CapacityReservationWarningDetail,
    type CapacityReservationWarningEvent,
    type ParsedEvent,
    parseInterruptionWarning,
    type SpotInterruptionWarningDetail,
    type SpotInterruptionWarningEvent,
} from "./event";
