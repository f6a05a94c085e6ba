/* PHP's embed SAPI started as the host needs it: its own INI, the tree installed, the CLI's
 * STDIN/STDOUT/STDERR; running a script, linting one. */
#define _GNU_SOURCE
#include "php_host.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <main/php_main.h>
#include <main/php_variables.h>
#include <Zend/zend_exceptions.h>
#include <Zend/zend_constants.h>


/* The host's INI: no php.ini is read. The values are Debian's php-cli ones (as ini_get gives
 * them: display_errors=Off reads ""), except
 * variables_order: with EGPCS $_ENV is filled, so Arcanist needs no `php` subprocess for it. */
static const char host_ini[] =
    "html_errors=0\n"
    "register_argc_argv=1\n"
    "implicit_flush=1\n"
    "output_buffering=0\n"
    "max_execution_time=0\n"
    "max_input_time=-1\n"
    "memory_limit=-1\n"
    "display_errors=Off\n"
    "log_errors=1\n"
    "error_reporting=22527\n"
    "zend.assertions=-1\n"
    "zend.exception_ignore_args=1\n"
    "variables_order=EGPCS\n"
    PHP_HOST_INI;

/* ---- the CLI's constants -------------------------------------------------------------- */

void host_register_stdio(void) {
    static const char *names[] = {"STDIN", "STDOUT", "STDERR"};
    static const char *urls[] = {"php://stdin", "php://stdout", "php://stderr"};
    static const char *modes[] = {"rb", "wb", "wb"};
    for (int i = 0; i < 3; i++) {
        php_stream *s = php_stream_open_wrapper_ex(urls[i], modes[i], 0, NULL, NULL);
        zend_constant c;
        if (!s) continue;
        /* Closing STDOUT in PHP must not close fd 1 under the engine's own output. */
        s->flags |= PHP_STREAM_FLAG_NO_CLOSE;
        php_stream_to_zval(s, &c.value);
        ZEND_CONSTANT_SET_FLAGS(&c, CONST_CS, 0);
        c.name = zend_string_init_interned(names[i], strlen(names[i]), 1);
        zend_register_constant(&c);
    }
}

/* ---- the engine ------------------------------------------------------------------------ */

/* The script $_SERVER names: its path, or NULL for code from -r or standard input. */
static const char *server_script;

/* $_SERVER as the CLI fills it: the environment, the script under PHP_SELF, SCRIPT_NAME,
 * SCRIPT_FILENAME and PATH_TRANSLATED, an empty DOCUMENT_ROOT (PHP adds argv, argc and
 * REQUEST_TIME itself). */
static void register_server_variables(zval *track_vars_array) {
    const char *self = server_script ? server_script : "Standard input code";
    const char *file = server_script ? server_script : "";
    php_import_environment_variables(track_vars_array);
    php_register_variable("PHP_SELF", self, track_vars_array);
    php_register_variable("SCRIPT_NAME", self, track_vars_array);
    php_register_variable("SCRIPT_FILENAME", file, track_vars_array);
    php_register_variable("PATH_TRANSLATED", file, track_vars_array);
    php_register_variable("DOCUMENT_ROOT", "", track_vars_array);
}

int host_engine_start(int argc, char **argv, const char *defines, const char *script) {
    size_t size = sizeof host_ini + strlen(defines) + 1;
    char *ini = malloc(size);
    if (!ini) return 0;
    snprintf(ini, size, "%s%s", host_ini, defines);
#if defined(ZEND_SIGNALS)
    zend_signal_startup();
#endif
    /* The CLI's name: applications check PHP_SAPI and php_sapi_name() for "cli". */
    php_embed_module.name = "cli";
    php_embed_module.register_server_variables = register_server_variables;
    php_embed_module.phpinfo_as_text = 1;
    server_script = script;
    sapi_startup(&php_embed_module);
    php_embed_module.ini_entries = ini;
    php_embed_module.php_ini_ignore = 1;
    php_embed_module.executable_location = host_self[0] ? host_self : argv[0];
    if (php_embed_module.startup(&php_embed_module) == FAILURE) return 0;
    SG(options) |= SAPI_OPTION_NO_CHDIR;
    SG(request_info).argc = argc;
    SG(request_info).argv = argv;
    if (php_request_startup() == FAILURE) return 0;
    SG(headers_sent) = 1;
    SG(request_info).no_headers = 1;
    /* Warnings name the function from now on, not "PHP Request Startup" (the CLI does this too). */
    PG(during_request_startup) = 0;
    host_install_tree();
    host_register_stdio();
    return 1;
}

int host_run_file(const char *path) {
    zend_file_handle handle;
    int status;
    CG(skip_shebang) = 1;
    if (!strcmp(path, "-")) {
        zend_stream_init_fp(&handle, stdin, "Standard input code");
    } else {
        zend_stream_init_filename(&handle, path);
    }
    php_execute_script(&handle);
    status = EG(exit_status);
    zend_destroy_file_handle(&handle);
    return status;
}

/* php -l: compile only, with the CLI's messages and exit statuses. */
int host_lint_file(const char *path) {
    zend_file_handle handle;
    volatile int status = 0;  /* set inside zend_try */
    const char *shown = strcmp(path, "-") ? path : "Standard input code";
    if (!strcmp(path, "-")) zend_stream_init_fp(&handle, stdin, shown);
    else zend_stream_init_filename(&handle, path);
    CG(skip_shebang) = 1;
    zend_try {
        zend_op_array *op = zend_compile_file(&handle, ZEND_INCLUDE);
        if (op) {
            destroy_op_array(op);
            efree(op);
        } else {
            status = 255;
        }
    } zend_catch {
        status = 255;
    } zend_end_try();
    if (EG(exception)) {
        zend_exception_error(EG(exception), E_ERROR);
        status = 255;
    }
    if (status == 0) php_printf("No syntax errors detected in %s\n", shown);
    else php_printf("Errors parsing %s\n", shown);
    zend_destroy_file_handle(&handle);
    return status;
}

void host_engine_stop(void) {
    php_request_shutdown(NULL);
    php_module_shutdown();
    sapi_shutdown();
    free(php_embed_module.ini_entries);
    php_embed_module.ini_entries = NULL;
}

