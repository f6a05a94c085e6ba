# polybin.mk: build one program at several x86-64 levels and pack the builds into a fatbin.
#
# Name the program and its sources, then include this file:
#
#     POLYBIN_PROGRAM := fatbin-demo
#     POLYBIN_SOURCES := main.c kernel.c level.c
#     POLYBIN_CFLAGS  := -O3
#     include path/to/Integrations/polybin.mk
#
# `make` (the goal `polybin-all`) then writes $(POLYBIN_BUILDDIR)/fatbin-demo: one static
# executable that, at launch, runs the best of its builds that the CPU supports.
#
# Set the variables before the `include`: the rules are made from their values at that point.
# The first rule in this file is `polybin-all`, so it is the default goal unless a rule of
# your own comes before the `include`.
#
# Make splits file names at blanks. A checkout or prefix whose path has a space works when this
# file is included through a relative path (polybin is run quoted); POLYBIN_BUILDDIR and
# POLYBIN_PROGRAM, which are make targets, and an include through `\ ` are refused in one line.
#
# The rules
#
#   - Every level in POLYBIN_LEVELS is a separate build in its own directory,
#     $(POLYBIN_BUILDDIR)/LEVEL/, holding its objects and its executable
#     $(POLYBIN_BUILDDIR)/LEVEL/PROGRAM. Each compile and link gets -march=LEVEL after your
#     flags, so a -march of your own is overridden.
#   - .c sources compile with POLYBIN_CC; .cc, .cpp and .cxx sources with POLYBIN_CXX, and a
#     program with any of those links with POLYBIN_CXX. The object of src/x.c is
#     LEVEL/src/x.o (`../` in a source path becomes `__/`, so objects stay in the level
#     directory); two sources differing only in extension would share an object: rename one.
#   - Every object gets a -MMD -MP dependency file, so editing a header rebuilds exactly the
#     objects that include it, at every level. Each level also keeps a record of its compile
#     and link commands and of the source list (LEVEL/.polybin-flags), rewritten only when
#     they change: changing a flag, the compiler or the sources rebuilds that level.
#   - Packing is three rules, one per `polybin` step:
#         LEVEL/PROGRAM ...  --polybin pack-->    PROGRAM.bundle
#         PROGRAM.bundle     --polybin object-->  PROGRAM.payload.o
#         PROGRAM.payload.o  --polybin link-->    PROGRAM (the fatbin)
#     A rebuilt polybin repacks; a rebuilt runner archive relinks.
#   - `make -j` is safe: the levels and their objects build in parallel, each in its own
#     directory, and every step writes its output whole or not at all.
#
# Or bring your own build command instead of sources
#
#   Set POLYBIN_BUILD_COMMAND to one shell command line that builds the program for one
#   level. Define it with `=`, not `:=`, so that it sees the per-level variables, which are
#   both make variables and environment variables of the command:
#       LEVEL        the level being built, e.g. x86-64-v3
#       MARCH_FLAGS  -march=$(LEVEL)
#       OUT          the file to write the executable to (an absolute path)
#   For example:
#       POLYBIN_PROGRAM       := app
#       POLYBIN_BUILD_COMMAND  = cmake -S . -B cmake-$(LEVEL) -DCMAKE_C_FLAGS='-O2 $(MARCH_FLAGS)' \
#                                && cmake --build cmake-$(LEVEL) && cp cmake-$(LEVEL)/app $(OUT)
#   Under `make -j` the levels' commands run at the same time, so each must keep its
#   intermediate files apart (cmake-$(LEVEL) above). OUT is a temporary name beside
#   $(POLYBIN_BUILDDIR)/LEVEL/PROGRAM; the build is moved into place when the command succeeds.
#   Without POLYBIN_BUILD_DEPS the command runs on every `make`, leaving staleness to your
#   build tool, and a level whose bytes did not change is not repacked (so `make -q` always
#   reports out of date). With POLYBIN_BUILD_DEPS (the files the build reads), it runs only
#   when one of them is newer than that level's executable.
#
# Variables (defaults in parentheses)
#
#   POLYBIN_PROGRAM        the fatbin's file name (required for a fatbin; unset, only the
#                          embedded-files rules at the end of this file are defined)
#   POLYBIN_SOURCES        C/C++ sources, or else
#   POLYBIN_BUILD_COMMAND  a build command run once per level, with
#   POLYBIN_BUILD_DEPS     the files that command reads (none: run it every time)
#   POLYBIN                the polybin tool (installed as PREFIX/share/polybin/polybin.mk:
#                          PREFIX/bin/polybin; else polybin on PATH, else
#                          .build/release/polybin of the checkout this file belongs to,
#                          which tools/bootstrap builds)
#   POLYBIN_ARCH           x86-64 (default) or aarch64: aarch64 cross-builds the Arm levels
#                          with aarch64-linux-gnu-gcc and links the aarch64 runner
#   POLYBIN_RUNNER         the runner archive (the one polybin finds: libPolybinRunner.a
#                          beside it, or PREFIX/lib/polybin/ for an installed polybin;
#                          libPolybinRunner-aarch64.a for aarch64)
#   POLYBIN_LEVELS         levels to build (all of POLYBIN_ARCH's: what
#                          `polybin levels --arch POLYBIN_ARCH` lists)
#   POLYBIN_BUILDDIR       where everything is written (build)
#   POLYBIN_CC             C compiler ($(CC); aarch64-linux-gnu-gcc for aarch64)
#   POLYBIN_CXX            C++ compiler ($(CXX); aarch64-linux-gnu-g++ for aarch64)
#   POLYBIN_CPPFLAGS, POLYBIN_CFLAGS, POLYBIN_CXXFLAGS, POLYBIN_LDFLAGS, POLYBIN_LDLIBS
#                          as CPPFLAGS, CFLAGS, CXXFLAGS, LDFLAGS and LDLIBS, for every level
#   POLYBIN_ZSTD_LEVEL     zstd level of the packed builds (19)
#   POLYBIN_EXEC           the fatbin's default exec strategy order, e.g. memfd,tmpfile
#                          (polybin's default); POLYBIN_EXEC at run time still overrides it,
#                          and make reads it from the environment like any variable
#
# Goals
#
#   polybin-all            the fatbin
#   polybin-clean          removes the level directories, the fatbin and its intermediates
#                          (not the rest of POLYBIN_BUILDDIR)

