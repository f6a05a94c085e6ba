# php-host.mk: a PHP application as one executable (docs/php-host.md). Set the variables, then
# include this file:
#
#     PHP_APP_DIR   := /usr/share/arcanist      # the application's tree(s), embedded whole
#     PHP_APP_ENTRY := bin/arc                  # its entry script, relative to the (first)
#                                               # tree, or an absolute path anywhere
#     PHP_APP       := arc                      # the program's file name
#     include PREFIX/share/polybin/php-host/php-host.mk   # or Hosts/php/php-host.mk in a checkout
#
# `make` then builds $(POLYBIN_BUILDDIR)/arc (the default goal, unless the including Makefile
# has a rule of its own before the include): PHP's embed SAPI, the host (this directory's C
# files and the few of CPolybin it needs) and the tree embedded with `polybin embed`. The same
# file works from a checkout and from an installed prefix (tools/install copies the host, its
# CPolybin files and this fragment to PREFIX/share/polybin/php-host).
#
# Variables (defaults in parentheses)
#   Several trees (PHP_APP_DIR := /usr/share/php/Tool /usr/share/php/Lib) or an absolute
#   entry (PHP_APP_ENTRY := /usr/bin/tool, Debian's layout: an entry script apart from its
#   library) are each embedded at their own path, as the application finds them on disk.
#
#   PHP_APP_ROOT      one tree only: the path it appears at inside the program ($(PHP_APP_DIR)): the
#                     application's own idea of where it lives (__DIR__, __FILE__); made
#                     absolute and without a trailing slash
#   PHP_APP_EXTENSIONS  the shared extensions the program loads at run time from the system's
#                     extension directory (against a shared libphp: those the build machine's
#                     php CLI loads, from its php.ini and conf.d, named in the build output,
#                     zend:NAME for a zend_extension;
#                     against PHP_STATIC: none, every extension is built in)
#   PHP_APP_INI       extra INI lines, separated by \n
#   PHP_CLI           the php CLI whose extensions are the default (php8.2)
#   PHP_APP_PATH_PHP  1: the program puts a `php` that is itself first on PATH (1)
#   PHP_APP_BUNDLE    the name the tree is embedded under, an identifier (phpapp)
#   PHP_APP_EMBED_FLAGS  polybin embed options for the tree (--follow-symlinks: a symbolic
#                     link is embedded as a copy of what it points to, inside the trees or
#                     outside them)
#   PHP_STATIC        the directory tools/build-static-php prints: link fully static against
#                     its libphp.a (every extension built in, so no extension= lines), and
#                     strip; sets the three below
#   PHP_CFLAGS        compile flags for PHP's headers ($(PHP_CONFIG) --includes)
#   PHP_LIBS          how to link PHP (-lphp8.2: Debian's libphp8.2-embed)
#   PHP_LDFLAGS       link flags before the objects
#   PHP_CONFIG        php-config (php-config8.2)
#   POLYBIN_BUILDDIR  where everything is written (build)
#   POLYBIN_MK        the make rules this builds on (polybin.mk, found beside this directory)
PHP_HOST_DIR     := $(dir $(lastword $(MAKEFILE_LIST)))
PHP_APP_ROOT     ?= $(abspath $(firstword $(PHP_APP_DIR)))
PHP_APP_EMBED_FLAGS ?= --follow-symlinks
PHP_APP_INI      ?=
PHP_APP_PATH_PHP ?= 1
PHP_APP_BUNDLE   ?= phpapp
PHP_CONFIG       ?= php-config8.2
PHP_CLI          ?= php8.2
ifneq ($(PHP_STATIC),)
# link-libs: what libphp.a needs after it. Debian's libxml2.a uses ICU, which is C++.
PHP_CFLAGS       := $(foreach d,. main Zend TSRM ext sapi/embed,-I$(PHP_STATIC)/include/php/$(d))
PHP_LIBS         := $(PHP_STATIC)/lib/libphp.a $(shell cat $(PHP_STATIC)/link-libs) -lstdc++
PHP_LDFLAGS      := -static -s
endif
PHP_CFLAGS       ?= $(shell $(PHP_CONFIG) --includes)
PHP_LIBS         ?= -lphp8.2
PHP_LDFLAGS      ?=
POLYBIN_BUILDDIR ?= build
ifeq ($(PHP_STATIC),)
PHP_APP_EXTENSIONS ?= $(shell $(PHP_CLI) $(PHP_HOST_DIR)cli-extensions.php)
endif
PHP_HOST_INI_LINES = $(foreach e,$(PHP_APP_EXTENSIONS),$(if $(filter zend:%,$(e)),zend_extension=$(e:zend:%=%),extension=$(e))\n)$(PHP_APP_INI)

# The program is the default goal unless the including Makefile named one first.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := $(POLYBIN_BUILDDIR)/$(PHP_APP)
endif

# Installed: PREFIX/share/polybin/{polybin.mk,php-host/}. In a checkout: Hosts/php beside
# Integrations/ (CPolybin's files in CSupport/CPolybin).
POLYBIN_MK       ?= $(firstword $(wildcard $(PHP_HOST_DIR)../polybin.mk $(PHP_HOST_DIR)../../Integrations/polybin.mk))
PHP_HOST_CPOLYBIN ?= $(firstword $(wildcard $(PHP_HOST_DIR)cpolybin $(PHP_HOST_DIR)../../CSupport/CPolybin))
include $(POLYBIN_MK)

