/* blob_pool.c — threads running blob store calls for a loop; see blob_pool.h. */
#include "blob/blob_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/alloc.h"

typedef struct call {
    struct call *next;
    char uri[1024];
    const void *data;
    size_t len;
    blob_done_t done;
} call_t;

typedef struct {
    call_t *head, *tail;
} queue_t;

struct blob_pool {
    const blob_store_t *store;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    queue_t in, out;
    int pending; /* submitted, not yet taken */
    bool stopping;
    int efd;
};

static void push(queue_t *q, call_t *c) {
    c->next = NULL;
    if (q->tail) q->tail->next = c;
    else q->head = c;
    q->tail = c;
}

static call_t *pop(queue_t *q) {
    call_t *c = q->head;
    if (c && !(q->head = c->next)) q->tail = NULL;
    return c;
}

static void *serve(void *arg) {
    blob_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stopping && !p->in.head) pthread_cond_wait(&p->cond, &p->mu);
        if (p->stopping) break;
        call_t *c = pop(&p->in);
        pthread_mutex_unlock(&p->mu);
        if (c->done.op == BLOB_OP_PUT)
            c->done.rc = blob_put(p->store, c->uri, c->data, c->len, c->done.err, sizeof c->done.err);
        else if (c->done.op == BLOB_OP_GET) {
            c->done.status = blob_get(p->store, c->uri, c->len, &c->done.data, &c->done.len, c->done.err,
                                      sizeof c->done.err);
            c->done.rc = c->done.status == BLOB_OK ? 0 : -1;
        } else
            c->done.rc = blob_exists(p->store, c->uri, c->done.err, sizeof c->done.err);
        pthread_mutex_lock(&p->mu);
        push(&p->out, c);
        uint64_t one = 1;
        if (write(p->efd, &one, sizeof one) < 0) { /* the counter cannot overflow here */
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

blob_pool_t *blob_pool_new(const blob_store_t *store, int threads, char *err, size_t errlen) {
    blob_pool_t *p = xcalloc(1, sizeof *p);
    p->store = store;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        snprintf(err, errlen, "blob pool: eventfd: %s", strerror(errno));
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = xcalloc((size_t)threads, sizeof *p->threads);
    for (; p->nthreads < threads; p->nthreads++) {
        int rc = pthread_create(&p->threads[p->nthreads], NULL, serve, p);
        if (rc) {
            snprintf(err, errlen, "blob_threads: cannot start thread %d of %d: %s", p->nthreads + 1, threads,
                     strerror(rc));
            blob_pool_free(p);
            return NULL;
        }
    }
    return p;
}

static void submit(blob_pool_t *p, blob_op_t op, const char *uri, const void *data, size_t len, void *opaque) {
    call_t *c = xcalloc(1, sizeof *c);
    snprintf(c->uri, sizeof c->uri, "%s", uri);
    c->data = data;
    c->len = len;
    c->done.op = op;
    c->done.opaque = opaque;
    pthread_mutex_lock(&p->mu);
    push(&p->in, c);
    p->pending++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void blob_pool_put(blob_pool_t *p, const char *uri, const void *data, size_t len, void *opaque) {
    submit(p, BLOB_OP_PUT, uri, data, len, opaque);
}

void blob_pool_exists(blob_pool_t *p, const char *uri, void *opaque) {
    submit(p, BLOB_OP_EXISTS, uri, NULL, 0, opaque);
}

void blob_pool_get(blob_pool_t *p, const char *uri, size_t max, void *opaque) {
    submit(p, BLOB_OP_GET, uri, NULL, max, opaque); /* len: the bound on what is read */
}

int blob_pool_fd(const blob_pool_t *p) { return p->efd; }

bool blob_pool_next(blob_pool_t *p, blob_done_t *done) {
    pthread_mutex_lock(&p->mu);
    call_t *c = pop(&p->out);
    if (!p->out.head) {
        uint64_t drain;
        if (read(p->efd, &drain, sizeof drain) < 0 && errno != EAGAIN) { /* nothing to clear */
        }
    }
    if (c) p->pending--;
    pthread_mutex_unlock(&p->mu);
    if (!c) return false;
    *done = c->done;
    free(c);
    return true;
}

int blob_pool_pending(const blob_pool_t *p) {
    pthread_mutex_lock((pthread_mutex_t *)&p->mu);
    int n = p->pending;
    pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
    return n;
}

void blob_pool_free(blob_pool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    call_t *c;
    while ((c = pop(&p->in))) free(c);
    while ((c = pop(&p->out))) {
        free(c->done.data);
        free(c);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    close(p->efd);
    free(p->threads);
    free(p);
}
