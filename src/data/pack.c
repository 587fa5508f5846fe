/* pack.c: writing and reading packed HDF5 shards of encoded images (see pack.h).
 *
 * Writing plans the shards from the scanned file sizes first (so each shard's
 * "bytes" dataset is created at its final size, contiguous, and filled file
 * by file with hyperslab writes: memory use is one image), writes to
 * PREFIX-%05d.h5.tmp and renames when the shard is complete.
 */
#include "data/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/imagenet.h"
#include "data/jpeg.h"
#include "util/fs.h"
#include "util/h5.h"
#include "util/text.h"

const char *rl_pack_shard_path(const char *prefix, int k, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%05d.h5", prefix, k);
    return buf;
}

/* Joins strs[0..n) with '\n' into a malloc'ed string (NULL on OOM). */
static char *join(char *const *strs, int64_t n, const char *(*get)(const void *, int64_t), const void *ctx)
{
    size_t total = 1;
    for (int64_t i = 0; i < n; i++) {
        const char *s = strs ? strs[i] : get(ctx, i);
        total += strlen(s ? s : "") + 1;
    }
    char *out = malloc(total), *p = out;
    if (!out) return NULL;
    for (int64_t i = 0; i < n; i++) {
        const char *s = strs ? strs[i] : get(ctx, i);
        size_t k = strlen(s ? s : "");
        memcpy(p, s ? s : "", k);
        p += k;
        if (i + 1 < n) *p++ = '\n';
    }
    *p = '\0';
    return out;
}

static const char *class_name_of(const void *src, int64_t c)
{
    return rl_imagenet_class_name(src, (int)c);
}

static rl_status write_scalar(hid_t f, const char *name, int64_t v, const char *path, rl_error *err)
{
    return rl_h5_write_i64(f, name, 0, NULL, &v, path, err);
}

/* The index datasets of shard k (samples [a, b)) and the "bytes" dataset
 * reserved, not written: a contiguous block allocated at creation and never
 * filled, whose file offset goes to *base (-1 when total is 0). */
