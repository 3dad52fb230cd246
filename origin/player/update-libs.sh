#!/bin/sh
# Refreshes web/lib from the versions pinned in package.json and
# package-lock.json. Run it after changing a version there; the copied files
# are committed so that `go build` needs neither npm nor the network.
#
# To change a version: edit package.json, run
#   npm install --package-lock-only --ignore-scripts
# in this folder, then run this script and update web/lib/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lib="$here/web/lib"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund)

mods="$work/node_modules"
mkdir -p "$lib"
rm -f "$lib"/*.js "$lib"/*LICENSE*

# The UMD builds define the globals Hls, dashjs and shaka, which the page
# loads with a plain <script> element.
cp "$mods/hls.js/dist/hls.min.js" "$lib/hls.min.js"
cp "$mods/hls.js/LICENSE" "$lib/hls.js.LICENSE"

cp "$mods/dashjs/dist/modern/umd/dash.all.min.js" "$lib/dash.all.min.js"
cp "$mods/dashjs/dist/modern/umd/dash.all.min.js.LICENSE.txt" "$lib/dash.all.min.js.LICENSE.txt"
cp "$mods/dashjs/dist/modern/umd/dash.mss.min.js" "$lib/dash.mss.min.js"
cp "$mods/dashjs/LICENSE.md" "$lib/dashjs.LICENSE.md"

cp "$mods/shaka-player/dist/shaka-player.compiled.js" "$lib/shaka-player.compiled.js"
cp "$mods/shaka-player/LICENSE" "$lib/shaka-player.LICENSE"

# The minified files end with a sourceMappingURL comment; the maps are not
# copied, and browsers fetch them only while developer tools are open.
for pkg in hls.js dashjs shaka-player; do
	printf '%s %s\n' "$pkg" "$(node -p "require('$mods/$pkg/package.json').version")"
done
