#!/bin/sh
# Boots Debian's cloud kernel (6.1, with kprobes) under qemu with TCG and runs Tests/Guest/init.sh in it: the
# guest half of GuestTests. Usage: boot.sh KERNEL_DIR EMBER OUT_DIR. The initramfs holds busybox, EMBER (stripped)
# with the shared libraries ldd names, and static test programs built here; the serial console goes to
# OUT_DIR/console.log. KVM hangs in Firecracker VMs, so the guest is emulated: about 12 s to boot and check.
set -eu
kernel_dir=$1 ember=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
programs=$here/../Programs
root=$out/root
rm -rf "$root" && mkdir -p "$root/bin" "$root/libs" "$root/lib64" "$root/proc" "$root/sys" "$root/dev"
cp /bin/busybox "$root/bin/busybox"
for tool in sh mount mkdir cat echo wc tail tr grep sort sed awk head test [ poweroff uname; do ln -s busybox "$root/bin/$tool"; done
cp "$here/init.sh" "$root/init"
strip -o "$root/ember" "$ember"
for lib in $(ldd "$ember" | awk '/=> \//{print $3}'); do
    strip --strip-unneeded -o "$root/libs/$(basename "$lib")" "$lib" 2>/dev/null || cp -L "$lib" "$root/libs/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
gcc -O2 -static -o "$root/getppid" "$programs/getppid.c"
gcc -O2 -g -fno-omit-frame-pointer -static -o "$root/probed" "$programs/probed.c"
gcc -O2 -g -fno-omit-frame-pointer -static -o "$root/demo" "$here/../../Demo/demo.c"
gcc -O2 -g -static -o "$root/sleeper" "$programs/sleeper.c"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$out/initrd.gz"
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
    -kernel "$(ls "$kernel_dir"/boot/vmlinuz-*)" -initrd "$out/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1" > "$out/console.log" 2>&1 || true
rm -rf "$root" "$out/initrd.gz"
