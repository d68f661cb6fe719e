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
 *
 *   skills-sandbox-stage -z FD:BASE
 *
 * The warm launcher of one worker slot (bubblewrap, as root): run by a long-lived bwrap that holds
 * the filesystem view (read-only root, hidden home, the interpreter mounted back, a minimal /dev),
 * with CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID and CAP_SETPCAP. BASE is where the
 * slot's work dirs are mounted in that view. For each request on the SOCK_SEQPACKET socket FD
 * ("run UID GID SHM_BYTES NAME RESOURCE:SOFT:HARD..." with the program's stdin, stdout and stderr
 * and a status pipe attached) it clones a process into fresh PID, mount, IPC and network
 * namespaces and answers "pid N" (its pid here). That process is the namespace's first: it mounts
 * a new /proc (sys, sysrq-trigger, irq and bus read-only, as bwrap does), a private /dev/shm of
 * SHM_BYTES, BASE/NAME/work on /tmp, detaches BASE, brings the loopback up, drops every capability
 * and waits for its one child, which starts a new session, takes the three descriptors, and goes
 * on as in the -i mode above (limits, uid drop, go message, exec) in /tmp. When the child has
 * ended it writes the child's wait status on the status pipe and exits, and the rest of the
 * namespace dies with it. It dies with the launcher (PR_SET_PDEATHSIG), the launcher with its bwrap.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static void close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first, ~0U, 0) == 0)
        return;
#endif
    DIR *fds = opendir("/proc/self/fd"); /* kernels before 5.9 */
    if (!fds)
        fail("listing open descriptors");
    struct dirent *entry;
    int own = dirfd(fds);
    while ((entry = readdir(fds)) != NULL) {
        int fd = atoi(entry->d_name);
        if (fd >= first && fd != own)
            close(fd);
    }
    closedir(fds);
}

static void close_others(void) {
    close_from(3);
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

/* ---------------------------------------------------------------- the warm launcher (-z) */

static void clear_capabilities(void) {
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
            fail("emptying the capability bounding set");
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    memset(caps, 0, sizeof caps);
    if (syscall(SYS_capset, &header, caps))
        fail("clearing capabilities");
}

static void mount_or_fail(const char *source, const char *target, const char *type, unsigned long flags,
                          const char *data) {
    if (mount(source, target, type, flags, data)) {
        fprintf(stderr, "sandbox stage: mounting %s: %s\n", target, strerror(errno));
        _exit(126);
    }
}

static void bind_read_only(const char *path) {
    mount_or_fail(path, path, NULL, MS_BIND | MS_REC, NULL);
    mount_or_fail(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void loopback_up(void) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, "lo");
    if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &request))
        fail("loopback");
    request.ifr_flags |= IFF_UP; /* the kernel gives it 127.0.0.1 and ::1 */
    if (ioctl(sock, SIOCSIFFLAGS, &request))
        fail("loopback up");
    close(sock);
}

struct request {
    char uid[48];
    unsigned long long shm;
    char name[64];
    char limits[16][80];
    int nlimits;
    int fds[4]; /* stdin, stdout, stderr of the program; the status pipe */
};

