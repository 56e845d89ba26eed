# Ember: `make profile` shows it working on the demo workload; `make test` runs every test.
SWIFT ?= swift
BUILD := .build
DEMO := $(BUILD)/demo
EMBER_RELEASE := $(BUILD)/release/ember
SYSTEM_PACKAGES := libdw-dev libelf-dev libunwind-dev linux-perf libc6-dbg gcc pkg-config
TRACEFS := /sys/kernel/tracing

.PHONY: profile test build deps demo bench clean

# Installs what is missing (as root), builds release, records the demo with call graphs, writes flame.svg and
# prints the top functions.
profile: deps demo
	$(SWIFT) build -c release --product ember
	$(EMBER_RELEASE) record -g -o demo.data -- $(DEMO) 3
	$(EMBER_RELEASE) flamegraph -i demo.data -o flame.svg --title "Ember demo"
	$(EMBER_RELEASE) report -i demo.data --no-children --limit 12

test: deps demo
	$(SWIFT) build --build-tests
	EMBER_DEMO=$(abspath $(DEMO)) $(SWIFT) test --skip-build

build:
	$(SWIFT) build

demo: $(DEMO)

$(DEMO): Demo/demo.c
	@mkdir -p $(BUILD)
	gcc -O2 -g -fno-omit-frame-pointer -o $@ $<

# System packages (and tracefs) the build and the tests need; installs only what is missing, and only as root.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing system packages:$$missing (run 'sudo make deps')"; exit 1; \
		fi; \
	fi
	@if [ "$$(id -u)" = 0 ] && [ -d $(TRACEFS) ] && ! mountpoint -q $(TRACEFS); then mount -t tracefs nodev $(TRACEFS) || true; fi

bench: deps demo
	$(SWIFT) build -c release --product ember
	cd Benchmarks && $(SWIFT) build -c release
	Benchmarks/.build/release/EmberBench --ember $(EMBER_RELEASE) --demo $(DEMO)

clean:
	rm -rf $(BUILD) Benchmarks/.build demo.data demo.data.old flame.svg
