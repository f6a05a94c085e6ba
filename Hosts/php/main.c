/* The program: the application's entry script, or `php` when run under that name. */
#define _GNU_SOURCE
#include "php_host.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pb_launch.h"

#ifdef PHP_HOST_ROOTS
const char host_roots[] = PHP_HOST_ROOTS;
const int host_names_absolute = 1;
#else
const char host_roots[] = PHP_HOST_ROOT;
const int host_names_absolute = 0;
#endif
time_t host_tree_mtime;
char host_self[PATH_MAX];

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", host_self, sizeof host_self - 1);
    char entry[PATH_MAX];
    int status = 255;
    host_self[n > 0 ? n : 0] = 0;
    host_tree_mtime = host_self[0] && stat(host_self, &st) == 0 ? st.st_mtime : 0;
    base = base ? base + 1 : argv[0];
    /* Under a secure exec (setuid, setgid, capabilities) the caller chose the name and the
     * environment: no `php` personality (it would run the caller's code with the program's
     * privileges), no PATH, no files (docs/cache-policy.md). */
    if (pb_secure_exec()) {
        if (!PHP_HOST_ENTRY[0]) {
            fprintf(stderr, "%s: refused: a setuid, setgid or capability program has no entry script to run, and "
                            "runs no `php` command line\n", argv[0]);
            return 1;
        }
    } else {
        if (PHP_HOST_PATH_PHP) host_put_php_on_path();
        if (!strcmp(base, "php") || !PHP_HOST_ENTRY[0]) return host_php_main(argc, argv);
    }

    if (PHP_HOST_ENTRY[0] == '/') snprintf(entry, sizeof entry, "%s", PHP_HOST_ENTRY);
    else snprintf(entry, sizeof entry, "%s/%s", host_roots, PHP_HOST_ENTRY);
    if (!host_engine_start(argc, argv, "", entry)) {
        fprintf(stderr, "%s: PHP did not start\n", argv[0]);
        return 1;
    }
    zend_first_try {
        status = host_run_file(entry);
    } zend_catch {
        status = EG(exit_status);
    } zend_end_try();
    host_engine_stop();
    return status;
}
