# gnet -- one build for the library, examples, tests and tools.
#
#   make            libgnet.a, libgnet.so, examples and tests (build/release)
#   make run        install missing packages, build, start gnetd with the
#                   echo (PORT, 9000), HTTP (HTTP_PORT, 8080) and RESP (RESP_PORT, 6380) modules
#   make run-redis  the same modules inside redis-server (gnet_redis.so):
#                   gnet's RESP on GNET_RESP_PORT (7379), HTTP on 7380
#   make test       run every test suite, then check-layers (also what .ci/run runs)
#   make test-asan  the whole suite under AddressSanitizer + UBSan
#   make test-tsan  every suite under ThreadSanitizer
#   make fuzz       build the codec fuzzers (clang, libFuzzer) and run each
#                   for FUZZ_SECONDS (default 20); make fuzz-build only builds
#   make check-layers  includes and calls go only down the layers (the rank
#                   table at the top of scripts/check-layers.sh)
#   make install PREFIX=/usr/local DESTDIR=  (headers, libraries, gnet.pc,
#                   gnetd in bin/, the modules in lib/gnet/modules/,
#                   gnet_redis.so in lib/gnet/)
#   make bench      gnet against raw epoll, libuv, libevent, nginx, redis-server
#                   (bench/README.md; QUICK=1 for a smoke run); not part of make test
#   make bench-resp the RESP suite alone: gnetd + resp against redis-server
#
# VARIANT selects the flavour; each builds into its own folder so they never
# mix objects: release (default), asan, tsan.

VARIANT ?= release
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PORT    ?= 9000
HTTP_PORT ?= 8080
RESP_PORT ?= 6380

BUILD := build/$(VARIANT)

# The targets that build before they run (test, test-asan, run, fuzz...)
# build on every core. A -j given to make is left to stand; make 4.3 shows
# it to recipes only, so JOBS_FLAG is expanded in them.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
JOBS_FLAG = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(JOBS))

# The version has one home, include/gnet.h; the shared library's name and
# gnet.pc are derived from it.
version_part = $(shell sed -n 's/^\#define GNET_VERSION_$(1) \([0-9]*\)$$/\1/p' include/gnet.h)
VERSION := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME  := libgnet.so.$(call version_part,MAJOR)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
# _GNU_SOURCE: accept4, pthread_setaffinity_np, and ck headers need
# struct timespec from POSIX.
# -fvisibility=hidden: libgnet.so exports only what gnet.h marks GNET_API.
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -fPIC -fvisibility=hidden -pthread -Iinclude -I.
DEPS_LIBS := $(shell pkg-config --libs ck liburing 2>/dev/null || echo -lck -luring)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

ifeq ($(VARIANT),release)
  OPT := -O2
  SAN :=
  # jemalloc is built without a prefix on Debian: linking it replaces
  # malloc/free for the whole process.
  ALLOC_LIBS := -ljemalloc
else ifeq ($(VARIANT),asan)
  OPT := -O1 -fno-omit-frame-pointer
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
  ALLOC_LIBS :=
else ifeq ($(VARIANT),tsan)
  OPT := -O1 -fno-omit-frame-pointer
  SAN := -fsanitize=thread
  ALLOC_LIBS :=
else
  $(error unknown VARIANT $(VARIANT): use release, asan or tsan)
endif

CFLAGS  ?=
CFLAGS  += $(BASE_CFLAGS) $(OPT) $(SAN)
LDFLAGS += $(SAN)
LIBS    := $(DEPS_LIBS) $(ALLOC_LIBS) -pthread -ldl

