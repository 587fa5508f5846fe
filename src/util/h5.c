/* h5.c: checked HDF5 helpers (see h5.h). */
#include "util/h5.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

void rl_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t rl_h5_open_read(const char *path, rl_error *err)
{
    rl_h5_quiet();
    FILE *f = fopen(path, "rb");
    if (!f) {
        rl_fail(err, RL_ERR_IO, "%s: cannot open for reading (missing file or no permission)", path);
        return -1;
    }
    fclose(f);
    if (H5Fis_hdf5(path) <= 0) {
        rl_fail(err, RL_ERR_FORMAT, "%s: not a readable HDF5 file (truncated or not HDF5)", path);
        return -1;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) rl_fail(err, RL_ERR_FORMAT, "%s: HDF5 could not open it (truncated or corrupt?)", path);
    return file;
}

hid_t rl_h5_create(const char *path, long long need_bytes, char *tmp, size_t n, rl_error *err)
{
    rl_h5_quiet();
    const long long want = 2 * need_bytes + (64 << 10), room = rl_fs_free_bytes(path);
    if (room >= 0 && room < want) {
        rl_fail(err, RL_ERR_IO, "%s: needs about %lld bytes of disk, %lld are free; hint: free some space", path, want,
                room);
        return -1;
    }
    if (rl_fs_temp_path(path, tmp, n, err)) return -1;
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) rl_fail(err, RL_ERR_IO, "%s: cannot create HDF5 file (does the folder exist? is it writable?)", tmp);
    return file;
}

static hid_t make_space(int rank, const int64_t *dims)
{
    if (rank == 0) return H5Screate(H5S_SCALAR);
    hsize_t d[8];
    for (int i = 0; i < rank; i++)
        d[i] = (hsize_t)dims[i];
    return H5Screate_simple(rank, d, NULL);
}

static rl_status write_any(hid_t file, const char *name, int rank, const int64_t *dims, hid_t file_type, hid_t mem_type,
                           const void *data, const char *path, rl_error *err)
{
    hid_t space = make_space(rank, dims);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dset = H5Dcreate2(file, name, file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = dset >= 0 ? H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (dset >= 0) H5Dclose(dset);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (rc < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot write dataset '%s' (disk full?)", path, name);
    return RL_OK;
}

rl_status rl_h5_write_f32(hid_t file, const char *name, int rank, const int64_t *dims, const float *data,
                          const char *path, rl_error *err)
{
    return write_any(file, name, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, path, err);
}

rl_status rl_h5_write_i64(hid_t file, const char *name, int rank, const int64_t *dims, const int64_t *data,
                          const char *path, rl_error *err)
{
    return write_any(file, name, rank, dims, H5T_STD_I64LE, H5T_NATIVE_INT64, data, path, err);
}

rl_status rl_h5_write_i32(hid_t file, const char *name, int rank, const int64_t *dims, const int32_t *data,
                          const char *path, rl_error *err)
{
    return write_any(file, name, rank, dims, H5T_STD_I32LE, H5T_NATIVE_INT32, data, path, err);
}

rl_status rl_h5_write_string(hid_t file, const char *name, const char *text, const char *path, rl_error *err)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    rl_status st = write_any(file, name, 0, NULL, type, type, &text, path, err);
    H5Tclose(type);
    return st;
}

int rl_h5_exists(hid_t file, const char *name)
{
    /* H5Lexists fails on a missing intermediate group; check each prefix. */
    char buf[1024];
    size_t n = strlen(name);
    if (n >= sizeof buf) return 0;
    memcpy(buf, name, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return 0;
            buf[i] = c;
        }
    }
    return 1;
}

/* Refuses storage relab cannot trust: external raw files (they could name
 * /dev/zero or any file), virtual datasets, and a declared size that the bytes
 * stored in the file cannot hold (a dataset never written, or compressed more
 * than RL_H5_MAX_RATIO to one), so a small file cannot make a reader allocate
 * gigabytes for data that is not there. */
