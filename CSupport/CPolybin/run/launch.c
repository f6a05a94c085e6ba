/* Exec strategies. Every one rebuilds the chosen entry for the file it will execute (space
 * reserved with fallocate first), verifies its SHA-256 before a byte of it can run, and
 * execveat()s a read-only descriptor of that file. */
#define _GNU_SOURCE
#include "pb_launch.h"
#include "pb_elf.h"
#include "pb_sha256.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Debian 12's headers predate these (Linux 6.3 / 3.17). */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

static void say(pb_launch *l, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(l->detail, sizeof l->detail, format, args);
    va_end(args);
}

void pb_write_all(int fd, const void *bytes, uint64_t size) {
    const char *p = bytes;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        size -= (uint64_t)n;
    }
}

void pb_exit(int code) { _exit(code); }

static int truncation_exit_code = 1;

static void on_sigbus(int signal) {
    (void)signal;
    static const char message[] = "polybin: corrupt payload: the fatbin file is truncated (its payload lies past the end of the file)\n";
    pb_write_all(2, message, sizeof message - 1);
    _exit(truncation_exit_code);
}

void pb_guard_truncation(int exit_code) {
    truncation_exit_code = exit_code;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigbus;
    sigaction(SIGBUS, &action, NULL);
}

int pb_is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pb_mapped(const void *address) {
    long page = sysconf(_SC_PAGESIZE);
    unsigned char resident;
    void *start = (void *)((uintptr_t)address & ~(uintptr_t)(page > 0 ? page - 1 : 4095));
    return mincore(start, 1, &resident) == 0 || errno != ENOMEM;
}

/* The interpreter a build names (ELF PT_INTERP, read by pb_elf, or a `#!` line) into `out`,
 * "" when none or when the build is not an ELF file pb_elf can read. */
static void interpreter_of(int fd, char *out, size_t size) {
    char head[256];
    out[0] = 0;
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        head[n] = 0;
        char *p = head + 2 + strspn(head + 2, " \t");
        snprintf(out, size, "%.*s", (int)strcspn(p, " \t\n"), p);
        return;
    }
    struct stat st;
    if (n < 4 || fstat(fd, &st) != 0 || st.st_size <= 0) return;
    /* Mapped, not read: only the pages of the headers and the path are touched. */
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return;
    pb_elf elf;
    const char *path;
    if (pb_elf_open(&elf, map, (uint64_t)st.st_size, PB_ELF_OPEN_SEGMENTS_ONLY) == PB_ELF_OK &&
        pb_elf_interpreter(&elf, &path) == PB_ELF_OK && path)
        snprintf(out, size, "%s", path);
    munmap(map, (size_t)st.st_size);
}

/* 1 when the kernel will hand this build to an interpreter that opens it again by path
 * after exec: a `#!` script, or an ELF of another machine than the kernel's own (run by a
 * binfmt_misc handler such as qemu-user; the runner may itself be emulated, and then only
 * /proc/sys/kernel/arch, which qemu does not rewrite, names the real machine). Where that
 * file is missing (kernels before 6.1) any ELF is counted as interpreted: a build that
 * keeps one descriptor more is better than one that an interpreter cannot open. So is an ELF
 * file pb_elf does not read (32-bit, big-endian): no fatbin build is one. */
static int run_by_interpreter(int fd) {
    unsigned char head[64];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 4) return 0;
    if (head[0] == '#' && head[1] == '!') return 1;
    pb_elf_header header;
    pb_elf_status status = pb_elf_read_header(&header, head, (uint64_t)n, NULL, 0);
    if (status == PB_ELF_E_NOT_ELF) return 0;
    if (status != PB_ELF_OK) return 1;
    char arch[32] = "";
    int afd = open("/proc/sys/kernel/arch", O_RDONLY | O_CLOEXEC);
    ssize_t got = afd >= 0 ? read(afd, arch, sizeof arch - 1) : -1;
    if (afd >= 0) close(afd);
    if (got <= 0) return 1;
    arch[got] = 0;
    arch[strcspn(arch, "\n")] = 0;
    unsigned native = strcmp(arch, "x86_64") == 0 ? PB_EM_X86_64 : strcmp(arch, "aarch64") == 0 ? PB_EM_AARCH64 : 0;
    return header.machine != native;
}