LIB_SRCS := $(wildcard base/*.c mailbox/*.c kernel/*.c net/*.c codecs/*.c actors/*.c host/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

TEST_SUPPORT_SRCS := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/check_*.c)
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

# Modules: each folder modules/NAME/ is one module, built two ways from
# the same sources -- NAME.so for gnet_host_load, and an archive compiled
# with GNETMODULE_STATIC_NAME=NAME for programs that link it in.
MODULE_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard modules/*/*.c))))
MODULE_NAMES := $(sort $(MODULE_NAMES))
MODULE_SOS := $(MODULE_NAMES:%=$(BUILD)/modules/%.so)
MODULE_ARS := $(MODULE_NAMES:%=$(BUILD)/modules/libgnetmod_%.a)
module_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard modules/$(1)/*.c))
module_static_objs = $(patsubst %.c,$(BUILD)/obj-static/%.o,$(wildcard modules/$(1)/*.c))

# Tools: each folder tools/NAME/ is one program linked with libgnet.a.
TOOL_NAMES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))))
TOOLS := $(TOOL_NAMES:%=$(BUILD)/tools/%)
tool_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c))
# A tool's objects are kept (not deleted as intermediates of the link), so
# that check-layers sees what they use.
TOOL_OBJS := $(foreach t,$(TOOL_NAMES),$(call tool_objs,$(t)))
.SECONDARY: $(TOOL_OBJS)
# Libraries a tool needs beyond libgnet's: TOOL_LIBS_<name>.
TOOL_LIBS_gnet-top := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo) -lm

# gnet_redis.so: gnet inside redis-server (redis/). The library's own
# objects are linked in, so the server needs nothing of gnet installed;
# no allocator is linked, so gnet allocates from the server's (Redis's
# jemalloc, the same one). The RESP listener is a gnet module linked in
# (GNETMODULE_STATIC_NAME=redisport).
REDIS_SRCS := $(filter-out redis/resp_port.c,$(wildcard redis/*.c))
REDIS_OBJS := $(REDIS_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj-static/redis/resp_port.o
REDIS_SO := $(BUILD)/redis/gnet_redis.so
.SECONDARY: $(REDIS_OBJS)

# Modules the loader's tests need: broken on purpose, one file each.
TEST_MODULE_SRCS := $(wildcard tests/modules/*.c)
TEST_MODULES := $(TEST_MODULE_SRCS:tests/modules/%.c=$(BUILD)/tests/modules/%.so)

# Objects shared by every test binary are kept between builds.
.SECONDARY: $(TEST_SUPPORT_OBJS)

.PHONY: all lib examples modules tools redis tests test check-layers test-asan test-tsan fuzz fuzz-build run run-redis deps bench bench-resp install clean soak test-faults

all: lib examples modules tools redis tests

lib: $(BUILD)/libgnet.a $(BUILD)/libgnet.so
examples: $(EXAMPLES)
modules: $(MODULE_SOS) $(MODULE_ARS)
tools: $(TOOLS)
redis: $(REDIS_SO)
tests: $(TESTS) $(TEST_MODULES) $(MODULE_SOS) $(REDIS_SO) $(BUILD)/tests/probe-backend

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libgnet.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libgnet.so: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libgnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ $(BUILD)/libgnet.a $(LIBS)

$(BUILD)/obj-static/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DGNETMODULE_STATIC_NAME=$(word 2,$(subst /, ,$<)) -MMD -MP -c $< -o $@

# -z defs: a module reaches the host only through its API table, so a
# symbol left undefined (a misspelt or missing function of its own) is a
# link error here, not a module that fails to load.
.SECONDEXPANSION:
$(BUILD)/modules/%.so: $$(call module_objs,%)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-z,defs -o $@ $^

$(BUILD)/modules/libgnetmod_%.a: $$(call module_static_objs,%)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tools/%: $$(call tool_objs,%) $(BUILD)/libgnet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(call tool_objs,$*) $(BUILD)/libgnet.a $(TOOL_LIBS_$*) $(LIBS)

$(BUILD)/obj-static/redis/resp_port.o: redis/resp_port.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DGNETMODULE_STATIC_NAME=redisport -MMD -MP -c $< -o $@

$(REDIS_SO): $(REDIS_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,-z,defs -o $@ $^ $(DEPS_LIBS) -pthread -ldl

$(BUILD)/tests/modules/%.so: tests/modules/%.c include/gnetmodule.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared $(LDFLAGS) $< -o $@

# Tests may include internal headers (they test the layers, not only the
# API); they may link the shipped modules in (the static archives).
$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT_OBJS) $(BUILD)/libgnet.a $(MODULE_ARS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< -o $@ $(TEST_SUPPORT_OBJS) $(MODULE_ARS) $(BUILD)/libgnet.a $(CHECK_LIBS) $(LIBS)

# Asked by scripts/run-tests.sh whether the io_uring pass can run here.
$(BUILD)/tests/probe-backend: tests/probe/backend.c $(BUILD)/libgnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ $(BUILD)/libgnet.a $(LIBS)

# The connection suites under injected faults (base/fault.h), ASan build.
test-faults: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) all VARIANT=asan CC=$(CC)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  bash scripts/test-faults.sh build/asan/tests

# The soak (tests/soak/soak.h): not a Check suite, not part of make test.
SOAK_SRCS := $(wildcard tests/soak/*.c) tests/support/standalone.c
SOAK_HDRS := $(wildcard tests/soak/*.h) tests/support/standalone.h
SOAK_SECONDS ?= 300
$(BUILD)/tests/soak/soak: $(SOAK_SRCS) $(SOAK_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $(SOAK_SRCS) -o $@ -pthread

soak: examples $(BUILD)/tests/soak/soak
	@$(BUILD)/tests/soak/soak --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

# The gnetd config suite compiles the daemon's parser in (it is pure):
# rebuild it when those files change.
$(BUILD)/tests/check_gnetd_config: $(wildcard tools/gnetd/*.c tools/gnetd/*.h)

deps:
	@bash scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) all VARIANT=release
	@bash scripts/run-tests.sh build/release/tests
	@$(MAKE) --no-print-directory $(JOBS_FLAG) check-layers VARIANT=release

# The self-test first: a check that could no longer fail would pass anything.
check-layers: lib
	@bash scripts/check-layers.sh --self-test
	@bash scripts/check-layers.sh --objs $(BUILD)/obj

test-asan: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) all VARIANT=asan CC=$(CC)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash scripts/run-tests.sh build/asan/tests

test-tsan: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) examples modules tools tests VARIANT=tsan CC=$(CC)
	@TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	  bash scripts/run-tests.sh build/tsan/tests

# libFuzzer targets for the frame decoders (fuzz/README.md). They need
# only the codecs and the byte buffer, not the rest of the library. Each
# run grows build/fuzz/corpus-<target> from the seeds in fuzz/corpus/, and
# a crash (written to build/fuzz/) makes libFuzzer exit non-zero.
FUZZ_SECONDS ?= 20
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -I. -g -O1 \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_SRCS := $(wildcard codecs/*.c base/*.c)
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
# What a target needs beyond those (its .c files are compiled in).
FUZZ_EXTRA_fuzz_http := modules/http/parse.c modules/http/parse.h

fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/%)

build/fuzz/%: fuzz/%.c fuzz/fuzz_common.h $(FUZZ_LIB_SRCS) $(wildcard codecs/*.h base/*.h) include/gnet.h $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_SRCS) $(filter %.c,$(FUZZ_EXTRA_$*)) -o $@

FUZZ_RUNS := $(FUZZ_TARGETS:%=fuzz-run-%)
.PHONY: $(FUZZ_RUNS)

# The targets run side by side, a core each; -Otarget keeps each one's
# lines together.
fuzz: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) -Otarget $(FUZZ_RUNS)

$(FUZZ_RUNS): fuzz-run-%: build/fuzz/%
	@mkdir -p build/fuzz/corpus-$*
	@cp fuzz/corpus/$*/* build/fuzz/corpus-$*/
	@echo "fuzz: $* for $(FUZZ_SECONDS)s (log: build/fuzz/$*.log)"
	@if ! build/fuzz/$* -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/$*- \
	    build/fuzz/corpus-$* >build/fuzz/$*.log 2>&1; then \
	  grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' build/fuzz/$*.log; \
	  echo "fuzz: $* FAILED" >&2; exit 1; \
	fi
	@grep -E 'DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' build/fuzz/$*.log

