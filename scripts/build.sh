# Builds a project in Release, quietly: only errors and warnings are shown, and only on failure.
# Sourced by ./resilience and the scripts it runs.
build_quietly() {
  local project=$1
  local scratch
  # The build's log and its temporary directory (TMPDIR) in one folder that goes after it: the SDK leaves two empty
  # directories in the temporary directory for each build (docs/measured-facts.md, "What a killed .NET program leaves
  # in /tmp").
  scratch=$(mktemp -d)
  if ! TMPDIR=$scratch dotnet build "$project" -c Release -v quiet -nologo >"$scratch/build.log" 2>&1; then
    grep -E 'error|warning' "$scratch/build.log" | sort -u >&2
    rm -rf "$scratch"
    printf 'resilience: the build of %s failed (errors above).\n' "$project" >&2
    exit 3
  fi
  rm -rf "$scratch"
}
