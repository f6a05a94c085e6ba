/* The `php` personality: the PHP command line for the embedded tree and the disk, with the
 * CLI's common options parsed as the CLI parses them (bundled flags such as -nq, a value
 * attached to its option or in the next argument); the rest refused in one line. */
#define _GNU_SOURCE
#include "php_host.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <Zend/zend_extensions.h>
#include <ext/standard/info.h>

static const char usage_text[] =
    "Usage: %s [options] [-f] <file> [--] [args...]\n"
    "   %s [options] -r <code> [--] [args...]\n"
    "\n"
    "  -d foo[=bar]     Define INI entry foo with value 'bar'\n"
    "  -f <file>        Parse and execute <file>.\n"
    "  -h               This help\n"
    "  -i               PHP information\n"
    "  -l               Syntax check only (lint)\n"
    "  -m               Show compiled in modules\n"
    "  -n               No configuration (ini) files will be used\n"
    "  -q               Quiet-mode (the default)\n"
    "  -r <code>        Run PHP <code> without using script tags <?..?>\n"
    "  -v               Version number\n"
    "\n"
    "  args...          Arguments passed to script. Use -- args when first argument\n"
    "                   starts with - or script is read from stdin\n";

/* The long options the CLI knows, as the short option each stands for. */
static const struct { const char *name; char option; } long_options[] = {
    {"define", 'd'}, {"file", 'f'}, {"help", 'h'}, {"info", 'i'}, {"syntax-check", 'l'},
    {"modules", 'm'}, {"no-php-ini", 'n'}, {"no-header", 'q'}, {"run", 'r'}, {"version", 'v'},
};

/* -d NAME[=VALUE] as an INI line, quoted as the CLI quotes it: a value that does not start
 * with a letter, a digit or a quote is one string (so ';', '~' or '|' in it stay text). */
static int add_define(char **defines, const char *kv) {
    const char *value = strchr(kv, '=');
    size_t used = strlen(*defines), size = used + strlen(kv) + 5;
    char *grown = realloc(*defines, size);
    if (!grown) return 0;
    *defines = grown;
    if (!value) snprintf(grown + used, size - used, "%s=1\n", kv);
    else if (value[1] && !isalnum((unsigned char)value[1]) && value[1] != '"' && value[1] != '\'')
        snprintf(grown + used, size - used, "%.*s\"%s\"\n", (int)(value + 1 - kv), kv, value + 1);
    else snprintf(grown + used, size - used, "%s\n", kv);
    return 1;
}

static int module_name_cmp(Bucket *a, Bucket *b) {
    return strcasecmp(((zend_module_entry *)Z_PTR(a->val))->name, ((zend_module_entry *)Z_PTR(b->val))->name);
}

static int extension_name_cmp(const zend_llist_element **a, const zend_llist_element **b) {
    return strcmp(((zend_extension *)(*a)->data)->name, ((zend_extension *)(*b)->data)->name);
}

static void print_extension_name(zend_extension *extension) {
    php_printf("%s\n", extension->name);
}

/* php -m: the modules, then the Zend extensions, each sorted as the CLI sorts them. */
static void print_modules(void) {
    HashTable sorted;
    zend_module_entry *module;
    zend_llist extensions;
    zend_hash_init(&sorted, 50, NULL, NULL, 0);
    zend_hash_copy(&sorted, &module_registry, NULL);
    zend_hash_sort(&sorted, module_name_cmp, 0);
    php_printf("[PHP Modules]\n");
    ZEND_HASH_FOREACH_PTR(&sorted, module) {
        php_printf("%s\n", module->name);
    } ZEND_HASH_FOREACH_END();
    zend_hash_destroy(&sorted);
    php_printf("\n[Zend Modules]\n");
    zend_llist_copy(&extensions, &zend_extensions);
    extensions.dtor = NULL;
    zend_llist_sort(&extensions, extension_name_cmp);
    zend_llist_apply(&extensions, (llist_apply_func_t)print_extension_name);
    zend_llist_destroy(&extensions);
    php_printf("\n");
}

/* php -v: the CLI's lines; the build time is this program's. */
static void print_version(void) {
    php_printf("PHP %s (cli) (built: %s %s) (%s%s)\nCopyright (c) The PHP Group\n%s", PHP_VERSION, __DATE__, __TIME__,
#ifdef ZTS
               "ZTS",
#else
               "NTS",
#endif
#if ZEND_DEBUG
               " DEBUG",
#else
               "",
#endif
               get_zend_version());
}

