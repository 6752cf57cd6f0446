# kthw — two commands for a newcomer on a fresh Debian machine, as root:
#   make demo   installs, builds, and runs kthw on the built-in examples
#   make test   installs, builds, and runs every test
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= 2
FUZZ_SECONDS ?= 60
WERROR ?= $(if $(KTHW_WERROR),$(KTHW_WERROR),OFF)

.PHONY: all deps build components test unit-test asan-test fuzz lint demo bench format clean lab-up lab-down lab-status

all: build

deps:
	./scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKTHW_WERROR=$(WERROR)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# The lab's real control plane: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd, etcdctl and etcdutl, built from their Go modules once per machine (see
# tests/lab/components/build); later runs reuse the cache.
components: deps
	./tests/lab/components/build all

unit-test: build components
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The unit tests once more under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKTHW_SANITIZE=ON -DKTHW_BENCH=OFF \
	  -DKTHW_WERROR=$(WERROR)
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target kthw_unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -L unit

# libFuzzer over the document loader, for a bounded time, from the committed seed corpus.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKTHW_FUZZ=ON -DKTHW_TESTS=OFF -DKTHW_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_loader
	./scripts/run-fuzz.sh $(FUZZ_BUILD)/fuzz_loader $(FUZZ_SECONDS)

# clang-tidy with the repository's .clang-tidy over src/ (scripts/lint.sh); any finding fails.
lint: build
	./scripts/lint.sh $(BUILD) $(JOBS)

test: unit-test asan-test fuzz lint

demo: build components
	./scripts/demo.sh $(BUILD)/kthw

# Benchmarks against Ansible, the SSH floor and openssl; writes bench/RESULTS.md.
bench: build components
	./bench/run.sh

# The lab: systemd-nspawn hosts controller-0..2 and lb-0 on a private bridge (see tests/lab/lab).
lab-up: deps
	./tests/lab/lab up

lab-down:
	./tests/lab/lab down

lab-status:
	./tests/lab/lab status

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
