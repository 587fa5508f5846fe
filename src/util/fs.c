/* fs.c: atomic file commits, mkdir -p and folder locks (see fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

rl_status rl_fs_temp_path(const char *path, char *tmp, size_t n, rl_error *err)
{
    int k = snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    if (k < 0 || (size_t)k >= n) return rl_fail(err, RL_ERR_ARG, "%s: path too long", path);
    return RL_OK;
}

long rl_fs_temp_pid(const char *name, char *base, size_t n)
{
    const char *dot = strstr(name, ".tmp.");
    if (!dot) return 0;
    for (const char *next; (next = strstr(dot + 1, ".tmp."));)
        dot = next;
    const char *digits = dot + 5;
    char *end;
    long pid = strtol(digits, &end, 10);
    if (!*digits || *end || pid <= 0 || (size_t)(dot - name) >= n) return 0;
    memcpy(base, name, (size_t)(dot - name));
    base[dot - name] = '\0';
    return pid;
}

void rl_fs_dirname(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else
        snprintf(dir, n, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* The folder of path, flushed so that a rename in it survives a power cut.
 * Best effort: some file systems refuse fsync on a folder. */
static void sync_parent(const char *path)
{
    char dir[RL_FS_PATH_MAX];
    rl_fs_dirname(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

rl_status rl_fs_commit(const char *tmp_path, const char *path, rl_error *err)
{
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        rl_status st = rl_fail(err, RL_ERR_IO, "%s: cannot flush to disk: %s", tmp_path, strerror(errno));
        if (fd >= 0) close(fd);
        unlink(tmp_path);
        return st;
    }
    close(fd);
    if (rename(tmp_path, path) != 0) {
        rl_status st = rl_fail(err, RL_ERR_IO, "cannot rename %s to %s: %s", tmp_path, path, strerror(errno));
        unlink(tmp_path);
        return st;
    }
    sync_parent(path);
    return RL_OK;
}

rl_status rl_fs_write_file(const char *path, const void *data, size_t n, rl_error *err)
{
    char tmp[RL_FS_PATH_MAX + 32];
    rl_status st = rl_fs_temp_path(path, tmp, sizeof tmp, err);
    if (st) return st;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            st = rl_fail(err, RL_ERR_IO, "%s: write failed: %s%s", tmp, k < 0 ? strerror(errno) : "no progress",
                         errno == ENOSPC ? "; hint: free some space, then resume" : "");
            break;
        }
        p += k;
        n -= (size_t)k;
    }
    if (close(fd) != 0 && !st) st = rl_fail(err, RL_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st) {
        unlink(tmp);
        return st;
    }
    return rl_fs_commit(tmp, path, err);
}

rl_status rl_fs_writer_open(rl_fs_writer *w, const char *path, rl_error *err)
{
    w->f = NULL;
    if (strlen(path) >= sizeof w->path) return rl_fail(err, RL_ERR_ARG, "%s: path too long", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    rl_status st = rl_fs_temp_path(path, w->tmp, sizeof w->tmp, err);
    if (st) return st;
    w->f = fopen(w->tmp, "wbe");
    if (!w->f) return rl_fail(err, RL_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
    return RL_OK;
}

rl_status rl_fs_writer_commit(rl_fs_writer *w, rl_error *err)
{
    /* fflush reports a full disk that buffered fprintf calls did not see yet. */
    int bad = fflush(w->f) != 0 || ferror(w->f);
    int saved = errno;
    if (fclose(w->f) != 0 && !bad) bad = 1, saved = errno;
    w->f = NULL;
    if (bad) {
        unlink(w->tmp);
        return rl_fail(err, RL_ERR_IO, "%s: write failed: %s%s", w->tmp, strerror(saved),
                       saved == ENOSPC ? "; hint: free some space" : "");
    }
    return rl_fs_commit(w->tmp, w->path, err);
}

void rl_fs_writer_abort(rl_fs_writer *w)
{
    if (w->f) fclose(w->f);
    w->f = NULL;
    unlink(w->tmp);
}

long long rl_fs_free_bytes(const char *path)
{
    char dir[RL_FS_PATH_MAX];
    rl_fs_dirname(path, dir, sizeof dir);
    struct statvfs sv;
    return statvfs(dir, &sv) == 0 ? (long long)sv.f_bavail * (long long)sv.f_frsize : -1;
}

rl_status rl_fs_mkdirs(const char *dir, rl_error *err)
{
    char path[RL_FS_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return rl_fail(err, RL_ERR_ARG, "'%s': not a usable folder name", dir);
    memcpy(path, dir, n + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        struct stat sb;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return rl_fail(err, RL_ERR_IO, "%s: cannot create the folder: %s", path, strerror(errno));
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return rl_fail(err, RL_ERR_IO, "%s: exists and is not a folder", path);
        path[i] = c;
    }
    return RL_OK;
}

rl_status rl_fs_lock_take(rl_fs_lock *lk, const char *path, const char *what, rl_error *err)
{
    lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lk->fd < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot create the lock file: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(lk->fd, F_SETLK, &fl) != 0) {
        int busy = errno == EACCES || errno == EAGAIN;
        char holder[256] = "";
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        ssize_t k = pread(lk->fd, holder, sizeof holder - 1, 0);
        holder[k > 0 ? k : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (busy && fcntl(lk->fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK && !holder[0])
            snprintf(holder, sizeof holder, "process %ld", (long)q.l_pid);
        rl_status st =
            busy ? rl_fail(err, RL_ERR_IO,
                           "%s is in use by relab %s (lock %s); hint: wait for it to finish or stop it; two runs in "
                           "one folder would overwrite each other's checkpoints",
                           what, holder[0] ? holder : "(holder unknown)", path)
                 : rl_fail(err, RL_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
        close(lk->fd);
        lk->fd = -1;
        return st;
    }
    char host[128] = "?", text[256];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int len = snprintf(text, sizeof text, "process %ld on %s\n", (long)getpid(), host);
    /* The text only informs; the kernel's lock is what protects. */
    if (ftruncate(lk->fd, 0) != 0 || pwrite(lk->fd, text, (size_t)len, 0) != len) {
    }
    return RL_OK;
}

void rl_fs_lock_release(rl_fs_lock *lk)
{
    if (lk->fd >= 0) close(lk->fd);
    lk->fd = -1;
}
