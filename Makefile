# Thin wrapper around CMake: `make run` and `make test` are the README's two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps deps-test build build-asan run install test unit e2e bench bench-changes fuzz format clean

all: build

# What building and serving need; the tests' tools come with deps-test.
deps:
	@bash scripts/deps build

deps-test:
	@bash scripts/deps test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCANON_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	./$(BUILD)/canon serve

# canon, its man pages, the systemd unit and an example config under
# $(DESTDIR)$(PREFIX) (contrib/install.cmake).
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

# Every test, twice: once on the optimised build, once under ASan+UBSan.
test: deps-test
	@$(MAKE) --no-print-directory build build-asan
	cd $(BUILD) && ctest --output-on-failure --timeout 900
	cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 900
	$(MAKE) --no-print-directory fuzz

bench: deps-test build
	bash bench/run

bench-changes: deps-test build
	bash bench/run --changes

FUZZ_SECONDS ?= 30

FUZZ_UPDATE_SECONDS ?= 20

FUZZ_ZONE_SECONDS ?= 10

FUZZ_CONFIG_SECONDS ?= 10

FUZZ_RESOLVE_SECONDS ?= 10

# Short libFuzzer runs of the query and UPDATE paths, the zone loader, the config parser and
# the resolver's handling of server replies (part of `make test`); longer: FUZZ_SECONDS=3600
# (and FUZZ_UPDATE_SECONDS, FUZZ_ZONE_SECONDS, FUZZ_CONFIG_SECONDS, FUZZ_RESOLVE_SECONDS).
fuzz: deps-test
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCANON_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_query fuzz_update fuzz_zone fuzz_config \
		fuzz_resolve
	@bash scripts/fuzz-run build-fuzz/fuzz/fuzz_query $(FUZZ_SECONDS) fuzz/corpus
	@bash scripts/fuzz-run build-fuzz/fuzz/fuzz_update $(FUZZ_UPDATE_SECONDS) fuzz/corpus-update
	@bash scripts/fuzz-run build-fuzz/fuzz/fuzz_zone $(FUZZ_ZONE_SECONDS) fuzz/corpus-zone
	@bash scripts/fuzz-run build-fuzz/fuzz/fuzz_config $(FUZZ_CONFIG_SECONDS) fuzz/corpus-config
	@bash scripts/fuzz-run build-fuzz/fuzz/fuzz_resolve $(FUZZ_RESOLVE_SECONDS) fuzz/corpus-resolve

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c fuzz/*.c bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
