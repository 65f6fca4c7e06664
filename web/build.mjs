// Builds the dashboard's static files into the Python package (committed, so neither the server nor the
// tests need npm): minifies our own JS/CSS, bundles the pinned chart library, copies Swagger UI (the API docs
// page), and writes a manifest (each
// output's size and SHA-256 for cache-busting URLs, each source's SHA-256 so a stale build is caught, and
// the library versions). Templates are not built: they live only in src/hackatime_lite/web/templates/.
//   cd web && npm ci && npm run build          (writes src/hackatime_lite/web/static/)
//   node build.mjs --out DIR                   (the same files into DIR; the test rebuilds and compares)
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { out: { type: "string" } } });
const staticDir = args.out
  ? resolve(args.out)
  : join(here, "..", "src", "hackatime_lite", "web", "static");

rmSync(staticDir, { recursive: true, force: true });
mkdirSync(join(staticDir, "vendor"), { recursive: true });

const common = { bundle: true, minify: true, target: ["es2020"], logLevel: "warning" };
await build({
  ...common,
  entryPoints: [join(here, "src", "charts.js")],
  format: "iife",
  legalComments: "eof",
  outfile: join(staticDir, "vendor", "charts.min.js"),
});
await build({ ...common, entryPoints: [join(here, "src", "app.js")], format: "iife", outfile: join(staticDir, "app.js") });
await build({ ...common, entryPoints: [join(here, "src", "app.css")], outfile: join(staticDir, "app.css") });

cpSync(join(here, "src", "favicon.svg"), join(staticDir, "favicon.svg"));
for (const [lib, license] of [["chart.js", "LICENSE.md"], ["chartjs-chart-matrix", "LICENSE"]]) {
  cpSync(join(here, "node_modules", lib, license), join(staticDir, "vendor", `${lib}.LICENSE.txt`));
}

// Swagger UI for the API docs page (/schema), served from the package so the page works offline. Its
// prebuilt files are copied as published (already minified), with their licence files; the stylesheet's
// source-map comment is dropped because the map is not shipped (browsers would ask for it and get a 404).
const swaggerSrc = join(here, "node_modules", "swagger-ui-dist");
const swaggerOut = join(staticDir, "vendor", "swagger-ui");
mkdirSync(swaggerOut, { recursive: true });
for (const name of [
  "swagger-ui-bundle.js",
  "swagger-ui-bundle.js.LICENSE.txt",
  "swagger-ui-standalone-preset.js",
  "swagger-ui-standalone-preset.js.LICENSE.txt",
  "LICENSE",
  "NOTICE",
]) {
  cpSync(join(swaggerSrc, name), join(swaggerOut, name));
}
const swaggerCss = readFileSync(join(swaggerSrc, "swagger-ui.css"), "utf8").replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "");
writeFileSync(join(swaggerOut, "swagger-ui.css"), swaggerCss);

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const filesUnder = (dir) =>
  readdirSync(dir)
    .sort()
    .flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? filesUnder(join(dir, entry)) : [join(dir, entry)]));
const digests = (root, paths) =>
  Object.fromEntries(
    paths.map((path) => {
      const data = readFileSync(path);
      return [relative(root, path).split("\\").join("/"), { bytes: data.length, sha256: sha256(data) }];
    }),
  );

const version = (lib) => JSON.parse(readFileSync(join(here, "node_modules", lib, "package.json"), "utf8")).version;
const files = digests(staticDir, filesUnder(staticDir));
const manifest = {
  libraries: {
    "chart.js": version("chart.js"),
    "chartjs-chart-matrix": version("chartjs-chart-matrix"),
    esbuild: version("esbuild"),
    "swagger-ui-dist": version("swagger-ui-dist"),
  },
  // What the outputs were built from (paths relative to web/): a source edited without a rebuild fails the test.
  sources: digests(here, [...filesUnder(join(here, "src")), join(here, "package-lock.json")]),
  files,
};
writeFileSync(join(staticDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
const total = Object.values(files).reduce((sum, f) => sum + f.bytes, 0);
console.log(`built ${Object.keys(files).length} static files, ${(total / 1024).toFixed(1)} KiB`);