static rl_status write_index(hid_t f, const rl_source *src, int64_t a, int64_t b, int k, int nshards,
                             const int64_t *offsets, const int64_t *lengths, int64_t total, const char *names,
                             const char *class_text, const char *path, int64_t *base, rl_error *err)
{
    int64_t n = b - a;
    int32_t nc = src->num_classes;
    rl_status st;
    if ((st = rl_h5_write_string(f, "format", "relab-pack 1", path, err)) ||
        (st = write_scalar(f, "shard", k, path, err)) || (st = write_scalar(f, "num_shards", nshards, path, err)) ||
        (st = write_scalar(f, "first_index", a, path, err)) ||
        (st = write_scalar(f, "total_count", src->count, path, err)) ||
        (st = rl_h5_write_i32(f, "num_classes", 0, NULL, &nc, path, err)) ||
        (st = rl_h5_write_string(f, "classes", class_text, path, err)) ||
        (st = rl_h5_write_string(f, "names", names, path, err)) ||
        (st = rl_h5_write_i64(f, "offsets", 1, &n, offsets, path, err)) ||
        (st = rl_h5_write_i64(f, "lengths", 1, &n, lengths, path, err)) ||
        (st = rl_h5_write_i32(f, "labels", 1, &n, src->labels + a, path, err)))
        return st;
    if (src->multi_offsets) {
        int64_t m0 = src->multi_offsets[a], m = src->multi_offsets[b] - m0, n1 = n + 1;
        int64_t *mo = malloc((size_t)n1 * sizeof *mo);
        if (!mo) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        for (int64_t i = 0; i <= n; i++)
            mo[i] = src->multi_offsets[a + i] - m0;
        st = rl_h5_write_i64(f, "multi_offsets", 1, &n1, mo, path, err);
        free(mo);
        if (!st) st = rl_h5_write_i32(f, "multi_classes", 1, &m, src->multi_classes + m0, path, err);
        if (st) return st;
    }
    /* Contiguous, so readers can pread it; allocated now and never filled by
     * HDF5, so the image bytes are written with pwrite after HDF5 is done. */
    hsize_t dim = (hsize_t)total;
    hid_t space = H5Screate_simple(1, &dim, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    herr_t rc = H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    if (rc >= 0) rc = H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (rc >= 0) rc = H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t dset = rc < 0 ? -1 : H5Dcreate2(f, "bytes", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    haddr_t addr = dset >= 0 && total > 0 ? H5Dget_offset(dset) : HADDR_UNDEF;
    if (dset >= 0) H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (dset < 0 || (total > 0 && addr == HADDR_UNDEF))
        return rl_fail(err, RL_ERR_IO, "%s: cannot create dataset 'bytes' of %lld bytes", path, (long long)total);
    *base = total > 0 ? (int64_t)addr : -1;
    return RL_OK;
}

/* Copies the image files of samples [a, b) into the reserved block of the
 * temporary file tmp at base.  The block's disk space is allocated first, so
 * a full disk is one clean error here, never a failed write inside HDF5. */
static rl_status write_bytes(const rl_source *src, int64_t a, int64_t b, const int64_t *offsets, const int64_t *lengths,
                             int64_t total, int64_t base, const char *tmp, const char *path, rl_pack_progress progress,
                             void *ctx, rl_error *err)
{
    int fd = open(tmp, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s)", tmp, strerror(errno));
    rl_status st = RL_OK;
    int rc = total > 0 ? posix_fallocate(fd, (off_t)base, (off_t)total) : 0;
    if (rc)
        st = rl_fail(err, RL_ERR_IO, "%s: no room for %lld bytes of images (%s)%s", path, (long long)total,
                     strerror(rc), rc == ENOSPC ? "; hint: free some space or pick a smaller --shard-size" : "");
    char file[8192];
    for (int64_t i = 0; !st && i < b - a; i++) {
        uint8_t *data;
        size_t size;
        rl_imagenet_path(src, a + i, file, sizeof file);
        if ((st = rl_read_file(file, &data, &size, err))) break;
        if ((int64_t)size != lengths[i])
            st = rl_fail(err, RL_ERR_IO,
                         "%s: has %zu bytes, %lld when scanned; hint: the folder changed, delete "
                         "the file-list cache and pack again",
                         file, size, (long long)lengths[i]);
        for (size_t done = 0; !st && done < size;) {
            ssize_t w = pwrite(fd, data + done, size - done, (off_t)(base + offsets[i] + (int64_t)done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) st = rl_fail(err, RL_ERR_IO, "%s: writing %s failed (%s)", path, file, strerror(errno));
            done += w > 0 ? (size_t)w : 0;
        }
        free(data);
        if (!st && progress) progress(a + i + 1, src->count, ctx);
    }
    if (close(fd) != 0 && !st) st = rl_fail(err, RL_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
    return st;
}

/* Writes samples [a, b) of src into shard k at path, atomically: HDF5 writes
 * the index into a temporary file, the image bytes are copied in after it,
 * and the file is committed (util/fs.h). */
static rl_status write_shard(const rl_source *src, const int64_t *sizes, int64_t a, int64_t b, int k, int nshards,
                             const char *path, const char *class_text, rl_pack_progress progress, void *ctx,
                             rl_error *err)
{
    int64_t n = b - a, total = 0, base = -1;
    int64_t *offsets = malloc((size_t)n * sizeof *offsets), *lengths = malloc((size_t)n * sizeof *lengths);
    char *names = NULL, tmp[RL_FS_PATH_MAX + 32];
    rl_status st = RL_OK;
    if (!offsets || !lengths || !(names = join(src->ids + a, n, NULL, NULL))) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        offsets[i] = total;
        lengths[i] = sizes[a + i];
        total += sizes[a + i];
    }
    for (int64_t i = a; i < b; i++)
        if (strchr(src->ids[i], '\n')) {
            st = rl_fail(err, RL_ERR_ARG, "%s: sample id contains a newline; cannot pack it", src->ids[i]);
            goto done;
        }
    /* HDF5 writes the index only (its disk space is checked by rl_h5_create);
     * the images' space is reserved before they are copied in. */
    const long long index_bytes = (long long)(strlen(names) + strlen(class_text)) + 24 * n;
    hid_t f = rl_h5_create(path, index_bytes, tmp, sizeof tmp, err);
    if (f < 0) {
        st = err ? err->code : RL_ERR_IO;
        goto done;
    }
    st = write_index(f, src, a, b, k, nshards, offsets, lengths, total, names, class_text, path, &base, err);
    if (H5Fclose(f) < 0 && !st) st = rl_fail(err, RL_ERR_IO, "%s: closing failed", tmp);
    if (!st) st = write_bytes(src, a, b, offsets, lengths, total, base, tmp, path, progress, ctx, err);
    if (!st)
        st = rl_fs_commit(tmp, path, err);
    else
        unlink(tmp);
done:
    free(names);
    free(offsets);
    free(lengths);
    return st;
}

rl_status rl_pack_write(const rl_source *src, const char *prefix, int64_t shard_bytes, int *num_shards,
                        rl_pack_progress progress, void *ctx, rl_error *err)
{
    *num_shards = 0;
    if (!rl_imagenet_is(src)) return rl_fail(err, RL_ERR_ARG, "pack: %s is not an image-folder source", src->name);
    if (src->count <= 0) return rl_fail(err, RL_ERR_ARG, "pack: %s has no samples", src->name);
    if (shard_bytes <= 0) shard_bytes = (int64_t)4 << 30;
    int64_t *sizes = malloc((size_t)src->count * sizeof *sizes);
    int64_t *starts = malloc((size_t)(src->count + 1) * sizeof *starts);
    char *class_text = NULL;
    rl_status st = RL_OK;
    if (!sizes || !starts) {
        st = rl_fail(err, RL_ERR_NOMEM, "pack: out of memory for %lld samples", (long long)src->count);
        goto done;
    }
    /* Every source stats its files when it opens (lists included). */
    for (int64_t i = 0; i < src->count; i++)
        sizes[i] = rl_imagenet_file_size(src, i);
    /* Greedy plan: a new shard when the next file would overflow this one. */
    int ns = 0;
    int64_t used = 0;
    starts[0] = 0;
    for (int64_t i = 0; i < src->count; i++) {
        if (i > starts[ns] && used + sizes[i] > shard_bytes) {
            starts[++ns] = i;
            used = 0;
        }
        used += sizes[i];
    }
    starts[++ns] = src->count;
    int have_names = rl_imagenet_class_name(src, 0) != NULL;
    class_text = have_names ? join(NULL, src->num_classes, class_name_of, src) : strdup("");
    if (!class_text) {
        st = rl_fail(err, RL_ERR_NOMEM, "pack: out of memory");
        goto done;
    }
    for (int k = 0; k < ns; k++) {
        char path[4200];
        rl_pack_shard_path(prefix, k, path, sizeof path);
        /* written to a temporary file and committed (util/fs.h) */
        st = write_shard(src, sizes, starts[k], starts[k + 1], k, ns, path, class_text, progress, ctx, err);
        if (st) goto done;
    }
    *num_shards = ns;
done:
    free(class_text);
    free(sizes);
    free(starts);
    return st;
}

/* ---- reading ---- */

typedef struct {
    int nshards;
    int *fds;           /* [nshards] */
    int64_t *base;      /* [nshards] file address of "bytes" */
    int64_t *first;     /* [nshards + 1] first global index of each shard */
    int64_t *off, *len; /* [count] within the shard's bytes */
    char **classes;     /* [nclasses] or NULL */
    int nclasses;
    char prefix[4096];
    rl_augment_config aug;
} pack_impl;

static void pack_destroy(rl_source *s)
{
    pack_impl *m = s->impl;
    if (!m) return;
    for (int k = 0; m->fds && k < m->nshards; k++)
        if (m->fds[k] >= 0) close(m->fds[k]);
    free(m->fds);
    free(m->base);
    free(m->first);
    free(m->off);
    free(m->len);
    for (int c = 0; c < m->nclasses; c++)
        free(m->classes[c]);
    free(m->classes);
    free(m);
    s->impl = NULL;
}

static rl_status pack_get(rl_source *s, int64_t index, uint64_t seed, int epoch, int train, float *out, rl_error *err)
{
    pack_impl *m = s->impl;
    RL_CHECK(index >= 0 && index < s->count);
    int lo = 0, hi = m->nshards - 1; /* the shard with first[k] <= index < first[k+1] */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->first[mid] <= index)
            lo = mid;
        else
            hi = mid - 1;
    }
    char name[4600];
    snprintf(name, sizeof name, "%s-%05d.h5:%s", m->prefix, lo, s->ids[index]);
    size_t n = (size_t)m->len[index];
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %zu bytes", name, n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(m->fds[lo], buf + got, n - got, (off_t)(m->base[lo] + m->off[index] + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return rl_fail(err, RL_ERR_IO, "%s: read failed at byte %zu of %zu (%s); hint: truncated shard?", name, got,
                           n, r < 0 ? strerror(errno) : "end of file");
        }
        got += (size_t)r;
    }
    rl_status st = rl_augment_jpeg(buf, n, name, &m->aug, seed, epoch, index, train, out, err);
    free(buf);
    return st;
}

