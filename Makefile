# Thin wrapper over CMake and the test runners; see README.md.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
PYTEST     ?= /usr/bin/python3 -m pytest
JOBS       ?= $(shell nproc)
TARGET     ?=
CONTROL    ?=

.PHONY: all deps test test-asan test-tsan test-valgrind test-fuzz conformance interop fuzz bench check-style clean

# Plain `make` only builds; the two README commands (`make test`, `make
# conformance`) and CI first install what is missing (scripts/install-deps).
all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps

test: deps
	scripts/check-style
	$(MAKE) all
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	HC_BUILD=$(abspath $(BUILD)) $(PYTEST) -q tests/integration python/tests
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) test-valgrind
	$(MAKE) test-fuzz
	$(MAKE) interop

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DHC_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)
	HC_BUILD=$(abspath $(BUILD_ASAN)) HC_SANITIZED=1 $(PYTEST) -q tests/integration python/tests

# The unit tests, the integration tests of the mock's threaded parts and one
# full conformance run per gRPC engine (mock and runner, cases in parallel) under
# ThreadSanitizer. Every process writes its reports to $(BUILD_TSAN)/tsan/
# (log_path) rather than to a stderr a test may not read; scripts/tsan-check
# fails when any report was written. The shared gRPC, absl and OpenSSL
# libraries are not instrumented: tests/tsan/ says how that is handled. The
# rest of the integration suite measures latencies that TSan's 5-15x
# slowdown breaks, and adds no thread of its own; so does T14's fixed 1 s
# for the first Watch message, which the wire engine under TSan misses.
TSAN_PYTEST ?= tests/integration/test_mock_grpc.py tests/integration/test_mock_control.py \
	tests/integration/test_mock_lifecycle.py tests/integration/test_mock_http.py \
	tests/integration/test_faults.py tests/integration/test_mock_cli.py
TSAN_OPTIONS_ALL = halt_on_error=0 second_deadlock_stack=1 history_size=4 \
	log_path=$(abspath $(BUILD_TSAN))/tsan/report suppressions=$(abspath tests/tsan/suppressions)
test-tsan:
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHC_TSAN=ON >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS)
	rm -rf $(BUILD_TSAN)/tsan && mkdir -p $(BUILD_TSAN)/tsan
	TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" ctest --test-dir $(BUILD_TSAN) --output-on-failure -j $(JOBS)
	TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" HC_BUILD=$(abspath $(BUILD_TSAN)) HC_SANITIZED=1 \
		$(PYTEST) -q $(TSAN_PYTEST)
	TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" HC_START_TIMEOUT=60 HC_STOP_TIMEOUT=60 \
		scripts/run-conformance $(BUILD_TSAN) "" "" $(VALGRIND_ARGS) --parallel 4
	TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" HC_START_TIMEOUT=60 HC_STOP_TIMEOUT=60 \
		HC_MOCK_ARGS="--engine wire" scripts/run-conformance $(BUILD_TSAN) "" "" $(VALGRIND_ARGS) --parallel 4 \
		--skip watch/first-message-immediate
	scripts/tsan-check $(BUILD_TSAN)/tsan

# One full conformance run per gRPC engine (the C core, the wire engine) with
# both the mock and the runner under valgrind
# memcheck: any memory error or definite leak in either fails it (exit 99).
# Memcheck is 20-50x slower, hence the wider waits and latency budget, and a
# whole-run budget of its own (the default, 9 x --timeout, is sized for runs
# at full speed). No suppressions: memcheck is clean on our code and the
# gRPC core.
VALGRIND ?= valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
VALGRIND_ARGS ?= --timeout 10s --latency-budget 5s --spawn-timeout 60s --max-time 900s
test-valgrind: all
	HC_WRAP="$(VALGRIND)" HC_START_TIMEOUT=60 HC_STOP_TIMEOUT=60 \
		scripts/run-conformance $(BUILD) "" "" $(VALGRIND_ARGS)
	HC_WRAP="$(VALGRIND)" HC_START_TIMEOUT=60 HC_STOP_TIMEOUT=60 HC_MOCK_ARGS="--engine wire" \
		scripts/run-conformance $(BUILD) "" "" $(VALGRIND_ARGS)

# The text report on stdout, and the same run as one HTML page (open it in a
# browser, or keep it as a CI artifact: it loads nothing from outside).
CONFORMANCE_HTML ?= $(BUILD)/conformance-report.html
conformance: deps
	$(MAKE) all
	scripts/run-conformance $(BUILD) "$(TARGET)" "$(CONTROL)" --format html --output $(CONFORMANCE_HTML)

# The suite against real health implementations (grpc-go, gRPC C++,
# grpc-node, ruby-grpc, FastAPI, nginx): builds or installs each host, runs
# the suite, fails on any verdict that differs from tests/interop/expected/,
# and rewrites the matrix in docs/interop.md. CI runs it after `make test`.
interop:
	scripts/install-deps --interop
	$(MAKE) all
	scripts/interop --build $(BUILD) --doc docs/interop.md

# libFuzzer under clang (docs/fuzzing.md); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

# The CI smoke run of every fuzz target: 3 s each, two at a time; about 1 min
# plus the build of build-fuzz/ (about 1 min on 2 cores).
FUZZ_SMOKE_SECONDS ?= 3
test-fuzz:
	scripts/fuzz $(FUZZ_SMOKE_SECONDS)

# Every benchmark figure against its peers in the same run (bench/README in
# docs/performance.md); not part of `make test`.
bench: all
	HC_BUILD=$(abspath $(BUILD)) bench/run-all --doc docs/performance.md $(BENCH_ARGS)

# The C sources against .clang-format (scripts/check-style; --fix rewrites).
check-style:
	scripts/check-style

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) build-fuzz
