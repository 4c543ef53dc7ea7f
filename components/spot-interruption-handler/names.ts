/** The handler's children whose physical names AWS limits, and so the longest component name. */
import {
    type AutoNamedChild,
    maxComponentNameLength,
    validateComponentName,
} from "../shared/physical-names";

/** Every one, whatever the settings: a name that deploys should deploy with any option turned on. */
export const HANDLER_AUTO_NAMED_CHILDREN: readonly AutoNamedChild[] = [
    { suffix: "-function", type: "aws:lambda/function:Function", role: "function" },
    { suffix: "-fis-role", type: "aws:iam/role:Role", role: "FIS role" },
    { suffix: "-role", type: "aws:iam/role:Role", role: "function's role" },
    { suffix: "-rule", type: "aws:cloudwatch/eventRule:EventRule", role: "event rule" },
    { suffix: "-queue", type: "aws:sqs/queue:Queue", role: "events queue" },
    { suffix: "-dlq", type: "aws:sqs/queue:Queue", role: "dead-letter queue" },
];

/** 47: a Lambda function name (64) less "-function" and auto-naming's 8 characters. */
export const MAX_HANDLER_NAME_LENGTH = maxComponentNameLength(HANDLER_AUTO_NAMED_CHILDREN);

/** Refuses a SpotInterruptionHandler name whose children AWS would refuse, naming the limit. */
export function validateHandlerName(name: string): string {
    return validateComponentName("SpotInterruptionHandler", name, HANDLER_AUTO_NAMED_CHILDREN);
}
