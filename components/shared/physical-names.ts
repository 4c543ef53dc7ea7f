/**
 * The physical names a component's name implies. Pulumi auto-names a child `${logical}-` plus 7
 * random characters, and pulumi-aws refuses one over its type's limit only when the child is
 * created, after its siblings: so each component checks its own name first, before registering.
 */
import { ComponentArgsError } from "./argument-checks";

/** What auto-naming appends to a logical name: "-" and 7 random characters. */
export const AUTO_NAME_RANDOM_SUFFIX_LENGTH = 8;

/** A resource type whose physical name AWS limits, with the rule in words. */
export interface PhysicalNameRule {
    /** What the name is, in messages: "Lambda function names". */
    readonly what: string;
    readonly maxLength: number;
    /** The characters AWS allows in the whole name. */
    readonly characters: RegExp;
    /** The characters in words, for messages. */
    readonly charactersInWords: string;
    /** A prefix AWS refuses, if any. */
    readonly forbiddenPrefix?: string;
}

const LETTERS_DIGITS_HYPHENS_UNDERSCORES = {
    characters: /^[A-Za-z0-9_-]+$/,
    charactersInWords: "letters, digits, hyphens and underscores",
};
const ELB_NAME = {
    maxLength: 32,
    characters: /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
    charactersInWords: "letters, digits and hyphens, not starting with a hyphen",
};

/** The auto-named types whose limits a component name can break, as pulumi-aws enforces them. */
export const PHYSICAL_NAME_RULES = {
    "aws:lambda/function:Function": {
        what: "Lambda function names",
        maxLength: 64,
        ...LETTERS_DIGITS_HYPHENS_UNDERSCORES,
    },
    "aws:iam/role:Role": {
        what: "IAM role names",
        maxLength: 64,
        characters: /^[\w+=,.@-]+$/,
        charactersInWords: "letters, digits and +=,.@_-",
    },
    "aws:cloudwatch/eventRule:EventRule": {
        what: "EventBridge rule names",
        maxLength: 64,
        characters: /^[.\w-]+$/,
        charactersInWords: "letters, digits, dots, hyphens and underscores",
    },
    "aws:sqs/queue:Queue": {
        what: "SQS queue names",
        maxLength: 80,
        ...LETTERS_DIGITS_HYPHENS_UNDERSCORES,
    },
    "aws:lb/loadBalancer:LoadBalancer": {
        what: "load balancer names",
        ...ELB_NAME,
        forbiddenPrefix: "internal-",
    },
    "aws:lb/targetGroup:TargetGroup": { what: "target group names", ...ELB_NAME },
} as const satisfies Record<string, PhysicalNameRule>;

export type LimitedType = keyof typeof PHYSICAL_NAME_RULES;

/** A child named `${component}${suffix}`, of a type whose physical name is limited. */
export interface AutoNamedChild {
    readonly suffix: string;
    readonly type: LimitedType;
    /** The child in words: "function", "events queue". */
    readonly role: string;
}

/** The longest component name whose every listed child's auto-name fits its type's limit. */
export function maxComponentNameLength(children: readonly AutoNamedChild[]): number {
    return Math.min(
        ...children.map(
            ({ suffix, type }) =>
                PHYSICAL_NAME_RULES[type].maxLength -
                suffix.length -
                AUTO_NAME_RANDOM_SUFFIX_LENGTH,
        ),
    );
}

/**
 * Refuses a component name that would give any child a physical name AWS refuses; the message
 * gives the component's limit and the child that sets it. Returns the name.
 */
export function validateComponentName(
    component: string,
    name: string,
    children: readonly AutoNamedChild[],
): string {
    const fail = (problem: string) => new ComponentArgsError(component, "name", problem);
    if (typeof name !== "string" || name === "") {
        throw fail(`is ${JSON.stringify(name)}: pass a name, such as "web"`);
    }
    const max = maxComponentNameLength(children);
    // Random characters are letters and digits: any sample shows what the characters allow.
    const sample = (child: AutoNamedChild) => `${name}${child.suffix}-a1b2c3d`;
    if (name.length > max) {
        const limiting =
            children.find(
                (child) => sample(child).length > PHYSICAL_NAME_RULES[child.type].maxLength,
            ) ?? children[0];
        const rule = PHYSICAL_NAME_RULES[limiting.type];
        throw fail(
            `${JSON.stringify(name)} is ${name.length} characters, but ${component} names have at most ${max}: its ${limiting.role} is auto-named "${name}${limiting.suffix}" plus "-" and 7 random characters, and ${rule.what} have at most ${rule.maxLength}; choose a shorter name`,
        );
    }
    for (const child of children) {
        const rule: PhysicalNameRule = PHYSICAL_NAME_RULES[child.type];
        const physical = sample(child);
        if (!rule.characters.test(physical)) {
            throw fail(
                `${JSON.stringify(name)} would name its ${child.role} "${name}${child.suffix}-…", but ${rule.what} allow only ${rule.charactersInWords}; choose a name of those`,
            );
        }
        if (rule.forbiddenPrefix !== undefined && physical.startsWith(rule.forbiddenPrefix)) {
            throw fail(
                `${JSON.stringify(name)} would name its ${child.role} "${name}${child.suffix}-…", but ${rule.what} cannot start with "${rule.forbiddenPrefix}"; choose another name`,
            );
        }
    }
    return name;
}
