#!/usr/bin/env bash
# Builds a local Node 20 base image for deploy/Dockerfile's NODE_IMAGE without any container
# registry: a Debian bookworm minbase made by mmdebstrap from Debian's packages, plus this
# machine's own Node (Debian's nodejs is 18; the project needs 20), its npm and the headers
# node-gyp needs to compile isolated-vm offline. Prints the image's name on stdout.
#
#   deploy/buildah/base-image.sh            # reuses the image when this recipe already built it
#   BASE_REBUILD=1 deploy/buildah/base-image.sh
#
# The name carries a fingerprint of this script, the Node version and the CA bundle, so a
# changed recipe builds a new base and an unchanged one costs nothing (buildah keeps its store
# in /var/lib/containers across runs on one machine).
set -euo pipefail

node_bin="$(command -v node)"
node_version="$("$node_bin" --version)"
node_prefix="$(dirname "$(dirname "$(readlink -f "$node_bin")")")"      # /usr or /usr/local
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"   # <prefix>/lib/node_modules/npm
headers="$node_prefix/include/node"
# The machine's trust store: npm inside the build reaches the registry through the same egress
# as the machine, so it must trust the same roots (Debian's ca-certificates alone may not).
ca_bundle=/etc/ssl/certs/ca-certificates.crt
for f in "$node_bin" "$npm_dir/bin/npm-cli.js" "$headers/node.h" "$ca_bundle"; do
  [ -e "$f" ] || { echo "base-image: $f is missing" >&2; exit 1; }
done
case "$node_version" in v20.*) ;; *) echo "base-image: node $node_version is not Node 20" >&2; exit 1 ;; esac

fingerprint="$( { cat "$0"; echo "$node_version"; sha256sum "$node_bin" "$ca_bundle"; } | sha256sum | cut -c1-12)"
name="localhost/adama-node-base:${node_version#v}-$fingerprint"
if [ -z "${BASE_REBUILD:-}" ] && buildah inspect --type image "$name" >/dev/null 2>&1; then
  echo "base-image: $name already built" >&2
  echo "$name"
  exit 0
fi

work="$(mktemp -d /tmp/adama-base.XXXXXX)"
ctr=""
cleanup() { [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

# minbase: Essential packages and apt only. merged-usr through the hook (usr-is-merged) rather
# than the usrmerge package, which would pull in perl (~50 MB). passwd for the runtime stage's
# groupadd/useradd. No recommends, no docs, man pages or translations, no apt lists or cache.
# The openssl headers of other architectures are 50 of node's 54 MB of headers; only this
# machine's (linux-x86_64, the image's) is kept.
echo "base-image: mmdebstrap bookworm minbase + node $node_version" >&2
mmdebstrap --variant=minbase --include=passwd \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='APT::Install-Recommends "false"' \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" \"\$1/usr/local/include\" \"\$1/usr/local/etc\" \"\$1/etc/ssl/certs\"" \
  --customize-hook="cp -a '$node_bin' \"\$1/usr/local/bin/node\"" \
  --customize-hook="cp -a '$npm_dir' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
  --customize-hook="cp -a '$headers' \"\$1/usr/local/include/node\"" \
  --customize-hook="find \"\$1/usr/local/include/node/openssl/archs\" -mindepth 1 -maxdepth 1 ! -name linux-x86_64 -exec rm -rf {} +" \
  --customize-hook="cp '$ca_bundle' \"\$1/etc/ssl/certs/ca-certificates.crt\"" \
  --customize-hook="printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=/usr/local\nfund=false\naudit=false\nupdate-notifier=false\n' > \"\$1/usr/local/etc/npmrc\"" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
  bookworm "$work/rootfs.tar" >"$work/mmdebstrap.log" 2>&1 || { tail -30 "$work/mmdebstrap.log" >&2; echo "base-image: mmdebstrap failed" >&2; exit 1; }

# No registry: the rootfs becomes an image from scratch in the local store.
ctr="$(buildah from scratch)"
buildah add "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${node_version#v}" --cmd node \
  --label org.opencontainers.image.description="bookworm minbase + node $node_version (adama CI base)" "$ctr"
buildah commit --quiet --rm "$ctr" "$name" >/dev/null
ctr=""
echo "$name"
