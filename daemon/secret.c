/*
 * secret: open, check the mode on the open descriptor (no race with a
 * chmod in between), read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

int secret_read(const char *path, const char *what, void *out, size_t size,
		size_t *len, struct err *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, ret = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		err_set(err,
			"cannot read %s %s: %s; check the path and that "
			"bulletin may read it",
			what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		err_set(err, "cannot read %s %s: %s", what, path,
			strerror(errno));
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_set(err,
			"%s %s may be read by group or others (mode %04o); "
			"a secret must be the owner's only: chmod 600 %s",
			what, path, (unsigned)(st.st_mode & 07777), path);
		ret = -EACCES;
		goto out;
	}
	while (got < size) {
		n = read(fd, (char *)out + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			err_set(err, "cannot read %s %s: %s", what, path,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return ret;
}

int secret_check_config(const struct config *cfg, struct err *err)
{
	char buf[512];
	int ret = 0;

	if (cfg->secret_file)
		ret = secret_read_password(cfg->secret_file,
					   "[daemon] secret_file", buf,
					   sizeof(buf), err);
	if (!ret && cfg->previous_secret_file)
		ret = secret_read_password(cfg->previous_secret_file,
					   "[daemon] previous_secret_file", buf,
					   sizeof(buf), err);
	if (!ret && cfg->imap_url && cfg->imap_password_file)
		ret = secret_read_password(cfg->imap_password_file,
					   "[imap] password_file", buf,
					   sizeof(buf), err);
	if (!ret && !config_maildir(cfg) && cfg->smtp_username &&
	    cfg->smtp_password_file)
		ret = secret_read_password(cfg->smtp_password_file,
					   "[smtp] password_file", buf,
					   sizeof(buf), err);
	memset(buf, 0, sizeof(buf));
	return ret;
}

int secret_read_password(const char *path, const char *what, char *out,
			 size_t size, struct err *err)
{
	size_t len;
	int ret;

	ret = secret_read(path, what, out, size - 1, &len, err);
	if (ret)
		return ret;
	out[len] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}