# Before anything else: later includes would change the last word of MAKEFILE_LIST.
polybin_mk_file := $(lastword $(MAKEFILE_LIST))
# Make splits names at blanks: $(call polybin_blank,TEXT) is non-empty when TEXT holds one.
polybin_blank = $(word 2,$(1))
# This file's absolute path, one string even when a directory above has a blank (from a
# relative include); an absolute include through `\ ` leaves MAKEFILE_LIST a fragment.
polybin_mk_path := $(if $(wildcard $(polybin_mk_file)),$(abspath $(polybin_mk_file)))
# $(call polybin_absolute,PATH): abspath, for a PATH with a blank too.
polybin_absolute = $(if $(call polybin_blank,$(1)),$(shell realpath -ms -- '$(1)'),$(abspath $(1)))
polybin_mk_dir := $(if $(polybin_mk_path),$(call polybin_absolute,$(polybin_mk_path)/..))
# tools/install puts this file in PREFIX/share/polybin and polybin in PREFIX/bin.
polybin_installed := $(if $(filter %/share/polybin,$(lastword $(polybin_mk_dir))),$(shell test -x '$(polybin_mk_dir)/../../bin/polybin' && echo '$(call polybin_absolute,$(polybin_mk_dir)/../../bin/polybin)'))

ifeq ($(origin POLYBIN),undefined)
POLYBIN := $(or $(polybin_installed),$(shell command -v polybin 2>/dev/null),$(if $(polybin_mk_dir),$(call polybin_absolute,$(polybin_mk_dir)/..)/.build/release/polybin))
endif
ifeq ($(strip $(POLYBIN)),)
$(error polybin.mk: included through a path with a space ($(MAKEFILE_LIST)), which make splits into words: include it through a path without spaces (a symbolic link will do), or set POLYBIN)
endif
# The polybin tool as a prerequisite: make cannot name a file whose path has a blank, so
# such a polybin is run (quoted) but not depended on.
polybin_tool_file = $(if $(call polybin_blank,$(POLYBIN)),,$(wildcard $(POLYBIN)))
# $(call polybin_quoted,PATH): PATH for the shell, quoted when it is one file with a blank in
# its name (a POLYBIN of a command and its arguments stays words).
polybin_quoted = $(if $(call polybin_blank,$(1)),$(if $(shell test -e '$(1)' && echo y),'$(1)',$(1)),$(1))
POLYBIN_ARCH       ?= x86-64
# The architecture's levels, from polybin's feature model (`polybin levels`), asked once and
# only when a fatbin is built: the embedded-files rules need none.
polybin_known_levels = $(eval polybin_known_levels := $$(shell '$(POLYBIN)' levels --arch $(POLYBIN_ARCH) 2>/dev/null))$(polybin_known_levels)
ifeq ($(POLYBIN_ARCH),aarch64)
polybin_runner_name  := libPolybinRunner-aarch64.a
POLYBIN_CC         ?= aarch64-linux-gnu-gcc
POLYBIN_CXX        ?= aarch64-linux-gnu-g++
else ifeq ($(POLYBIN_ARCH),x86-64)
polybin_runner_name  := libPolybinRunner.a
POLYBIN_CC         ?= $(CC)
POLYBIN_CXX        ?= $(CXX)
else
$(error polybin.mk: POLYBIN_ARCH=$(POLYBIN_ARCH): use x86-64 or aarch64)
endif
POLYBIN_RUNNER     ?=
POLYBIN_LEVELS     ?= $(polybin_known_levels)
POLYBIN_BUILDDIR   ?= build
POLYBIN_CPPFLAGS   ?=
POLYBIN_CFLAGS     ?=
POLYBIN_CXXFLAGS   ?=
POLYBIN_LDFLAGS    ?=
POLYBIN_LDLIBS     ?=
POLYBIN_ZSTD_LEVEL ?= 19
POLYBIN_EXEC       ?=
POLYBIN_BUILD_DEPS ?=

