#!/usr/bin/env bash
# The container images of the topology, built here from Debian's packages (no registry needed).
#   ./resilience images build [--force] [--servers-only]
#                                         build what is missing (cached by content; --force rebuilds; --servers-only
#                                         skips the harness image and its dotnet publish)
#   ./resilience images list              the images this checkout wants, and whether they are built
#   ./resilience images remove            remove every image the harness built
#
# Two images, both tagged with a hash of what they are made of, so a build is skipped when nothing changed:
#   localhost/voxguard/servers:<key>  a Debian 12 minbase root filesystem (mmdebstrap) with every server the topology
#                                     runs: PostgreSQL 15, Patroni, etcd, pgBackRest, Redis + Sentinel, Kamailio,
#                                     HAProxy, SIPp, iproute2/iptables. `podman import` makes one layer, so one shared
#                                     image is cheaper than one per server (each role runs its own program from it).
#   localhost/voxguard/harness:<key>  the servers image plus the .NET runtime and the harness's own programs (the link
#                                     server, `voxguard-resilience links serve`, and the ACM engine stand-in).
# Each is also tagged :latest (moved to every new build), the stable name docker-compose.chaos.yml uses.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
# shellcheck source=scripts/prerequisites.sh
source scripts/prerequisites.sh

readonly SUITE=bookworm
readonly MIRROR=http://deb.debian.org/debian
readonly SERVER_PACKAGES=(
  postgresql-15 patroni etcd-server etcd-client pgbackrest
  redis-server redis-sentinel redis-tools
  kamailio haproxy sip-tester
  iproute2 iptables procps ca-certificates
)
# The container engine and the image builder: Podman (a Docker-compatible API for Testcontainers and compose),
# netavark (networks; its port forwarding needs iptables), runc (crun fails on this kind of host) and mmdebstrap.
readonly ENGINE_PACKAGES=(podman netavark aardvark-dns iptables runc mmdebstrap uidmap)
# docker-compose.chaos.yml against Podman's API service: Debian's docker-compose 1.29 (no compose v2 plugin in Debian 12).
# Not podman-compose: Debian's 1.0.3 refuses the file ("missing networks": it cannot read a service's per-network ipv4_address).
readonly COMPOSE_PACKAGES=(docker-compose)
readonly DROP_IN=/etc/containers/containers.conf.d/50-voxguard.conf

# postgresql-common must not create a main cluster when installed: every role initialises its own data directory.
readonly ESSENTIAL_HOOK='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/voxguard.conf"'

die() { printf 'resilience images: %s\n' "$*" >&2; exit 3; }
say() { printf '%s\n' "$*"; }

# Podman's settings for a host without systemd where crun and default ulimits fail (docs/measured-facts.md,
# "Podman on this kind of host"). A drop-in of its own: a containers.conf the administrator wrote is left alone.
ensure_engine() {
  [ "$(id -u)" -eq 0 ] || die "building and running the topology's images needs root (mmdebstrap and rootful Podman); run as root."
  ensure_debian_packages "${ENGINE_PACKAGES[@]}" "${COMPOSE_PACKAGES[@]}"
  local wanted
  wanted=$(cat <<'EOF'
# Written by VoxGuard.Resilience (scripts/images.sh): Podman on a host without systemd.
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
# An exec session's conmon (every Testcontainers wait strategy runs one) outlives its container by this many seconds
# (300 by default, for Docker API clients to inspect the exec's exit code; Testcontainers does so at once).
exit_command_delay = 5
[network]
network_backend = "netavark"
EOF
)
  if [ "$(cat "$DROP_IN" 2>/dev/null)" != "$wanted" ]; then
    mkdir -p "$(dirname "$DROP_IN")"
    printf '%s\n' "$wanted" >"$DROP_IN"
    say "Podman configured: $DROP_IN (runc, cgroupfs, no default ulimits, 5 s exec exit delay, netavark)."
  fi
}

# The official postgres image's contract for Testcontainers' PostgreSql module; any other command runs unchanged.
readonly ENTRYPOINT=docker/servers-entrypoint.sh

servers_key() {
  { printf '%s\n' "$SUITE" "$MIRROR" "${SERVER_PACKAGES[@]}" "$ESSENTIAL_HOOK"; cat "$ENTRYPOINT"; } | sha256sum | cut -c1-12
}

runtime_dir() { ls -d /usr/share/dotnet/shared/Microsoft.NETCore.App/10.* 2>/dev/null | sort -V | tail -1; }

# The harness programs, framework-dependent (the image carries the host's .NET runtime).
publish_harness() {
  local out=$1
  # TMPDIR in the build's work folder: what the SDK leaves there goes with it.
  TMPDIR=$(dirname "$out") dotnet publish src/VoxGuard.Resilience.Cli -c Release -o "$out" -v quiet -nologo >"$out.log" 2>&1 ||
    { grep -E 'error' "$out.log" | sort -u >&2; die "dotnet publish of the harness failed (errors above)."; }
  # Native libraries for every other platform (SkiaSharp's, HarfBuzz's: about 500 MB) have no use in a Linux image.
  find "$out/runtimes" -mindepth 1 -maxdepth 1 ! -name 'linux-x64' ! -name 'linux' ! -name 'unix' -exec rm -rf {} + 2>/dev/null || true
}

