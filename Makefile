# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
BIN    = .build/release

.PHONY: deps build demo test sample clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

# Runs the main job on the bundled sample.
demo: build
	$(BIN)/vmowner samples/vmlinux samples/vmcore

# Builds and runs every test.
test: deps
	$(SWIFT) build
	$(SWIFT) test

# Regenerates the bundled sample (a small simulated machine).
sample: build
	$(BIN)/vmsim --seed 1 --memory 64M --out /tmp/vmowner-sample
	cp /tmp/vmowner-sample/vmlinux /tmp/vmowner-sample/vmcore samples/

clean:
	rm -rf .build