# The host's own files, and the CPolybin files it shares with the runner (SHA-256, the cache
# policy and the secure-exec rule); tools/install copies exactly these.
PHP_HOST_SOURCES    := path.c wrapper.c functions.c extract.c engine.c cli.c main.c
PHP_HOST_CPOLYBIN_SOURCES := codec/sha256.c contract/cache_dir.c run/policy.c
# One tree: named relative to it, appearing at PHP_APP_ROOT. Several, or an entry elsewhere:
# each at its own absolute path, named by it (embed --base /).
php_host_several   := $(or $(word 2,$(PHP_APP_DIR)),$(filter /%,$(PHP_APP_ENTRY)))
php_host_entry      = $(if $(filter /%,$(PHP_APP_ENTRY)),$(abspath $(PHP_APP_ENTRY)),$(abspath $(firstword $(PHP_APP_DIR))/$(PHP_APP_ENTRY)))
php_host_inputs     = $(if $(php_host_several),$(PHP_APP_DIR) $(filter /%,$(PHP_APP_ENTRY)),$(PHP_APP_DIR))
php_host_space     := $(eval) $(eval)
php_host_roots      = $(subst $(php_host_space),:,$(strip $(abspath $(PHP_APP_DIR)) $(filter /%,$(PHP_APP_ENTRY))))
PHP_HOST_TREE_DEFINES = $(if $(php_host_several),-DPHP_HOST_ROOTS='"$(php_host_roots)"' -DPHP_HOST_ENTRY='"$(php_host_entry)"',\
                         -DPHP_HOST_ROOT='"$(abspath $(PHP_APP_ROOT))"' -DPHP_HOST_ENTRY='"$(PHP_APP_ENTRY)"')
PHP_HOST_DEFINES     = $(PHP_HOST_TREE_DEFINES) \
                       -DPHP_HOST_INI='"$(PHP_HOST_INI_LINES)"' -DPHP_HOST_PATH_PHP=$(PHP_APP_PATH_PHP) \
                       -DPHP_HOST_BUNDLE=$(PHP_APP_BUNDLE)
PHP_HOST_OBJECTS     = $(PHP_HOST_SOURCES:%.c=$(POLYBIN_BUILDDIR)/php-host/%.o)
PHP_HOST_CPOLYBIN_OBJECTS = $(addprefix $(POLYBIN_BUILDDIR)/php-host/cpolybin-,$(notdir $(PHP_HOST_CPOLYBIN_SOURCES:.c=.o)))

# Hidden files are part of an application's tree (.arcconfig and the like).
$(eval $(call polybin_embed,$(PHP_APP_BUNDLE),$(php_host_inputs),--include-hidden $(PHP_APP_EMBED_FLAGS) $(if $(php_host_several),--base /)))

# The host's objects depend on the defines through a record rewritten, when make reads this
# file, only when they changed: a rule for it would run every time, and `make -q` after a
# build would always report work.
php_host_flags := $(CC) $(CFLAGS) $(PHP_CFLAGS) $(PHP_HOST_DEFINES)
$(shell mkdir -p $(POLYBIN_BUILDDIR) && { echo '$(php_host_flags)' | cmp -s - $(POLYBIN_BUILDDIR)/php-host.flags || echo '$(php_host_flags)' > $(POLYBIN_BUILDDIR)/php-host.flags; })

$(PHP_HOST_OBJECTS): $(POLYBIN_BUILDDIR)/php-host/%.o: $(PHP_HOST_DIR)%.c $(PHP_HOST_DIR)php_host.h \
                     $(POLYBIN_BUILDDIR)/$(PHP_APP_BUNDLE).h $(POLYBIN_BUILDDIR)/php-host.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-unused-parameter $(PHP_CFLAGS) -I$(POLYBIN_BUILDDIR) -I$(PHP_HOST_CPOLYBIN)/include $(PHP_HOST_DEFINES) -c $< -o $@

define php_host_cpolybin
$(POLYBIN_BUILDDIR)/php-host/cpolybin-$(notdir $(1:.c=.o)): $(PHP_HOST_CPOLYBIN)/$(1)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -I$(PHP_HOST_CPOLYBIN)/include -c $$< -o $$@
endef
$(foreach f,$(PHP_HOST_CPOLYBIN_SOURCES),$(eval $(call php_host_cpolybin,$(f))))

$(POLYBIN_BUILDDIR)/$(PHP_APP): $(PHP_HOST_OBJECTS) $(PHP_HOST_CPOLYBIN_OBJECTS) $(POLYBIN_BUILDDIR)/$(PHP_APP_BUNDLE).o
	$(CC) $(PHP_LDFLAGS) -o $@ $^ $(PHP_LIBS)
	@echo "php-host: $@ loads at run time the shared extensions $(if $(PHP_APP_EXTENSIONS),$(PHP_APP_EXTENSIONS),(none))"
