# Makefile — thin wrapper: install Debian packages, configure, build, run, test, bench.
BUILD ?= build
JOBS  ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench clean sanitize coverage fuzz

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

# sanitize: the whole suite under ASan (LeakSanitizer included) + UBSan. allocator_may_return_null:
# a huge allocation must reach anx's own out-of-memory error, as with glibc, not ASan's abort.
sanitize: export ASAN_OPTIONS ?= allocator_may_return_null=1:detect_leaks=1
sanitize: export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
sanitize: deps
	$(MAKE) BUILD=build-asan CMAKE_FLAGS="-DANX_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" test

# coverage: gcov build (build-cov), the whole suite, then line coverage of lexer/ parser/ vm/
# runtime/ (gcovr; HTML in build-cov/coverage/). Failing tests do not stop the report.
coverage: deps
	@scripts/deps.sh coverage
	scripts/ci-coverage.sh build-cov

# fuzz: each libFuzzer target for FUZZ_SECONDS (clang; see scripts/ci-fuzz.sh)
FUZZ_SECONDS ?= 60
fuzz: deps
	scripts/ci-fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
