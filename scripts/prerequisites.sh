# Installs what the harness needs and is missing, quietly when everything is there.
# Sourced by ./resilience; every step is idempotent and checks before it installs.

# Debian packages the harness runs. Add a package here when a capability starts using it.
VOXGUARD_DEBIAN_PACKAGES=(
  redis-server    # the stand-in for DragonflyDB (one per region); also brings redis-cli
  postgresql-15   # the stand-in for YugabyteDB (one per region, streaming replication)
  patroni         # orchestrates PostgreSQL: leader election, promotion, rewind, switchover (the failover is its own)
  etcd-server     # Patroni's quorum: one etcd member per region
  etcd-client     # etcdctl, to inspect the quorum by hand
  pgbackrest      # PostgreSQL backups: full/incremental, continuous WAL archiving, restores (a TLS server per database host)
  kamailio        # the stand-in for OpenSIPS (one SIP proxy per region; also the UDP balancer)
  haproxy         # the global SIP balancer in front of the regions (SIP over TCP)
  sip-tester      # SIPp: the independent SIP implementation the harness is checked against
  fonts-dejavu-core  # the font of the report's timeline charts (ScottPlot draws text with it; no font, no labels)
  iproute2        # ip: the containers environment's addresses, routes and namespaces (region hosts)
)

prerequisite_error() {
  printf 'resilience: %s\n' "$*" >&2
  exit 3
}

ensure_dotnet() {
  command -v dotnet >/dev/null 2>&1 ||
    prerequisite_error "the .NET SDK 10 is missing (dotnet not on PATH). Install the .NET 10 SDK, then run ./resilience again."
  local wanted_major=10
  local sdk_major
  sdk_major=$(dotnet --version 2>/dev/null | cut -d. -f1)
  [ "${sdk_major:-0}" -ge "$wanted_major" ] ||
    prerequisite_error "the .NET SDK is $(dotnet --version 2>/dev/null); version ${wanted_major} or newer is needed. Install the .NET 10 SDK."
}

# Installs the named Debian packages that are not installed yet.
ensure_debian_packages() {
  [ $# -eq 0 ] && return 0
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] ||
    prerequisite_error "Debian packages missing: ${missing[*]}. Run as root, or install them: sudo apt-get install -y ${missing[*]}"
  printf 'resilience: installing Debian packages: %s\n' "${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    prerequisite_error "apt-get update failed; check the Debian package sources, then run ./resilience again."
  # The harness starts its own servers; the packages must not start the system's (redis on 6379, …).
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [ -e "$policy" ] && had_policy=1
  [ "$had_policy" -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"; }
  local status=0 log
  log=$(mktemp)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 || status=$?
  [ "$had_policy" -eq 1 ] || rm -f "$policy"
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    prerequisite_error "apt-get install ${missing[*]} failed (last lines above)."
  fi
  rm -f "$log"
}

# npm tools are the dependencies in tools/package.json, installed into tools/node_modules.
ensure_npm_tools() {
  command -v node >/dev/null 2>&1 || ensure_debian_packages nodejs npm
  local missing
  missing=$(node -e '
    const deps = require("./tools/package.json").dependencies || {};
    const fs = require("fs");
    console.log(Object.keys(deps).filter(d => !fs.existsSync(`tools/node_modules/${d}/package.json`)).join(" "));
  ' 2>/dev/null) || prerequisite_error "Node.js is missing; install Node.js 20 and npm (apt-get install -y nodejs npm)."
  # The Allure CLI (HTML reports) needs Node.js 20 or newer; without it reports are built without their HTML.
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] ||
    printf 'resilience: Node.js %s is too old for the Allure CLI (20 or newer renders the HTML reports); reports are built without HTML.\n' "$(node --version 2>/dev/null)" >&2
  [ -z "$missing" ] && return 0
  command -v npm >/dev/null 2>&1 ||
    prerequisite_error "npm is missing; install it (apt-get install -y npm)."
  printf 'resilience: installing npm tools: %s\n' "$missing" >&2
  npm install --prefix tools --no-audit --no-fund --no-package-lock --silent >/dev/null 2>&1 ||
    prerequisite_error "npm install in tools/ failed; run 'npm install --prefix tools' to see why."
}

ensure_prerequisites() {
  ensure_dotnet
  ensure_debian_packages "${VOXGUARD_DEBIAN_PACKAGES[@]}"
  ensure_npm_tools
}
