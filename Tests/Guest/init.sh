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
check() {
    if [ "$2" = "$3" ]; then echo "EMBER-GUEST $1 PASS $3"
    else echo "EMBER-GUEST $1 FAIL expected $2, got $3: $(tail -n 1 "$4" 2>/dev/null)"; fi
}
samples() { /ember script -i "$1" -F event 2>>/tmp/err | wc -l | tr -d ' '; }

/ember record -e kprobe:__x64_sys_getppid -o kprobe.data -- /getppid 4321 >/tmp/err 2>&1
check kprobeCount 4321 "$(samples kprobe.data)" /tmp/err

/ember record -e kretprobe:__x64_sys_getppid -o kretprobe.data -- /getppid 1234 >/tmp/err 2>&1
check kretprobeCount 1234 "$(samples kretprobe.data)" /tmp/err

/ember record -e syscalls:sys_enter_getppid -o tracepoint.data -- /getppid 777 >/tmp/err 2>&1
check tracepointCount 777 "$(samples tracepoint.data)" /tmp/err

/ember record -e uprobe:/probed:probed_add -o uprobe.data -- /probed 555 0 >/tmp/err 2>&1
check uprobeCount 555 "$(samples uprobe.data)" /tmp/err

/ember record -g -F 499 -o cpu.data -- /demo 1 >/tmp/err 2>&1
/ember collapse -i cpu.data >/tmp/folded 2>>/tmp/err
check cpuClockCallGraph yes "$(grep -q 'main;.*spin_primes' /tmp/folded && echo yes || echo no)" /tmp/err

echo "EMBER-GUEST-DONE"
poweroff -f
