/* The sandbox's stage: the last step of a launch chain (skills/sandbox/launcher.py), in one exec.
 *
 *   skills-sandbox-stage [-l RESOURCE:SOFT:HARD]... [-u UID:GID] -i
 *   skills-sandbox-stage [-l RESOURCE:SOFT:HARD]... [-u UID:GID] [-e NAME=VALUE]... -- COMMAND [ARG]...
 *
 * In this order: sets each resource limit (RESOURCE: this machine's RLIMIT_* number); with -u,
 * as root, empties the capability bounding set, drops every supplementary group, sets the real,
 * effective and saved gid and uid, clears every capability (permitted, effective, inheritable,
 * ambient) and checks all of it; sets no_new_privs; closes every descriptor above 2. Then, with
 * -i, it reads the go message from stdin: a decimal byte count and a newline, then that many bytes
 * of NUL-terminated fields, "a" + an argument of the command or "e" + NAME=VALUE for its
 * environment; the rest of stdin is the program's. Nothing of the request is read before the uid
 * drop. Finally it executes the command (searched in PATH).
 *
 * Exit status when no program ran: 125 stdin ended before the go message (a launch never used),
 * 126 a step failed or the command cannot be executed, 127 the command was not found.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_GO (64u << 20) /* the go message of one execution: its arguments and variables */

static void fail(const char *what) {
    fprintf(stderr, "sandbox stage: %s: %s\n", what, strerror(errno));
    _exit(126);
}

static void fail_usage(const char *what) {
    fprintf(stderr, "sandbox stage: %s\n", what);
    _exit(126);
}

static unsigned long long number(const char *text, char stop, const char **rest) {
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text || *end != stop || *text == '-')
        fail_usage("bad number in an option");
    *rest = end + 1;
    return value;
}

static void set_limit(const char *spec) {
    const char *rest;
    unsigned long long res = number(spec, ':', &rest);
    unsigned long long soft = number(rest, ':', &rest);
    unsigned long long hard = number(rest, '\0', &rest);
    struct rlimit value = {(rlim_t)soft, (rlim_t)hard};
    if (res >= RLIM_NLIMITS || soft > hard)
        fail_usage("bad resource limit");
    if (setrlimit((int)res, &value))
        fail("setrlimit");
}

static void drop_to(const char *spec) {
    const char *rest;
    unsigned long long uid = number(spec, ':', &rest);
    unsigned long long gid = number(rest, '\0', &rest);
    if (uid == 0 || gid == 0 || uid >= UINT_MAX || gid >= UINT_MAX)
        fail_usage("the uid and gid to drop to must not be root's");
    for (int cap = 0; cap < 64; cap++) /* needs CAP_SETPCAP: before the uid changes */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
            fail("emptying the capability bounding set");
    if (setgroups(0, NULL))
        fail("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid))
        fail("setresgid");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid))
        fail("setresuid");
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    memset(caps, 0, sizeof caps);
    if (syscall(SYS_capset, &header, caps))
        fail("clearing capabilities");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
        fail("clearing ambient capabilities");
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid) || getgroups(0, NULL) != 0
        || ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
        fail_usage("the uid drop did not hold");
    memset(caps, 0xff, sizeof caps);
    if (syscall(SYS_capget, &header, caps))
        fail("capget");
    for (int i = 0; i < 2; i++)
        if (caps[i].permitted || caps[i].effective || caps[i].inheritable)
            fail_usage("capabilities left after the uid drop");
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
            fail_usage("capability bounding set not empty");
}

static void close_others(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3, ~0U, 0) == 0)
        return;
#endif
    DIR *fds = opendir("/proc/self/fd"); /* kernels before 5.9 */
    if (!fds)
        fail("listing open descriptors");
    struct dirent *entry;
    int own = dirfd(fds);
    while ((entry = readdir(fds)) != NULL) {
        int fd = atoi(entry->d_name);
        if (fd > 2 && fd != own)
            close(fd);
    }
    closedir(fds);
}

static int read_full(char *buffer, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(0, buffer + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* The go message from stdin, read without going past its end; returns the command's argv. */
static char **read_go(void) {
    char header[24];
    size_t length = 0;
    for (;;) {
        if (length == sizeof header - 1 || read_full(header + length, 1))
            _exit(125);
        if (header[length] == '\n')
            break;
        length++;
    }
    header[length] = '\0';
    const char *rest;
    unsigned long long size = number(header, '\0', &rest);
    if (size == 0 || size > MAX_GO)
        fail_usage("bad go message");
    char *message = malloc(size + 1);
    if (!message)
        fail("malloc");
    if (read_full(message, size))
        _exit(125);
    if (message[size - 1] != '\0')
        fail_usage("bad go message");
    size_t count = 0;
    for (size_t at = 0; at < size; at += strlen(message + at) + 1)
        count++;
    char **argv = calloc(count + 1, sizeof *argv);
    if (!argv)
        fail("calloc");
    size_t args = 0;
    for (size_t at = 0; at < size; at += strlen(message + at) + 1) {
        char *field = message + at;
        if (field[0] == 'a') {
            argv[args++] = field + 1;
        } else if (field[0] == 'e' && strchr(field + 2, '=')) {
            if (putenv(field + 1))
                fail("putenv");
        } else {
            fail_usage("bad go message");
        }
    }
    if (args == 0)
        fail_usage("the go message has no command");
    argv[args] = NULL;
    return argv;
}

int main(int argc, char **argv) {
    int from_stdin = 0, i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--")) {
            i++;
            break;
        }
        if (!strcmp(arg, "-i")) {
            from_stdin = 1;
        } else if (!strncmp(arg, "-l", 2)) {
            set_limit(arg + 2);
        } else if (!strncmp(arg, "-u", 2)) {
            drop_to(arg + 2);
        } else if (!strncmp(arg, "-e", 2) && strchr(arg + 3, '=')) {
            continue; /* direct mode: set below, after the uid drop */
        } else {
            fail_usage("unknown option");
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        fail("no_new_privs");
    close_others();
    char **command;
    if (from_stdin) {
        if (i < argc)
            fail_usage("-i takes its command from stdin");
        command = read_go();
    } else {
        if (i >= argc)
            fail_usage("no command");
        for (int j = 1; j < i; j++)
            if (!strncmp(argv[j], "-e", 2) && putenv(argv[j] + 2))
                fail("putenv");
        command = argv + i;
    }
    execvp(command[0], command);
    int code = errno == ENOENT ? 127 : 126;
    fprintf(stderr, "sandbox stage: %s: %s\n", command[0], strerror(errno));
    _exit(code);
}