static const rl_source_ops pack_ops = {pack_get, pack_destroy};

const char *rl_pack_class_name(const rl_source *s, int c)
{
    RL_CHECK(s && s->ops == &pack_ops);
    const pack_impl *m = s->impl;
    return c >= 0 && c < m->nclasses ? m->classes[c] : NULL;
}

static rl_status read_scalar(hid_t f, const char *name, int64_t *v, const char *path, rl_error *err)
{
    return rl_h5_read_i64(f, name, v, 1, path, err);
}

/* Splits text at '\n' into exactly n malloc'ed strings stored at out[0..n). */
static int split(const char *text, int64_t n, char **out)
{
    const char *p = text;
    for (int64_t i = 0; i < n; i++) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if (i + 1 < n && !*e) return -1;
        if (!(out[i] = strndup(p, (size_t)(e - p)))) return -1;
        p = *e ? e + 1 : e;
    }
    return *p ? -1 : 0;
}

/* Every value of v[0..n) is a class in [0, nc). */
static rl_status check_classes(const int32_t *v, int64_t n, int nc, const char *name, const char *path, rl_error *err)
{
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= nc)
            return rl_fail(err, RL_ERR_FORMAT, "%s: dataset '%s' entry %lld is %d, outside the %d classes", path, name,
                           (long long)i, (int)v[i], nc);
    return RL_OK;
}

