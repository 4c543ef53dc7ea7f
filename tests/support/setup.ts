// This machine runs Node.js 20; the deployed handler runs on 22 or 24, so the SDK's
// Node-version notice is noise here (and would pollute captured handler logs).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
