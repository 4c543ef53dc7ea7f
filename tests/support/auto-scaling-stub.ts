/** The stubbed Auto Scaling client the handler suites drive a FakeAutoScaling through, and instance ids. */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { createAutoScalingGateway } from "../../handler/auto-scaling";

/** The stub of every AutoScalingClient, while a suite that called stubAutoScalingPerSuite runs. */
export let autoScaling: AwsClientStub<AutoScalingClient>;

/** Stubs every AutoScalingClient for the current suite, reset per test, restored after it for the emulator tests. */
export function stubAutoScalingPerSuite(): void {
    before(() => {
        autoScaling = mockClient(AutoScalingClient);
    });
    beforeEach(() => autoScaling.reset());
    after(() => autoScaling.restore());
}

/** `n` instance ids, numbered from `from`, in AWS's 17-hex-digit form. */
export const ids = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `i-${(from + i).toString(16).padStart(17, "0")}`);

/** The handler's Auto Scaling gateway over a fresh client, which a stub of AutoScalingClient answers. */
export const stubbedGateway = () =>
    createAutoScalingGateway(
        new AutoScalingClient({
            region: "eu-west-1",
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        }),
    );
