# Thin wrapper around CMake: `make run` and `make test` are the README's two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2

.PHONY: all deps build build-asan run test unit e2e bench fuzz format clean

all: build

deps:
	@bash scripts/deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCANON_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	./$(BUILD)/canon serve

# Every test, twice: once on the optimised build, once under ASan+UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure --timeout 900
	cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 900

bench: build
	bash bench/run

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCANON_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_query

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c fuzz/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
