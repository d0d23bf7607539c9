# Builds a project in Release, quietly: only errors and warnings are shown, and only on failure.
# Sourced by ./resilience and the scripts it runs.
build_quietly() {
  local project=$1
  local build_log
  build_log=$(mktemp)
  if ! dotnet build "$project" -c Release -v quiet -nologo >"$build_log" 2>&1; then
    grep -E 'error|warning' "$build_log" | sort -u >&2
    rm -f "$build_log"
    printf 'resilience: the build of %s failed (errors above).\n' "$project" >&2
    exit 3
  fi
  rm -f "$build_log"
}