static int refuse(const char *program, const char *option) {
    fprintf(stderr, "%s: option %s is not supported by this program (the php command line of an embedded application)\n",
            program, option);
    return 1;
}

/* What the options asked for, in the started engine. Apart from host_php_main (and not
 * inlined) so that none of its locals lives across zend_first_try's setjmp. */
__attribute__((noinline)) static int run(char action, const char *file, const char *code) {
    volatile int status = 255;
    zend_first_try {
        if (action == 'v') {
            print_version();
            status = 0;
        } else if (action == 'm') {
            print_modules();
            status = 0;
        } else if (action == 'i') {
            php_print_info(PHP_INFO_ALL);
            status = 0;
        } else if (action == 'l') {
            status = host_lint_file(file);
        } else if (code) {
            if (zend_eval_string_ex((char *)code, NULL, "Command line code", 1) == FAILURE) status = 255;
            else status = EG(exit_status);
        } else {
            status = host_run_file(file);
        }
    } zend_catch {
        status = EG(exit_status);
    } zend_end_try();
    if (code && EG(exit_status)) status = EG(exit_status);
    return status;
}

/* What the CLI finds at a script's path before it runs it: 1 a file, 0 a directory (which it
 * reads as an empty script), -1 nothing it can open ("Could not open input file"). */
static int script_kind(const char *file) {
    char buffer[PATH_MAX];
    const char *name;
    struct stat st;
    int fd, kind;
    if (!strcmp(file, "-")) return 1;
    if ((name = host_in_tree(file, buffer))) {
        kind = bundle_kind(name);
        return kind == POLYBIN_FILE ? 1 : kind == POLYBIN_DIRECTORY ? 0 : -1;
    }
    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) return -1;
    kind = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : 1;
    close(fd);
    return kind;
}

/* Run as `php`. */
int host_php_main(int argc, char **argv) {
    char *defines = calloc(1, 1);
    const char *file = NULL, *code = NULL;
    char action = 0;    /* 'l', 'v', 'm', 'i', or 0: run */
    int i, status = 255;
    char **script_argv;
    int script_argc;
    if (!defines) return 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char single[3] = "-?";
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !a[1]) break;
        if (a[1] == '-') {
            size_t k = 0;
            while (k < sizeof long_options / sizeof *long_options && strcmp(a + 2, long_options[k].name)) k++;
            if (k == sizeof long_options / sizeof *long_options) return refuse(argv[0], a);
            single[1] = long_options[k].option;
            a = single;
        }
        for (const char *p = a + 1; *p; p++) {
            const char *value = NULL;
            if (strchr("dfr", *p)) {
                value = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!value) {
                    fprintf(stderr, "%s: option -%c needs a value\n", argv[0], *p);
                    return 1;
                }
            }
            switch (*p) {
            case 'd': if (!add_define(&defines, value)) return 1; break;
            case 'f': file = value; break;
            case 'r': code = value; break;
            case 'n': case 'q': break;
            case 'h': case '?': printf(usage_text, argv[0], argv[0]); return 0;
            case 'l': case 'v': case 'm': case 'i': action = *p; break;
            default: single[1] = *p; return refuse(argv[0], single);
            }
            if (value) break;
        }
    }
    if (!file && !code && i < argc) file = argv[i++];
    else if (i < argc && !strcmp(argv[i], "--")) i++;
    if (!file) file = "-";
    if (!code && (action == 0 || action == 'l')) {
        int kind = script_kind(file);
        if (kind < 0) printf("Could not open input file: %s\n", file);
        else if (kind == 0 && action == 'l') printf("No syntax errors detected in %s\n", file);
        if (kind <= 0) {
            free(defines);
            return kind < 0;
        }
    }
    /* $argv: the script (or "Standard input code") then its arguments, as the CLI gives. */
    script_argc = argc - i + 1;
    script_argv = calloc((size_t)script_argc + 1, sizeof *script_argv);
    if (!script_argv) return 1;
    script_argv[0] = (char *)(code || !strcmp(file, "-") ? "Standard input code" : file);
    for (int k = 1; k < script_argc; k++) script_argv[k] = argv[i + k - 1];
    if (!host_engine_start(script_argc, script_argv, defines, code || !strcmp(file, "-") ? NULL : file)) {
        fprintf(stderr, "%s: PHP did not start\n", argv[0]);
        return 1;
    }
    status = run(action, file, code);
    host_engine_stop();
    free(defines);
    free(script_argv);
    return status;
}
