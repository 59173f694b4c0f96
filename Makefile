# pressroom — build, test, demo, benchmarks.
# Every binary lands in build/bin/. Sources are discovered: common/*.c is the shared
# library; each folder under workers/ and tools/ is one binary; each
# tests/unit/test_*.c is one cmocka test binary.

CC      ?= gcc
PKGS    := rdkafka libcurl libcjson tesseract lept hiredis libpng cairo libmicrohttpd
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
OPT     ?= -O2 -g
BUILD   ?= build
ifeq ($(SANITIZE),1)
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
  BUILD := build-san
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Icommon $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(LDSAN)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB        := $(BUILD)/libpressroom.a
PROGRAMS   := $(notdir $(wildcard workers/* tools/*))
BINS       := $(PROGRAMS:%=$(BUILD)/bin/%)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test unit integration demo bench eval-verifier fuzz clean
all: deps $(BINS)

deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# One binary per folder under workers/ and tools/.
define program_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard workers/$(1)/*.c tools/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The README's test command: unit tests, then integration tests against real
# redis-server, the embedded Kafka broker, the reference renderer and Tesseract.
test: all $(UNIT_BINS) $(BENCH_BINS)
	@BUILD=$(BUILD) bash tests/run.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) bash tests/run.sh unit

integration: all $(BENCH_BINS)
	@BUILD=$(BUILD) bash tests/run.sh integration

# The main job: the example batch on the embedded stack.
demo: all
	@BUILD=$(BUILD) bash scripts/demo.sh

bench: all $(BENCH_BINS)
	@BUILD=$(BUILD) bash bench/run.sh

eval-verifier: all $(BENCH_BINS)
	@BUILD=$(BUILD) bash bench/eval-verifier.sh

# libFuzzer on the message parsers (clang, ASan + UBSan). FUZZ_SECONDS=60 by default.
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p build-fuzz/corpus
	clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -Icommon $(shell pkg-config --cflags libcjson) \
	  tests/fuzz/fuzz_messages.c common/message.c $(shell pkg-config --libs libcjson) -lm -o build-fuzz/fuzz_messages
	build-fuzz/fuzz_messages -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus tests/fuzz/corpus

clean:
	rm -rf build build-san build-fuzz out

-include $(COMMON_OBJ:.o=.d) $(wildcard $(BUILD)/obj/workers/*/*.d $(BUILD)/obj/tools/*/*.d $(BUILD)/obj/tests/unit/*.d $(BUILD)/obj/bench/*.d)
