/**
 * What the SpotWebTier suites share: the mocks, a builder that waits for every registration, the
 * scenarios more than one suite builds, and look-ups of the recorded resources.
 */
import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import {
    callMocks,
    recorded,
    type RecordedResource,
    registrationsSettled,
    resetRecorded,
    unwrap,
} from "../../../offline/pulumi-engine";
import {
    type Components,
    components,
    mockedComponents as mockedHandlerComponents,
} from "../../support/handler-mocks";

export { components };
export type SpotWebTier = InstanceType<Components["SpotWebTier"]>;
export type SpotWebTierArgs = import("../../../components").SpotWebTierArgs;

export const COMPONENT_TYPE = "spot-interruption-handler:index:SpotWebTier";
export const AZ_TOKEN = "aws:index/getAvailabilityZones:getAvailabilityZones";
export const SSM_TOKEN = "aws:ssm/getParameter:getParameter";
export const MOCK_AMI = "ami-0123456789abcdef0";

/** One more zone than the default count, so that taking the first three shows. */
export const FOUR_ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"];

/** The "tuned" tier: every argument away from its default. */
export const TUNED_ARGS: SpotWebTierArgs = {
    availabilityZoneCount: 2,
    deregistrationDelaySeconds: 30,
    instanceRequirements: {
        vcpuCount: { min: 2, max: 4 },
        memoryMib: { min: 4096 },
    },
    spotAllocationStrategy: "lowest-price",
    spotInstancePools: 4,
    onDemandBaseCapacity: 1,
    onDemandPercentageAboveBaseCapacity: 25,
    capacityRebalance: false,
    minSize: 1,
    maxSize: 6,
    desiredCapacity: 3,
    healthCheckGracePeriodSeconds: 300,
    tags: { team: "audio", Name: "player" },
};

/** The Availability Zone and SSM parameter look-ups of the last build, in order. */
export const invoked: { token: string; inputs: Record<string, unknown> }[] = [];

type CallMock = (typeof callMocks)[string];
const originalCallMocks = { ...callMocks };

function recording(token: string, mock: CallMock): CallMock {
    return (inputs) => {
        invoked.push({ token, inputs });
        return mock(inputs);
    };
}

/**
 * A suite of SpotWebTier tests: before it, the mocks installed, recording the zone and AMI
 * look-ups, and `components` imported; after it, every mock put back and the record forgotten.
 */
export function describeTier(title: string, body: () => void): Mocha.Suite {
    return describe(title, () => {
        before(async () => {
            await mockedHandlerComponents();
            for (const token of [AZ_TOKEN, SSM_TOKEN]) {
                callMocks[token] = recording(token, originalCallMocks[token]);
            }
        });
        after(() => {
            Object.assign(callMocks, originalCallMocks);
            resetRecorded();
        });
        body();
    });
}

/** For the current suite, a Region whose available zones are `names` (still recorded). */
export function givenZones(names: readonly string[]): void {
    before(() => {
        callMocks[AZ_TOKEN] = recording(AZ_TOKEN, () => ({ names: [...names] }));
    });
    after(() => {
        callMocks[AZ_TOKEN] = recording(AZ_TOKEN, originalCallMocks[AZ_TOKEN]);
    });
}

/**
 * For the current suite: a Region whose available zones are FOUR_ZONES, and the tier "web" built
 * with no args before its tests, which read what `build` returned.
 */
export function givenDefaultTier(): Awaited<ReturnType<typeof build>> {
    const built = {} as Awaited<ReturnType<typeof build>>;
    givenZones(FOUR_ZONES);
    before(async () => {
        Object.assign(built, await build("web", {}));
    });
    return built;
}

/** The options each child of the last build registered with, by name, as its parent saw them. */
export const childOptions = new Map<string, pulumi.ResourceOptions>();

/** Builds a tier, with a parent transformation that sees every child parented to it. */
export async function build(
    name: string,
    args: SpotWebTierArgs,
): Promise<{ tier: SpotWebTier; reachedByParent: string[] }> {
    resetRecorded();
    invoked.length = 0;
    const reachedByParent: string[] = [];
    childOptions.clear();
    const opts: pulumi.ComponentResourceOptions = {
        transformations: [
            (resource) => {
                reachedByParent.push(resource.name);
                childOptions.set(resource.name, resource.opts);
                return undefined;
            },
        ],
    };
    const tier = new components.SpotWebTier(name, args, opts);
    await unwrap(tier.url);
    await unwrap(tier.autoScalingGroup.urn);
    await registrationsSettled();
    return { tier, reachedByParent };
}

/** Every recorded resource of `type`, in registration order of their names. */
export function all(type: string): RecordedResource[] {
    return recorded
        .filter((r) => r.type === type)
        .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The one recorded resource of `type`. */
export function one(type: string): RecordedResource {
    const matches = all(type);
    assert.equal(matches.length, 1, `expected exactly one ${type}`);
    return matches[0];
}

export function mixedInstancesPolicy(): Record<string, unknown> {
    return one("aws:autoscaling/group:Group").inputs.mixedInstancesPolicy as Record<
        string,
        unknown
    >;
}