/* Returns the errno of the failed exec. Falls back to a path where execveat is missing
 * (ENOSYS: old kernels, seccomp, qemu-user before 8.0): /proc/self/fd/N, then `path` (the
 * cache entry's own name, NULL elsewhere) when /proc is not mounted either. An interpreter
 * (binfmt_misc without its O flag, #!) reopens the path it is given after exec, when
 * close-on-exec descriptors are gone: it is given the cache entry's name, or /proc/self/fd/N
 * with the descriptor kept open across exec. Likewise clears close-on-exec when execveat
 * says the interpreter could not reopen the descriptor (ENOENT).
 * Sets *refused when the kernel will not run these bytes from anywhere (ENOEXEC, a missing
 * interpreter), with the reason in `why`. Resource limits are the program's during exec. */
static int exec_fd(int fd, const char *path, char *const argv[], char *const envp[], int *refused,
                   char *why, size_t why_size) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int err = 0, by_fd = 1;
    pb_limits_for_exec();
    for (int attempt = 0; attempt < 2; attempt++) {
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        err = errno;
        if (err == ENOSYS) {
            int interpreted = run_by_interpreter(fd);
            err = ENOENT;
            if (interpreted && path) {
                execve(path, argv, envp);
                err = errno;
            }
            if (err == ENOENT) {
                if (interpreted) fcntl(fd, F_SETFD, 0);
                execve(proc, argv, envp);
                err = errno;
            }
            if (err == ENOENT && access(proc, F_OK) != 0) {
                by_fd = 0;  /* no /proc: ENOENT says nothing about the build */
                if (path) {
                    execve(path, argv, envp);
                    err = errno;
                    by_fd = err != ENOENT || access(path, F_OK) == 0;
                }
            }
        }
        if (err != ENOENT || attempt == 1) break;
        fcntl(fd, F_SETFD, 0);
    }
    pb_limits_for_rebuild();
    *refused = 0;
    if (err == ENOEXEC || err == ELIBBAD || (err == ENOENT && by_fd)) {
        char interp[256];
        interpreter_of(fd, interp, sizeof interp);
        *refused = 1;
        if (err == ENOENT && interp[0])
            snprintf(why, why_size, "the kernel refuses to run it: its interpreter %s is missing", interp);
        else if (err == ENOENT)
            snprintf(why, why_size, "the kernel refuses to run it: %s (a missing interpreter or library loader)", strerror(err));
        else
            snprintf(why, why_size, "the kernel refuses to run it: %s%s%s", strerror(err),
                     interp[0] ? "; interpreter " : "", interp);
    }
    return err;
}

/* POLYBIN_LOG's decision line, completed with the strategy about to run the build and its
 * place; control bytes in the place are escaped, so it stays one line. */
static void announce(const pb_launch *l, const char *strategy, const char *where) {
    if (!l->announce) return;
    char line[1536];
    size_t cap = sizeof line - 8, n = 0;
    int w = snprintf(line, cap, "%s%s", l->announce, strategy);
    n = w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
    if (where) {
        static const char digits[] = "0123456789abcdef";
        if (n + 2 < cap) { line[n++] = ' '; line[n++] = '('; }
        for (const unsigned char *p = (const unsigned char *)where; *p && n + 4 < cap; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                line[n++] = '\\';
                line[n++] = 'x';
                line[n++] = digits[*p >> 4];
                line[n++] = digits[*p & 15];
            } else {
                line[n++] = (char)*p;
            }
        }
        line[n++] = ')';
    }
    line[n++] = '\n';
    pb_write_all(2, line, n);
}

