#!/bin/sh
# `make fuzz`: builds vmowner-fuzz for libFuzzer with AddressSanitizer, makes the seed corpora
# from vmsim dumps, runs every target for FUZZ_SECONDS (default 60), two at a time, and prints
# per target the executions, the corpus size and the crashes. Exits 1 when a target crashed;
# the reproducer is in .build-fuzz/crashes/TARGET/ (replay: .build/debug/vmowner-fuzz TARGET FILE,
# with VMOWNER_FUZZ_DUMP=.build-fuzz/sim/elf for the targets that patch the seed dump).
#   FUZZ_SECONDS=600 make fuzz             longer
#   FUZZ_TARGETS="kdump xz" make fuzz      some targets only
#   FUZZ_JOBS=1 make fuzz                  one at a time
# Replay a reproducer: swift build && .build/debug/vmowner-fuzz TARGET FILE
set -eu
SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
WORK=.build-fuzz
SIM=$WORK/sim
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

start=$(date +%s)
# The fuzzing build has its own scratch path; the plain build makes vmsim and the replay
# driver (which cuts the kallsyms seed out of a dump).
# Release: three times the executions per second of a debug build; Swift's checks stay on.
FUZZ_BUILD="-c release --scratch-path $WORK -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER"
$SWIFT build --product vmowner-fuzz $FUZZ_BUILD
FUZZER=$($SWIFT build $FUZZ_BUILD --show-bin-path)/vmowner-fuzz
$SWIFT build --product vmsim
$SWIFT build --product vmowner-fuzz
BIN=$($SWIFT build --show-bin-path)
built=$(date +%s)

# Seed dumps: one small machine in every format (made once, kept in $SIM).
for format in elf kdump-zlib kdump-lzo kdump-snappy kdump-zstd flat; do
    [ -f $SIM/$format/vmcore ] || $BIN/vmsim --seed 1 --memory 64M --kernel 6.19-swap --format $format --out $SIM/$format >/dev/null
done
rm -rf $WORK/seeds
python3 scripts/fuzz-seeds.py $SIM $WORK/seeds
cp -r $WORK/seeds/kdump $WORK/seeds/split     # split cuts one kdump file into parts
mkdir -p $WORK/seeds/kallsyms
$BIN/vmowner-fuzz --kallsyms-seed $SIM/elf/vmlinux $SIM/elf/vmcore $WORK/seeds/kallsyms/200-symbols 200
$BIN/vmowner-fuzz --kallsyms-seed $SIM/elf/vmlinux $SIM/elf/vmcore $WORK/seeds/kallsyms/20-symbols 20
mkdir -p $WORK/seeds/btf                 # the simulated kernel's BTF, as pahole encodes it
pahole --btf_encode_detached=$WORK/seeds/btf/sim.btf $SIM/elf/vmlinux >/dev/null
export VMOWNER_FUZZ_DUMP=$SIM/elf        # the dump the patching targets patch
seeded=$(date +%s)

TARGETS=${FUZZ_TARGETS:-$($BIN/vmowner-fuzz --list | cut -f1)}
rm -rf $WORK/logs $WORK/crashes       # the corpora stay: each run goes on from the last
mkdir -p $WORK/logs
for t in $TARGETS; do echo $t; done | xargs -P "$JOBS" -I{} sh -c '
    t={}
    mkdir -p '"$WORK"'/corpus/$t '"$WORK"'/crashes/$t
    seeds='"$WORK"'/seeds/$t len=131072
    [ -d $seeds ] || { seeds='"$WORK"'/seeds/patches; len=1024; }    # a patch list for the seed dump
    VMOWNER_FUZZ_TARGET=$t '"$FUZZER"' '"$WORK"'/corpus/$t $seeds \
        -max_total_time='"$SECONDS_EACH"' -timeout=30 -rss_limit_mb=4096 -max_len=$len -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix='"$WORK"'/crashes/$t/ >'"$WORK"'/logs/$t.log 2>&1 || true
    echo "  finished $t"'

# crash-, timeout- and oom- files are findings (a trap, ASan, a hang over 30 s, over 4 GB);
# slow-unit- files (over 10 s) are listed too, to look at.
failed=0
printf '%-14s %12s %8s %8s %6s\n' target executions corpus crashes slow
for t in $TARGETS; do
    log=$WORK/logs/$t.log
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' $log | tail -1)
    corpus=$(ls $WORK/corpus/$t | wc -l)
    crashes=$(ls $WORK/crashes/$t | grep -c -E '^(crash|timeout|oom|leak)-' || true)
    slow=$(ls $WORK/crashes/$t | grep -c '^slow-unit-' || true)
    printf '%-14s %12s %8s %8s %6s\n' $t "${runs:-?}" $corpus $crashes $slow
    if [ "$crashes" != 0 ] || ! grep -q '^stat::number_of_executed_units' $log; then
        failed=1
        echo "    log: $log"
    fi
    ls $WORK/crashes/$t | sed "s|^|    reproducer: $WORK/crashes/$t/|"
done
end=$(date +%s)
echo "build $((built - start)) s, seeds $((seeded - built)) s, fuzzing $((end - seeded)) s"
exit $failed
