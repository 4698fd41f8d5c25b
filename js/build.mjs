// Bundle the view for anywidget: ESM widget.js and widget.css in ../jpf_widget/static/.
// JPF_NOMINIFY=1 npm run build gives a readable bundle for profiling.
import { build } from "esbuild";

const outdir = "../jpf_widget/static";
const common = {
  bundle: true,
  minify: !process.env.JPF_NOMINIFY,
  logLevel: "info",
  legalComments: "none",
};

await build({
  ...common,
  entryPoints: ["src/widget.ts"],
  format: "esm",
  target: ["es2020"],
  outfile: `${outdir}/widget.js`,
});
await build({ ...common, entryPoints: ["src/widget.css"], outfile: `${outdir}/widget.css` });
