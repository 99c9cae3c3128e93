#!/usr/bin/env bash
# Builds a small, real three-layer OCI image offline from files of this machine and pushes it to the
# local registry, using nothing but tar, gzip, sha256sum and the distribution API over curl.
#   layer 0: /etc basics and /usr/share/zoneinfo (hundreds of files and symlinks)
#   layer 1: /usr/share/common-licenses, a hardlink to one of them, /etc/motd, a setuid helper copy
#   layer 2: a whiteout of /etc/motd, an opaque directory replacing layer 1's licenses, an app directory
# Prints the image reference on stdout. Usage: scripts/sample-image.sh [repository[:tag]]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

target="${1:-sample/unpacker-demo:latest}"
repository="${target%%:*}"; tag="${target##*:}"; [[ "$target" == *:* ]] || tag=latest
registry="http://$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

layer_tree() { mkdir -p "$work/l$1"; echo "$work/l$1"; }

l0="$(layer_tree 0)"
mkdir -p "$l0/etc" "$l0/usr/share" "$l0/tmp"
cp -a /etc/os-release /etc/passwd /etc/group /etc/hostname "$l0/etc/" 2>/dev/null || cp -a /etc/passwd /etc/group "$l0/etc/"
cp -a /usr/share/zoneinfo "$l0/usr/share/"
chmod 1777 "$l0/tmp"

l1="$(layer_tree 1)"
mkdir -p "$l1/usr/share" "$l1/etc" "$l1/usr/local/bin"
cp -a /usr/share/common-licenses "$l1/usr/share/"
ln "$l1/usr/share/common-licenses/GPL-3" "$l1/usr/share/common-licenses/GPL-3.hardlink"
echo "Welcome to the Unpacker demo image." > "$l1/etc/motd"
cp /bin/true "$l1/usr/local/bin/setuid-true" && chmod 4755 "$l1/usr/local/bin/setuid-true"

l2="$(layer_tree 2)"
mkdir -p "$l2/etc" "$l2/usr/share/common-licenses" "$l2/app"
: > "$l2/etc/.wh.motd"
: > "$l2/usr/share/common-licenses/.wh..wh..opq"
cp /usr/share/common-licenses/Apache-2.0 "$l2/usr/share/common-licenses/"
printf 'hello from layer 2\n' > "$l2/app/hello.txt"
ln -s ../usr/share/zoneinfo/UTC "$l2/app/localtime"

blobs="$work/blobs"; mkdir -p "$blobs"
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

layers_json="" diff_ids=""
for i in 0 1 2; do
  tar --numeric-owner --owner=0 --group=0 --format=pax -C "$work/l$i" -cf "$work/layer$i.tar" .
  diff_ids+="${diff_ids:+,}\"sha256:$(sha "$work/layer$i.tar")\""
  gzip -n -6 < "$work/layer$i.tar" > "$blobs/layer$i"
  layers_json+="${layers_json:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$(sha "$blobs/layer$i")\",\"size\":$(size "$blobs/layer$i")}"
done

arch="$(dpkg --print-architecture)"
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created_by":"scripts/sample-image.sh"}]}' \
  "$arch" "$diff_ids" > "$blobs/config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$(sha "$blobs/config")" "$(size "$blobs/config")" "$layers_json" > "$work/manifest"

push_blob() {
  local file="$1" digest="sha256:$(sha "$1")"
  if curl -fs -o /dev/null -I "$registry/v2/$repository/blobs/$digest"; then return 0; fi
  local location
  location="$(curl -fsS -X POST -D - -o /dev/null "$registry/v2/$repository/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')"
  [[ "$location" == http* ]] || location="$registry$location"
  local sep='?'; [[ "$location" == *\?* ]] && sep='&'
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$location${sep}digest=$digest" -o /dev/null
}

for blob in "$blobs"/*; do push_blob "$blob"; done
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$work/manifest" \
  "$registry/v2/$repository/manifests/$tag" -o /dev/null
log "pushed $repository:$tag (manifest sha256:$(sha "$work/manifest"), 3 layers)"
echo "$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT/$repository:$tag"
