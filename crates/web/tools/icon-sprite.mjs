// Builds the SPA's icon sprite from the Lucide icons npm installed (lucide-static, ISC): one
// <symbol> per icon the app uses, so the app references `/icons.svg#name` and ships only
// those, and the wasm bundle carries no path data at all.
//
//   node tools/icon-sprite.mjs          (from crates/web; scripts/build-web.sh runs it)
//
// The list is the one place icon names live; `src/components/icon.rs` names the same ones.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";

const ICONS = [
  "plus", "list", "settings", "menu", "x", "keyboard", "server",
  "list-tree", "message-square", "git-compare", "git-pull-request", "square-terminal",
  "monitor", "file-code", "folder-git-2", "history",
];

const dir = "node_modules/lucide-static/icons";
const symbols = ICONS.map((name) => {
  const svg = readFileSync(`${dir}/${name}.svg`, "utf8");
  const body = svg.replace(/<!--[\s\S]*?-->/g, "").match(/<svg[^>]*>([\s\S]*)<\/svg>/);
  if (!body) throw new Error(`${name}.svg holds no <svg>`);
  const inner = body[1].replace(/\s*\n\s*/g, "").trim();
  // Presentation attributes, which the <use> clone inherits; its colour is the text's.
  return `<symbol id="${name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${inner}</symbol>`;
});
const license = readFileSync("node_modules/lucide-static/package.json", "utf8");
const version = JSON.parse(license).version;
mkdirSync("generated", { recursive: true });
writeFileSync(
  "generated/icons.svg",
  `<svg xmlns="http://www.w3.org/2000/svg"><!-- Lucide ${version}, ISC license: https://lucide.dev/license -->` +
    symbols.join("") +
    "</svg>\n",
);
console.log(`icon-sprite: ${ICONS.length} icons into generated/icons.svg`);
