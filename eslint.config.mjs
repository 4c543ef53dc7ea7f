import eslint from "@eslint/js";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", ".venv/", ".tmp/"] },
    eslint.configs.recommended,
    ...tseslint.configs.strict,
    {
        languageOptions: { globals: { console: "readonly", process: "readonly" } },
        plugins: { "import-x": importX },
        settings: {
            "import-x/extensions": [".ts", ".js"],
            "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
        },
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            // A circle hides the architecture; type-only imports count too.
            "import-x/no-cycle": ["error", { ignoreExternal: true }],
        },
    },
    // Tool settings that Node loads as CommonJS.
    {
        files: ["**/*.cjs"],
        languageOptions: {
            sourceType: "commonjs",
            globals: { module: "writable", require: "readonly" },
        },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
