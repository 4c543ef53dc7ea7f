/** What every command-line script here shares: its environment, exit code and failure message. */

/**
 * Runs `main`, exiting 0 when it reports success and 1 when it reports failure or throws; a
 * thrown error is printed as one line naming the command, not as a stack trace.
 */
export function runCli(command: string, main: () => Promise<boolean>): void {
    // These scripts run on this machine's Node.js 20; the deployed handler runs on 22 or 24,
    // so the SDK's notice about this Node version is noise here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    main().then(
        (succeeded) => {
            process.exitCode = succeeded ? 0 : 1;
        },
        (error: unknown) => {
            process.stderr.write(
                `${command} failed: ${error instanceof Error ? error.message : String(error)}\n`,
            );
            process.exitCode = 1;
        },
    );
}
