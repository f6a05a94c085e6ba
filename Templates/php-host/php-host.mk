# php-host.mk: a PHP application as one executable (docs/php-host.md, "A PHP application as one
# executable"). Set the variables, then include this file:
#
#     PHP_APP_DIR   := /usr/share/arcanist      # the application's tree, embedded whole
#     PHP_APP_ENTRY := bin/arc                  # its entry script, relative to the tree
#     PHP_APP       := arc                      # the program's file name
#     include path/to/Templates/php-host/php-host.mk
#
# `make $(POLYBIN_BUILDDIR)/arc` then links PHP's embed SAPI, the host
# (Templates/php-host/php-host.c) and the tree embedded with `polybin embed`.
#
# Variables (defaults in parentheses)
#   PHP_APP_ROOT      the path the tree appears at inside the program ($(PHP_APP_DIR)): the
#                     application's own idea of where it lives (__DIR__, __FILE__)
#   PHP_APP_INI       extra INI lines, separated by \n (e.g. extension=curl for a shared libphp)
#   PHP_APP_PATH_PHP  1: the program puts a `php` that is itself first on PATH (1)
#   PHP_STATIC        the directory tools/build-static-php prints: link fully static against
#                     its libphp.a (every extension built in, so no extension= lines), and
#                     strip; sets the three below
#   PHP_CFLAGS        compile flags for PHP's headers ($(PHP_CONFIG) --includes)
#   PHP_LIBS          how to link PHP (-lphp8.2: Debian's libphp8.2-embed)
#   PHP_LDFLAGS       link flags before the objects
#   PHP_CONFIG        php-config (php-config8.2)
#   POLYBIN_BUILDDIR  where everything is written (build)
PHP_HOST_DIR     := $(dir $(lastword $(MAKEFILE_LIST)))
PHP_APP_ROOT     ?= $(abspath $(PHP_APP_DIR))
PHP_APP_INI      ?=
PHP_APP_PATH_PHP ?= 1
PHP_CONFIG       ?= php-config8.2
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

include $(PHP_HOST_DIR)../../Integrations/polybin.mk

PHP_HOST_CPOLYBIN := $(PHP_HOST_DIR)../../CSupport/CPolybin
PHP_HOST_DEFINES   = -DPHP_HOST_ROOT='"$(PHP_APP_ROOT)"' -DPHP_HOST_ENTRY='"$(PHP_APP_ENTRY)"' \
                     -DPHP_HOST_INI='"$(PHP_APP_INI)"' -DPHP_HOST_PATH_PHP=$(PHP_APP_PATH_PHP)

# Hidden files are part of an application's tree (.arcconfig and the like).
$(eval $(call polybin_embed,phpapp,$(PHP_APP_DIR),--include-hidden))

# The host's object depends on the defines through a record rewritten only when they change.
$(POLYBIN_BUILDDIR)/php-host.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CFLAGS) $(PHP_CFLAGS) $(PHP_HOST_DEFINES)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(PHP_CFLAGS) $(PHP_HOST_DEFINES)' > $@

$(POLYBIN_BUILDDIR)/php-host.o: $(PHP_HOST_DIR)php-host.c $(POLYBIN_BUILDDIR)/phpapp.h $(POLYBIN_BUILDDIR)/php-host.flags
	$(CC) $(CFLAGS) -Wno-unused-parameter $(PHP_CFLAGS) -I$(POLYBIN_BUILDDIR) -I$(PHP_HOST_CPOLYBIN)/include $(PHP_HOST_DEFINES) -c $< -o $@

$(POLYBIN_BUILDDIR)/php-host-sha256.o: $(PHP_HOST_CPOLYBIN)/codec/sha256.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(PHP_HOST_CPOLYBIN)/include -c $< -o $@

$(POLYBIN_BUILDDIR)/$(PHP_APP): $(POLYBIN_BUILDDIR)/php-host.o $(POLYBIN_BUILDDIR)/php-host-sha256.o $(POLYBIN_BUILDDIR)/phpapp.o
	$(CC) $(PHP_LDFLAGS) -o $@ $^ $(PHP_LIBS)

FORCE:
.PHONY: FORCE
