import * as pulumi from "@pulumi/pulumi";
import { createLambdaHandler } from "../../handler/entry";

/** The file and export Lambda loads from the deployment package. */
export const HANDLER_FILE = "__index";
export const HANDLER_EXPORT = "handler";

/**
 * The deployment package: the handler factory serialized from its TypeScript closure into one
 * file. Nothing else goes in, neither the importer's dependencies nor the SDK, which Lambda ships.
 *
 * Every module the closure reaches (`handler/*.ts`, `contract.ts`) exports
 * `deploymentOnlyModule = true`. Pulumi's serializer captures a module found under node_modules
 * as a `require()` of it, which the archive could not satisfy; that marker makes it inline the
 * module's code instead, so the archive is the same whether this repo runs its own program or an
 * importer installed it as a package.
 */
export function handlerCodeArchive(): pulumi.Output<pulumi.asset.AssetArchive> {
    const serialized = pulumi.runtime.serializeFunction(createLambdaHandler, {
        exportName: HANDLER_EXPORT,
        isFactoryFunction: true,
    });
    return pulumi.output(serialized).apply(
        ({ text }) =>
            new pulumi.asset.AssetArchive({
                [`${HANDLER_FILE}.js`]: new pulumi.asset.StringAsset(text),
            }),
    );
}
