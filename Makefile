# Makefile — thin wrapper: install Debian packages, configure, build, run, test, bench.
BUILD ?= build
JOBS  ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench clean sanitize

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: deps build
	./$(BUILD)/anx examples/quickstart.anx

test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

bench: deps
	@scripts/deps.sh bench
	$(MAKE) build
	bench/run.sh $(BUILD)

sanitize: deps
	$(MAKE) BUILD=build-asan CMAKE_FLAGS="-DANX_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" test

clean:
	rm -rf $(BUILD)
