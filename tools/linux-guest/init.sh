#!/bin/busybox sh
# /init of the tsvmm Linux test initramfs: report what the Xen HVM boot did, then power off.
# Every report line starts with a TSVMM- marker so the tests read the serial log by markers only.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "TSVMM-INIT uptime $(cut -d' ' -f1 /proc/uptime)"
echo "TSVMM-HYPERVISOR $(cat /sys/hypervisor/type 2>/dev/null) $(cat /sys/hypervisor/version/major 2>/dev/null).$(cat /sys/hypervisor/version/minor 2>/dev/null)"
echo "TSVMM-CPUS $(grep -c ^processor /proc/cpuinfo)"
# The domain handle, from XENVER_guest_handle (or xenstore's vm/uuid when that fails).
echo "TSVMM-UUID $(cat /sys/hypervisor/uuid 2>/dev/null)"
dmesg | grep -i -E 'xen|smp: |clocksource|hypervisor|paravirt' | sed 's/^/TSVMM-DMESG /'
# The Xen PV console: hvc0 stays open (its event channel is bound only while it is), output
# post-processing off so the line leaves the guest as written, then one known line.
if [ -c /dev/hvc0 ]; then
  exec 3<>/dev/hvc0
  stty -opost <&3 2>/dev/null
  printf 'TSVMM-HVC %s\n' 'hvc0 byte for byte: 0123456789 ~!@#%^&*()_+{}|:<>?[];,./' >&3
fi
# With tsvmm.bench on the command line (pnpm compare:qemu's PV round): the PV console's
# throughput and xenstore's READ round trip, timed by the guest (pvbench.c). The sizes can be
# changed with tsvmm.bench_hvc=<bytes> and tsvmm.bench_xs=<reads>.
if grep -q 'tsvmm.bench' /proc/cmdline; then
  hvc=262144 xs=1000
  for a in $(cat /proc/cmdline); do
    case $a in
      tsvmm.bench_hvc=*) hvc=${a#*=} ;;
      tsvmm.bench_xs=*) xs=${a#*=} ;;
    esac
  done
  pvbench hvc "$hvc"
  pvbench xs-read "$xs" domid
fi
# Let both CPUs take some timer and IPI interrupts before they are counted.
for i in 1 2 3 4 5 6 7 8; do taskset -c $((i % 2)) true 2>/dev/null; sleep 0.05; done
# The kernel shares this serial port: from here on only warnings and worse reach it (console
# loglevel 5), so an info line cannot land inside the report's rows.
echo 5 > /proc/sys/kernel/printk
echo TSVMM-INTERRUPTS-BEGIN
cat /proc/interrupts
echo TSVMM-INTERRUPTS-END
echo TSVMM-DONE
# With tsvmm.wait on the command line, stay up until the host asks for a shutdown through
# xenstore: Linux's xenbus shutdown watcher (drivers/xen/manage.c) runs /sbin/poweroff, busybox's
# poweroff signals init (this shell, PID 1) with SIGUSR2, and the trap powers off for real.
if grep -q 'tsvmm.wait' /proc/cmdline; then
  mkdir -p /sbin && ln -sf /bin/busybox /sbin/poweroff
  trap 'echo TSVMM-SHUTDOWN-REQUESTED; poweroff -f' USR2
  echo TSVMM-WAITING
  while :; do sleep 1; done
fi
poweroff -f
