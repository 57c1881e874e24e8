#!/usr/bin/env bash
# Builds deploy/Dockerfile into the local container store with buildah (no daemon, no registry):
# first the local Node 20 base (base-image.sh), then the image on it. Prints the image's name on
# stdout and, on stderr, the base's and the image's sizes and how long each step took.
#
#   deploy/buildah/build-image.sh                 # -> localhost/adama:dev
#   IMAGE=localhost/adama:ci deploy/buildah/build-image.sh
#
# --isolation chroot: the only isolation that runs here (podman, crun and runc are refused
# setrlimit when they start a container). --layers: an unchanged stage is reused from the cache,
# so a rebuild after a source change only compiles TypeScript again. --pull=never: every FROM is
# the local base or a stage of this file; nothing may be fetched from a registry.
set -euo pipefail
cd "$(dirname "$0")/../.."

image="${IMAGE:-localhost/adama:dev}"
size_of() {
  # buildah 1.28 has no size in inspect; `buildah images` prints it ("196 MB").
  buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' | awk -v n="$1" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }'
}

t0=$SECONDS
base="$(deploy/buildah/base-image.sh)"
echo "build-image: base $base ($(size_of "$base")) in $((SECONDS - t0)) s" >&2

t1=$SECONDS
buildah bud --isolation chroot --layers --pull=never \
  --ignorefile deploy/Dockerfile.dockerignore -f deploy/Dockerfile \
  --build-arg NODE_IMAGE="$base" -t "$image" . >&2
echo "build-image: image $image ($(size_of "$image")) in $((SECONDS - t1)) s" >&2
echo "$image"
