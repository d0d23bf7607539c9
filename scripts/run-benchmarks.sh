#!/usr/bin/env bash
# Builds the benchmark program in Release and runs it; every argument goes to it.
#   ./resilience bench links    the link server against a direct connection, on loopback
#   ./resilience bench --help   every benchmark and option
# Benchmarks print figures and assert nothing.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

project=bench/VoxGuard.Resilience.Benchmarks
bench_dll=artifacts/bin/VoxGuard.Resilience.Benchmarks/release/VoxGuard.Resilience.Benchmarks.dll

# shellcheck source=scripts/build.sh
source scripts/build.sh
build_quietly "$project"

dotnet "$bench_dll" "$@"