polybin_require_tool = @command -v '$(POLYBIN)' >/dev/null || { echo "polybin.mk: $(POLYBIN): not found$(if $(call polybin_blank,$(POLYBIN)), (a path with a space));$(if $(call polybin_blank,$(POLYBIN)),, run tools/bootstrap, or) set POLYBIN to the polybin binary" >&2; exit 1; }
# Outputs are make targets, which cannot hold a blank: said in one line, before any work.
polybin_no_blank = $(if $(call polybin_blank,$(2)),$(error polybin.mk: $(1) "$(2)" has a space, which make cannot hold in a file name: choose one without))

# Without POLYBIN_PROGRAM, only the embedded-files rules (the last section) are defined.
ifneq ($(strip $(POLYBIN_PROGRAM)),)
ifeq ($(strip $(POLYBIN_SOURCES))$(strip $(value POLYBIN_BUILD_COMMAND)),)
$(error polybin.mk: set POLYBIN_SOURCES or POLYBIN_BUILD_COMMAND before including polybin.mk)
endif
ifneq ($(strip $(POLYBIN_SOURCES)),)
ifneq ($(strip $(value POLYBIN_BUILD_COMMAND)),)
$(error polybin.mk: set POLYBIN_SOURCES or POLYBIN_BUILD_COMMAND, not both)
endif
endif
ifeq ($(strip $(POLYBIN_BUILDDIR)),)
$(error polybin.mk: POLYBIN_BUILDDIR is empty; name a directory, e.g. build)
endif
$(call polybin_no_blank,POLYBIN_BUILDDIR,$(strip $(POLYBIN_BUILDDIR)))
$(call polybin_no_blank,POLYBIN_PROGRAM,$(strip $(POLYBIN_PROGRAM)))
ifeq ($(strip $(polybin_known_levels)),)
$(error polybin.mk: '$(POLYBIN) levels --arch $(POLYBIN_ARCH)' listed no levels: run tools/bootstrap, or set POLYBIN to the polybin binary)
endif
ifneq ($(filter-out $(polybin_known_levels),$(POLYBIN_LEVELS)),)
$(error polybin.mk: POLYBIN_LEVELS: unknown $(POLYBIN_ARCH) level $(firstword $(filter-out $(polybin_known_levels),$(POLYBIN_LEVELS))) (use $(polybin_known_levels)))
endif
ifneq ($(filter-out %.c %.cc %.cpp %.cxx,$(POLYBIN_SOURCES)),)
$(error polybin.mk: POLYBIN_SOURCES: $(firstword $(filter-out %.c %.cc %.cpp %.cxx,$(POLYBIN_SOURCES))) is not a .c, .cc, .cpp or .cxx file)
endif

