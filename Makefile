# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT  ?= swift
BIN     = .build/release
PREFIX ?= /usr/local
# Where swift-argument-parser's generate-manual plugin writes vmowner.1.
MANUAL  = .build/plugins/GenerateManual/outputs/vmowner

.PHONY: deps test-tools build demo test test-asan bench sample clean real-kernel-dumps install fuzz

deps:
	@scripts/install-deps.sh

# Chromium, protoc, profile.proto and Python's protobuf: what the export tests check with.
test-tools: deps
	@scripts/install-test-tools.sh

build: deps
	$(SWIFT) build -c release

# Runs the main job on the bundled sample.
demo: build
	$(BIN)/vmowner samples/vmlinux samples/vmcore

# Builds and runs every test, real-kernel dumps included (built once, then cached): the unit
# and report tests; the corruption matrix once, under AddressSanitizer; every fuzz target for
# 60 s under ASan; the 1G benchmark once as a smoke test (no timing is asserted); the install.
test: deps test-tools real-kernel-dumps
	$(SWIFT) build
	$(SWIFT) test --skip MatrixTests
	$(MAKE) test-asan
	$(MAKE) fuzz FUZZ_SECONDS=60
	BENCH_DIR=$$(mktemp -d) BENCH_DRGN=0 scripts/bench.sh 1G
	scripts/check-install.sh

# Puts vmowner in $(PREFIX)/bin (DESTDIR honoured) with its man page and bash, zsh and fish
# completions, all generated from the built binary by swift-argument-parser.
install: build
	$(SWIFT) package generate-manual
	scripts/install.sh $(BIN) "$(DESTDIR)$(PREFIX)" $(MANUAL)

# The corruption matrix (Tests/ReaderTests/Hostile) and the other hostile-input tests run against
# an AddressSanitizer build of vmowner in its own scratch path, so that an out-of-bounds read or
# write that happens not to crash still fails its case (ASan's exit status 86 is not bad input's 1).
ASAN_VMOWNER = $(CURDIR)/.build-asan/debug/vmowner
test-asan: deps
	$(SWIFT) build --sanitize=address --scratch-path .build-asan --product vmowner
	$(SWIFT) build --build-tests
	VMOWNER_BIN=$(ASAN_VMOWNER) ASAN_OPTIONS=exitcode=86:detect_leaks=0 HOSTILE_TIMEOUT=60 \
		$(SWIFT) test --skip-build --filter 'MatrixTests|BadInputTests|CorruptDumpTests'

# Linux 6.12 and 6.1 with page_owner, 6.12 without SPARSEMEM_VMEMMAP, and 6.12 for arm64
# (cross-built, on qemu-system-aarch64), booted under QEMU and dumped (samples/real-kernel/);
# and Debian's stock kernel without page_owner.
real-kernel-dumps:
	samples/real-kernel/make-dump.sh 6.12 >/dev/null
	samples/real-kernel/make-dump.sh 6.1 >/dev/null
	samples/real-kernel/make-dump.sh 6.12-novmemmap >/dev/null
	samples/real-kernel/make-dump.sh 6.12-arm64 >/dev/null
	samples/real-kernel/debian-stock-dump.sh >/dev/null

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