static rl_status check_storage(hid_t dset, const char *name, const char *path, rl_error *err)
{
    hid_t dcpl = H5Dget_create_plist(dset), type = H5Dget_type(dset), space = H5Dget_space(dset);
    rl_status st = RL_OK;
    if (dcpl < 0 || type < 0 || space < 0) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has an unreadable type or layout", path, name);
        goto done;
    }
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (H5Pget_external_count(dcpl) > 0 ||
        (layout != H5D_COMPACT && layout != H5D_CONTIGUOUS && layout != H5D_CHUNKED)) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: dataset '%s' keeps its data outside the file (external or virtual storage); hint: write "
                     "the data into the file itself",
                     path, name);
        goto done;
    }
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    size_t tsize = H5Tget_size(type);
    if (npoints < 0 || tsize == 0) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has an unreadable shape", path, name);
        goto done;
    }
    double want = (double)npoints * (double)tsize, have = (double)H5Dget_storage_size(dset);
    int filtered = layout == H5D_CHUNKED && H5Pget_nfilters(dcpl) > 0;
    if (npoints > 0 && (have <= 0 || want > (filtered ? RL_H5_MAX_RATIO * have : have)))
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: dataset '%s' declares %.0f bytes but the file stores %.0f for it (%s); hint: the dataset "
                     "was never fully written, or the file is damaged",
                     path, name, want, have,
                     filtered ? "compressed more than " RL_H5_MAX_RATIO_TEXT " to 1" : "not written");
done:
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (dcpl >= 0) H5Pclose(dcpl);
    return st;
}

/* Opens dataset name: a missing name, a group, a link to nothing are errors. */
static hid_t open_dataset(hid_t file, const char *name, const char *path, rl_error *err)
{
    if (!rl_h5_exists(file, name)) {
        rl_fail(err, RL_ERR_FORMAT, "%s: no dataset '%s'", path, name);
        return -1;
    }
    hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj >= 0 && H5Iget_type(obj) == H5I_DATASET) return obj;
    if (obj >= 0) H5Oclose(obj);
    rl_fail(err, RL_ERR_FORMAT, "%s: '%s' is not a dataset (a group or a broken link)", path, name);
    return -1;
}

rl_status rl_h5_shape(hid_t file, const char *name, int *rank, int64_t *dims, const char *path, rl_error *err)
{
    hid_t dset = open_dataset(file, name, path, err);
    if (dset < 0) return err ? err->code : RL_ERR_FORMAT;
    hid_t space = H5Dget_space(dset);
    int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t d[8] = {0};
    if (r > 8) r = -1;
    if (r >= 0) H5Sget_simple_extent_dims(space, d, NULL);
    if (space >= 0) H5Sclose(space);
    rl_status st = r < 0 ? rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has an unreadable shape", path, name)
                         : check_storage(dset, name, path, err);
    H5Dclose(dset);
    if (st) return st;
    *rank = r;
    for (int i = 0; i < r; i++)
        dims[i] = (int64_t)d[i];
    return RL_OK;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floats";
    case H5T_STRING: return "strings";
    default: return "another type (compound, array, reference ...)";
    }
}

static rl_status read_any(hid_t file, const char *name, hid_t mem_type, void *out, int64_t count, const char *path,
                          rl_error *err)
{
    int rank;
    int64_t dims[8];
    rl_status st = rl_h5_shape(file, name, &rank, dims, path, err);
    if (st) return st;
    int64_t have = 1;
    for (int i = 0; i < rank; i++)
        have *= dims[i];
    if (have != count)
        return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' has %lld elements, expected %lld", path, name,
                       (long long)have, (long long)count);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t ftype = H5Dget_type(dset);
    H5T_class_t have_class = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS, want_class = H5Tget_class(mem_type);
    if (ftype >= 0) H5Tclose(ftype);
    if (have_class != want_class) {
        H5Dclose(dset);
        return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' holds %s, expected %s", path, name, class_name(have_class),
                       class_name(want_class));
    }
    herr_t rc = H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(dset);
    if (rc < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: cannot read dataset '%s' (truncated file or wrong type?)", path, name);
    return RL_OK;
}

rl_status rl_h5_read_f32(hid_t file, const char *name, float *out, int64_t count, const char *path, rl_error *err)
{
    return read_any(file, name, H5T_NATIVE_FLOAT, out, count, path, err);
}

rl_status rl_h5_read_i64(hid_t file, const char *name, int64_t *out, int64_t count, const char *path, rl_error *err)
{
    return read_any(file, name, H5T_NATIVE_INT64, out, count, path, err);
}