polybin_fatbin  := $(POLYBIN_BUILDDIR)/$(POLYBIN_PROGRAM)
polybin_bundle  := $(polybin_fatbin).bundle
polybin_payload := $(polybin_fatbin).payload.o
polybin_record_of_pack := $(polybin_fatbin).pack-flags
polybin_runner_archive := $(if $(call polybin_blank,$(POLYBIN)$(POLYBIN_RUNNER)),,$(or $(POLYBIN_RUNNER),$(firstword $(wildcard $(dir $(POLYBIN))$(polybin_runner_name) $(dir $(POLYBIN))../lib/polybin/$(polybin_runner_name))),$(dir $(POLYBIN))$(polybin_runner_name)))

polybin-all: $(polybin_fatbin)
.PHONY: polybin-all polybin-clean polybin-force
polybin-force:

# $(call polybin_exe,LEVEL) and friends name the files of one level's build.
polybin_exe = $(POLYBIN_BUILDDIR)/$(1)/$(POLYBIN_PROGRAM)
polybin_record_of = $(POLYBIN_BUILDDIR)/$(1)/.polybin-flags
polybin_object = $(POLYBIN_BUILDDIR)/$(1)/$(subst ../,__/,$(patsubst /%,%,$(basename $(2)))).o
polybin_objects = $(foreach source,$(POLYBIN_SOURCES),$(call polybin_object,$(1),$(source)))

polybin_cxx_sources := $(filter %.cc %.cpp %.cxx,$(POLYBIN_SOURCES))
polybin_c_command   = $(POLYBIN_CC) $(POLYBIN_CPPFLAGS) $(POLYBIN_CFLAGS) -march=$(1)
polybin_cxx_command = $(POLYBIN_CXX) $(POLYBIN_CPPFLAGS) $(POLYBIN_CXXFLAGS) -march=$(1)
polybin_compile = $(if $(filter %.c,$(2)),$(call polybin_c_command,$(1)),$(call polybin_cxx_command,$(1)))
polybin_link = $(if $(polybin_cxx_sources),$(call polybin_cxx_command,$(1)),$(call polybin_c_command,$(1))) $(POLYBIN_LDFLAGS)

# What a level's build depends on besides files: its commands and source list, or the text of
# POLYBIN_BUILD_COMMAND as written (its per-level values are the level's to fill in).
polybin_level_record = $(if $(POLYBIN_SOURCES),$(call polybin_c_command,$(1)) | $(call polybin_cxx_command,$(1)) | $(call polybin_link,$(1)) | $(POLYBIN_LDLIBS) | $(POLYBIN_SOURCES),$(value POLYBIN_BUILD_COMMAND) | $(1))

