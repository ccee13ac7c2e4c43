#!/usr/bin/env bash
# Install the kind path's command-line tools on Linux (amd64 or arm64) at the versions pinned in
# versions.env, each checked against the SHA-256 sum its project publishes beside the download:
#   kind     https://kind.sigs.k8s.io/dl/<version>/kind-linux-<arch>       and .sha256sum
#   kubectl  https://dl.k8s.io/release/<version>/bin/linux/<arch>/kubectl  and .sha256
#   Helm     https://get.helm.sh/helm-<version>-linux-<arch>.tar.gz        and .sha256sum
# into INSTALL_DIR (default /usr/local/bin; through sudo when it is not writable). Nothing is
# installed unless all three sums match. Run by the dev container (.devcontainer/post-create.sh)
# and by CI's kind job. On a Mac: brew install kind kubectl helm.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need curl sha256sum tar mktemp uname install
INSTALL_DIR="${INSTALL_DIR:-/usr/local/bin}"

platform="$(uname -s)/$(uname -m)"
case "$platform" in
  Linux/x86_64 | Linux/amd64) arch=amd64 ;;
  Linux/aarch64 | Linux/arm64) arch=arm64 ;;
  *) die "this installs Linux binaries (amd64, arm64), not $platform binaries: on a Mac, brew install kind kubectl helm" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch URL FILE: download URL to $work/FILE (curl retries transient errors).
fetch() { curl -fsSL --retry 3 -o "$work/$2" "$1"; }

# verify FILE SUMFILE WHAT: stop unless the SHA-256 of $work/FILE is the first word of
# $work/SUMFILE ("<sum>  <name>" or just "<sum>", with or without a final newline).
verify() {
  local expected='' actual
  read -r expected _ <"$work/$2" || true
  actual="$(sha256sum "$work/$1")"
  actual="${actual%% *}"
  [ -n "$expected" ] && [ "$actual" = "$expected" ] \
    || die "checksum mismatch for $3: published ${expected:-nothing}, downloaded $actual"
}

# put FILE NAME: install $work/FILE as $INSTALL_DIR/NAME, executable.
put() {
  if [ -w "$INSTALL_DIR" ]; then
    install -m 0755 "$work/$1" "$INSTALL_DIR/$2"
  else
    need sudo
    sudo install -m 0755 "$work/$1" "$INSTALL_DIR/$2"
  fi
}

log "kind $KIND_VERSION, kubectl $KUBECTL_VERSION and Helm $HELM_VERSION for linux/$arch"
kind_url="https://kind.sigs.k8s.io/dl/$KIND_VERSION/kind-linux-$arch"
fetch "$kind_url" kind
fetch "$kind_url.sha256sum" kind.sha256
verify kind kind.sha256 "kind $KIND_VERSION"

kubectl_url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/$arch/kubectl"
fetch "$kubectl_url" kubectl
fetch "$kubectl_url.sha256" kubectl.sha256
verify kubectl kubectl.sha256 "kubectl $KUBECTL_VERSION"

helm_url="https://get.helm.sh/helm-$HELM_VERSION-linux-$arch.tar.gz"
fetch "$helm_url" helm.tar.gz
fetch "$helm_url.sha256sum" helm.sha256
verify helm.tar.gz helm.sha256 "Helm $HELM_VERSION"
tar -xzf "$work/helm.tar.gz" -C "$work" "linux-$arch/helm"

put kind kind
put kubectl kubectl
put "linux-$arch/helm" helm
# What the commands on PATH now are (another copy earlier on PATH would show here).
kind version
kubectl version --client
helm version --short
log "kind, kubectl and Helm installed in $INSTALL_DIR (checksums verified)"