/* Executes the verified build in `fd` (closed here; `path` is the cache entry's own name,
 * NULL elsewhere), announcing it first. Returns only when the exec failed:
 * PB_LAUNCH_REFUSED, detail "STRATEGY: why", when the kernel will not run these bytes from
 * anywhere; else PB_LAUNCH_UNAVAILABLE, detail "STRATEGY: WHERE: execveat: error" (without
 * "STRATEGY: " when `named` is 0: the tmpfile strategy lists its places under one name). */
static int exec_verified(pb_launch *l, int fd, const char *path, const char *strategy, const char *where, int named) {
    int refused;
    char why[512];
    announce(l, strategy, where);
    int err = exec_fd(fd, path, l->argv, l->envp, &refused, why, sizeof why);
    close(fd);
    if (refused) {
        say(l, "%s: %s", strategy, why);
        return PB_LAUNCH_REFUSED;
    }
    say(l, "%s%s%s%sexecveat: %s", named ? strategy : "", named ? ": " : "", where ? where : "",
        where ? ": " : "", strerror(err));
    return PB_LAUNCH_UNAVAILABLE;
}

/* One decoder for every strategy this launch tries: a delta's reference is decoded once
 * even when the first strategy fails after decoding. Exec replaces it all. */
static pb_decoder decoder;

/* Sizes the file, rebuilds the entry into it and verifies it. A memfd is decoded into
 * through a shared mapping (no second copy). A file on disk is decoded into a private buffer
 * and written with pwrite as the decode goes: the page cache then holds it in large folios,
 * which every later exec maps with fewer page faults than the page-sized ones a shared
 * mapping leaves behind (a warm cache launch of a 5 MB build: 2.66 ms against 2.39 ms,
 * tools/bench). Either way the process holds the build once, plus its reference.
 * Returns 0, or a pb_launch_result with the detail set. */
