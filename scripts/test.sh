#!/usr/bin/env bash
# Runs every test against the real servers: brings them up (installing what is missing), builds the
# solution, runs all test projects, and prints "N passed, N failed" summed from the TRX results.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Archive").
set -euo pipefail
# The tests get a database of their own, made afresh for every run (UNPACKER_TEST_POSTGRES_DB, default
# unpacker_tests): every test class makes schemas in it, and Npgsql reads the whole catalog's types whenever a process
# opens its first connection, so schemas left by earlier runs would slow every service start of this one. The main
# job's database (UNPACKER_POSTGRES_DB) is never touched. Likewise the images earlier runs pushed (under test/) are dropped
# from the registry first.
export UNPACKER_POSTGRES_DB="${UNPACKER_TEST_POSTGRES_DB:-unpacker_tests}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$UNPACKER_REPO"

"$UNPACKER_REPO/scripts/services.sh" up
"$UNPACKER_REPO/scripts/services.sh" fresh-database "$UNPACKER_POSTGRES_DB"
"$UNPACKER_REPO/scripts/services.sh" prune-test-images
log "building Services.sln"
dotnet build Services.sln -nologo -clp:ErrorsOnly

results="$UNPACKER_REPO/TestResults"
rm -rf "$results"
log "running the tests (results in $results)"
status=0
# One project at a time, each with a TRX file of its own name (solution-wide runs can overwrite them).
for project in tests/*/*.csproj; do
  grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
  name="$(basename "$project" .csproj)"
  dotnet test "$project" --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" "$@" || status=$?
done

passed=0 failed=0 total=0 files=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  files=$((files + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(attr passed))); failed=$((failed + $(attr failed))); total=$((total + $(attr total)))
done
failed=$((failed + (total - passed - failed)))   # tests that neither passed nor failed (aborted, timed out) count as failed

echo "$passed passed, $failed failed"
((files > 0)) || die "no test results were written"
((passed > 0)) || die "zero tests ran"
((failed == 0 && status == 0)) || exit 1