run: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) lib modules tools VARIANT=release
	@echo "gnetd: echo module on 127.0.0.1:$(PORT), HTTP module on 127.0.0.1:$(HTTP_PORT), RESP (Redis protocol) module on 127.0.0.1:$(RESP_PORT) -- try:"
	@echo "  echo hello | socat - TCP:127.0.0.1:$(PORT)"
	@echo "  curl -i http://127.0.0.1:$(HTTP_PORT)/plaintext"
	@echo "  curl -i http://127.0.0.1:$(HTTP_PORT)/json"
	@echo "  wrk -c 64 -d 5s http://127.0.0.1:$(HTTP_PORT)/plaintext"
	@echo "  redis-cli -p $(RESP_PORT)        (then: set k v, get k, incr n, lpush l a b, info)"
	@echo "  redis-benchmark -p $(RESP_PORT) -t set,get,incr -P 16 -q"
	@echo "watch it (loops, actors, mailboxes, buffered bytes; q quits):"
	@echo "  ./build/release/tools/gnet-top gnetd        (or --once --json for a snapshot)"
	@echo "(Ctrl-C to stop: connections drain, then gnetd exits)"
	./build/release/tools/gnetd --loops 2 \
	  --loadmodule build/release/modules/echo.so listen=tcp://127.0.0.1:$(PORT) \
	  --loadmodule build/release/modules/http.so listen=tcp://127.0.0.1:$(HTTP_PORT) \
	  --loadmodule build/release/modules/resp.so listen=tcp://127.0.0.1:$(RESP_PORT)

