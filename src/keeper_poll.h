/*
 * keeper_poll.h — poll(2) for libcurl's zero-timeout readability checks,
 * answered from what the keeper's event loop already knows
 * (keeper_poll.c).
 */
#ifndef KEEPER_POLL_H
#define KEEPER_POLL_H

#define KEEPER_POLL_OWNED	2	/* keeper_poll_quiet: always quiet */
int	keeper_poll_quiet(int, int);
void	keeper_poll_trust(int);

#endif
