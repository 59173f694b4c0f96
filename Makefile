# pressroom — build, test, demo, benchmarks.
#
# common/ is a set of layered static libraries, one per folder, each compiled with
# only its own packages' flags (docs/architecture.md says what each owns and may
# include). Every binary lands in build/bin/ and links only the libraries it names
# below, so its link line shows what it depends on.

CC      ?= gcc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
OPT     ?= -O2 -g
BUILD   ?= build
ifeq ($(SANITIZE),1)
  OPT   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
  BUILD := build-san
endif
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Icommon -MMD -MP
LDFLAGS += $(LDSAN)
pkg_cflags = $(if $(1),$(shell pkg-config --cflags $(1) 2>/dev/null))
pkg_libs   = $(if $(1),$(shell pkg-config --libs $(1) 2>/dev/null))

# ---- Libraries: folder, packages ----------------------------------------------
# base     clock, log, metrics, files, config, message codecs, prompt grammar
# blob     the blob store (file://, s3:// over libcurl) and its thread pool
# runtime  event loop, worker runtime, Kafka, offsets, admin HTTP
# budget   Redis budget counters (Lua scripts in budget/scripts/)
# model    model client and one adapter per provider
# verify   the verifier, OCR pool, image decode, text normalisation
# route    every decision about a job's fate
# render   the rendering workers' shared stage (admit, render, store, settle)
# draw     the reference renderer's drawing code (cairo); tests and benchmarks only
LIBS           := base blob runtime budget model verify route render draw
LIB_DIR_base    := common/base
LIB_DIR_blob    := common/blob
LIB_DIR_runtime := common/runtime
LIB_DIR_budget  := common/budget
LIB_DIR_model   := common/model
LIB_DIR_verify  := common/verify
LIB_DIR_route   := common/route
LIB_DIR_render  := common/render
PKGS_base       := libcjson
PKGS_blob       := libcurl
PKGS_runtime    := rdkafka libmicrohttpd
PKGS_budget     := hiredis
PKGS_model      := libcurl libcjson
PKGS_verify     := tesseract lept libpng
PKGS_route      :=
PKGS_render     :=
PKGS_draw       := cairo
# The libraries each one builds on (its headers may include theirs).
DEPS_blob       := base
DEPS_runtime    := base
DEPS_budget     := base
DEPS_model      := runtime base
DEPS_verify     := base
DEPS_route      := runtime base
DEPS_render     := route budget model blob runtime base
SRC_draw        := tools/pressroom-renderer/draw.c
$(foreach l,$(filter-out draw,$(LIBS)),$(eval SRC_$(l) := $(wildcard $(LIB_DIR_$(l))/*.c)))
$(foreach l,$(LIBS),$(eval OBJ_$(l) := $(SRC_$(l):%.c=$(BUILD)/obj/%.o)))
lib_file = $(BUILD)/lib/lib$(1).a

# ---- Programs: the libraries each links, in dependency order ------------------
USES_preview-worker     := render route budget model blob runtime base
USES_production-worker  := render route budget model blob runtime base
USES_verifier-worker    := route verify blob budget runtime base
USES_pressctl           := verify model blob budget runtime base
USES_pressroom-renderer := base
USES_pressroom-broker   := base
USES_pressroom-console  := blob budget runtime base
# Packages a program uses directly, beyond its libraries'.
PKGS_prog_pressroom-renderer := libmicrohttpd cairo libpng
PKGS_prog_pressroom-broker   := rdkafka
PKGS_prog_pressroom-console  := libcurl libmicrohttpd
# The renderer's draw.c is part of the renderer binary itself.
PROGRAMS   := $(notdir $(wildcard workers/* tools/*))
BINS       := $(PROGRAMS:%=$(BUILD)/bin/%)

# Tests and benchmarks link what they need: by default everything.
ALL_USES        := render route budget model verify blob runtime draw base
UNIT_SRC        := $(wildcard tests/unit/test_*.c)
UNIT_BINS       := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC       := $(wildcard bench/*.c)
BENCH_BINS      := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

uses_pkgs = $(sort $(foreach l,$(1),$(PKGS_$(l))))
link_libs = $(foreach l,$(1),$(call lib_file,$(l))) $(call pkg_libs,$(call uses_pkgs,$(1)) $(2)) -lpthread -lm

.PHONY: all deps libs test unit integration demo bench bench-peer tradeoff eval-verifier fuzz check-layers clean

# The verifier's second, independent reading (common/verify/ocr.c): Debian's Latin
# script model (tesseract-ocr-script-latn) with its word lists stripped, 476 KB for
# 89 MB: the LSTM network, its unicharset and recoder only (a dictionary-free reading
# that loads in milliseconds). Binaries find it at ../share/pressroom/tessdata from
# their own folder (or in $PRESSROOM_TESSDATA); the Dockerfile ships it.
LATIN_MODEL := $(BUILD)/share/pressroom/tessdata/Latin.traineddata
# The glyph-by-glyph reading (common/verify/ocr.c, OCR_MODEL_GLYPHS): eng's legacy
# shape classifier. Debian ships eng as a network only; the classifier comes from the
# npm registry's @tesseract.js-data/eng 1.0.0 (its 4.0.0/eng.traineddata.gz is the
# tessdata release with both engines), pinned by its sha512 and stripped to the
# classifier's parts (no network, no word lists: 1 MB, not 23).
GLYPH_MODEL := $(BUILD)/share/pressroom/tessdata/eng_legacy.traineddata
GLYPH_MODEL_URL := https://registry.npmjs.org/@tesseract.js-data/eng/-/eng-1.0.0.tgz
GLYPH_MODEL_SHA512 := 99b4ee9a6e8a40f507cb34cf41a17739b5d89f1d12aaa7d5da769ba855500700fa2a5ecf84648b4b33a57c54d6cb43f7063821692280d96f46075f4993e65c4e
all: $(BINS) $(LATIN_MODEL) $(GLYPH_MODEL)

$(LATIN_MODEL): /usr/share/tesseract-ocr/5/tessdata/Latin.traineddata | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@t=$$(mktemp -d) && combine_tessdata -u $< $$t/Latin. >$$t/log 2>&1 \
	  && rm -f $$t/Latin.*dawg && combine_tessdata $$t/Latin. >>$$t/log 2>&1 \
	  && mv $$t/Latin.traineddata $@ || { cat $$t/log; rm -rf $$t; exit 1; }; rm -rf $$t

$(GLYPH_MODEL): | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@t=$$(mktemp -d) && curl -fsSL --retry 3 -o $$t/eng.tgz $(GLYPH_MODEL_URL) \
	  && echo "$(GLYPH_MODEL_SHA512)  $$t/eng.tgz" | sha512sum -c --quiet - \
	  && tar -xzf $$t/eng.tgz -C $$t package/4.0.0/eng.traineddata.gz \
	  && gunzip -c $$t/package/4.0.0/eng.traineddata.gz >$$t/eng.traineddata \
	  && combine_tessdata -u $$t/eng.traineddata $$t/eng_legacy. >$$t/log 2>&1 \
	  && rm -f $$t/eng_legacy.*dawg $$t/eng_legacy.lstm* \
	  && combine_tessdata $$t/eng_legacy. >>$$t/log 2>&1 \
	  && mv $$t/eng_legacy.traineddata $@ \
	  || { echo "pressroom: could not build $@ from $(GLYPH_MODEL_URL)" >&2; cat $$t/log 2>/dev/null; rm -rf $$t; exit 1; }; rm -rf $$t

deps:
	@bash scripts/install-deps.sh

# The first build on a fresh machine installs the packages before compiling anything.
# The stamp is an included makefile, so once make has (re)made it, make restarts and
# the pkg-config lookups above are evaluated again with the packages in place (they are
# expanded when the Makefile is read: without the restart a fresh machine's first
# `make demo` would compile and link with empty flags).
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
include $(BUILD)/.deps-ok
endif
$(BUILD)/.deps-ok: scripts/install-deps.sh
	@bash scripts/install-deps.sh
	@mkdir -p $(dir $@) && echo '# scripts/install-deps.sh ran; see Makefile' > $@

# Library objects: each compiled with its own packages' flags only.
define lib_rule
$(BUILD)/obj/$(LIB_DIR_$(1))/%.o: $(LIB_DIR_$(1))/%.c | $(BUILD)/.deps-ok
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(call pkg_cflags,$(call uses_pkgs,$(1) $(DEPS_$(1)))) -c $$< -o $$@
$(call lib_file,$(1)): $(OBJ_$(1))
	@mkdir -p $$(dir $$@)
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(filter-out draw,$(LIBS)),$(eval $(call lib_rule,$(l))))

# The budget's Lua scripts (common/budget/scripts/, prelude first) become one generated
# header of C strings, each the prelude followed by its script; only budget.c sees it.
BUDGET_LUA     := common/budget/scripts/prelude.lua \
                  $(filter-out %/prelude.lua,$(sort $(wildcard common/budget/scripts/*.lua)))
BUDGET_SCRIPTS := $(BUILD)/gen/budget/budget_scripts.h
$(BUDGET_SCRIPTS): $(BUDGET_LUA) common/budget/scripts/embed.sh
	@mkdir -p $(dir $@)
	sh common/budget/scripts/embed.sh $(BUDGET_LUA) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/common/budget/budget.o: CFLAGS += -I$(BUILD)/gen
$(BUILD)/obj/common/budget/budget.o: $(BUDGET_SCRIPTS)
$(BUILD)/obj/tools/pressroom-renderer/draw.o: tools/pressroom-renderer/draw.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,cairo) -c $< -o $@
$(call lib_file,draw): $(OBJ_draw)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

libs: $(foreach l,$(LIBS),$(call lib_file,$(l)))

# Programs: one per folder under workers/ and tools/.
define program_rule
$(BUILD)/obj/$(2)/%.o: $(2)/%.c | $(BUILD)/.deps-ok
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(call pkg_cflags,$(call uses_pkgs,$(USES_$(1))) $(PKGS_prog_$(1))) -c $$< -o $$@
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(2)/*.c)) $(foreach l,$(USES_$(1)),$(call lib_file,$(l)))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(call link_libs,$(USES_$(1)),$(PKGS_prog_$(1)))
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p),$(wildcard workers/$(p) tools/$(p)))))

$(BUILD)/obj/tests/%.o $(BUILD)/obj/bench/%.o: CFLAGS += -Itools $(call pkg_cflags,$(call uses_pkgs,$(ALL_USES)))
$(BUILD)/obj/tests/%.o: tests/%.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/bench/%.o: bench/%.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(foreach l,$(ALL_USES),$(call lib_file,$(l)))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(call link_libs,$(ALL_USES)) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(foreach l,$(ALL_USES),$(call lib_file,$(l)))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(call link_libs,$(ALL_USES))

# Which folder may include which: the layering docs/architecture.md describes.
check-layers:
	@bash tests/check_layers.sh

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
	@bash scripts/install-deps.sh bench
	@BUILD=$(BUILD) bash bench/run.sh
	@echo; echo '== 7. instructions per job and per admission call (callgrind: stable under load) =='
	@BUILD=$(BUILD) bash bench/instr_bench.sh
	@BUILD=$(BUILD) bash bench/admission_script_cost.sh

# The seed's trade-off table: single model vs split routing, fixed load and a burst.
tradeoff: all $(BENCH_BINS)
	@BUILD=$(BUILD) bash bench/tradeoff.sh

# pressroom's workers beside a Python peer of the same stages (bench/peer/README.md).
bench-peer: all $(BENCH_BINS)
	@bash scripts/install-deps.sh bench
	@BUILD=$(BUILD) bash bench/peer/smoke.sh
	@BUILD=$(BUILD) bash bench/peer/run.sh

eval-verifier: all $(BENCH_BINS)
	@BUILD=$(BUILD) bash bench/eval-verifier.sh

# libFuzzer on the message parsers (clang, ASan + UBSan). FUZZ_SECONDS=60 by default.
FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p build-fuzz/corpus
	clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -Icommon $(shell pkg-config --cflags libcjson) \
	  tests/fuzz/fuzz_messages.c $(SRC_base) $(shell pkg-config --libs libcjson) -lm -o build-fuzz/fuzz_messages
	build-fuzz/fuzz_messages -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus tests/fuzz/corpus

clean:
	rm -rf build build-san build-fuzz out

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
