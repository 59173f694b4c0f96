/* cmd_dev.c — `pressctl dev up|down`: the embedded stack in the background on free
 * loopback ports: pressroom-broker, redis-server, pressroom-renderer and the three
 * workers. `up` writes DIR/dev.env (read by the other subcommands) and DIR/pids;
 * `down` stops everything in reverse order (workers drain first). Dev and test only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fileio.h"
#include "pressctl.h"

#define MAX_PROCS 64
#define STOP_TIMEOUT_MS 40000

static const char *const WORKERS[] = {"preview-worker", "verifier-worker", "production-worker"};

typedef struct {
    char name[64];
    pid_t pid;
} proc_t;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *dev_dir(const char *arg) {
    if (arg) return arg;
    const char *d = getenv("PRESSROOM_DEV_DIR");
    return d && *d ? d : ".pressroom";
}

/* The folder holding pressctl, where the other binaries are built too. */
static void bin_dir(char *buf, size_t len) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(buf, len, ".");
        return;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(buf, len, "%s", exe);
}

/* A TCP port on 127.0.0.1 free right now (the kernel picks it). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static bool port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

/* Running (a zombie, dead but not yet reaped by an init that may never reap it,
 * does not count). */
static bool alive(pid_t pid) {
    if (kill(pid, 0) != 0 && errno != EPERM) return false;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *close_paren = strrchr(stat, ')'); /* "pid (comm) S ..." */
    return !(close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z');
}

/* Starts argv in its own session, output to logpath; returns the pid or -1. */
static pid_t spawn(char *const argv[], const char *logpath) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setsid();
        int in = open("/dev/null", O_RDONLY);
        int out = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0) dup2(in, 0);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static int read_pids(const char *dir, proc_t *procs) {
    char path[1024];
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    while (n < MAX_PROCS && fscanf(f, "%63s %d", procs[n].name, &procs[n].pid) == 2) n++;
    fclose(f);
    return n;
}

static void write_pids(const char *dir, const proc_t *procs, int n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/pids", dir);
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (int i = 0; i < n; i++) fprintf(f, "%s %d\n", procs[i].name, (int)procs[i].pid);
    fclose(f);
}

/* Is pid still the process we started (not a reused pid)? */
static bool is_ours(const proc_t *p) {
    if (!alive(p->pid)) return false;
    char path[64], cmd[512] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p->pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = 0;
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    char want[64];
    snprintf(want, sizeof want, "%s", p->name);
    char *dash = strrchr(want, '#');
    if (dash) *dash = 0;
    return strstr(base, want) != NULL;
}

/* Stops procs in reverse start order: SIGTERM, wait, then SIGKILL. */
static void stop_all(proc_t *procs, int n) {
    for (int i = n - 1; i >= 0; i--) {
        if (!is_ours(&procs[i])) continue;
        kill(procs[i].pid, SIGTERM);
        int waited = 0;
        while (alive(procs[i].pid) && waited < STOP_TIMEOUT_MS) {
            sleep_ms(50);
            waited += 50;
            /* reap when it is our child (dev up failing half way) */
            int st;
            if (waitpid(procs[i].pid, &st, WNOHANG) == procs[i].pid) break;
        }
        if (alive(procs[i].pid)) {
            fprintf(stderr, "pressctl: %s (pid %d) did not stop in time; killing it\n",
                    procs[i].name, (int)procs[i].pid);
            kill(procs[i].pid, SIGKILL);
        }
    }
}

/* The log of a started process: "preview-worker#0" logs to LOGS/preview-worker-0.log.
 * False for the services (no '#'), whose logs are named otherwise. */
static bool worker_log(const char *logs, const char *proc_name, char *path, size_t len) {
    char name[64];
    snprintf(name, sizeof name, "%s", proc_name);
    char *hash = strchr(name, '#');
    if (!hash) return false;
    *hash = '-';
    snprintf(path, len, "%s/%s.log", logs, name);
    return true;
}

