# Ember: `make profile` shows it working on the demo workload; `make test` runs every test.
SWIFT ?= swift
BUILD := .build
DEMO := $(BUILD)/demo
EMBER_RELEASE := $(BUILD)/release/ember
# The release binary links the Swift runtime and Foundation (which swift-protobuf brings in) statically: loading
# and relocating them dynamically tripled the start-up time of every command. Its symbols are not exported (swiftc
# exports all 32,000 of an executable's): the dynamic loader looks each of its relocations' symbols up in the
# executable's table first, and `ember --version` took 10% longer.
RELEASE_BUILD := $(SWIFT) build -c release --static-swift-stdlib --product ember -Xlinker --no-export-dynamic
SYSTEM_PACKAGES := libdw-dev libelf-dev libunwind-dev libbpf-dev libzstd-dev linux-perf libc6-dbg gcc g++ pkg-config zlib1g-dev protobuf-compiler binutils golang-go curl libcurl4-openssl-dev libcapstone-dev \
	qemu-system-x86 busybox-static cpio gdb tmux chromium
TRACEFS := /sys/kernel/tracing

.PHONY: profile test unit fuzz build deps demo example guest-test guest-kernel bench proto syscalls clean shim

# Installs what is missing (as root), builds release, records the demo (built without frame pointers, so its
# stacks need DWARF unwinding) with call graphs, writes flame.svg and prints the top functions with their callers.
profile: deps $(BUILD)/demo-nofp
	$(RELEASE_BUILD)
	$(MAKE) --no-print-directory shim CONFIG=release
	$(EMBER_RELEASE) record --call-graph dwarf -o demo.data -- $(BUILD)/demo-nofp 3
	$(EMBER_RELEASE) flamegraph -i demo.data -o flame.svg --title "Ember demo"
	$(EMBER_RELEASE) report -i demo.data --no-children --limit 6 -g callee --percent-limit 5

test: deps demo example guest-kernel
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory shim
	$(MAKE) --no-print-directory fuzz
	# XCTest only: the suite has no Swift Testing tests, and its empty run would print the last line.
	EMBER_DEMO=$(abspath $(DEMO)) EMBER_EXAMPLE=$(abspath $(EXAMPLE)) EMBER_GUEST_KERNEL=$(abspath $(GUEST_KERNEL)) \
		EMBER_OTEL_PYTHON=$(abspath $(OTEL_VENV))/bin/python $(SWIFT) test --skip-build --disable-swift-testing

# The stage tests alone (every test target but EmberEndToEndTests): no package installs, no guest kernel, no
# fuzzing; under two minutes after a build.
unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing --skip EmberEndToEndTests

# The guest tests alone: Debian's cloud kernel (6.1, kprobes on) under qemu, running Tests/Guest/init.sh.
guest-test: deps guest-kernel
	$(SWIFT) build --build-tests
	EMBER_GUEST_KERNEL=$(abspath $(GUEST_KERNEL)) $(SWIFT) test --skip-build --disable-swift-testing --filter GuestTests

# Debian's cloud kernel package, downloaded and unpacked under .build (never installed on the host), once.
GUEST_KERNEL := $(BUILD)/guest/kernel
guest-kernel: $(GUEST_KERNEL)/boot

$(GUEST_KERNEL)/boot:
	@mkdir -p $(BUILD)/guest
	cd $(BUILD)/guest && package=$$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $$2; exit}') && \
		{ [ -n "$$package" ] || { apt-get update -qq && package=$$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $$2; exit}'); }; } && \
		rm -f linux-image-*.deb && apt-get download -q "$$package" 2>/dev/null && \
		rm -rf kernel && dpkg-deb -x linux-image-*.deb kernel && rm -rf linux-image-*.deb kernel/lib kernel/usr

# The example service that profiles itself through EmberProfiler (its own package, built against this checkout).
EXAMPLE := Examples/ProfiledService/.build/debug/ProfiledService
example:
	$(SWIFT) build --package-path Examples/ProfiledService

FUZZ_SECONDS ?= 60
FUZZ := $(BUILD)/fuzz

# Fuzzes the readers (perf.data, pipe streams, compressed records, archives, folded stacks; script, collapse with
# either unwinder, the exports, pprof and the latency analysis, one chosen by each input's last byte) with libFuzzer
# and AddressSanitizer, optimized, for FUZZ_SECONDS, from seeds Ember and perf record here plus the committed
# regression inputs. A crash prints its input (Base64): commit it to Fuzz/Regressions, where every run replays it.
fuzz: deps
	$(SWIFT) build --product ember
	$(SWIFT) build -c release --product EmberFuzz --scratch-path $(FUZZ) -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
		-Xlinker --allow-multiple-definition
	@rm -rf $(FUZZ)-seeds && Fuzz/seeds.sh $(FUZZ)-seeds $(BUILD)/debug/ember
	@mkdir -p $(FUZZ)-corpus $(FUZZ)-crashes
	@echo "fuzz: $(FUZZ_SECONDS) s (log in $(FUZZ).log)"
	@SWIFT_BACKTRACE=enable=no $(FUZZ)/release/EmberFuzz $(FUZZ)-corpus $(FUZZ)-seeds Fuzz/Regressions \
		-max_total_time=$(FUZZ_SECONDS) -max_len=262144 -timeout=60 -rss_limit_mb=6144 \
		-artifact_prefix=$(FUZZ)-crashes/ -print_final_stats=1 > $(FUZZ).log 2>&1 \
		|| { tail -60 $(FUZZ).log; echo "fuzz: the readers crashed; commit the input above to Fuzz/Regressions"; exit 1; }
	@grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|Done [0-9]+ runs" $(FUZZ).log | sed 's/^/fuzz: /'

