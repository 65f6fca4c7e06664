// Builds the dashboard's static files into the Python package (committed, so neither the server nor the
// tests need npm): bundles the pinned chart library, copies our own JS/CSS and the templates, and writes
// a manifest (file sizes, SHA-256, library versions) the server uses for cache-busting URLs.
//   cd web && npm ci && npm run build
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "src", "hackatime_lite", "web");
const staticDir = join(pkg, "static");
const templatesDir = join(pkg, "templates");

rmSync(staticDir, { recursive: true, force: true });
rmSync(templatesDir, { recursive: true, force: true });
mkdirSync(join(staticDir, "vendor"), { recursive: true });

await build({
  entryPoints: [join(here, "src", "charts.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  outfile: join(staticDir, "vendor", "charts.min.js"),
  logLevel: "warning",
});

for (const name of ["app.js", "app.css", "favicon.svg"]) {
  cpSync(join(here, "src", name), join(staticDir, name));
}
cpSync(join(here, "templates"), templatesDir, { recursive: true });
for (const [lib, license] of [["chart.js", "LICENSE.md"], ["chartjs-chart-matrix", "LICENSE"]]) {
  cpSync(join(here, "node_modules", lib, license), join(staticDir, "vendor", `${lib}.LICENSE.txt`));
}

const version = (lib) => JSON.parse(readFileSync(join(here, "node_modules", lib, "package.json"), "utf8")).version;
const files = {};
const walk = (dir) => {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else {
      const data = readFileSync(path);
      files[relative(staticDir, path)] = {
        bytes: data.length,
        sha256: createHash("sha256").update(data).digest("hex"),
      };
    }
  }
};
walk(staticDir);
const manifest = {
  libraries: { "chart.js": version("chart.js"), "chartjs-chart-matrix": version("chartjs-chart-matrix") },
  files,
};
writeFileSync(join(staticDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
const total = Object.values(files).reduce((sum, f) => sum + f.bytes, 0);
console.log(`built ${Object.keys(files).length} static files, ${(total / 1024).toFixed(1)} KiB`);
