import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The folders of src/ in layers: a folder imports its own layer and those below, never one above, so that
// the engine knows nothing of the hosts and the model nothing of the engine. Imports name files directly:
// there are no index.ts barrels, and src/ never imports the tests.
const LAYERS = [["shared"], ["config", "records", "datatypes"], ["rules", "change", "mapping", "sources"], ["state", "destinations"], ["engine"], ["telemetry", "hosting"], ["functions", "cli"]];
const ALWAYS = [
  { group: ["**/index.js"], message: "import the file that declares the name: src/ has no barrels" },
  { group: ["**/test/**", "**/dev/**"], message: "src/ is what ships: it never imports the tests or the development tools" },
];
const layering = LAYERS.map((folders, layer) => ({
  files: folders.map((f) => `src/${f}/**/*.ts`),
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          ...ALWAYS,
          ...LAYERS.slice(layer + 1)
            .flat()
            .map((above) => ({ group: [`../${above}/*`, `../../${above}/*`], message: `${folders.join(", ")} must not import ${above}, a layer above it (see eslint.config.js)` })),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "scratch/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Rules that need the types: a promise nobody awaits loses its error, and a switch over a union must
    // say what it does with every member (a new event source or action type is then a compile-time list).
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
    },
  },
  ...layering,
);