# $(call polybin_record,FILE,TEXT) rewrites FILE only when its text differs, so that rules
# depending on FILE rerun exactly when TEXT changes. It runs while make reads this file: a
# rule with a forced prerequisite instead would make `make -q` always report work to do.
polybin_same = $(and $(findstring $(1),$(2)),$(findstring $(2),$(1)))
polybin_write_record = $(shell mkdir -p '$(dir $(1))')$(file >$(1),$(2))
polybin_record = $(if $(call polybin_same,$(file <$(1)),$(2)),,$(call polybin_write_record,$(1),$(2)))
polybin_pack_record = $(POLYBIN_LEVELS) | $(POLYBIN_ZSTD_LEVEL) | $(POLYBIN_EXEC)

$(foreach level,$(POLYBIN_LEVELS),$(call polybin_record,$(call polybin_record_of,$(level)),$(call polybin_level_record,$(level))))
$(call polybin_record,$(polybin_record_of_pack),$(polybin_pack_record))

# `make polybin-clean polybin-all` removes the records after they were written: write them again.
$(foreach level,$(POLYBIN_LEVELS),$(eval $(call polybin_record_of,$(level)): ; $$(call polybin_write_record,$$@,$$(call polybin_level_record,$(level)))))
$(polybin_record_of_pack): ; $(call polybin_write_record,$@,$(polybin_pack_record))

# Recipes refer to values through $$(...) so that flags holding `#` or `$` reach the shell intact.
define polybin_compile_rule
$(call polybin_object,$(1),$(2)): $(2) $(call polybin_record_of,$(1))
	@mkdir -p $$(@D)
	$$(call polybin_compile,$(1),$(2)) -MMD -MP -c $$< -o $$@
endef

define polybin_link_rule
$(call polybin_exe,$(1)): $(call polybin_objects,$(1)) $(call polybin_record_of,$(1))
	@mkdir -p $$(@D)
	$$(call polybin_link,$(1)) -o $$@ $$(filter %.o,$$^) $$(POLYBIN_LDLIBS)
endef

# Without POLYBIN_BUILD_DEPS the command always runs and an unchanged build is left untouched,
# so make sees no newer level and does not repack.
define polybin_command_rule
$(call polybin_exe,$(1)): private LEVEL := $(1)
$(call polybin_exe,$(1)): private MARCH_FLAGS := -march=$(1)
$(call polybin_exe,$(1)): private OUT = $$(abspath $$@).new
$(call polybin_exe,$(1)): $$(POLYBIN_BUILD_DEPS) $(call polybin_record_of,$(1)) $(if $(strip $(POLYBIN_BUILD_DEPS)),,polybin-force)
	@mkdir -p $$(@D) && rm -f '$$(OUT)'
	export LEVEL='$$(LEVEL)' MARCH_FLAGS='$$(MARCH_FLAGS)' OUT='$$(OUT)'; $$(POLYBIN_BUILD_COMMAND)
	@test -f '$$(OUT)' || { echo "polybin.mk: POLYBIN_BUILD_COMMAND for $$(LEVEL) wrote nothing to $$(OUT)" >&2; exit 1; }
	@$(if $(strip $(POLYBIN_BUILD_DEPS)),mv -f '$$(OUT)' $$@,if cmp -s '$$(OUT)' $$@; then rm -f '$$(OUT)'; else mv -f '$$(OUT)' $$@; fi)
endef

ifneq ($(strip $(POLYBIN_SOURCES)),)
$(foreach level,$(POLYBIN_LEVELS),$(foreach source,$(POLYBIN_SOURCES),$(eval $(call polybin_compile_rule,$(level),$(source))))$(eval $(call polybin_link_rule,$(level))))
-include $(foreach level,$(POLYBIN_LEVELS),$(patsubst %.o,%.d,$(call polybin_objects,$(level))))
else
$(foreach level,$(POLYBIN_LEVELS),$(eval $(call polybin_command_rule,$(level))))
endif