static int parse_request(char *text, struct request *req) {
    char *save = NULL, *word = strtok_r(text, " ", &save);
    if (!word || strcmp(word, "run"))
        return -1;
    char *uid = strtok_r(NULL, " ", &save), *gid = strtok_r(NULL, " ", &save);
    char *shm = strtok_r(NULL, " ", &save), *name = strtok_r(NULL, " ", &save);
    if (!uid || !gid || !shm || !name || strlen(uid) + strlen(gid) + 2 > sizeof req->uid
        || strlen(name) >= sizeof req->name || !name[0] || strspn(name, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(name))
        return -1;
    req->uid[0] = '\0';
    if (strcmp(uid, "-") && (size_t)snprintf(req->uid, sizeof req->uid, "%s:%s", uid, gid) >= sizeof req->uid)
        return -1;
    const char *rest;
    req->shm = number(shm, '\0', &rest);
    strcpy(req->name, name);
    req->nlimits = 0;
    while ((word = strtok_r(NULL, " ", &save)) != NULL) {
        if (req->nlimits == 16 || strlen(word) >= sizeof req->limits[0])
            return -1;
        strcpy(req->limits[req->nlimits++], word);
    }
    return 0;
}

/* The first process of one execution's namespaces; never returns. */
static void run_first(const struct request *req, const char *base) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
        _exit(126);
    if (dup2(req->fds[2], 2) < 0) /* its errors go where the program's would */
        _exit(126);
    mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    static const char *const covered[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"};
    for (size_t i = 0; i < sizeof covered / sizeof *covered; i++) {
        if (access(covered[i], W_OK) < 0) {
            if (errno == EACCES || errno == ENOENT || errno == EROFS)
                continue; /* already read-only, or not there */
            fail("checking /proc");
        }
        bind_read_only(covered[i]);
    }
    char options[64], work[PATH_MAX];
    snprintf(options, sizeof options, "mode=1777,size=%llu", req->shm);
    mount_or_fail("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, options);
    if ((size_t)snprintf(work, sizeof work, "%s/%s/work", base, req->name) >= sizeof work)
        fail_usage("work dir path too long");
    mount_or_fail(work, "/tmp", NULL, MS_BIND | MS_REC, NULL);
    mount_or_fail(NULL, "/tmp", NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL);
    if (umount2(base, MNT_DETACH)) /* the slot's other work dirs: out of sight */
        fail("detaching the work dirs");
    loopback_up();
    signal(SIGCHLD, SIG_DFL); /* the launcher ignores it (the kernel reaps its children) */
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        if (setsid() < 0)
            fail("setsid");
        for (int fd = 0; fd < 3; fd++)
            if (dup2(req->fds[fd], fd) < 0)
                fail("dup2");
        for (int i = 0; i < req->nlimits; i++)
            set_limit(req->limits[i]);
        if (req->uid[0])
            drop_to(req->uid);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
            fail("no_new_privs");
        close_others();
        if (chdir("/tmp"))
            fail("chdir /tmp");
        char **command = read_go();
        execvp(command[0], command);
        int code = errno == ENOENT ? 127 : 126;
        fprintf(stderr, "sandbox stage: %s: %s\n", command[0], strerror(errno));
        _exit(code);
    }
    clear_capabilities(); /* it only waits now: root's uid, nothing more */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    if (dup2(req->fds[3], 3) < 0)
        _exit(126);
    close_from(4); /* the status pipe, 3, stays */
    int status = 0;
    for (;;) {
        pid_t done = waitpid(-1, &status, 0);
        if (done == child)
            break;
        if (done < 0 && errno != EINTR)
            _exit(126);
    }
    char text[32];
    int length = snprintf(text, sizeof text, "%d\n", status);
    if (write(3, text, (size_t)length) != length)
        _exit(126);
    _exit(0); /* the rest of the namespace dies with us */
}

static void answer(int control, const char *text) {
    if (send(control, text, strlen(text), MSG_NOSIGNAL) < 0)
        _exit(0); /* the caller is gone */
}

static void zygote(const char *spec) {
    const char *base;
    int control = (int)number(spec, ':', &base);
    if (!base[0])
        fail_usage("-z needs FD:BASE");
    signal(SIGCHLD, SIG_IGN); /* executions report through their status pipe; the kernel reaps them */
    for (;;) {
        char text[2048];
        char space[CMSG_SPACE(4 * sizeof(int))];
        struct iovec part = {text, sizeof text - 1};
        struct msghdr message = {0};
        message.msg_iov = &part;
        message.msg_iovlen = 1;
        message.msg_control = space;
        message.msg_controllen = sizeof space;
        ssize_t size = recvmsg(control, &message, MSG_CMSG_CLOEXEC);
        if (size < 0 && errno == EINTR)
            continue;
        if (size <= 0)
            _exit(0); /* the sandbox closed this slot */
        text[size] = '\0';
        struct request req;
        int nfds = 0;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        if (header && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            nfds = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(req.fds, CMSG_DATA(header), (nfds < 4 ? nfds : 4) * sizeof(int));
        }
        if (nfds != 4 || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || parse_request(text, &req)) {
            for (int i = 0; i < nfds && i < 4; i++)
                close(req.fds[i]);
            answer(control, "error bad request");
            continue;
        }
        pid_t first = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD,
                                     NULL, NULL, NULL, NULL);
        if (first == 0) {
            close(control);
            run_first(&req, base);
        }
        int clone_errno = errno;
        for (int i = 0; i < 4; i++)
            close(req.fds[i]);
        char reply[64];
        if (first < 0)
            snprintf(reply, sizeof reply, "error clone: %s", strerror(clone_errno));
        else
            snprintf(reply, sizeof reply, "pid %d", (int)first);
        answer(control, reply);
    }
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
        } else if (!strncmp(arg, "-z", 2) && i == 1 && argc == 2) {
            zygote(arg + 2);
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
