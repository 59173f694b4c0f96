/* ocr_pool.c — the verifier's thread pool: N threads, one Tesseract handle each
 * (created once, reused for every image), two FIFOs of checks in (live, taken first,
 * and backfill), a FIFO of verdicts out, and an eventfd that is readable while
 * verdicts are waiting. See verify.h. */
#include "verify/verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "verify/ocr.h"

typedef struct item {
    struct item *next;
    job_t job;
    unsigned char *png;
    size_t len;
    void *opaque;
    verdict_t *verdict;
} item_t;

typedef struct {
    item_t *head, *tail;
} fifo_t;

struct verify_pool {
    verifier_config_t cfg;
    bool ocr_enabled;
    int nthreads;
    pthread_t *threads;
    ocr_engine_t **engines;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    fifo_t live, backfill, out; /* checks in: live first */
    int pending;      /* submitted, not yet taken by verify_pool_next */
    bool stopping;
    int efd;
};

typedef struct {
    verify_pool_t *pool;
    int index;
} thread_arg_t;

static void fifo_push(fifo_t *f, item_t *it) {
    it->next = NULL;
    if (f->tail) f->tail->next = it;
    else f->head = it;
    f->tail = it;
}

static item_t *fifo_pop(fifo_t *f) {
    item_t *it = f->head;
    if (it) {
        f->head = it->next;
        if (!f->head) f->tail = NULL;
    }
    return it;
}

static void *checker_main(void *arg) {
    thread_arg_t *ta = arg;
    verify_pool_t *p = ta->pool;
    ocr_engine_t *ocr = p->engines[ta->index];
    free(ta);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->live.head && !p->backfill.head && !p->stopping) pthread_cond_wait(&p->cond, &p->mu);
        item_t *it = fifo_pop(&p->live);
        if (!it) it = fifo_pop(&p->backfill);
        if (!it) break; /* stopping and drained */
        pthread_mutex_unlock(&p->mu);
        it->verdict = verify_png(ocr, &p->cfg, &it->job, it->png ? it->png : (const unsigned char *)"", it->len);
        free(it->png);
        it->png = NULL;
        pthread_mutex_lock(&p->mu);
        fifo_push(&p->out, it);
        uint64_t one = 1;
        if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            log_warn("verify_pool_eventfd_write_failed", "error", strerror(errno), NULL);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

verify_pool_t *verify_pool_new(const verifier_config_t *cfg, bool ocr_enabled, int threads,
                               char *err, size_t errlen) {
    verify_pool_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory creating the verify pool");
        return NULL;
    }
    p->cfg = *cfg;
    p->ocr_enabled = ocr_enabled;
    if (threads <= 0) threads = cfg->threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    p->nthreads = threads;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        snprintf(err, errlen, "eventfd for the verify pool failed: %s", strerror(errno));
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    p->engines = calloc((size_t)threads, sizeof *p->engines);
    if (!p->threads || !p->engines) abort();
    if (ocr_enabled) setenv("OMP_THREAD_LIMIT", "1", 1);
    int started = 0;
    for (int i = 0; i < threads; i++) {
        if (ocr_enabled && !(p->engines[i] = ocr_engine_new(err, errlen))) break;
        thread_arg_t *ta = malloc(sizeof *ta);
        if (!ta) abort();
        *ta = (thread_arg_t){p, i};
        int rc = pthread_create(&p->threads[i], NULL, checker_main, ta);
        if (rc != 0) {
            snprintf(err, errlen, "starting verify thread %d of %d failed: %s", i + 1, threads, strerror(rc));
            free(ta);
            ocr_engine_free(p->engines[i]);
            p->engines[i] = NULL;
            break;
        }
        started++;
    }
    if (started < threads) {
        p->nthreads = started;
        verify_pool_free(p);
        return NULL;
    }
    return p;
}

static void item_free(item_t *it) {
    free(it->png);
    free(it);
}

static int enqueue(verify_pool_t *p, item_t *it, bool backfill) {
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        item_free(it);
        return -1;
    }
    fifo_push(backfill ? &p->backfill : &p->live, it);
    p->pending++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int verify_pool_submit(verify_pool_t *p, const job_t *job, unsigned char *png, size_t len, bool backfill,
                       void *opaque) {
    item_t *it = xcalloc(1, sizeof *it);
    it->job = *job;
    it->png = png;
    it->len = len;
    it->opaque = opaque;
    return enqueue(p, it, backfill);
}

int verify_pool_fd(const verify_pool_t *p) { return p->efd; }

verdict_t *verify_pool_next(verify_pool_t *p, void **opaque) {
    pthread_mutex_lock(&p->mu);
    item_t *it = fifo_pop(&p->out);
    if (!p->out.head) {
        uint64_t drain;
        if (read(p->efd, &drain, sizeof drain) < 0 && errno != EAGAIN)
            log_warn("verify_pool_eventfd_read_failed", "error", strerror(errno), NULL);
    }
    if (it) p->pending--;
    pthread_mutex_unlock(&p->mu);
    if (!it) {
        if (opaque) *opaque = NULL;
        return NULL;
    }
    verdict_t *v = it->verdict;
    if (opaque) *opaque = it->opaque;
    item_free(it);
    return v;
}

int verify_pool_pending(const verify_pool_t *p) {
    pthread_mutex_lock((pthread_mutex_t *)&p->mu);
    int n = p->pending;
    pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
    return n;
}

int verify_pool_threads(const verify_pool_t *p) { return p->nthreads; }

void verify_pool_free(verify_pool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    for (int i = 0; i < p->nthreads; i++) ocr_engine_free(p->engines[i]);
    item_t *it;
    while ((it = fifo_pop(&p->out))) {
        verdict_free(it->verdict);
        item_free(it);
    }
    /* only when no thread ever started */
    while ((it = fifo_pop(&p->live))) item_free(it);
    while ((it = fifo_pop(&p->backfill))) item_free(it);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    close(p->efd);
    free(p->threads);
    free(p->engines);
    free(p);
}
