# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
BIN    = .build/release

.PHONY: deps build demo test bench sample clean real-kernel-dumps fuzz

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

# Runs the main job on the bundled sample.
demo: build
	$(BIN)/vmowner samples/vmlinux samples/vmcore

# Builds and runs every test, real-kernel dumps included (built once, then cached), then the
# 1G benchmark once as a smoke test (no timing is asserted).
test: deps real-kernel-dumps
	$(SWIFT) build
	$(SWIFT) test
	BENCH_DIR=$$(mktemp -d) scripts/bench.sh 1G

# Linux 6.12 and 6.1 with page_owner, and 6.12 without SPARSEMEM_VMEMMAP, booted under QEMU
# and dumped (samples/real-kernel/).
real-kernel-dumps:
	samples/real-kernel/make-dump.sh 6.12 >/dev/null
	samples/real-kernel/make-dump.sh 6.1 >/dev/null
	samples/real-kernel/make-dump.sh 6.12-novmemmap >/dev/null

# Times every command on simulated 1G, 16G and 64G dumps against the page_ext read floor.
bench: deps
	scripts/bench.sh

# Coverage-guided fuzzing under AddressSanitizer: every target of vmowner-fuzz for FUZZ_SECONDS
# (default 60), two at a time; fails on a crash and leaves it in .build-fuzz/crashes/TARGET/.
fuzz: deps
	scripts/install-deps.sh python3
	scripts/fuzz.sh

# Regenerates the bundled sample (a small simulated machine).
sample: build
	rm -rf /tmp/vmowner-sample samples/expected
	$(BIN)/vmsim --seed 1 --memory 64M --out /tmp/vmowner-sample
	cp /tmp/vmowner-sample/vmlinux /tmp/vmowner-sample/vmcore samples/
	cp -r /tmp/vmowner-sample/expected samples/expected

clean:
	rm -rf .build
