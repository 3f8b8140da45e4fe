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
# A module whose code allocates pages: brd stores written blocks in pages. Written
# with head, not dd, so that dd's pages are exactly the 64 MiB of the example.
insmod /brd.ko rd_nr=1 rd_size=16384 && say "brd loaded"
head -c 8388608 /dev/zero >/dev/ram0
sync

# Back to the root cgroup: the capture itself should not count as the workload.
echo $$ >/sys/fs/cgroup/cgroup.procs

# Each capture goes straight onto the raw disk /dev/vdb with O_DIRECT, into its own slot
# (offsets in MiB, the host's extract_capture reads the same table), so copying what the
# kernel prints puts nothing in the page cache or tmpfs while the kernel prints it: the dump
# then shows what the capture saw. Slots are zero-padded; the host cuts at the first NUL.
# cat does the reading: a read asking for less than one whole record fails with ENOMEM in
# page_owner, and dd's fullblock would ask for remainders.
capture() {   # capture SOURCE SLOT_MIB
    cat "$1" | dd of=/dev/vdb bs=64K iflag=fullblock oflag=direct conv=sync,notrunc seek=$(($2 * 16)) 2>/dev/null
}
stacks=/sys/kernel/debug/page_owner_stacks
capture /proc/version 0
capture /proc/modules 1
capture /proc/meminfo 2
capture /proc/pagetypeinfo 3
capture /proc/buddyinfo 4
capture /proc/zoneinfo 5
capture /proc/vmstat 6
if [ -d $stacks ]; then
    capture $stacks/show_stacks 16
    echo @THRESHOLD@ >$stacks/count_threshold
    capture $stacks/count_threshold 7
    capture $stacks/show_stacks 24
fi
capture /sys/kernel/debug/page_owner 32

# /proc/allocinfo counts every allocation and free, so it is read last, by this shell's own
# builtins: no process is forked for it, and the dd that writes it out was started before and
# stays alive (blocked on its FIFO) until the dump, so no exit frees memory in between. NULs
# after the text push dd's last block out; the host cuts at the first NUL.
if [ -r /proc/allocinfo ]; then
    mkfifo /tmp/allocinfo.fifo
    dd if=/tmp/allocinfo.fifo of=/dev/vdb bs=64K iflag=fullblock oflag=direct conv=sync,notrunc seek=$((8 * 16)) 2>/dev/null &
    exec 3>/tmp/allocinfo.fifo
    # Let the frees of the capture processes that exited (RCU-delayed) finish first: a busy
    # loop of builtins, since sleeping would fork once more.
    i=0
    while [ $i -lt 300000 ]; do i=$((i + 1)); done
    while IFS= read -r line; do printf '%s\n' "$line" >&3; done </proc/allocinfo
    nul='\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
    i=0
    while [ $i -lt 2048 ]; do printf "$nul" >&3; i=$((i + 1)); done
fi

# The host stops the guest on this line and dumps its memory. Until then the shell spins on
# builtins: sleeping (a fork) or blocking on a file (an open) would allocate after the capture.
echo "@MARKER@"
while :; do :; done
