/* hostport.h — "HOST:PORT" addresses: the one parser for Redis addresses, listen
 * addresses and broker lists' entries. */
#ifndef PRESSROOM_HOSTPORT_H
#define PRESSROOM_HOSTPORT_H

#include <netinet/in.h>
#include <stddef.h>

/* "HOST:PORT" (optionally after "SCHEME://", and followed by "/..." when
 * allow_path) into host and port. min_port is 0 for listen addresses (0 = any free
 * port) and 1 for peers. Returns 0, or -1 when the form is wrong. */
int hostport_parse(const char *s, const char *scheme, int min_port, char *host, size_t hostlen, int *port);

/* A listen address: "HOST:PORT" with an IPv4 address or "localhost", port 0-65535.
 * Returns 0 or -1. */
int listen_addr_parse(const char *s, struct sockaddr_in *addr);

#endif
