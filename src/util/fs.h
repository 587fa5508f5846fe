/* fs.h: files that are never left half-written, run folders, folder locks.
 *
 * Atomic commit: an output is written to a temporary file in the same folder
 * ("PATH.tmp.PID"), flushed to disk (fsync), renamed over PATH, and the
 * folder is flushed too, so after a crash or power cut PATH holds either the
 * old or the new content, never a mixture.  Writers that produce their bytes
 * themselves use rl_fs_writer (a FILE *) or rl_fs_write_file (a buffer);
 * libraries that write a file by name (HDF5) write rl_fs_temp_path and call
 * rl_fs_commit.  A failed write (disk full) removes the temporary file and
 * leaves PATH as it was; the message names the file and the reason.
 *
 * Locks: rl_fs_lock takes an exclusive POSIX record lock (fcntl) on a lock
 * file, which the kernel releases when the process ends however it ends, so
 * a killed run never leaves a stale lock.  The holder's PID and host are
 * written into the file; a second process is refused with both.
 *
 * All functions are re-entrant; a writer or lock belongs to one thread.
 */
#ifndef RL_FS_H
#define RL_FS_H

#include <stddef.h>
#include <stdio.h>

#include "util/status.h"

#define RL_FS_PATH_MAX 4096

/* "PATH.tmp.PID" for this process; RL_ERR_ARG if it does not fit in n. */
rl_status rl_fs_temp_path(const char *path, char *tmp, size_t n, rl_error *err);

/* If name is "BASE.tmp.PID" (what rl_fs_temp_path makes), copies BASE to
 * base (size n) and returns PID; otherwise returns 0. */
long rl_fs_temp_pid(const char *name, char *base, size_t n);

/* fsync(tmp_path), rename it over path, fsync the folder.  On failure tmp_path
 * is removed and path is untouched. */
rl_status rl_fs_commit(const char *tmp_path, const char *path, rl_error *err);

/* Writes n bytes to path atomically. */
rl_status rl_fs_write_file(const char *path, const void *data, size_t n, rl_error *err);

typedef struct {
    FILE *f; /* write here between open and commit */
    char path[RL_FS_PATH_MAX], tmp[RL_FS_PATH_MAX + 32];
} rl_fs_writer;

/* Opens a temporary file for path; on success w->f is ready for writing. */
rl_status rl_fs_writer_open(rl_fs_writer *w, const char *path, rl_error *err);
/* Checks that every write succeeded, closes and commits.  w->f is closed
 * whatever the result. */
rl_status rl_fs_writer_commit(rl_fs_writer *w, rl_error *err);
/* Closes and removes the temporary file (after a failure of the caller's own). */
void rl_fs_writer_abort(rl_fs_writer *w);

/* The folder part of path into dir (n bytes): "." when path has no '/',
 * "/" for a name in the root. */
void rl_fs_dirname(const char *path, char *dir, size_t n);

/* Bytes an unprivileged writer may still use on the file system that holds
 * path's folder (statvfs f_bavail); -1 when unknown. */
long long rl_fs_free_bytes(const char *path);

/* Creates dir and its missing parents (mkdir -p, mode 0777 less the umask). */
rl_status rl_fs_mkdirs(const char *dir, rl_error *err);

typedef struct {
    int fd; /* -1 when not held */
} rl_fs_lock;

/* Takes the lock file at path (created if missing) or fails at once with
 * RL_ERR_IO naming the holder ("held by process PID on HOST").  what names
 * the locked thing in the message (e.g. "run folder runs/a"). */
rl_status rl_fs_lock_take(rl_fs_lock *lk, const char *path, const char *what, rl_error *err);
/* Releases a held lock (a no-op for fd -1). */
void rl_fs_lock_release(rl_fs_lock *lk);

#endif
