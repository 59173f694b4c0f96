/* moderation.h — the verifier-worker's tail of pressroom.moderation: every decision
 * recorded after the worker started counts once in
 *   pressroom_moderation_decisions_total{class,model,decision,verifier}
 * (verifier: passed when the moderated verdict was accepted or degraded, failed when
 * rejected, unknown when the decision does not say). The tail is a reader by
 * assignment (no consumer group), so every replica counts every decision: query
 * ratios or max(), never sum() across replicas. */
#ifndef PRESSROOM_VERIFIER_MODERATION_H
#define PRESSROOM_VERIFIER_MODERATION_H

#include "runtime/loop.h"
#include "base/config.h"

typedef struct moderation_tail moderation_tail_t;
/* Starts the tail on loop l (a timer polls it). NULL, with a warning logged, when the
 * topic cannot be read: the verifier works on without the counter. */
moderation_tail_t *moderation_tail_start(const config_t *cfg, loop_t *l);
void moderation_tail_free(moderation_tail_t *t);

#endif