rl_status rl_h5_read_i32(hid_t file, const char *name, int32_t *out, int64_t count, const char *path, rl_error *err)
{
    return read_any(file, name, H5T_NATIVE_INT32, out, count, path, err);
}

/* ---- variable-length strings ----
 *
 * HDF5 1.10 copies a variable-length string out of its global heap collection
 * by the object size written in the file, unchecked, so a damaged size makes
 * it read past its buffer and crash.  Before HDF5 reads such strings, relab
 * checks each element's heap reference in the file's own bytes (HDF5 file
 * format, "Global Heap Collection"): the collection lies inside the file,
 * starts with "GCOL", and its objects chain to the end without overrunning;
 * the referenced object exists and holds at least the string's length. */

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

typedef struct {
    int fd;
    int64_t file_size, base;
    size_t sa, ss;     /* sizes of addresses and lengths in this file */
    uint64_t coll;     /* address of the collection in table, or 0 */
    uint64_t *size_of; /* [65536] object size by index + 1 (0 = absent) */
} heap_check;

/* Reads collection at addr and tables its objects' sizes; -1 when damaged. */
static int load_collection(heap_check *h, uint64_t addr)
{
    unsigned char head[24];
    int64_t at = h->base + (int64_t)addr;
    size_t hn = 8 + h->ss;
    if (addr == 0 || at < 0 || at > h->file_size - (int64_t)hn) return -1;
    if (pread(h->fd, head, hn, at) != (ssize_t)hn || memcmp(head, "GCOL", 4) || head[4] != 1) return -1;
    uint64_t size = le(head + 8, (int)h->ss);
    if (size < hn || size > (uint64_t)(h->file_size - at) || size > ((uint64_t)1 << 30)) return -1;
    unsigned char *c = malloc(size);
    if (!c || pread(h->fd, c, size, at) != (ssize_t)size) {
        free(c);
        return -1;
    }
    memset(h->size_of, 0, 65536 * sizeof *h->size_of);
    size_t pos = hn, oh = 8 + h->ss;
    int ok = 1;
    while (pos + oh <= size) {
        unsigned idx = (unsigned)le(c + pos, 2);
        uint64_t osize = le(c + pos + 8, (int)h->ss);
        if (idx == 0) break; /* free space: the rest of the collection */
        if (osize > size - pos - oh) {
            ok = 0;
            break;
        }
        h->size_of[idx] = osize + 1;
        pos += oh + ((osize + 7) & ~(uint64_t)7);
    }
    free(c);
    h->coll = ok ? addr : 0;
    return ok ? 0 : -1;
}

rl_status rl_h5_check_vlen(hid_t file, hid_t dset, const char *name, const char *path, rl_error *err)
{
    haddr_t off = H5Dget_offset(dset);
    hid_t space = H5Dget_space(dset);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0) H5Sclose(space);
    if (off == HADDR_UNDEF || n <= 0) return RL_OK; /* compact or chunked: HDF5 alone reads it */
    heap_check h = {-1, 0, 0, 8, 8, 0, NULL};
    hsize_t userblock = 0;
    hid_t fcpl = H5Fget_create_plist(file);
    if (fcpl >= 0) {
        H5Pget_sizes(fcpl, &h.sa, &h.ss);
        H5Pget_userblock(fcpl, &userblock);
        H5Pclose(fcpl);
    }
    h.base = (int64_t)userblock;
    struct stat sb;
    size_t elem = 4 + h.sa + 4;
    unsigned char *refs = NULL;
    rl_status st = RL_OK;
    h.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (h.fd < 0 || fstat(h.fd, &sb) != 0 || (h.sa != 8 && h.sa != 4) || (h.ss != 8 && h.ss != 4)) goto bad;
    h.file_size = (int64_t)sb.st_size;
    if ((int64_t)off < 0 || (uint64_t)n > (uint64_t)(h.file_size / (int64_t)elem) ||
        (int64_t)off > h.file_size - (int64_t)(elem * (size_t)n))
        goto bad;
    refs = malloc(elem * (size_t)n);
    h.size_of = malloc(65536 * sizeof *h.size_of);
    if (!refs || !h.size_of) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory checking dataset '%s'", path, name);
        goto done;
    }
    if (pread(h.fd, refs, elem * (size_t)n, (off_t)off) != (ssize_t)(elem * (size_t)n)) goto bad;
    for (hssize_t i = 0; i < n; i++) {
        const unsigned char *r = refs + (size_t)i * elem;
        uint64_t len = le(r, 4), addr = le(r + 4, (int)h.sa);
        unsigned idx = (unsigned)le(r + 4 + h.sa, 4);
        if (len == 0 && addr == 0) continue; /* an empty (NULL) string */
        if (idx == 0 || idx > 65535 || (addr != h.coll && load_collection(&h, addr)) || h.size_of[idx] == 0 ||
            h.size_of[idx] - 1 < len)
            goto bad;
    }
    goto done;