static int fill(pb_launch *l, int fd, const char *what, int on_disk) {
    pb_entry e;
    pb_bundle_entry(l->bundle, l->index, &e);
    if ((uint64_t)(size_t)e.size != e.size) {
        say(l, "%s: build too large for this address space", what);
        return PB_LAUNCH_UNAVAILABLE;
    }
    /* A size that lies about the stored frame is refused before that size is allocated. */
    pb_status checked = pb_entry_check(l->bundle, l->index);
    if (checked != PB_OK) {
        l->status = checked;
        say(l, "%s", pb_status_message(checked));
        return PB_LAUNCH_CORRUPT;
    }
    if (e.size > 0 && fallocate(fd, 0, 0, (off_t)e.size) != 0) {
        /* Reserve the blocks first: a full disk must fail here, not as SIGBUS mid-copy. */
        if (errno != EOPNOTSUPP && errno != ENOSYS) {
            say(l, "%s: fallocate: %s", what, strerror(errno));
            return PB_LAUNCH_UNAVAILABLE;
        }
        if (ftruncate(fd, (off_t)e.size) != 0) {
            say(l, "%s: ftruncate: %s", what, strerror(errno));
            return PB_LAUNCH_UNAVAILABLE;
        }
    }
    pb_fault_point("reserved");
    void *map = NULL;
    if (e.size > 0) {
        map = on_disk ? mmap(NULL, (size_t)e.size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                      : mmap(NULL, (size_t)e.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            say(l, "%s: mmap: %s", what, strerror(errno));
            return PB_LAUNCH_UNAVAILABLE;
        }
    }
    if (decoder.bundle != l->bundle) {
        pb_decoder_release(&decoder);
        decoder.bundle = l->bundle;
        decoder.release_input = 1;  /* the payload is part of this executable's own image */
    }
    int err = 0;
    pb_status status = pb_decode(&decoder, l->index, map, on_disk ? fd : -1, &err);
    if (map) munmap(map, (size_t)e.size);
    if (status == PB_E_WRITE) {
        say(l, "%s: write: %s", what, strerror(err));
        return PB_LAUNCH_UNAVAILABLE;
    }
    if (status == PB_E_NOMEM) {
        say(l, "%s: %s", what, pb_status_message(status));
        return PB_LAUNCH_UNAVAILABLE;
    }
    if (status != PB_OK) {
        l->status = status;
        say(l, "%s", pb_status_message(status));
        return PB_LAUNCH_CORRUPT;
    }
    return 0;
}

int pb_launch_memfd(pb_launch *l, const char *name) {
    pb_entry e;
    pb_bundle_entry(l->bundle, l->index, &e);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    /* A memfd is memory, not disk: a build that would take half of it is left to the disk
     * (unless its size is a lie, which fill reports as corruption). */
    if (pages > 0 && page > 0 && e.size > (uint64_t)pages * (uint64_t)page / 2 &&
        pb_entry_check(l->bundle, l->index) == PB_OK) {
        say(l, "memfd: the build (%llu bytes) exceeds half of this machine's memory", (unsigned long long)e.size);
        return PB_LAUNCH_UNAVAILABLE;
    }
    char label[250];
    snprintf(label, sizeof label, "polybin:%s", name);
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int fd = (int)syscall(SYS_memfd_create, label, flags | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = (int)syscall(SYS_memfd_create, label, flags);
    if (fd < 0) {
        say(l, "memfd: memfd_create: %s", strerror(errno));
        return PB_LAUNCH_UNAVAILABLE;
    }
    int result = fill(l, fd, "memfd", 0);
    if (result) {
        close(fd);
        return result;
    }
    /* Nobody, including this process, can change the verified bytes from here on. */
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    pb_fault_point("memfd-written");
    return exec_verified(l, fd, NULL, "memfd", NULL, 1);
}

/* A new file in `dir` that has no name while it is written, so a kill at any point leaves
 * nothing behind: O_TMPFILE, with a read-only descriptor reopened through /proc; else a
 * named temp file opened twice and unlinked before a byte is written. Returns the writable
 * descriptor and sets *rfd, the one to execute once the writable one is closed. */
static int open_unnamed(const char *dir, int *rfd) {
    int wfd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
    if (wfd >= 0) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", wfd);
        *rfd = open(proc, O_RDONLY | O_CLOEXEC);
        if (*rfd >= 0) return wfd;
        close(wfd);
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/polybin-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    wfd = mkostemp(path, O_CLOEXEC);
    if (wfd < 0) return -1;
    fchmod(wfd, 0700);
    *rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int err = errno;
    unlink(path);
    if (*rfd < 0) {
        close(wfd);
        errno = err;
        return -1;
    }
    return wfd;
}

int pb_launch_tmpfile(pb_launch *l, const char *const *dirs) {
    char tried[768] = "";
    size_t used = 0;
    for (; *dirs; dirs++) {
        if (!**dirs) continue;
        char place[600];
        int rfd = -1;
        int wfd = open_unnamed(*dirs, &rfd);
        if (wfd < 0) {
            snprintf(place, sizeof place, "%s: %s", *dirs, strerror(errno));
        } else {
            int result = fill(l, wfd, *dirs, 1);
            close(wfd);
            if (result) {
                close(rfd);
                if (result == PB_LAUNCH_CORRUPT) return result;
                snprintf(place, sizeof place, "%.500s", l->detail);
            } else {
                pb_fault_point("tmpfile-written");
                if (exec_verified(l, rfd, NULL, "tmpfile", *dirs, 0) == PB_LAUNCH_REFUSED) return PB_LAUNCH_REFUSED;
                snprintf(place, sizeof place, "%.500s", l->detail);
            }
        }
        int n = snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", place);
        if (n > 0 && (size_t)n < sizeof tried - used) used += (size_t)n;
    }
    say(l, "tmpfile: %s", used ? tried : "no temporary directory");
    return PB_LAUNCH_UNAVAILABLE;
}

/* ---- cache ---- */

/* What the kernel changes on any write, rename or chmod: compared on every warm launch. */
typedef struct { uint64_t dev, ino, size, ctime_sec, ctime_nsec; } entry_record;

static entry_record record_of(const struct stat *st) {
    entry_record r = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                      (uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec};
    return r;
}

static int private_to_me(const struct stat *st) {
    return st->st_uid == geteuid() && (st->st_mode & 022) == 0;
}

/* mkdir -p with 0700 for what it creates. */
static int make_dirs(const char *dir) {
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) return ENAMETOOLONG;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char saved = path[i];
        path[i] = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) return errno;
        path[i] = saved;
    }
    return 0;
}