# redis-server with gnet inside: its own port REDIS_PORT, gnet's RESP port
# GNET_RESP_PORT and the HTTP module (GET /keys/NAME) on GNET_HTTP_PORT.
REDIS_PORT ?= 6379
GNET_RESP_PORT ?= 7379
GNET_HTTP_PORT ?= 7380
run-redis: deps
	@$(MAKE) --no-print-directory $(JOBS_FLAG) lib modules tools redis VARIANT=release
	@echo "redis-server on 127.0.0.1:$(REDIS_PORT) with gnet inside: RESP on 127.0.0.1:$(GNET_RESP_PORT), HTTP on 127.0.0.1:$(GNET_HTTP_PORT) -- try:"
	@echo "  redis-cli -p $(GNET_RESP_PORT) set greeting hello"
	@echo "  curl http://127.0.0.1:$(GNET_HTTP_PORT)/keys/greeting"
	@echo "  redis-benchmark -p $(GNET_RESP_PORT) -t set,get -P 16 -q     (and -p $(REDIS_PORT) for the native port)"
	@echo "  ./build/release/tools/gnet-top gnet-redis"
	redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --save "" --appendonly no \
	  --loadmodule $(CURDIR)/build/release/redis/gnet_redis.so \
	  listen tcp://127.0.0.1:$(GNET_RESP_PORT) \
	  loadmodule $(CURDIR)/build/release/modules/http.so \
	  listen=tcp://127.0.0.1:$(GNET_HTTP_PORT) keys=yes

# The benchmark matrix against the peer servers (bench/README.md). Its
# packages are installed by scripts/deps-bench.sh; DURATION, WARMUP,
# REPEATS and QUICK=1 pass through the environment to bench/run.sh.
bench: deps
	@bash scripts/deps-bench.sh
	@bash bench/run.sh

# The RESP suite alone (redis-server against gnetd + the resp module;
# bench/README.md): redis-server and redis-benchmark come with deps.
bench-resp: deps
	@SUITES=resp bash bench/run.sh

install: lib modules tools redis
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/gnet/modules
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(MODULE_SOS) $(DESTDIR)$(PREFIX)/lib/gnet/modules/
	install -m 755 $(REDIS_SO) $(DESTDIR)$(PREFIX)/lib/gnet/
	install -m 644 include/gnet.h include/gnethost.h include/gnetmodule.h include/gnetstats.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libgnet.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libgnet.so $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libgnet.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' gnet.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gnet.pc

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