/* The index arrays for total samples are allocated from shard 0's header:
 * check first that the shards' files can hold that many samples (each takes
 * at least 20 bytes of offsets, lengths and labels).  A missing shard is
 * named here, before anything is allocated. */
static rl_status check_total(const char *prefix, int nshards, int64_t total, const char *path, rl_error *err)
{
    double bytes = 0;
    char shard[4200];
    for (int k = 0; k < nshards; k++) {
        struct stat sb;
        rl_pack_shard_path(prefix, k, shard, sizeof shard);
        if (stat(shard, &sb) != 0)
            return rl_fail(err, RL_ERR_IO,
                           "%s: cannot open packed shard %d of %d (%s); hint: copy every shard of the "
                           "pack",
                           shard, k, nshards, strerror(errno));
        bytes += (double)sb.st_size;
    }
    if ((double)total * 20 > bytes)
        return rl_fail(err, RL_ERR_FORMAT, "%s: total_count %lld samples cannot fit in %d shard files of %.0f bytes",
                       path, (long long)total, nshards, bytes);
    return RL_OK;
}

/* Shard 0's header sizes the whole source: allocates the per-sample arrays
 * and reads the class names. */
static rl_status setup_from_first(rl_source *s, pack_impl *m, hid_t f, int64_t nshards, int64_t total, int32_t nc,
                                  int *has_multi, const char *path, rl_error *err)
{
    rl_status st = RL_OK;
    char *cls = NULL;
    if (nshards < 1 || nshards > 100000 || total < 1 || nc < 1 || nc > RL_MAX_CLASSES) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: bad header (%lld shards, %lld samples, %d classes)", path,
                     (long long)nshards, (long long)total, nc);
        goto done;
    }
    if ((st = check_total(m->prefix, (int)nshards, total, path, err))) goto done;
    m->nshards = (int)nshards;
    s->count = total;
    s->num_classes = nc;
    m->fds = malloc((size_t)nshards * sizeof *m->fds);
    m->base = calloc((size_t)nshards, sizeof *m->base);
    m->first = calloc((size_t)nshards + 1, sizeof *m->first);
    m->off = malloc((size_t)total * sizeof *m->off);
    m->len = malloc((size_t)total * sizeof *m->len);
    s->labels = malloc((size_t)total * sizeof *s->labels);
    s->ids = calloc((size_t)total, sizeof *s->ids);
    if (!m->fds || !m->base || !m->first || !m->off || !m->len || !s->labels || !s->ids) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory for %lld samples", path, (long long)total);
        goto done;
    }
    for (int i = 0; i < m->nshards; i++)
        m->fds[i] = -1;
    *has_multi = rl_h5_exists(f, "multi_offsets");
    if (*has_multi && !(s->multi_offsets = calloc((size_t)total + 1, sizeof *s->multi_offsets))) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((st = rl_h5_read_string(f, "classes", &cls, path, err))) goto done;
    if (cls[0]) {
        m->classes = calloc((size_t)nc, sizeof *m->classes);
        if (!m->classes || split(cls, nc, m->classes)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: 'classes' does not hold %d names", path, nc);
            goto done;
        }
        m->nclasses = nc;
    }