static void hex(const uint8_t *digest, char out[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = 0;
}

static int read_record(int dfd, const char *name, entry_record *r) {
    struct stat st;
    int fd = pb_open_regular(dfd, name, &st);
    if (fd < 0) return -1;
    ssize_t n = read(fd, r, sizeof *r);
    close(fd);
    return n == (ssize_t)sizeof *r ? 0 : -1;
}

static void write_record(int dfd, const char *name, const entry_record *r) {
    char tmp[128];
    snprintf(tmp, sizeof tmp, ".tmp-%d-%s", (int)getpid(), name);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;
    int ok = write(fd, r, sizeof *r) == (ssize_t)sizeof *r;
    close(fd);
    if (!ok || renameat(dfd, tmp, dfd, name) != 0) unlinkat(dfd, tmp, 0);
}

typedef struct { char name[80]; uint64_t size; int64_t mtime; } cache_item;

static int by_age(const void *a, const void *b) {
    int64_t x = ((const cache_item *)a)->mtime, y = ((const cache_item *)b)->mtime;
    return x < y ? -1 : x > y;
}

/* 1 when `name` is `<64 lowercase hex digits>` followed exactly by `suffix`. */
static int is_hash_name(const char *name, const char *suffix) {
    for (int i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return 0;
    return strcmp(name + 64, suffix) == 0;
}

/* 1 for `.tmp-<pid>-<entry>` and `.tmp-<pid>-<entry>.rec`, the temp names this file writes. */
static int is_temp_name(const char *name) {
    if (strncmp(name, ".tmp-", 5) != 0) return 0;
    const char *p = name + 5;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    if (*p++ != '-' || strlen(p) < 64) return 0;
    return is_hash_name(p, "") || is_hash_name(p, ".rec");
}

/* Only names of this cache's own scheme are ever deleted: a cache directory may be shared
 * with, or pointed at, files that are not the cache's. Oldest entries go first until the directory fits; launches that already opened an
 * entry keep running (unlink leaves open descriptors valid). Temp files of killed runs
 * are removed after an hour. */
static void collect(int dfd, const char *keep, uint64_t max_bytes) {
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return;
    }
    size_t count = 0, cap = 0;
    cache_item *items = NULL;
    uint64_t total = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.')) continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        if (is_temp_name(de->d_name)) {
            if (now - st.st_mtime > 3600) unlinkat(dfd, de->d_name, 0);
            continue;
        }
        if (!is_hash_name(de->d_name, "") || strncmp(de->d_name, keep, 64) == 0) {
            total += (uint64_t)st.st_size;
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            cache_item *grown = realloc(items, cap * sizeof *items);
            if (!grown) break;
            items = grown;
        }
        snprintf(items[count].name, sizeof items[count].name, "%s", de->d_name);
        items[count].size = (uint64_t)st.st_size;
        items[count].mtime = (int64_t)st.st_mtime;
        total += (uint64_t)st.st_size;
        count++;
    }
    closedir(d);
    qsort(items, count, sizeof *items, by_age);
    for (size_t i = 0; i < count && total > max_bytes; i++) {
        char record[96];
        snprintf(record, sizeof record, "%s.rec", items[i].name);
        if (unlinkat(dfd, items[i].name, 0) == 0) total -= items[i].size;
        unlinkat(dfd, record, 0);
    }
    free(items);
}

