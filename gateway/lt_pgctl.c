/* lt_pgctl: initialise, start, share and stop the embedded PostgreSQL
 * cluster (see lt_pgctl.h for the sharing rule).
 *
 * Layout under data_dir:
 *   pg/              the cluster (PGDATA), owned by the user that runs it
 *   run/             its socket directory (or /tmp/lienthong-<hash> when the
 *                    path would not fit a Unix socket address)
 *   postgresql.log   the server's own log
 *   .start.lock      held exclusively while a process initialises or starts
 *   .users.lock      held shared by every process using the cluster
 *
 * Why the server is started directly and not with pg_ctl: it must run in its
 * own session (a Ctrl-C in the terminal is for the gateway, which then
 * finishes its work and stops the database itself) with a clean signal mask,
 * and without a shell between us and the arguments. */
#include "lt_pgctl.h"
#include "lt_fmt.h"
#include "lt_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_PORT          5432 /* only names the socket file; no TCP listener */
#define PG_DB            "lienthong"
#define PG_SUPERUSER     "lienthong"
#define START_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS  60000
#define START_ATTEMPTS   5 /* a killed server's children may hold shared memory briefly */

struct lt_pgctl {
    char data_dir[PATH_MAX]; /* absolute */
    char pgdata[PATH_MAX];   /* data_dir/pg */
    char rundir[PATH_MAX];   /* socket directory */
    char bindir[PATH_MAX];   /* initdb and postgres live here */
    char logfile[PATH_MAX];  /* server output */
    char conninfo[PATH_MAX + 128];
    uid_t uid; /* who runs the server */
    gid_t gid;
    bool drop_privileges; /* we are root and the server must not be */
    int users_fd;         /* shared flock for as long as we use the cluster */
    bool started_here;
};

static int path_join(char *buf, size_t cap, const char *a, const char *b)
{
    return lt_fmt(buf, cap, "%s/%s", a, b);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s", path);
    if (n <= 0 || (size_t)n >= sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int rm_rf(const char *path)
{
    if (access(path, F_OK) < 0)
        return 0;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool exists(const char *dir, const char *name)
{
    char p[PATH_MAX];
    return path_join(p, sizeof(p), dir, name) == 0 && access(p, F_OK) == 0;
}

/* Reads the command name and state of pid from /proc. Returns 0 or -1. */
static int proc_stat(pid_t pid, char *comm, size_t cap, char *ret_state)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open || close[1] != ' ' || !close[2])
        return -1;
    snprintf(comm, cap, "%.*s", (int)(close - open - 1), open + 1);
    *ret_state = close[2];
    return 0;
}

/* Alive and not a zombie, whatever it runs: a server we just forked may not
 * have reached exec yet. */
static bool pid_alive(pid_t pid)
{
    char comm[32], state = 0;
    if (pid <= 0 || proc_stat(pid, comm, sizeof(comm), &state) < 0)
        return false;
    return state != 'Z' && state != 'X';
}

/* A live postgres process, not some other program that got the pid after a
 * crash: the test that decides a postmaster.pid is stale. */
static bool pid_is_live_postgres(pid_t pid)
{
    char comm[32], state = 0;
    if (pid <= 0 || proc_stat(pid, comm, sizeof(comm), &state) < 0)
        return false;
    return strcmp(comm, "postgres") == 0 && state != 'Z' && state != 'X';
}

static pid_t read_pid_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[32];
    pid_t pid = -1;
    if (fgets(line, sizeof(line), f)) {
        char *end = NULL;
        long v = strtol(line, &end, 10);
        if (end != line && v > 0 && v < INT_MAX)
            pid = (pid_t)v;
    }
    fclose(f);
    return pid;
}

static int find_bindir(const lt_config *cfg, char *buf, size_t cap)
{
    static const char *candidates[] = {"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin",
                                       "/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin",
                                       "/usr/bin"};
    if (cfg->postgres.bin_dir[0]) {
        snprintf(buf, cap, "%s", cfg->postgres.bin_dir);
        return exists(buf, "postgres") && exists(buf, "initdb") ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (exists(candidates[i], "postgres") && exists(candidates[i], "initdb")) {
            snprintf(buf, cap, "%s", candidates[i]);
            return 0;
        }
    }
    return -1;
}