build:
	$(SWIFT) build
	$(MAKE) --no-print-directory shim

# libember-heap.so, the allocator shim of `record --heap`, beside the ember of CONFIG (debug or release). Built with
# the C compiler: as a SwiftPM product it would link the Swift runtime into every program it is preloaded into.
# No -g: its inline functions would show as frames above each allocating call.
CONFIG ?= debug
shim:
	@dir=$$($(SWIFT) build -c $(CONFIG) --show-bin-path) && mkdir -p $$dir && \
		gcc -O2 -fno-omit-frame-pointer -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
			-o $$dir/libember-heap.so Sources/ember-heap/ember_heap.c -lm && echo "shim: $$dir/libember-heap.so"

demo: $(DEMO)

$(DEMO): Demo/demo.c
	@mkdir -p $(BUILD)
	gcc -O2 -g -fno-omit-frame-pointer -o $@ $<

$(BUILD)/demo-nofp: Demo/demo.c
	@mkdir -p $(BUILD)
	gcc -O2 -g -fomit-frame-pointer -o $@ $<

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
	@$(OTEL_VENV)/bin/python -c "import opentelemetry.proto" 2>/dev/null || { python3 -m venv $(OTEL_VENV) && $(OTEL_VENV)/bin/pip install -q opentelemetry-proto==1.45.2; } \
		|| echo "no opentelemetry-proto for Python: OTLPTests skip its decoding checks"

# OpenTelemetry's Python protobuf classes, which decode Ember's OTLP output in OTLPTests.
OTEL_VENV := $(BUILD)/otel-venv

# STACKCOLLAPSE=PATH/stackcollapse-perf.pl (FlameGraph's, not shipped) adds perf's whole pipeline to section 1.
bench: deps demo
	@dpkg -s bpftrace >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null; } || echo "bpftrace not installed: section 7 compares with perf alone"
	$(RELEASE_BUILD)
	$(MAKE) --no-print-directory shim CONFIG=release
	gcc -O2 -g -fomit-frame-pointer -o $(BUILD)/chain Tests/Programs/chain.c
	gcc -O2 -g -o $(BUILD)/probed Tests/Programs/probed.c
	swiftc -O -g -parse-as-library -o $(BUILD)/asyncchain Tests/Programs/asyncchain.swift
	gcc -O2 -fno-builtin -o $(BUILD)/mallocloop Tests/Programs/mallocloop.c
	swiftc -O -o $(BUILD)/objectchurn Tests/Programs/objectchurn.swift
	cd Benchmarks && $(SWIFT) build -c release
	Benchmarks/.build/release/EmberBench --ember $(EMBER_RELEASE) --demo $(DEMO) --no-fp $(BUILD)/chain --probed $(BUILD)/probed --async $(BUILD)/asyncchain \
		--heap-c $(BUILD)/mallocloop --heap-swift $(BUILD)/objectchurn $(if $(STACKCOLLAPSE),--stackcollapse $(STACKCOLLAPSE))

PROTOC_GEN_SWIFT ?= /tmp/swift-protobuf/.build/release/protoc-gen-swift
PPROF_DIR := Sources/EmberPprof

OTLP_DIR := Sources/EmberOTLP
# opentelemetry-proto's .proto files at v1.11.0 (git clone -b v1.11.0 https://github.com/open-telemetry/opentelemetry-proto).
OTLP_PROTO ?= /tmp/opentelemetry-proto
OTLP_FILES := opentelemetry/proto/collector/profiles/v1development/profiles_service.proto opentelemetry/proto/common/v1/common.proto \
	opentelemetry/proto/profiles/v1development/profiles.proto opentelemetry/proto/resource/v1/resource.proto

# Regenerates the committed pprof and OTLP Swift code; needs protoc and protoc-gen-swift 1.39.0 (CI never runs this).
proto:
	@command -v protoc >/dev/null || { echo "install protobuf-compiler"; exit 1; }
	@test -x $(PROTOC_GEN_SWIFT) || { echo "build protoc-gen-swift 1.39.0: cd /tmp && git clone -q https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout -q 1.39.0 && swift build -c release --product protoc-gen-swift"; exit 1; }
	@mkdir -p $(PPROF_DIR)/Generated
	protoc --plugin=$(PROTOC_GEN_SWIFT) --swift_out=$(PPROF_DIR)/Generated \
		--swift_opt=Visibility=Public --proto_path=$(PPROF_DIR) profile.proto
	@test -f $(OTLP_PROTO)/opentelemetry/proto/profiles/v1development/profiles.proto || { echo "clone opentelemetry-proto v1.11.0 into $(OTLP_PROTO)"; exit 1; }
	@mkdir -p $(OTLP_DIR)/Generated
	protoc --plugin=$(PROTOC_GEN_SWIFT) --swift_out=$(OTLP_DIR)/Generated --swift_opt=Visibility=Public \
		--swift_opt=FileNaming=PathToUnderscores --proto_path=$(OTLP_PROTO) $(OTLP_FILES)
	for f in $(OTLP_DIR)/Generated/*.pb.swift; do sed -i '1i // From opentelemetry-proto v1.11.0 (the profiles wire format of v1.10.0 and later); `make proto` regenerates it.' $$f; done

# Regenerates the committed syscall name table from linux-libc-dev's headers (CI never runs this).
syscalls:
	python3 Scripts/syscall-table.py Sources/EmberLatency/SyscallNames.swift

clean:
	rm -rf $(BUILD) Benchmarks/.build demo.data demo.data.old flame.svg
