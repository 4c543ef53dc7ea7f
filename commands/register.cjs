// How the tools and tests run TypeScript. The product (components/, handler/, config/, contract.ts,
// index.ts) goes through TypeScript itself, as under `pulumi up`, so that the serialized handler is
// the code it would upload; everything else through swc, which transpiles many times faster.
const tsNode = require("ts-node");

const PRODUCT = "(components|handler|config)/|(index|contract)\\.ts$";
const NODE_MODULES = "(?:^|/)node_modules/";
tsNode.register({ transpileOnly: true, ignore: [NODE_MODULES, `^(?!${PRODUCT})`] });
tsNode.register({ swc: true, ignore: [NODE_MODULES, `^(${PRODUCT})`] });

// Node maps stack traces through the inline source maps itself: ts-node's source-map-support maps
// every `new Error().stack`, and Pulumi takes one per resource and promise (a third of a mocks test).
Error.prepareStackTrace = undefined;
process.setSourceMapsEnabled(true);