bad:
    st = rl_fail(err, RL_ERR_FORMAT,
                 "%s: dataset '%s' holds variable-length strings whose storage is damaged (global heap); hint: the "
                 "file is corrupt, write it again",
                 path, name);
done:
    free(refs);
    free(h.size_of);
    if (h.fd >= 0) close(h.fd);
    return st;
}

rl_status rl_h5_read_string(hid_t file, const char *name, char **out, const char *path, rl_error *err)
{
    *out = NULL;
    int rank;
    int64_t dims[8];
    rl_status st = rl_h5_shape(file, name, &rank, dims, path, err);
    if (st) return st;
    if (rank != 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' must be one string (a scalar), not an array of rank %d",
                       path, name, rank);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t ftype = dset >= 0 ? H5Dget_type(dset) : -1;
    if (ftype < 0 || H5Tget_class(ftype) != H5T_STRING) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' is not a string", path, name);
    } else if (H5Tis_variable_str(ftype) > 0) {
        /* same character set as the file: HDF5 does not convert ASCII <-> UTF-8 */
        hid_t mtype = H5Tcopy(ftype);
        char *s = NULL;
        if ((st = rl_h5_check_vlen(file, dset, name, path, err))) {
            /* refused before HDF5 reads it */
        } else if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: cannot read string '%s'", path, name);
        } else {
            *out = strdup(s);
            if (!*out) st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for string '%s'", path, name);
        }
        if (s) H5free_memory(s);
        H5Tclose(mtype);
    } else {
        /* rl_h5_shape checked that the file stores all n bytes */
        size_t n = H5Tget_size(ftype);
        hid_t mtype = H5Tcopy(H5T_C_S1);
        H5Tset_size(mtype, n + 1);
        H5Tset_strpad(mtype, H5T_STR_NULLTERM);
        H5Tset_cset(mtype, H5Tget_cset(ftype));
        char *s = calloc(n + 1, 1);
        if (!s || H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0) {
            free(s);
            st = rl_fail(err, RL_ERR_FORMAT, "%s: cannot read string '%s'", path, name);
        } else {
            *out = s;
        }
        H5Tclose(mtype);
    }
    if (ftype >= 0) H5Tclose(ftype);
    if (dset >= 0) H5Dclose(dset);
    return st;
}

typedef struct {
    rl_h5_visit_fn fn;
    void *ctx;
    int rc;
} visit_state;

#if H5_VERSION_GE(1, 12, 0)
typedef H5O_info2_t obj_info;
#define visit_objects(f, cb, data) H5Ovisit3((f), H5_INDEX_NAME, H5_ITER_INC, (cb), (data), H5O_INFO_BASIC)
#else
typedef H5O_info_t obj_info;
#define visit_objects(f, cb, data) H5Ovisit2((f), H5_INDEX_NAME, H5_ITER_INC, (cb), (data), H5O_INFO_BASIC)
#endif

static herr_t visit_cb(hid_t obj, const char *name, const obj_info *info, void *op)
{
    (void)obj;
    visit_state *vs = op;
    if (info->type != H5O_TYPE_DATASET) return 0;
    vs->rc = vs->fn(name, vs->ctx);
    return vs->rc ? 1 : 0;
}

rl_status rl_h5_list_datasets(hid_t file, rl_h5_visit_fn fn, void *ctx, const char *path, rl_error *err)
{
    visit_state vs = {fn, ctx, 0};
    if (visit_objects(file, visit_cb, &vs) < 0)
        return rl_fail(err, RL_ERR_FORMAT, "%s: cannot list datasets (corrupt file?)", path);
    return vs.rc ? (rl_status)vs.rc : RL_OK;
}
