/*
 * maildir: temp file + fsync + rename, with unique names of the form
 * TIME.Ppid_Qcounter_random.host as the Maildir convention asks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "maildir.h"

static int make_dir(const char *path, struct err *err)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	err_set(err, "cannot create maildir directory %s: %s", path,
		strerror(errno));
	return -errno;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes msg with CRLF turned into LF, in chunks. */
static int write_lf(int fd, const char *msg, size_t len)
{
	char chunk[8192];
	size_t i, n = 0;
	int ret;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;
		chunk[n++] = msg[i];
		if (n == sizeof(chunk)) {
			ret = write_all(fd, chunk, n);
			if (ret)
				return ret;
			n = 0;
		}
	}
	return write_all(fd, chunk, n);
}

int maildir_deliver(const char *dir, const char *msg, size_t len,
		    struct buf *path_out, struct err *err)
{
	static unsigned counter;
	char host[64], sub[3][4096], name[256], tmp[4096 + 256],
		final[4096 + 256];
	static const char *const subs[3] = {"tmp", "new", "cur"};
	int fd, ret, i;

	if (make_dir(dir, err))
		return -EIO;
	for (i = 0; i < 3; i++) {
		if ((size_t)snprintf(sub[i], sizeof(sub[i]), "%s/%s", dir,
				     subs[i]) >= sizeof(sub[i])) {
			err_set(err, "maildir path too long: %s", dir);
			return -ENAMETOOLONG;
		}
		if (make_dir(sub[i], err))
			return -EIO;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i]; i++) {
		if (host[i] == '/' || host[i] == ':')
			host[i] = '_';
	}
	snprintf(name, sizeof(name), "%lld.P%dQ%u_%08x.%s",
		 (long long)time(NULL), (int)getpid(), ++counter,
		 (unsigned)randombytes_random(), host);
	snprintf(tmp, sizeof(tmp), "%s/%s", sub[0], name);
	snprintf(final, sizeof(final), "%s/%s", sub[1], name);

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		err_set(err, "cannot create %s: %s", tmp, strerror(errno));
		return ret;
	}
	ret = write_lf(fd, msg, len);
	if (!ret && fsync(fd) != 0)
		ret = -errno;
	if (close(fd) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, final) != 0)
		ret = -errno;
	if (ret) {
		err_set(err, "cannot write message to maildir %s: %s", dir,
			strerror(-ret));
		unlink(tmp);
		return ret;
	}
	if (path_out && buf_adds(path_out, final)) {
		err_set(err, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
