/* The `php` personality: the PHP command line for the embedded tree and the disk. */
#define _GNU_SOURCE
#include "php_host.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *program) {
    fprintf(stderr, "usage: %s [-n] [-q] [-d key=value]... (-f FILE | -r CODE | -l FILE | FILE | -) [--] [ARGS...]\n", program);
    return 1;
}

/* Run as `php`: the options Arcanist and scripts use. */
int host_php_main(int argc, char **argv) {
    char *defines = calloc(1, 1);
    size_t defines_size = 1;
    const char *file = NULL, *code = NULL;
    int lint = 0, i, status = 255;
    char **script_argv;
    int script_argc;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !strcmp(a, "-")) break;
        if (!strcmp(a, "-n") || !strcmp(a, "--no-php-ini") || !strcmp(a, "-q") || !strcmp(a, "--no-header")) continue;
        if (!strcmp(a, "-d") || !strcmp(a, "--define") || !strncmp(a, "-d", 2)) {
            const char *kv = a[1] == 'd' && a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            char *grown;
            if (!kv) return usage(argv[0]);
            grown = realloc(defines, defines_size + strlen(kv) + (strchr(kv, '=') ? 1 : 3));
            if (!grown) return 1;
            defines = grown;
            strcat(defines, kv);
            strcat(defines, strchr(kv, '=') ? "\n" : "=1\n");
            defines_size = strlen(defines) + 1;
            continue;
        }
        if (!strcmp(a, "-f") || !strcmp(a, "--file") || !strcmp(a, "-l") || !strcmp(a, "--syntax-check")) {
            if (a[1] == 'l' || !strcmp(a, "--syntax-check")) {
                lint = 1;
                if (i + 1 < argc && argv[i + 1][0] != '-') file = argv[++i];
                continue;
            }
            if (i + 1 >= argc) return usage(argv[0]);
            file = argv[++i];
            continue;
        }
        if (!strcmp(a, "-r") || !strcmp(a, "--run")) {
            if (i + 1 >= argc) return usage(argv[0]);
            code = argv[++i];
            continue;
        }
        fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
        return usage(argv[0]);
    }
    if (!file && !code && i < argc) file = argv[i++];
    else if (i < argc && !strcmp(argv[i], "--")) i++;
    if (!file && !code) file = "-";
    if (lint && !file) return usage(argv[0]);
    /* $argv: the script (or "Standard input code" / "-") then its arguments, as the CLI gives. */
    script_argc = argc - i + 1;
    script_argv = calloc((size_t)script_argc + 1, sizeof *script_argv);
    if (!script_argv) return 1;
    script_argv[0] = (char *)(code ? "Standard input code" : file);
    for (int k = 1; k < script_argc; k++) script_argv[k] = argv[i + k - 1];
    if (!host_engine_start(script_argc, script_argv, defines, code || !strcmp(file, "-") ? NULL : file)) {
        fprintf(stderr, "%s: PHP did not start\n", argv[0]);
        return 1;
    }
    zend_first_try {
        if (lint) {
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
    host_engine_stop();
    free(defines);
    free(script_argv);
    return status;
}