/* Unix socket addresses hold ~107 bytes. A deep data_dir gets its socket in a
 * per-data_dir directory under /tmp instead; every process derives the same
 * name from the same data_dir, so they still meet. */
static void choose_rundir(lt_pgctl *self)
{
    struct sockaddr_un sa;
    char sock[PATH_MAX];
    if (lt_fmt(self->rundir, sizeof(self->rundir), "%s/run", self->data_dir) == 0 &&
        lt_fmt(sock, sizeof(sock), "%s/.s.PGSQL.%d", self->rundir, PG_PORT) == 0 &&
        strlen(sock) < sizeof(sa.sun_path))
        return;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)self->data_dir, strlen(self->data_dir));
    char hex[17];
    sodium_bin2hex(hex, sizeof(hex), h, 8);
    snprintf(self->rundir, sizeof(self->rundir), "/tmp/lienthong-%s", hex);
}

/* Runs argv as the server's user in a new session, output appended to the
 * server log. With daemon set, the program is detached (double fork) and
 * its pid returned; otherwise we wait and return its exit status. */
static int run_as(const lt_pgctl *self, char *const argv[], bool daemon, pid_t *ret_pid)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t child = fork();
    if (child < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (child == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        int logfd = open(self->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        int nullfd = open("/dev/null", O_RDONLY);
        if (logfd < 0 || nullfd < 0)
            _exit(126);
        if (self->drop_privileges && fchown(logfd, self->uid, self->gid) < 0)
            _exit(126);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (self->drop_privileges &&
            (setgroups(0, NULL) < 0 || setgid(self->gid) < 0 || setuid(self->uid) < 0))
            _exit(126);
        if (chdir("/") < 0)
            _exit(126);
        if (daemon) {
            pid_t grandchild = fork();
            if (grandchild != 0) {
                ssize_t w = write(pfd[1], &grandchild, sizeof(grandchild));
                _exit(grandchild > 0 && w == (ssize_t)sizeof(grandchild) ? 0 : 127);
            }
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (daemon && rc == 0) {
        pid_t pid = -1;
        rc = read(pfd[0], &pid, sizeof(pid)) == (ssize_t)sizeof(pid) ? 0 : -1;
        if (ret_pid)
            *ret_pid = pid;
    }
    close(pfd[0]);
    return rc;
}

/* Root can read anything, so whether the server's user can reach data_dir
 * is checked as that user, to fail early with a sentence rather than with
 * initdb's "permission denied" deep in a log. */
static bool server_user_can_enter(const lt_pgctl *self)
{
    if (!self->drop_privileges)
        return true;
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, NULL) < 0 || setgid(self->gid) < 0 || setuid(self->uid) < 0)
            _exit(1);
        _exit(access(self->data_dir, X_OK) == 0 ? 0 : 1);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int own_dir(const lt_pgctl *self, const char *dir, mode_t mode)
{
    if (mkdir(dir, mode) < 0 && errno != EEXIST)
        return -1;
    if (self->drop_privileges && chown(dir, self->uid, self->gid) < 0)
        return -1;
    return chmod(dir, mode);
}

/* initdb writes into a scratch directory renamed into place when complete,
 * so a crash during initialisation leaves nothing that looks like a cluster. */
static int init_cluster(lt_pgctl *self, char *err, size_t cap)
{
    char tmp[PATH_MAX], initdb[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.init-tmp", self->pgdata) >= (int)sizeof(tmp) ||
        path_join(initdb, sizeof(initdb), self->bindir, "initdb") < 0)
        return lt_errf(err, cap, "data_dir path is too long");
    if (rm_rf(tmp) < 0)
        return lt_errf(err, cap, "cannot remove the unfinished cluster %s: %s", tmp,
                       strerror(errno));
    if (access(self->pgdata, F_OK) == 0) {
        /* pg/ without PG_VERSION is not a cluster: set it aside, never delete. */
        char aside[PATH_MAX];
        lt_fmt(aside, sizeof(aside), "%s.incomplete-%ld", self->pgdata, (long)time(NULL));
        if (rename(self->pgdata, aside) < 0)
            return lt_errf(err, cap, "cannot move aside %s: %s", self->pgdata, strerror(errno));
        LT_WARN("moved an incomplete cluster directory aside to %s", aside);
    }
    if (own_dir(self, tmp, 0700) < 0)
        return lt_errf(err, cap, "cannot create %s: %s", tmp, strerror(errno));
    LT_INFO("initialising the embedded PostgreSQL cluster in %s", self->pgdata);
    char *argv[] = {initdb,
                    "-D",
                    tmp,
                    "-U",
                    PG_SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--data-checksums",
                    "--no-instructions",
                    NULL};
    int rc = run_as(self, argv, false, NULL);
    if (rc != 0) {
        rm_rf(tmp);
        return lt_errf(err, cap, "initdb failed (exit %d); see %s", rc, self->logfile);
    }
    if (rename(tmp, self->pgdata) < 0)
        return lt_errf(err, cap, "cannot rename %s: %s", tmp, strerror(errno));
    return 0;
}

static PGPing ping(const lt_pgctl *self)
{
    char ci[PATH_MAX + 64];
    lt_fmt(ci, sizeof(ci), "host=%s port=%d dbname=postgres user=%s connect_timeout=5",
           self->rundir, PG_PORT, PG_SUPERUSER);
    return PQping(ci);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* After a crash the pid files may name a dead process, or one that reused
 * the pid; PostgreSQL refuses to start over a pid file whose pid is alive. */
static void clear_stale_pid_files(const lt_pgctl *self)
{
    char paths[2][PATH_MAX];
    if (path_join(paths[0], sizeof(paths[0]), self->pgdata, "postmaster.pid") < 0 ||
        lt_fmt(paths[1], sizeof(paths[1]), "%s/.s.PGSQL.%d.lock", self->rundir, PG_PORT) < 0)
        return;
    for (int i = 0; i < 2; i++) {
        pid_t pid = read_pid_file(paths[i]);
        if (pid > 0 && !pid_is_live_postgres(pid)) {
            LT_WARN("removing stale %s (pid %d is not running)", paths[i], (int)pid);
            unlink(paths[i]);
        }
    }
}

static int wait_ready(const lt_pgctl *self, pid_t pid)
{
    int64_t waited = 0;
    while (waited < START_TIMEOUT_MS) {
        if (ping(self) == PQPING_OK)
            return 0;
        waitpid(pid, NULL, WNOHANG); /* reap it if it died as our child */
        if (pid > 0 && !pid_alive(pid))
            return -1;
        sleep_ms(100);
        waited += 100;
    }
    return -1;
}

static int start_server(lt_pgctl *self, char *err, size_t cap)
{
    char postgres[PATH_MAX], sockdir_opt[PATH_MAX + 32], port_opt[32];
    if (path_join(postgres, sizeof(postgres), self->bindir, "postgres") < 0)
        return lt_errf(err, cap, "bin_dir path is too long");
    snprintf(sockdir_opt, sizeof(sockdir_opt), "unix_socket_directories=%s", self->rundir);
    snprintf(port_opt, sizeof(port_opt), "port=%d", PG_PORT);
    char *argv[] = {postgres,
                    "-D",
                    self->pgdata,
                    "-c",
                    "listen_addresses=",
                    "-c",
                    sockdir_opt,
                    "-c",
                    port_opt,
                    "-c",
                    "unix_socket_permissions=0700",
                    NULL};
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        clear_stale_pid_files(self);
        pid_t pid = -1;
        if (run_as(self, argv, true, &pid) != 0)
            return lt_errf(err, cap, "cannot start %s", postgres);
        if (wait_ready(self, pid) == 0) {
            LT_INFO("embedded PostgreSQL started (pid %d, socket in %s)", (int)pid, self->rundir);
            self->started_here = true;
            return 0;
        }
        if (pid_alive(pid)) {
            kill(pid, SIGQUIT);
            return lt_errf(err, cap, "PostgreSQL did not become ready within %d s; see %s",
                           START_TIMEOUT_MS / 1000, self->logfile);
        }
        LT_WARN("embedded PostgreSQL exited during start (attempt %d of %d); see %s", attempt,
                START_ATTEMPTS, self->logfile);
        sleep_ms(1000);
    }
    return lt_errf(err, cap, "PostgreSQL failed to start %d times; see %s", START_ATTEMPTS,
                   self->logfile);
}

static int ensure_database(const lt_pgctl *self, char *err, size_t cap)
{
    char ci[PATH_MAX + 64];
    lt_fmt(ci, sizeof(ci), "host=%s port=%d dbname=postgres user=%s connect_timeout=10",
           self->rundir, PG_PORT, PG_SUPERUSER);
    PGconn *c = PQconnectdb(ci);
    PGresult *r = NULL;
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        lt_errf(err, cap, "cannot connect to the embedded cluster: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = '" PG_DB "'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        lt_errf(err, cap, "cannot list databases: %s", PQerrorMessage(c));
        goto out;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        r = PQexec(c, "CREATE DATABASE " PG_DB);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            lt_errf(err, cap, "cannot create database %s: %s", PG_DB, PQerrorMessage(c));
            goto out;
        }
        LT_INFO("created database %s in the embedded cluster", PG_DB);
    }
    rc = 0;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int open_lock(const lt_pgctl *self, const char *name)
{
    char p[PATH_MAX];
    if (path_join(p, sizeof(p), self->data_dir, name) < 0)
        return -1;
    /* CLOEXEC: the server we start must not inherit, and so pin, our locks. */
    return open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static int lock(int fd, int op)
{
    int rc;
    while ((rc = flock(fd, op)) < 0 && errno == EINTR)
        ;
    return rc;
}

static int setup_paths(lt_pgctl *self, const lt_config *cfg, char *err, size_t cap)
{
    if (mkdir_p(cfg->data_dir, 0755) < 0)
        return lt_errf(err, cap, "cannot create data_dir %s: %s", cfg->data_dir, strerror(errno));
    if (!realpath(cfg->data_dir, self->data_dir))
        return lt_errf(err, cap, "cannot resolve data_dir %s: %s", cfg->data_dir, strerror(errno));
    if (strlen(self->data_dir) > PATH_MAX - 64)
        return lt_errf(err, cap, "data_dir path is too long");
    if (path_join(self->pgdata, sizeof(self->pgdata), self->data_dir, "pg") < 0 ||
        path_join(self->logfile, sizeof(self->logfile), self->data_dir, "postgresql.log") < 0)
        return lt_errf(err, cap, "data_dir path is too long");
    choose_rundir(self);
    if (find_bindir(cfg, self->bindir, sizeof(self->bindir)) < 0)
        return lt_errf(err, cap,
                       "PostgreSQL server binaries not found (set postgres.bin_dir, or install "
                       "postgresql-15 with deploy/install-deps.sh)");
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(cfg->postgres.user);
        if (!pw)
            return lt_errf(err, cap,
                           "postgres.user %s does not exist; PostgreSQL refuses to run as root",
                           cfg->postgres.user);
        if (pw->pw_uid == 0)
            return lt_errf(err, cap, "postgres.user must not be root");
        self->uid = pw->pw_uid;
        self->gid = pw->pw_gid;
        self->drop_privileges = true;
    } else {
        self->uid = geteuid();
        self->gid = getegid();
    }
    if (!server_user_can_enter(self))
        return lt_errf(err, cap,
                       "user %s cannot enter data_dir %s; choose a data_dir whose parent "
                       "directories it may traverse (e.g. under /var/lib or /tmp)",
                       cfg->postgres.user, self->data_dir);
    snprintf(self->conninfo, sizeof(self->conninfo),
             "host=%s port=%d dbname=%s user=%s application_name=lienthong", self->rundir, PG_PORT,
             PG_DB, PG_SUPERUSER);
    return 0;
}

int lt_pgctl_acquire(const lt_config *cfg, lt_pgctl **ret_self, char *err, size_t err_cap)
{
    lt_pgctl *self = calloc(1, sizeof(*self));
    int start_fd = -1;
    if (!self)
        return lt_errf(err, err_cap, "out of memory");
    /* The server is double-forked into its own session; as a subreaper we
     * become its parent again and can reap it when we stop it, instead of
     * leaving a zombie under an init that may not reap. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    self->users_fd = -1;
    if (setup_paths(self, cfg, err, err_cap) < 0)
        goto bad;
    start_fd = open_lock(self, ".start.lock");
    self->users_fd = open_lock(self, ".users.lock");
    if (start_fd < 0 || self->users_fd < 0) {
        lt_errf(err, err_cap, "cannot open lock files in %s: %s", self->data_dir, strerror(errno));
        goto bad;
    }
    /* Order matters: starters queue on .start.lock; the shared lock on
     * .users.lock waits for a process that is stopping the cluster. */
    if (lock(start_fd, LOCK_EX) < 0 || lock(self->users_fd, LOCK_SH) < 0) {
        lt_errf(err, err_cap, "cannot lock %s: %s", self->data_dir, strerror(errno));
        goto bad;
    }
    if (own_dir(self, self->rundir, 0700) < 0) {
        lt_errf(err, err_cap, "cannot create socket directory %s: %s", self->rundir,
                strerror(errno));
        goto bad;
    }
    if (!exists(self->pgdata, "PG_VERSION") && init_cluster(self, err, err_cap) < 0)
        goto bad;
    PGPing p = ping(self);
    if (p == PQPING_REJECT) {
        /* Starting up or shutting down: give it the start timeout. */
        if (wait_ready(self, lt_pgctl_postmaster_pid(self)) == 0)
            p = PQPING_OK;
    }
    if (p != PQPING_OK && start_server(self, err, err_cap) < 0)
        goto bad;
    if (ensure_database(self, err, err_cap) < 0)
        goto bad;
    close(start_fd);
    *ret_self = self;
    return 0;
bad:
    if (start_fd >= 0)
        close(start_fd);
    lt_pgctl_release(&self);
    return -1;
}

const char *lt_pgctl_conninfo(const lt_pgctl *self)
{
    return self->conninfo;
}

bool lt_pgctl_started_here(const lt_pgctl *self)
{
    return self->started_here;
}

pid_t lt_pgctl_postmaster_pid(const lt_pgctl *self)
{
    char pidfile[PATH_MAX];
    if (path_join(pidfile, sizeof(pidfile), self->pgdata, "postmaster.pid") < 0)
        return -1;
    return read_pid_file(pidfile);
}

static void stop_server(const lt_pgctl *self)
{
    pid_t pid = lt_pgctl_postmaster_pid(self);
    if (!pid_is_live_postgres(pid))
        return;
    /* SIGINT is PostgreSQL's fast shutdown: open transactions roll back,
     * committed ones are already durable. */
    kill(pid, SIGINT);
    for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 50) {
        waitpid(pid, NULL, WNOHANG); /* ours when we are its subreaper */
        if (!pid_is_live_postgres(pid)) {
            LT_INFO("embedded PostgreSQL stopped");
            return;
        }
        sleep_ms(50);
    }
    LT_WARN("embedded PostgreSQL did not stop within %d s; sending SIGQUIT",
            STOP_TIMEOUT_MS / 1000);
    kill(pid, SIGQUIT);
}

void lt_pgctl_release(lt_pgctl **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_pgctl *self = *self_p;
    if (self->users_fd >= 0) {
        /* The last user out stops the cluster; if anyone else holds a shared
         * lock, the exclusive attempt fails and the cluster keeps running. */
        if (flock(self->users_fd, LOCK_EX | LOCK_NB) == 0)
            stop_server(self);
        close(self->users_fd);
    }
    free(self);
    *self_p = NULL;
}
