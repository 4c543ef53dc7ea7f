/** The handler's structured log: one JSON record per decision, queryable in Logs Insights. */
export const deploymentOnlyModule = true;

export type LogLevel = "INFO" | "WARN" | "ERROR";

/** A structured log entry: a message plus fields that Logs Insights can query. */
export interface LogRecord {
    readonly message: string;
    readonly [field: string]: unknown;
}

export type DecisionLogger = (level: LogLevel, record: LogRecord) => void;

/**
 * Writes a record at the console level that matches. Under Lambda's JSON log format the runtime
 * nests a lone object as the entry's `message`, so its fields stay queryable in Logs Insights;
 * anywhere else the record is written as one JSON line.
 */
export const logDecision: DecisionLogger = (level, record) => {
    const write =
        level === "ERROR" ? console.error : level === "WARN" ? console.warn : console.info;
    const lambdaFormatsJson = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";
    write(lambdaFormatsJson ? record : JSON.stringify({ level, ...record }));
};