/* The port a worker logged in its "admin_listening" line; 0 when not (yet) there. */
static unsigned admin_port(const char *logpath) {
    FILE *f = fopen(logpath, "r");
    if (!f) return 0;
    char line[2048];
    unsigned port = 0;
    while (!port && fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"event\":\"admin_listening\"")) continue;
        const char *p = strstr(line, "\"port\":\"");
        if (p) port = (unsigned)strtoul(p + 8, NULL, 10);
    }
    fclose(f);
    return port;
}

static void tail_log(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 2000 ? size - 2000 : 0, SEEK_SET);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    fprintf(stderr, "--- %s ---\n%s\n", path, buf);
}

static int dev_down(const char *dir) {
    proc_t procs[MAX_PROCS];
    int n = read_pids(dir, procs);
    if (n == 0) {
        fprintf(stderr, "pressctl: no stack running under %s\n", dir);
        return 0;
    }
    stop_all(procs, n);
    char path[1024];
    snprintf(path, sizeof path, "%s/pids", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/dev.env", dir);
    unlink(path);
    printf("stack under %s stopped\n", dir);
    return 0;
}

static int dev_up(const char *dir, const char *config_arg, int scale[3]) {
    proc_t procs[MAX_PROCS];
    int n = read_pids(dir, procs);
    for (int i = 0; i < n; i++) {
        if (is_ours(&procs[i])) {
            fprintf(stderr, "pressctl: a stack is already running under %s (%s, pid %d); "
                            "run `pressctl dev down` first\n", dir, procs[i].name, (int)procs[i].pid);
            return 1;
        }
    }
    n = 0;
    char config_path[PATH_MAX] = "";
    if (config_arg && !realpath(config_arg, config_path)) {
        fprintf(stderr, "pressctl: %s: %s\n", config_arg, strerror(errno));
        return 2;
    }
    config_t cfg;
    char err[1024];
    if (config_load(&cfg, config_path[0] ? config_path : NULL, err, sizeof err) != 0) {
        fprintf(stderr, "pressctl: %s\n", err);
        return 2;
    }
    char logs[1024], bins[PATH_MAX], abs_dir[PATH_MAX];
    if (mkdir_p(dir, 0755) != 0 || !realpath(dir, abs_dir)) {
        fprintf(stderr, "pressctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(logs, sizeof logs, "%s/logs", abs_dir);
    mkdir_p(logs, 0755);
    bin_dir(bins, sizeof bins);

    char blobs[PATH_MAX + 16];
    const char *env_blobs = getenv("PRESSROOM_BLOBS");
    if (env_blobs && *env_blobs) snprintf(blobs, sizeof blobs, "%s", env_blobs);
    else snprintf(blobs, sizeof blobs, "file://%s/blobs", abs_dir);

    /* Broker */
    char exe[PATH_MAX + 64], logpath[1200], bootstrap_file[1100];
    snprintf(bootstrap_file, sizeof bootstrap_file, "%s/bootstrap", abs_dir);
    unlink(bootstrap_file);
    snprintf(exe, sizeof exe, "%s/pressroom-broker", bins);
    snprintf(logpath, sizeof logpath, "%s/broker.log", logs);
    char *broker_argv[] = {exe, "--bootstrap-file", bootstrap_file, config_path[0] ? "--config" : NULL,
                           config_path, NULL};
    procs[n] = (proc_t){"pressroom-broker", spawn(broker_argv, logpath)};
    n++;
    char brokers[512] = "";
    for (int t = 0; t < 200 && !brokers[0]; t++) {
        FILE *f = fopen(bootstrap_file, "r");
        if (f) {
            if (!fgets(brokers, sizeof brokers, f)) brokers[0] = 0;
            brokers[strcspn(brokers, "\r\n")] = 0;
            fclose(f);
        }
        if (!brokers[0]) sleep_ms(50);
    }
    if (!brokers[0]) {
        fprintf(stderr, "pressctl: the broker did not start\n");
        tail_log(logpath);
        goto fail;
    }

    /* Redis */
    int redis_port = free_port();
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", redis_port);
    snprintf(logpath, sizeof logpath, "%s/redis.log", logs);
    char *redis_argv[] = {"redis-server", "--port", port_s, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", abs_dir, NULL};
    procs[n] = (proc_t){"redis-server", spawn(redis_argv, logpath)};
    n++;

    /* Renderer */
    int renderer_port = free_port();
    char listen_s[64];
    snprintf(listen_s, sizeof listen_s, "127.0.0.1:%d", renderer_port);
    snprintf(exe, sizeof exe, "%s/pressroom-renderer", bins);
    char renderer_log[1200];
    snprintf(renderer_log, sizeof renderer_log, "%s/renderer.log", logs);
    char truth_log[1200];
    snprintf(truth_log, sizeof truth_log, "%s/truth.jsonl", abs_dir);
    unlink(truth_log);
    char *renderer_argv[] = {exe, "--listen", listen_s, "--truth-log", truth_log,
                             config_path[0] ? "--config" : NULL, config_path, NULL};
    procs[n] = (proc_t){"pressroom-renderer", spawn(renderer_argv, renderer_log)};
    n++;
    write_pids(abs_dir, procs, n);
    bool up = false;
    for (int t = 0; t < 200 && !up; t++) {
        up = port_open(redis_port) && port_open(renderer_port);
        if (!up) sleep_ms(50);
    }
    if (!up) {
        fprintf(stderr, "pressctl: redis-server or the renderer did not start\n");
        tail_log(logpath);
        tail_log(renderer_log);
        goto fail;
    }

    /* The env file every other subcommand (and the workers) read. */
    char redis[64], renderer[80];
    snprintf(redis, sizeof redis, "127.0.0.1:%d", redis_port);
    snprintf(renderer, sizeof renderer, "http://127.0.0.1:%d", renderer_port);
    char envpath[1100];
    snprintf(envpath, sizeof envpath, "%s/dev.env", abs_dir);
    FILE *env = fopen(envpath, "w");
    if (!env) {
        fprintf(stderr, "pressctl: cannot write %s\n", envpath);
        goto fail;
    }
    fprintf(env, "PRESSROOM_BROKERS=%s\nPRESSROOM_REDIS=%s\nPRESSROOM_RENDERER=%s\nPRESSROOM_BLOBS=%s\n",
            brokers, redis, renderer, blobs);
    if (config_path[0]) fprintf(env, "PRESSROOM_CONFIG=%s\n", config_path);
    fclose(env);
    setenv("PRESSROOM_BROKERS", brokers, 1);
    setenv("PRESSROOM_REDIS", redis, 1);
    setenv("PRESSROOM_RENDERER", renderer, 1);
    setenv("PRESSROOM_BLOBS", blobs, 1);
    setenv("OMP_THREAD_LIMIT", "1", 1);

    /* Workers */
    for (int wi = 0; wi < 3; wi++) {
        for (int i = 0; i < scale[wi] && n < MAX_PROCS; i++) {
            snprintf(exe, sizeof exe, "%s/%s", bins, WORKERS[wi]);
            snprintf(logpath, sizeof logpath, "%s/%s-%d.log", logs, WORKERS[wi], i);
            /* Each worker's /healthz, /readyz, /metrics on a free loopback port. */
            char *wargv[] = {exe, "--metrics-listen", "127.0.0.1:0", config_path[0] ? "--config" : NULL,
                             config_path, NULL};
            procs[n] = (proc_t){"", spawn(wargv, logpath)};
            snprintf(procs[n].name, sizeof procs[n].name, "%s#%d", WORKERS[wi], i);
            n++;
        }
    }
    write_pids(abs_dir, procs, n);
    sleep_ms(500);
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(procs[i].pid, &st, WNOHANG) == procs[i].pid || !alive(procs[i].pid)) {
            fprintf(stderr, "pressctl: %s exited during start-up\n", procs[i].name);
            if (worker_log(logs, procs[i].name, logpath, sizeof logpath)) tail_log(logpath);
            goto fail;
        }
    }
    printf("stack up under %s (env: %s)\n  brokers  %s\n  redis    %s\n  renderer %s\n  blobs    %s\n"
           "  workers  preview x%d, verifier x%d, production x%d; logs in %s\n",
           abs_dir, envpath, brokers, redis, renderer, blobs, scale[0], scale[1], scale[2], logs);
    char console_workers[2048] = "";
    for (int i = 0; i < n; i++) {
        if (!worker_log(logs, procs[i].name, logpath, sizeof logpath)) continue;
        unsigned port = 0;
        for (int t = 0; t < 50 && !(port = admin_port(logpath)); t++) sleep_ms(100);
        if (!port) continue;
        printf("  metrics  %-20s http://127.0.0.1:%u/metrics (/healthz, /readyz)\n", procs[i].name, port);
        size_t used = strlen(console_workers);
        snprintf(console_workers + used, sizeof console_workers - used, "%s%s=http://127.0.0.1:%u", used ? "," : "",
                 procs[i].name, port);
    }
    /* The console: the workers' endpoints go into the env file, which it reads too. */
    int console_port = free_port();
    env = fopen(envpath, "a");
    if (env) {
        fprintf(env, "PRESSROOM_CONSOLE_WORKERS=%s\nPRESSROOM_CONSOLE=http://127.0.0.1:%d/\n", console_workers,
                console_port);
        fclose(env);
    }
    setenv("PRESSROOM_CONSOLE_WORKERS", console_workers, 1);
    snprintf(exe, sizeof exe, "%s/pressroom-console", bins);
    snprintf(logpath, sizeof logpath, "%s/console.log", logs);
    snprintf(listen_s, sizeof listen_s, "127.0.0.1:%d", console_port);
    char *console_argv[] = {exe, "--listen", listen_s, config_path[0] ? "--config" : NULL, config_path, NULL};
    if (n < MAX_PROCS) {
        procs[n] = (proc_t){"pressroom-console", spawn(console_argv, logpath)};
        n++;
        write_pids(abs_dir, procs, n);
        printf("  console  http://127.0.0.1:%d/ (fleet, lag, budgets, verdicts, dlq)\n", console_port);
    }
    /* The other commands find the stack through PRESSROOM_DEV_DIR (default .pressroom,
     * relative to where they run): this line makes them find it from anywhere. */
    printf("to use it from another shell or folder:\nexport PRESSROOM_DEV_DIR=%s\n", abs_dir);
    return 0;
fail:
    stop_all(procs, n);
    snprintf(envpath, sizeof envpath, "%s/pids", abs_dir);
    unlink(envpath);
    return 1;
}

int cmd_dev(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "up") && strcmp(argv[1], "down"))) {
        if (argc >= 2) fprintf(stderr, "pressctl dev: unknown subcommand \"%s\"\n", argv[1]);
        pressctl_usage(stderr, "dev", NULL);
        return 2;
    }
    const char *dir = NULL, *config = NULL;
    int scale[3] = {1, 1, 1};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            const char *s = argv[++i];
            const char *eq = strchr(s, '=');
            int found = 0;
            for (int w = 0; eq && w < 3; w++) {
                if (strlen(WORKERS[w]) == (size_t)(eq - s) && !strncmp(s, WORKERS[w], (size_t)(eq - s))) {
                    char *end;
                    long v = eq[1] >= '0' && eq[1] <= '9' ? strtol(eq + 1, &end, 10) : -1;
                    found = v >= 0 && v <= 16 && !*end;
                    if (found) scale[w] = (int)v;
                }
            }
            if (!found) {
                fprintf(stderr, "pressctl dev: --scale: expected WORKER=N with WORKER one of "
                                "preview-worker, verifier-worker, production-worker and N an integer "
                                "from 0 to 16, found \"%s\"\n", s);
                return 2;
            }
        } else {
            fprintf(stderr, "pressctl dev: unexpected argument \"%s\"%s\n", argv[i],
                    i + 1 == argc && argv[i][0] == '-' ? " (it expects a value)" : "");
            pressctl_usage(stderr, "dev", argv[1]);
            return 2;
        }
    }
    if (!strcmp(argv[1], "down")) return dev_down(dev_dir(dir));
    if (!config) config = getenv("PRESSROOM_CONFIG");
    return dev_up(dev_dir(dir), config, scale);
}