harness_key() {
  local publish=$1
  { servers_key; basename "$(runtime_dir)"; (cd "$publish" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-12
}

image_exists() { podman image exists "$1" 2>/dev/null; }

elapsed() { printf '%.1f s' "$(echo "$(date +%s.%N) - $1" | bc)"; }

build() {
  local force=0 servers_only=0 option
  for option in "$@"; do
    case "$option" in
      --force) force=1 ;;
      --servers-only) servers_only=1 ;;
      *) die "build takes --force and --servers-only, not '$option'." ;;
    esac
  done
  ensure_dotnet
  ensure_engine
  command -v bc >/dev/null 2>&1 || ensure_debian_packages bc
  work=$(mktemp -d /var/tmp/voxguard-images.XXXXXX)
  # Ctrl-C or a failure leaves no half-built root filesystem behind.
  trap 'rm -rf "${work:-}"' EXIT

  local servers="localhost/voxguard/servers:$(servers_key)"
  local started
  started=$(date +%s.%N)
  if [ "$force" -eq 0 ] && image_exists "$servers"; then
    say "servers  $servers  cached"
  else
    say "servers  $servers  building: mmdebstrap $SUITE minbase + ${#SERVER_PACKAGES[@]} packages from $MIRROR …"
    mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${SERVER_PACKAGES[*]}")" \
      --essential-hook="$ESSENTIAL_HOOK" \
      --customize-hook="install -m 755 '$PWD/$ENTRYPOINT' \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
      "$SUITE" "$work/rootfs.tar" "$MIRROR" >"$work/mmdebstrap.log" 2>&1 ||
      { tail -n 20 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (last lines above); the Debian mirror must be reachable."; }
    podman import --quiet --change 'CMD ["/bin/bash"]' --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
      --change "LABEL io.voxguard.image=servers" --change "LABEL io.voxguard.key=$(servers_key)" "$work/rootfs.tar" "$servers" >/dev/null
    rm -f "$work/rootfs.tar"
    say "servers  $servers  built in $(elapsed "$started") ($(podman image inspect --format '{{.Size}}' "$servers" | numfmt --to=iec))"
  fi

  alias_latest "$servers"
  if [ "$servers_only" -eq 1 ]; then
    prune_older "servers" "$servers"
    return 0
  fi

  started=$(date +%s.%N)
  publish_harness "$work/publish"
  local harness="localhost/voxguard/harness:$(harness_key "$work/publish")"
  if [ "$force" -eq 0 ] && image_exists "$harness"; then
    say "harness  $harness  cached"
  else
    local runtime
    runtime=$(runtime_dir)
    [ -n "$runtime" ] || die "no .NET 10 runtime under /usr/share/dotnet/shared to put in the harness image."
    mkdir -p "$work/context/dotnet/shared/Microsoft.NETCore.App" "$work/context/dotnet/shared/Microsoft.AspNetCore.App"
    cp /usr/share/dotnet/dotnet "$work/context/dotnet/"
    cp -r /usr/share/dotnet/host "$work/context/dotnet/"
    cp -r "$runtime" "$work/context/dotnet/shared/Microsoft.NETCore.App/"
    cp -r "$(ls -d /usr/share/dotnet/shared/Microsoft.AspNetCore.App/10.* | sort -V | tail -1)" "$work/context/dotnet/shared/Microsoft.AspNetCore.App/"
    mv "$work/publish" "$work/context/harness"
    cat >"$work/context/Containerfile" <<EOF
FROM $servers
COPY dotnet /usr/share/dotnet
COPY harness /opt/voxguard
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
LABEL io.voxguard.image=harness
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_TieredCompilation=0
EOF
    podman build --quiet --network=none -t "$harness" "$work/context" >"$work/build.log" 2>&1 ||
      { tail -n 20 "$work/build.log" >&2; die "podman build of the harness image failed (last lines above)."; }
    say "harness  $harness  built in $(elapsed "$started")"
  fi
  alias_latest "$harness"
  # The harness first: an older harness image holds the older servers image it was built on.
  prune_older "harness" "$harness"
  prune_older "servers" "$servers"
  say "Images ready. Check one: podman run --rm $harness dotnet /opt/voxguard/voxguard-resilience.dll --help"
}

# The stable name of the image just built or found (…/harness:latest), for docker-compose.chaos.yml; tagging again is harmless.
alias_latest() { podman tag "$1" "${1%:*}:latest"; }

# An image of the same role built from older content is not wanted any more (every change of the harness makes a new
# harness image): removed, unless a container still uses it.
prune_older() {
  local role=$1 current=$2 tag
  for tag in $(podman images --filter "label=io.voxguard.image=$role" --format '{{.Repository}}:{{.Tag}}'); do
    # :latest names the current image too (alias_latest).
    [ "$tag" = "$current" ] || [ "${tag##*:}" = "latest" ] || podman rmi "$tag" >/dev/null 2>&1 || true
  done
}

list() {
  ensure_engine
  local servers="localhost/voxguard/servers:$(servers_key)"
  say "servers  $servers  $(image_exists "$servers" && echo built || echo 'not built (./resilience images build)')"
  say "Built by the harness:"
  podman images --filter label=io.voxguard.image --format '  {{.Repository}}:{{.Tag}}  {{.Size}}  {{.CreatedSince}}'
}

remove() {
  ensure_engine
  local images
  images=$(podman images --filter label=io.voxguard.image --format '{{.ID}}' | sort -u)
  [ -z "$images" ] && { say "No image of the harness to remove."; return 0; }
  # shellcheck disable=SC2086
  podman rmi --force $images >/dev/null
  say "Removed $(wc -w <<<"$images") image(s)."
}

case "${1:-}" in
  build) shift; build "$@" ;;
  list) list ;;
  remove) remove ;;
  *) die "usage: ./resilience images build [--force] | list | remove" ;;
esac