int pb_launch_cache(pb_launch *l, const char *dir, uint64_t max_bytes) {
    /* The warm path opens the directory first; only a first run creates it. */
    int err = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 && errno == ENOENT) {
        if ((err = make_dirs(dir)) != 0) {
            say(l, "cache: %s: %s", dir, strerror(err));
            return PB_LAUNCH_UNAVAILABLE;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat st;
    if (dfd < 0 && (errno == ENOTDIR || errno == ELOOP) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* The directory itself, never a symlink to it, however the name is spelled (the
         * runner drops trailing slashes, which would make open follow it). */
        say(l, "cache: %s: is a symbolic link, not a directory: skipped (name the directory itself)", dir);
        return PB_LAUNCH_UNAVAILABLE;
    }
    if (dfd < 0 || fstat(dfd, &st) != 0) {
        say(l, "cache: %s: %s", dir, strerror(errno));
        if (dfd >= 0) close(dfd);
        return PB_LAUNCH_UNAVAILABLE;
    }
    if (!private_to_me(&st)) {
        say(l, "cache: %s: not a private directory of this user (owner or mode), skipped", dir);
        close(dfd);
        return PB_LAUNCH_UNAVAILABLE;
    }

    pb_entry e;
    pb_bundle_entry(l->bundle, l->index, &e);
    char name[65], record_name[80];
    hex(e.sha256, name);
    snprintf(record_name, sizeof record_name, "%s.rec", name);

    char entry_path[4200];
    snprintf(entry_path, sizeof entry_path, "%s/%s", dir, name);
    int fd = pb_open_regular(dfd, name, &st);
    if (fd >= 0) {
        entry_record want, have;
        if (private_to_me(&st) &&
            (uint64_t)st.st_size == e.size && read_record(dfd, record_name, &want) == 0 &&
            (have = record_of(&st), memcmp(&have, &want, sizeof have) == 0)) {
            close(dfd);
            return exec_verified(l, fd, entry_path, "cache", entry_path, 1);
        }
        close(fd);  /* missing record, or changed since it was verified: write it anew */
    }

    char tmp[128];
    snprintf(tmp, sizeof tmp, ".tmp-%d-%s", (int)getpid(), name);
    /* Unnamed while it is written (O_TMPFILE), so a kill mid-write leaves nothing; it gets its
     * temp name only once complete. Without O_TMPFILE or /proc, a named temp file, which
     * collect() removes an hour after a killed launch left it. */
    int unnamed = access("/proc/self/fd", X_OK) == 0;
    int wfd = unnamed ? openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0700) : -1;
    if (wfd < 0) {
        unnamed = 0;
        wfd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    }
    if (wfd < 0) {
        say(l, "cache: %s: %s", dir, strerror(errno));
        close(dfd);
        return PB_LAUNCH_UNAVAILABLE;
    }
    int result = fill(l, wfd, "cache", 1);
    if (!result) {
        pb_fault_point("cache-written");
        fchmod(wfd, 0500);
    }
    if (!result && unnamed) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", wfd);
        if (linkat(AT_FDCWD, proc, dfd, tmp, AT_SYMLINK_FOLLOW) != 0) {
            say(l, "cache: %s: link: %s", dir, strerror(errno));
            result = PB_LAUNCH_UNAVAILABLE;
        }
    }
    /* Opened under the private temp name: this descriptor is the verified inode, whatever
     * a concurrent launch renames over the final name. */
    int rfd = result ? -1 : openat(dfd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (!result && rfd < 0) {
        say(l, "cache: %s/%s: %s", dir, tmp, strerror(errno));
        result = PB_LAUNCH_UNAVAILABLE;
    }
    if (!result && renameat(dfd, tmp, dfd, name) != 0) {
        say(l, "cache: %s: rename: %s", dir, strerror(errno));
        result = PB_LAUNCH_UNAVAILABLE;
    }
    close(wfd);
    if (result) {
        unlinkat(dfd, tmp, 0);
        if (rfd >= 0) close(rfd);
        close(dfd);
        return result;
    }
    struct stat mine, current;
    if (fstat(rfd, &mine) == 0 && fstatat(dfd, name, &current, AT_SYMLINK_NOFOLLOW) == 0 &&
        mine.st_ino == current.st_ino && mine.st_dev == current.st_dev) {
        entry_record r = record_of(&mine);
        write_record(dfd, record_name, &r);
    }
    collect(dfd, name, max_bytes);
    close(dfd);
    return exec_verified(l, rfd, entry_path, "cache", entry_path, 1);
}
