#!/usr/bin/env bash
# Records the fuzz seeds into DIR: small recordings of every kind Ember reads, made by Ember and by perf, archives, and a
# folded file. Needs root (perf_event_open, tracepoints, uprobes) and perf; a kind that cannot be recorded here
# is skipped with a note.
set -u
dir=${1:?usage: seeds.sh DIR EMBER}
ember=${2:?usage: seeds.sh DIR EMBER}
mkdir -p "$dir"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gcc -O2 -g -o "$scratch/usdt" Tests/Programs/usdt.c

seed() {
    local name=$1; shift
    if "$@" >/dev/null 2>"$scratch/err"; then
        echo "seed $name: $(stat -c %s "$dir/$name") bytes"
    else
        echo "seed $name skipped: $(tail -1 "$scratch/err")"
        rm -f "$dir/$name"
    fi
}
run() { "$ember" record -q -c 200000 -e task-clock "$@"; }

seed plain.data run -o "$dir/plain.data" -- /bin/true
seed fp.data run -g -o "$dir/fp.data" -- /bin/true
seed dwarf.data run --call-graph dwarf,256 -o "$dir/dwarf.data" -- /bin/true
seed tracepoint.data "$ember" record -q -e sched:sched_switch -o "$dir/tracepoint.data" -- /bin/sh -c 'sleep 0.01'
seed uprobe.data "$ember" record -q -e uprobe:libc:malloc -e uretprobe:libc:malloc -o "$dir/uprobe.data" -- /bin/true
seed usdt.data "$ember" record -q -e "usdt:$scratch/usdt:ember:tick" -o "$dir/usdt.data" -- "$scratch/usdt" 20 0
seed all-cpus.data "$ember" record -q -a -F 200 -g --duration 0.05 -o "$dir/all-cpus.data"
seed pipe.data sh -c "'$ember' record -q -g -c 200000 -e task-clock -o - -- /bin/true > '$dir/pipe.data'"
seed perf.data perf record -q -e task-clock -c 200000 -g -o "$dir/perf.data" -- /bin/true
seed perf-compressed.data perf record -q -z -e task-clock -c 200000 -g -o "$dir/perf-compressed.data" -- /bin/true
seed perf-pipe.data sh -c "perf record -q -z -e task-clock -c 200000 -o - -- /bin/true > '$dir/perf-pipe.data'"
seed perf-tracepoint.data perf record -q -e sched:sched_switch -o "$dir/perf-tracepoint.data" -- /bin/sh -c 'sleep 0.01'
seed fp.data.ember "$ember" archive -i "$dir/fp.data" -o "$dir/fp.data.ember"
seed dwarf.data.ember "$ember" archive -i "$dir/dwarf.data" -o "$dir/dwarf.data.ember"
seed heap.data "$ember" record -q --heap --heap-rate 4096 -g -o "$dir/heap.data" -- /bin/ls /
seed heap-uprobes.data "$ember" record -q --heap-uprobes -o "$dir/heap-uprobes.data" -- /bin/ls /
seed latency.data "$ember" latency --offcpu --syscalls --func "$scratch/usdt:main" -o "$dir/latency.data" -- "$scratch/usdt" 20 0
# The fuzz target hands a recording to the consumer its last byte chooses (script, collapse, exports, pprof, OTLP, latency,
# heap, annotate, collapse with libunwind): each recording once per consumer, with that byte appended (readers ignore what follows
# a file's last section).
for f in "$dir"/*.data "$dir"/*.ember; do
    [ -f "$f" ] || continue
    for i in 1 2 3 4 5 6 7 8 9; do cp "$f" "$f.$i" && printf "\\$(printf %o "$i")" >> "$f.$i"; done
done
printf 'main;run;spin 40\nmain;run;hash 20\nmain;[libc.so.6];memcpy 7\n' > "$dir/stacks.folded"
