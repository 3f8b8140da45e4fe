#!/bin/busybox sh
# /init of the guest initramfs (make-dump.sh fills in @THRESHOLD@ and @MARKER@).
# Runs a workload in a memory cgroup, then copies what the kernel reports
# about its pages onto the raw disk /dev/vdb as a tar, and idles so the host
# can dump memory. page_owner is read last: reading it allocates memory.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "vmowner-init: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs -o size=768M tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup

# Swap on the first disk, so the dump shows a kernel with swap configured.
mkswap /dev/vda >/dev/null && swapon /dev/vda && say "swap on /dev/vda"

# The workload runs in its own memory cgroup, so page_owner prints
# "Charged to memcg work" for the pages it touched.
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/work
echo $$ >/sys/fs/cgroup/work/cgroup.procs
say "in cgroup $(cat /proc/self/cgroup)"

# Like Documentation/mm/page_owner.rst: 64 MiB into a tmpfs file.
dd if=/dev/zero of=/tmp/dd-64M bs=1M count=64
# A module whose code allocates pages: brd stores written blocks in pages.
insmod /brd.ko rd_nr=1 rd_size=16384 && say "brd loaded"
dd if=/dev/zero of=/dev/ram0 bs=1M count=8
sync

# Back to the root cgroup: the capture itself should not count as the workload.
echo $$ >/sys/fs/cgroup/cgroup.procs

out=/tmp/capture
mkdir -p $out
cat /proc/version >$out/version.txt
cat /proc/modules >$out/modules.txt
cat /proc/meminfo >$out/meminfo.txt
cat /proc/pagetypeinfo >$out/pagetypeinfo.txt
cat /proc/buddyinfo >$out/buddyinfo.txt
cat /proc/zoneinfo >$out/zoneinfo.txt
cat /proc/vmstat >$out/vmstat.txt
[ -r /proc/allocinfo ] && cat /proc/allocinfo >$out/allocinfo.txt
stacks=/sys/kernel/debug/page_owner_stacks
if [ -d $stacks ]; then
    cat $stacks/show_stacks >$out/show_stacks.txt
    echo @THRESHOLD@ >$stacks/count_threshold
    cat $stacks/count_threshold >$out/count_threshold
    cat $stacks/show_stacks >$out/show_stacks_threshold.txt
else
    echo "none (no page_owner_stacks in this kernel)" >$out/count_threshold
fi
say "reading page_owner"
cat /sys/kernel/debug/page_owner >$out/page_owner.txt
say "page_owner: $(wc -c <$out/page_owner.txt) bytes"

tar cf /dev/vdb -C /tmp capture
sync
echo "@MARKER@"
while true; do sleep 3600; done
