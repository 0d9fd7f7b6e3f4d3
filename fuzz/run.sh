#!/usr/bin/env bash
# Runs the libFuzzer targets built by the fuzz preset (build/fuzz/fuzz/<target>), each for SECONDS,
# starting from its committed seeds (fuzz/corpus/<target>/, read only) and its scratch corpus
# (build/fuzz-work/<target>/corpus/, where new inputs go). A crash, leak, timeout or broken
# invariant lands in build/fuzz-work/<target>/crashes/; the run then fails and prints its report.
#
# Usage: fuzz/run.sh SECONDS [TARGET...]          (default: every target that was built)
# Env:   FUZZ_JOBS  targets run at once (default 2)
#        FUZZ_WORK  scratch directory (default build/fuzz-work)
#        FUZZ_ARGS  extra libFuzzer flags, e.g. "-max_len=65536 -use_value_profile=1"
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
bin=build/fuzz/fuzz
work=${FUZZ_WORK:-build/fuzz-work}
jobs=${FUZZ_JOBS:-2}

targets=("$@")
if ((${#targets[@]} == 0)); then
  for dir in fuzz/corpus/*/; do
    t=$(basename "$dir")
    [ -x "$bin/$t" ] && targets+=("$t")
  done
fi
((${#targets[@]})) || { echo "fuzz/run.sh: no fuzz target built under $bin" >&2; exit 2; }

symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one TARGET: one libFuzzer run; its output goes to $work/TARGET/log.
run_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/crashes" "$dir/tmp"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: memory must stay bounded.
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  # shellcheck disable=SC2086
  TMPDIR=$dir/tmp "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$dir/corpus" "fuzz/corpus/$t" >"$dir/log" 2>&1
}

failed=()
declare -A running=()  # pid -> target
# report TARGET STATUS: one summary line, or the failure report and where its reproducer is.
report() {
  local t=$1 status=$2 dir=$work/$1
  if ((status == 0)); then
    local execs rate
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
    printf 'fuzz %-14s ok   %10s runs %8s exec/s  corpus %s\n' "$t" "${execs:-?}" "${rate:-?}" \
      "$(find "$dir/corpus" -type f | wc -l)"
    return
  fi
  failed+=("$t")
  printf 'fuzz %-14s FAILED: log %s\n' "$t" "$dir/log"
  local pattern='^==[0-9]+==|invariant violated|runtime error|deadly signal|uncaught|terminate'
  if grep -Eq "$pattern" "$dir/log"; then
    grep -E -m1 -A60 "$pattern" "$dir/log" | head -80 || true
  else
    tail -40 "$dir/log"
  fi
  local found
  found=$(find "$dir/crashes" -type f | wc -l)
  find "$dir/crashes" -type f | head -3 | sed 's/^/  reproducer: /'
  ((found <= 3)) || echo "  ... $found files in $dir/crashes"
}
# wait_any: waits for whichever run ends first and reports it.
wait_any() {
  local pid status=0
  wait -n -p pid "${!running[@]}" || status=$?
  report "${running[$pid]}" "$status"
  unset "running[$pid]"
}

for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz/run.sh: $bin/$t not built (cmake --build --preset fuzz)" >&2; exit 2; }
  run_one "$t" &
  running[$!]=$t
  ((${#running[@]} < jobs)) || wait_any
done
while ((${#running[@]})); do wait_any; done

if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (docs/fuzzing.md: reproduce, minimize)" >&2
  exit 1
fi
