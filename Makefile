# make            build the library (static and shared) and build/glassbox
# make test       run every test
# make demo       explain the bundled credit model for held-out applicants
# make sanitize   run the tests under AddressSanitizer + UBSan
# make bench      time glassbox against XGBoost and shap (see bench/bench.py)
# make fuzz       fuzz the CSV and model parsers (FUZZ_SECONDS per target, default 120)
# make install    install the headers, libraries, CLI and glassbox.pc under PREFIX (and DESTDIR)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all build test demo sanitize bench fuzz fuzz-merge fixtures clean bootstrap install

all: build

bootstrap:
	@./scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

# The report's and the officer page's tests open them in headless Chromium; the service's audit
# store is tested in a PostgreSQL server of its own.
test: build
	@./scripts/bootstrap.sh chromium chromium-driver python3 python3-venv python3-dev openjdk-17-jre-headless postgresql
	@cd build && ctest --output-on-failure -j $(JOBS)

install: build
	@cmake -S . -B build -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@DESTDIR=$(DESTDIR) cmake --install build

demo: build
	@./examples/demo.sh

sanitize: bootstrap
	@./scripts/bootstrap.sh chromium chromium-driver python3 python3-venv python3-dev openjdk-17-jre-headless postgresql
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DGBX_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	@cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j $(JOBS)

bench: build
	@./bench/run.sh $(BENCH_ARGS)

fuzz:
	@./scripts/fuzz.sh

fuzz-merge:
	@./scripts/fuzz.sh --merge

fixtures:
	@./tests/conformance/generate.sh

clean:
	rm -rf build build-sanitize build-fuzz out
