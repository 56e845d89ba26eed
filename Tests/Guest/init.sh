#!/bin/sh
# The guest's /init: mounts what Ember needs, runs every guest check, prints one line per check on the serial
# console (EMBER-GUEST name PASS|FAIL detail), and powers off. GuestTests reads the lines; each check's name is
# the XCTest case that asserts it.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing
mount -t debugfs nodev /sys/kernel/debug
mkdir -p /tmp && mount -t tmpfs tmp /tmp
export LD_LIBRARY_PATH=/libs PATH=/bin
cd /tmp
echo "EMBER-GUEST kernel PASS $(uname -r)"

# check NAME EXPECTED ACTUAL DETAIL-FILE: PASS when ACTUAL equals EXPECTED, else FAIL with the detail's last line.
# Recordings use 4 MiB rings (-m 1024): an emulated guest on a busy host drains slowly, and a count must be exact.
check() {
    if [ "$2" = "$3" ]; then echo "EMBER-GUEST $1 PASS $3"
    else echo "EMBER-GUEST $1 FAIL expected $2, got $3: $(tail -n 1 "$4" 2>/dev/null)"; fi
}
samples() { /ember script -i "$1" -F event 2>>/tmp/err | wc -l | tr -d ' '; }

/ember record -m 1024 -e kprobe:__x64_sys_getppid -o kprobe.data -- /getppid 4321 >/tmp/err 2>&1
check kprobeCount 4321 "$(samples kprobe.data)" /tmp/err

/ember record -m 1024 -e kretprobe:__x64_sys_getppid -o kretprobe.data -- /getppid 1234 >/tmp/err 2>&1
check kretprobeCount 1234 "$(samples kretprobe.data)" /tmp/err

# Kernel call chains through the probe, every CPU (-a), and a kprobe and a kretprobe sharing the rings.
/ember record -m 1024 -g -e kprobe:__x64_sys_getppid -o chain.data -- /getppid 100 >/tmp/err 2>&1
check kprobeCallChain yes "$(/ember collapse -i chain.data 2>>/tmp/err | grep -q 'do_syscall_64;__x64_sys_getppid' && echo yes || echo no)" /tmp/err
/ember record -m 1024 -a -e kprobe:__x64_sys_getppid -o all.data -- /getppid 321 >/tmp/err 2>&1
check kprobeAllCPUs 321 "$(samples all.data)" /tmp/err
/ember record -m 1024 -e kprobe:__x64_sys_getppid -e kretprobe:__x64_sys_getppid -o both.data -- /getppid 200 >/tmp/err 2>&1
check kprobePair "200 200" "$(/ember script -i both.data -F event 2>>/tmp/err | grep -c 'kprobe:') $(/ember script -i both.data -F event 2>>/tmp/err | grep -c 'kretprobe:')" /tmp/err
# An offset into the function: past the 5-byte call to __fentry__ that starts it (ftrace).
/ember record -m 1024 -e kprobe:__x64_sys_getppid+5 -o offset.data -- /getppid 99 >/tmp/err 2>&1
check kprobeOffset 99 "$(samples offset.data)" /tmp/err
# The kernel filters kprobe PMU events as it filters tracepoints (on their common fields: a kprobe has no others).
/ember record -m 1024 -e kprobe:__x64_sys_getppid --filter 'common_pid != 0' -o kept.data -- /getppid 5 >/tmp/err 2>&1
/ember record -m 1024 -e kprobe:__x64_sys_getppid --filter 'common_pid == 1' -o dropped.data -- /getppid 5 >>/tmp/err 2>&1
check kprobeFilter "5 0" "$(samples kept.data) $(samples dropped.data)" /tmp/err

