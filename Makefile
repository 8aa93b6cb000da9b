# make            build the library (static and shared) and build/glassbox
# make test       run every test
# make demo       explain the bundled credit model for held-out applicants
# make sanitize   run the tests under AddressSanitizer + UBSan
# make bench      benchmarks against XGBoost and shap (installs them in a virtualenv)
# make fuzz       fuzz the parsers for a few minutes each (needs clang)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build test demo sanitize bench fuzz fixtures clean bootstrap

all: build

bootstrap:
	@./scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

test: build
	@cd build && ctest --output-on-failure -j $(JOBS)

demo: build
	@./examples/demo.sh

sanitize: bootstrap
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DGBX_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	@cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@./bench/run.sh

fuzz: bootstrap
	@./tests/fuzz/run.sh

fixtures:
	@./tests/conformance/generate.sh

clean:
	rm -rf build build-sanitize build-fuzz out
