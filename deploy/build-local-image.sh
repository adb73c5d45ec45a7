#!/usr/bin/env bash
# Builds the runtime image from local parts, for machines that reach no image registry: the release executables
# built on this host (Swift runtime linked statically), the shared libraries they load (their ldd closure: libzmq,
# OpenBLAS, libc and what those need, and the current OpenBLAS build that scripts/setup.sh installs), a passwd entry for the non-root user 10001, a /tmp and a /data owned by it,
# all assembled into a root filesystem and `docker import`ed. The result runs like deploy/Dockerfile's image.
#
#   bash deploy/build-local-image.sh [TAG]          default TAG: mbt-runtime:local
#
# MBT_BIN_DIR=DIR takes the executables from DIR instead of building them. Run as root (the rootfs is chowned).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-mbt-runtime:local}

bin=${MBT_BIN_DIR:-}
if [ -z "$bin" ]; then
  swift build -c release --static-swift-stdlib --product coordinator >&2
  swift build -c release --static-swift-stdlib --product worker >&2
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
fi
for exe in coordinator worker; do
  [ -x "$bin/$exe" ] || { echo "build-local-image: no executable $bin/$exe" >&2; exit 1; }
done

rootfs=$(mktemp -d)
chmod 0755 "$rootfs"
trap 'rm -rf "$rootfs"' EXIT
install -D -m 0755 "$bin/coordinator" "$rootfs/usr/local/bin/coordinator"
install -D -m 0755 "$bin/worker" "$rootfs/usr/local/bin/worker"

# The OpenBLAS build that `--blas auto` loads at run time, when scripts/setup.sh installed it here.
blas=/usr/local/lib/mbt/libscipy_openblas.so
loaded=()
if [ -f "$blas" ]; then
  install -D -m 0644 "$blas" "$rootfs$blas"
  loaded=("$blas")
else
  echo "build-local-image: no $blas (scripts/setup.sh installs it); the image will use Debian's OpenBLAS" >&2
fi

# curl, to scrape the Prometheus metrics from inside the cluster network (`docker exec … curl`), as in the
# Dockerfile's image.
curl=$(command -v curl || true)
if [ -n "$curl" ]; then
  install -D -m 0755 "$curl" "$rootfs/usr/bin/curl"
  loaded+=("$curl")
else
  echo "build-local-image: no curl on this host; the image will have none" >&2
fi

# The shared libraries, each copied (symlinks followed) to the path the loader found it at, and the loader itself.
libraries=$(for exe in "$bin/coordinator" "$bin/worker" "${loaded[@]}"; do ldd "$exe"; done \
  | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if ldd "$bin/coordinator" | grep -q "not found"; then
  echo "build-local-image: missing libraries:" >&2
  ldd "$bin/coordinator" | grep "not found" >&2
  exit 1
fi
for lib in $libraries; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
if ldd "$bin/coordinator" | grep -q "libswiftCore"; then
  echo "build-local-image: $bin/coordinator links the Swift runtime dynamically; build with --static-swift-stdlib" >&2
  exit 1
fi

mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/data" "$rootfs/keys"
chmod 1777 "$rootfs/tmp"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
mbt:x:10001:10001:memory-bank-trainer:/data:/usr/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
mbt:x:10001:
GROUP
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
chown 10001:10001 "$rootfs/data"
ldconfig -r "$rootfs" 2>/dev/null || true

tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /data' \
  --change 'VOLUME /data' \
  --change 'EXPOSE 5555 9464' \
  --change 'ENTRYPOINT ["/usr/local/bin/coordinator"]' \
  --change 'CMD ["--help"]' \
  - "$tag" >/dev/null
echo "built $tag ($(du -sh "$rootfs" | cut -f1) from $(echo "$libraries" | wc -l) libraries, 2 executables and curl)"