$(polybin_bundle): $(foreach level,$(POLYBIN_LEVELS),$(call polybin_exe,$(level))) $(polybin_record_of_pack) $(polybin_tool_file)
	$(polybin_require_tool)
	$(call polybin_quoted,$(POLYBIN)) pack -o $@ --level $(POLYBIN_ZSTD_LEVEL) $(if $(POLYBIN_EXEC),--exec $(POLYBIN_EXEC)) $(foreach level,$(POLYBIN_LEVELS),--flavor $(level)=$(call polybin_exe,$(level)))

$(polybin_payload): $(polybin_bundle) $(polybin_tool_file)
	$(polybin_require_tool)
	$(call polybin_quoted,$(POLYBIN)) object $< -o $@

$(polybin_fatbin): $(polybin_payload) $(polybin_tool_file) $(wildcard $(polybin_runner_archive))
	$(polybin_require_tool)
	$(call polybin_quoted,$(POLYBIN)) link $< -o $@ $(if $(POLYBIN_RUNNER),--runner $(call polybin_quoted,$(POLYBIN_RUNNER)))

polybin-clean:
	rm -rf $(foreach level,$(POLYBIN_LEVELS),$(POLYBIN_BUILDDIR)/$(level)) $(polybin_fatbin) $(polybin_bundle) $(polybin_payload) $(polybin_record_of_pack)

endif

# ---------------------------------------------------------------------------------------------
# Embedded files
# ---------------------------------------------------------------------------------------------
#
# One line per bundle links files and directories into a C or C++ program (docs/embedding.md, "Embedded files"):
#
#     $(eval $(call polybin_embed,assets,web scripts))
#
# (POLYBIN_PROGRAM may stay unset when there is no fatbin to build. Then the rules below are
# this file's first: put a rule of your own before the `include` to keep it the default goal.)
#
# writes $(POLYBIN_BUILDDIR)/assets.o, the files and the lookup code, and
# $(POLYBIN_BUILDDIR)/assets.h, the API (assets_find, assets_count, assets_at, assets_read).
# Link the object into your program and let the sources that include the header depend on it:
#
#     server: main.o $(POLYBIN_BUILDDIR)/assets.o
#     main.o: main.c $(POLYBIN_BUILDDIR)/assets.h
#
# The optional third argument adds `polybin embed` options to that bundle, e.g. --compress
# (link the program with -lzstd too) or --include-hidden; POLYBIN_EMBED_FLAGS adds options to
# every bundle, POLYBIN_EMBED_CC is the compiler of the object (default $(CC)).
#
# polybin writes $(POLYBIN_BUILDDIR)/assets.d listing every embedded file and directory:
# editing, adding or removing a file rebuilds assets.o and relinks, and nothing else. The
# header depends only on the name, so sources including it are not recompiled; a rebuilt
# polybin rewrites it (and touches it, since polybin leaves an unchanged header alone).
POLYBIN_EMBED_CC    ?= $(CC)
POLYBIN_EMBED_FLAGS ?=

define polybin_embed
$(POLYBIN_BUILDDIR)/$(1).h: $(polybin_tool_file)
	$$(polybin_require_tool)
	@mkdir -p $$(@D)
	$$(call polybin_quoted,$$(POLYBIN)) embed --name $(1) --header $$@
	@touch $$@

$(POLYBIN_BUILDDIR)/$(1).o: $(2) $(polybin_tool_file)
	$$(polybin_require_tool)
	@mkdir -p $$(@D)
	$$(call polybin_quoted,$$(POLYBIN)) embed --name $(1) -o $$@ --depfile $(POLYBIN_BUILDDIR)/$(1).d --cc '$$(POLYBIN_EMBED_CC)' $$(POLYBIN_EMBED_FLAGS) $(3) $(2)

-include $(POLYBIN_BUILDDIR)/$(1).d
endef
