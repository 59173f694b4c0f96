/* admin_http.c — /healthz, /readyz and /metrics from the worker's loop; see admin_http.h. */
#include "runtime/admin_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hostport.h"
#include "base/log.h"
#include "base/metrics.h"

struct admin_http {
    struct MHD_Daemon *daemon;
    admin_http_hooks_t hooks;
    int fd;
    unsigned port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             const char *body) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
    admin_http_t *a = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    if (!strcmp(url, "/healthz")) return reply(conn, MHD_HTTP_OK, "text/plain", "ok\n");
    if (!strcmp(url, "/readyz")) {
        const char *why = a->hooks.not_ready ? a->hooks.not_ready(a->hooks.ctx) : NULL;
        if (!why) return reply(conn, MHD_HTTP_OK, "text/plain", "ready\n");
        char body[256];
        snprintf(body, sizeof body, "not ready: %s\n", why);
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", body);
    }
    if (!strcmp(url, "/metrics")) {
        if (a->hooks.refresh) a->hooks.refresh(a->hooks.ctx);
        char *text = metrics_render();
        enum MHD_Result ok = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text);
        free(text);
        return ok;
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /healthz, /readyz, /metrics\n");
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_warn("admin_http_error", "msg", msg, NULL);
}

admin_http_t *admin_http_start(const char *addr, const admin_http_hooks_t *hooks, char *err,
                               size_t errlen) {
    struct sockaddr_in sa;
    if (listen_addr_parse(addr, &sa)) {
        snprintf(err, errlen, "metrics_listen: expected HOST:PORT with an IPv4 address, found \"%s\"", addr);
        return NULL;
    }
    admin_http_t *a = xcalloc(1, sizeof *a);
    if (hooks) a->hooks = *hooks;
    a->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, a,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL, MHD_OPTION_END);
    const union MHD_DaemonInfo *fd = a->daemon ? MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!fd) {
        snprintf(err, errlen, "metrics_listen: cannot listen on %s: %s", addr, strerror(errno));
        admin_http_stop(a);
        return NULL;
    }
    a->fd = fd->epoll_fd;
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
    a->port = port ? port->port : ntohs(sa.sin_port);
    char host[INET_ADDRSTRLEN], p[16];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    snprintf(p, sizeof p, "%u", a->port);
    log_info("admin_listening", "host", host, "port", p, "paths", "/healthz /readyz /metrics", NULL);
    return a;
}

int admin_http_fd(const admin_http_t *a) { return a->fd; }
unsigned admin_http_port(const admin_http_t *a) { return a->port; }
void admin_http_serve(admin_http_t *a) { MHD_run(a->daemon); }

void admin_http_stop(admin_http_t *a) {
    if (!a) return;
    if (a->daemon) MHD_stop_daemon(a->daemon);
    free(a);
}
