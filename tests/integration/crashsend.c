/*
 * crashsend: an LD_PRELOAD library for the tests that makes a process
 * die (SIGKILL, as a crash would: no clean-up) the moment it sends
 * bytes holding the text in the environment variable CRASHSEND_ON, for
 * example "RCPT TO:<poison@example.org>": a poison message
 * (RELIABILITY G8) without a real bug to trigger. Wraps send() and
 * sendto(), which libcurl writes with.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

ssize_t send(int fd, const void *buf, size_t len, int flags);
ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen);

static void check(const void *buf, size_t len)
{
	const char *on = getenv("CRASHSEND_ON");

	if (on && *on && memmem(buf, len, on, strlen(on)))
		raise(SIGKILL);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t (*real)(int, const void *, size_t, int) =
		(ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT,
								  "send");

	check(buf, len);
	return real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *,
			socklen_t) =
		(ssize_t(*)(int, const void *, size_t, int,
			    const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT,
								      "sendto");

	check(buf, len);
	return real(fd, buf, len, flags, to, tolen);
}
