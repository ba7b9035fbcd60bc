#!/bin/sh
# /init of the kvm-host guest (busybox ash, PID 1). It loads kvm_amd, mounts the payload disk,
# runs the job and powers off. Three serial ports carry everything to the host:
#   ttyS0  console: kernel messages (quiet) and the markers below, never the command's output
#   ttyS1  the command's stdout      ttyS2  the command's stderr
# Marker: "@@kvm-host:<nonce>:<uptime>:<event> [args]", the nonce comes from the kernel command line.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec </dev/null >/dev/console 2>&1

nonce=$(sed -n 's/.*kvmhost\.nonce=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
mark() { echo "@@kvm-host:$nonce:$(cut -d' ' -f1 /proc/uptime):$*"; }
# fail <kind> <message>: report and stop; the host maps <kind> to its exit code
fail() { mark "fail $1 $(echo "$2" | tr '\n' ' ')"; sync; poweroff -f; sleep 60; }
mark init

# Modules in dependency order, written by the host (busybox insmod does not resolve them).
while read -r m; do
  out=$(insmod "/lib/modules/$m.ko" 2>&1) || fail modules "insmod $m: $out"
done </lib/modules/load-order
[ -c /dev/kvm ] || fail kvm "no /dev/kvm after loading kvm_amd ($(dmesg | grep -i -E 'kvm|svm' | tail -n 3))"
mark modules

# Disks: vda the repository (ext4) and vdb the job (a tar archive), both made for this run;
# vdc the base disk (node and its libraries, read-only, linked from the initramfs).
i=0
while [ ! -b /dev/vdc ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
out=$(mount -t ext4 -o ro /dev/vdc /base 2>&1) || fail payload "base disk: $out"
mkdir -p /run/job
out=$(tar -xf /dev/vdb -C /run/job 2>&1) || fail payload "job disk: $out"
repo=$(cat /run/job/repo)
mkdir -p "$repo"
out=$(mount -t ext4 -o noatime /dev/vda "$repo" 2>&1) || fail payload "mount of $repo: $out"
mark mounted

# Raw ports: no \n -> \r\n translation of the command's output.
stty -F /dev/ttyS1 raw -echo && stty -F /dev/ttyS2 raw -echo || fail payload "stty of ttyS1/ttyS2"
# The command writes into pipes, not the serial ttys, so that it does not believe it has a terminal
# (no progress redraws or colours in logs; FORCE_COLOR still works); cat copies them to the ports.
mkdir -p /run/kvm-host && mkfifo /run/kvm-host/stdout /run/kvm-host/stderr
cat /run/kvm-host/stdout >/dev/ttyS1 &
out_pid=$!
cat /run/kvm-host/stderr >/dev/ttyS2 &
err_pid=$!
mark start
env -i /bin/sh /run/job/run.sh </dev/null >/run/kvm-host/stdout 2>/run/kvm-host/stderr
rc=$?
# The copies end when the last writer is gone; a daemon the command left behind still holds the
# pipes, so give them 5 s and then go on.
(sleep 5; kill $out_pid $err_pid) 2>/dev/null &
watchdog=$!
wait $out_pid $err_pid
kill $watchdog 2>/dev/null
# Wait until both ports have sent everything (stty sets the mode with TCSADRAIN).
stty -F /dev/ttyS1 raw
stty -F /dev/ttyS2 raw
mark "exit $rc"

# Leave the disk clean so the host can read collected files from the image.
kill -9 -1 2>/dev/null
cd /
sync
umount "$repo" && mark done
poweroff -f