done:
    free(cls);
    return st;
}

/* The multi-hot labels of one shard, appended to s->multi_classes; the
 * shard's offsets into it land at s->multi_offsets + first. */
static rl_status read_multi(rl_source *s, hid_t f, int64_t first, int64_t n, int32_t nc, int64_t *multi_used,
                            const char *path, rl_error *err)
{
    rl_status st;
    int rank;
    int64_t dims[8];
    int64_t *mo = s->multi_offsets + first; /* local offsets, shifted below */
    if ((st = rl_h5_read_i64(f, "multi_offsets", mo, n + 1, path, err)) ||
        (st = rl_h5_shape(f, "multi_classes", &rank, dims, path, err)))
        return st;
    int64_t m_n = rank == 1 ? dims[0] : -1;
    for (int64_t i = 0; i < n && !st; i++)
        if (mo[i] > mo[i + 1])
            st = rl_fail(err, RL_ERR_FORMAT, "%s: multi_offsets decrease at sample %lld (%lld > %lld)", path,
                         (long long)i, (long long)mo[i], (long long)mo[i + 1]);
    if (!st && (mo[0] != 0 || mo[n] != m_n))
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: multi_offsets run from %lld to %lld, expected 0 to %lld (the length "
                     "of multi_classes)",
                     path, (long long)mo[0], (long long)mo[n], (long long)m_n);
    if (st) return st;
    int32_t *mc = realloc(s->multi_classes, (size_t)(*multi_used + m_n + 1) * sizeof *mc);
    if (!mc) return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
    s->multi_classes = mc;
    if ((st = rl_h5_read_i32(f, "multi_classes", mc + *multi_used, m_n, path, err)) ||
        (st = check_classes(mc + *multi_used, m_n, nc, "multi_classes", path, err)))
        return st;
    for (int64_t i = 0; i <= n; i++)
        mo[i] += *multi_used;
    *multi_used += m_n;
    return RL_OK;
}

/* Checks that every sample lies inside the shard's contiguous 'bytes' block
 * and records where the block starts in the file. */
static rl_status locate_bytes(pack_impl *m, hid_t f, int k, int64_t first, int64_t n, const char *path, rl_error *err)
{
    int rank;
    int64_t dims[8];
    rl_status st = rl_h5_shape(f, "bytes", &rank, dims, path, err);
    if (st) return st;
    const int64_t bytes_n = rank == 1 ? dims[0] : -1;
    for (int64_t i = 0; i < n; i++)
        if (m->off[first + i] < 0 || m->len[first + i] < 0 || m->off[first + i] > bytes_n ||
            m->len[first + i] > bytes_n - m->off[first + i])
            return rl_fail(err, RL_ERR_FORMAT, "%s: sample %lld lies outside 'bytes'", path, (long long)i);
    hid_t d = H5Dopen2(f, "bytes", H5P_DEFAULT);
    haddr_t addr = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    if (d >= 0) H5Dclose(d);
    if (addr == HADDR_UNDEF && bytes_n > 0)
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: 'bytes' is not one contiguous block (chunked or unwritten); hint: "
                       "write shards with relab pack",
                       path);
    m->base[k] = (int64_t)addr;
    m->fds[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fds[k] < 0) return rl_fail(err, RL_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    return RL_OK;
}