# Arguments from the registers at the probe: do_sys_openat2(dfd, filename, how) gets AT_FDCWD from cat's openat,
# -100 as a 32-bit int in a 64-bit register (4294967196); the kretprobe of getppid returns the workload's parent,
# the recorder itself.
/ember record -m 1024 -e kprobe:do_sys_openat2 -o args.data -- /bin/cat /init >/dev/null 2>/tmp/err
check kprobeArguments yes "$(/ember script -i args.data 2>>/tmp/err | grep -q 'kprobe:do_sys_openat2: arg1=4294967196 arg2=' && echo yes || echo no)" /tmp/err
/ember record -m 1024 -e kretprobe:__x64_sys_getppid -o ret.data -- /getppid 3 >/tmp/err 2>&1 &
recorder=$!
wait $recorder
check kretprobeReturn "ret=$recorder" "$(/ember script -i ret.data 2>>/tmp/err | grep -o 'ret=[0-9-]*' | sort -u | tr '\n' ' ' | sed 's/ $//')" /tmp/err

# Which functions take kprobes: the list (what ftrace can trace: __do_sys_getppid, not the __x64_sys_ wrapper) less
# the blacklist; a missing or blacklisted function is refused before the kernel is asked, with an error naming it.
check kprobeList yes "$(/ember list --kprobes '*sys_getppid' 2>/tmp/err | grep -q '__do_sys_getppid' && echo yes || echo no)" /tmp/err
/ember record -m 1024 -e kprobe:ember_no_such_function -o none.data -- /getppid 1 >/tmp/err 2>&1
check kprobeMissing "1 yes" "$? $(grep -q 'no function named ember_no_such_function' /tmp/err && echo yes || echo no)" /tmp/err
blacklisted=$(head -n 1 /sys/kernel/debug/kprobes/blacklist | awk '{print $2}')
/ember record -m 1024 -e "kprobe:$blacklisted" -o blacklisted.data -- /getppid 1 >/tmp/err 2>&1
check kprobeBlacklisted "1 yes 0" "$? $(grep -q 'kprobe blacklist' /tmp/err && echo yes || echo no) $(/ember list --kprobes "$blacklisted" 2>/dev/null | wc -l | tr -d ' ')" /tmp/err

/ember record -m 1024 -e syscalls:sys_enter_getppid -o tracepoint.data -- /getppid 777 >/tmp/err 2>&1
check tracepointCount 777 "$(samples tracepoint.data)" /tmp/err

/ember record -m 1024 -e uprobe:/probed:probed_add -o uprobe.data -- /probed 555 0 >/tmp/err 2>&1
check uprobeCount 555 "$(samples uprobe.data)" /tmp/err

/ember record -g -F 499 -o cpu.data -- /demo 1 >/tmp/err 2>&1
/ember collapse -i cpu.data >/tmp/folded 2>>/tmp/err
check cpuClockCallGraph yes "$(grep -q 'main;.*spin_primes' /tmp/folded && echo yes || echo no)" /tmp/err

# Kernel function latency: the sleeper's 260 naps, each a clock_nanosleep, the longest 20 ms.
/ember latency --kfunc __x64_sys_clock_nanosleep --json -o latency.data -- /sleeper /tmp/naps >/tmp/latency 2>/tmp/err
row=$(grep '"kind": "kfunction", "name": "__x64_sys_clock_nanosleep"' /tmp/latency | grep '"comm": "sleeper"' | head -n 1)
count=$(echo "$row" | sed -n 's/.*"count": \([0-9]*\).*/\1/p')
max=$(echo "$row" | sed -n 's/.*"max_ns": \([0-9]*\).*/\1/p')
check kfuncLatency "260 yes" "$count $([ "${max:-0}" -ge 20000000 ] && echo yes || echo no)" /tmp/err

# Run-queue delay in the kernel by Ember's BPF program, its CO-RE relocations made against 6.1's BTF: a row for the
# demo, nothing recorded.
/ember latency --sched --json -- /demo 1 >/tmp/rq 2>/tmp/err
check inKernelRunQueue "yes yes" "$(grep -q '"source": "bpf"' /tmp/rq && echo yes || echo no) $(grep -q '"comm": "demo"' /tmp/rq && echo yes || echo no)" /tmp/err

echo "EMBER-GUEST-DONE"
poweroff -f
