/* h5image.c: in-memory HDF5 files committed atomically (see h5image.h). */
#include "util/h5image.h"

#include <stdlib.h>

#include "util/fs.h"
#include "util/h5.h"

hid_t rl_h5image_create(const char *path, rl_error *err)
{
    rl_h5_quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* 4 MiB growth steps; no backing store: nothing touches the disk. */
    hid_t f =
        fapl < 0 || H5Pset_fapl_core(fapl, 4u << 20, 0) < 0 ? -1 : H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) rl_fail(err, RL_ERR_NOMEM, "%s: cannot create the HDF5 file in memory", path);
    return f;
}

rl_status rl_h5image_commit(hid_t f, const char *path, rl_error *err)
{
    void *buf = NULL;
    ssize_t n = H5Fflush(f, H5F_SCOPE_LOCAL) < 0 ? -1 : H5Fget_file_image(f, NULL, 0);
    rl_status st = RL_OK;
    if (n <= 0)
        st = rl_fail(err, RL_ERR_IO, "%s: HDF5 could not produce the file", path);
    else if (!(buf = malloc((size_t)n)))
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for the %lld-byte file", path, (long long)n);
    else if (H5Fget_file_image(f, buf, (size_t)n) != n)
        st = rl_fail(err, RL_ERR_IO, "%s: HDF5 could not copy the file image", path);
    H5Fclose(f); /* in memory: cannot fail for lack of disk */
    if (!st) st = rl_fs_write_file(path, buf, (size_t)n, err);
    free(buf);
    return st;
}

void rl_h5image_discard(hid_t f)
{
    if (f >= 0) H5Fclose(f);
}