/* Reads shard k's header and index into the source (shard 0 sizes its arrays). */
static rl_status read_shard(rl_source *s, pack_impl *m, int k, int64_t *multi_used, int *has_multi, rl_error *err)
{
    char path[4200];
    rl_pack_shard_path(m->prefix, k, path, sizeof path);
    hid_t f = rl_h5_open_read(path, err);
    if (f < 0) return k ? rl_error_prefix(err, "packed shard %d of %d", k, m->nshards) : RL_ERR_IO;
    rl_status st;
    char *fmt = NULL, *names = NULL;
    int64_t shard, nshards, first, total, n;
    int rank;
    int64_t dims[8];
    int32_t nc;
    if ((st = rl_h5_read_string(f, "format", &fmt, path, err))) goto done;
    if (strcmp(fmt, "relab-pack 1")) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: format '%s', expected 'relab-pack 1'", path, fmt);
        goto done;
    }
    if ((st = read_scalar(f, "shard", &shard, path, err)) || (st = read_scalar(f, "num_shards", &nshards, path, err)) ||
        (st = read_scalar(f, "first_index", &first, path, err)) ||
        (st = read_scalar(f, "total_count", &total, path, err)) ||
        (st = rl_h5_read_i32(f, "num_classes", &nc, 1, path, err)) ||
        (st = rl_h5_shape(f, "labels", &rank, dims, path, err)))
        goto done;
    n = rank == 1 ? dims[0] : -1;
    if (k == 0 && (st = setup_from_first(s, m, f, nshards, total, nc, has_multi, path, err))) goto done;
    if (shard != k || nshards != m->nshards || total != s->count || nc != s->num_classes || first != m->first[k] ||
        n < 0 || n > total - first || (k == m->nshards - 1 && first + n != total)) {
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: shard %lld of %lld, first sample %lld, %lld samples: does not continue "
                     "shard %d (expected shard %d of %d starting at %lld); hint: shards from different packs?",
                     path, (long long)shard, (long long)nshards, (long long)first, (long long)n, k - 1, k, m->nshards,
                     (long long)m->first[k]);
        goto done;
    }
    m->first[k + 1] = first + n;
    if ((st = rl_h5_read_i64(f, "offsets", m->off + first, n, path, err)) ||
        (st = rl_h5_read_i64(f, "lengths", m->len + first, n, path, err)) ||
        (st = rl_h5_read_i32(f, "labels", s->labels + first, n, path, err)) ||
        (st = check_classes(s->labels + first, n, nc, "labels", path, err)) ||
        (st = rl_h5_read_string(f, "names", &names, path, err)))
        goto done;
    if (split(names, n, s->ids + first)) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: 'names' does not hold %lld names", path, (long long)n);
        goto done;
    }
    if (*has_multi != rl_h5_exists(f, "multi_offsets")) {
        st = rl_fail(err, RL_ERR_FORMAT, "%s: multi-hot labels in some shards only", path);
        goto done;
    }
    if (*has_multi && (st = read_multi(s, f, first, n, nc, multi_used, path, err))) goto done;
    st = locate_bytes(m, f, k, first, n, path, err);
done:
    free(fmt);
    free(names);
    H5Fclose(f);
    return st;
}

rl_status rl_pack_open(rl_source **out, const char *prefix, const rl_augment_config *aug, rl_error *err)
{
    *out = NULL;
    rl_source *s = calloc(1, sizeof *s);
    pack_impl *m = calloc(1, sizeof *m);
    if (!s || !m) {
        free(s);
        free(m);
        return rl_fail(err, RL_ERR_NOMEM, "pack: out of memory");
    }
    s->ops = &pack_ops;
    s->impl = m;
    m->aug = *aug;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    snprintf(s->name, sizeof s->name, "%s", prefix);
    s->height = s->width = aug->size;
    s->channels = 3;
    int64_t multi_used = 0;
    int has_multi = 0;
    rl_status st = read_shard(s, m, 0, &multi_used, &has_multi, err);
    for (int k = 1; !st && k < m->nshards; k++)
        st = read_shard(s, m, k, &multi_used, &has_multi, err);
    if (st) {
        if (!s->ids) s->count = 0; /* failed before the arrays existed */
        rl_source_destroy(s);
        return st;
    }
    *out = s;
    return RL_OK;
}
