/* scan.c: the image files of an ImageNet-style folder, scanned or read from
 * the file-list cache (see scan.h).
 *
 * Scanning builds one array of entries {relative path, label, file size},
 * sorted in strcmp order of the path; the cache stores exactly that array
 * plus the class WNIDs, behind a stamp of what was scanned.
 */
#include "data/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/text.h"

void rl_scan_entries_free(rl_scan_entries *a)
{
    for (int64_t i = 0; i < a->n; i++)
        free(a->e[i].name);
    free(a->e);
    a->e = NULL;
    a->n = a->cap = 0;
}

static int entries_push(rl_scan_entries *a, const char *name, int64_t size, int64_t mtime_ns, int32_t label)
{
    size_t cap = (size_t)a->cap;
    if (rl_grow(&a->e, &cap, (size_t)a->n + 1, sizeof *a->e)) return -1;
    a->cap = (int64_t)cap;
    char *s = strdup(name);
    if (!s) return -1;
    a->e[a->n++] = (rl_scan_entry){s, size, mtime_ns, label};
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const rl_scan_entry *)a)->name, ((const rl_scan_entry *)b)->name);
}

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot && (!strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".png"));
}

/* Lists dir: subfolders (want_dirs) or image files, sorted, with sizes and mtimes. */
static rl_status list_dir(const char *dir, int want_dirs, rl_scan_entries *out, rl_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open folder (%s); hint: check the data path", dir, strerror(errno));
    int fd = dirfd(d);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (!want_dirs && !is_image_name(de->d_name)) continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, 0) != 0) continue; /* dangling link: not an image */
        if (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
        if (entries_push(out, de->d_name, (int64_t)st.st_size,
                         (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, 0)) {
            closedir(d);
            return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory listing the folder", dir);
        }
    }
    closedir(d);
    if (out->n > 1) qsort(out->e, (size_t)out->n, sizeof *out->e, cmp_entry);
    return RL_OK;
}

/* FNV-1a, 64 bit: the cache stamp. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}
static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}
static uint64_t fnv_file(uint64_t h, const char *path)
{
    struct stat st;
    int64_t v[2] = {-1, -1};
    if (path && stat(path, &st) == 0) {
        v[0] = (int64_t)st.st_size;
        v[1] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    return fnv(fnv_str(h, path), v, sizeof v);
}

/* ---- classes ---- */

void rl_scan_classes_free(rl_scan_classes *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->wnid[i]);
    free(c->wnid);
    c->wnid = NULL;
    c->n = 0;
}

/* classes.tsv through the one reader (util/text.h); the names are not needed. */
static rl_status read_classes(const char *path, rl_scan_classes *out, rl_error *err)
{
    rl_classes c;
    rl_status st = rl_classes_read(path, &c, err);
    if (st) return st;
    for (int i = 0; i < c.n; i++)
        free(c.name[i]);
    free(c.name);
    out->wnid = c.wnid;
    out->n = c.n;
    return RL_OK;
}

/* Index of wnid in c, or -1.  Linear; the lookup table below is for bulk use. */
typedef struct {
    const char *w;
    int i;
} wnid_index;
static int cmp_wi(const void *a, const void *b)
{
    return strcmp(((const wnid_index *)a)->w, ((const wnid_index *)b)->w);
}

static wnid_index *make_lookup(const rl_scan_classes *c)
{
    wnid_index *t = malloc((size_t)(c->n ? c->n : 1) * sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < c->n; i++)
        t[i] = (wnid_index){c->wnid[i], i};
    if (c->n > 1) qsort(t, (size_t)c->n, sizeof *t, cmp_wi);
    return t;
}

static int lookup(const wnid_index *t, int n, const char *w)
{
    wnid_index key = {w, 0};
    const wnid_index *r = bsearch(&key, t, (size_t)n, sizeof *t, cmp_wi);
    return r ? r->i : -1;
}

/* ---- scanning ---- */

/* A folder name that is a decimal class number without leading zeros
 * ("0", "17", not "017" or "+1"), or -1. */
static int folder_number(const char *name)
{
    if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1])) return -1;
    long v = 0;
    for (const char *p = name; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
        if (v >= RL_MAX_CLASSES) return -1;
    }
    return (int)v;
}

/* Classes of a numbered tree: class i is named "i" for i up to the largest folder number. */
static rl_status numbered_classes(const char *root, const rl_scan_entries *dirs, rl_scan_classes *cls, rl_error *err)
{
    int max = -1;
    for (int64_t i = 0; i < dirs->n; i++) {
        int v = folder_number(dirs->e[i].name);
        if (v < 0)
            return rl_fail(err, RL_ERR_FORMAT,
                           "%s/%s: folder name is not a class number (numbered layout: folders 0, 1, 2, ... as in "
                           "ImageNetV2); hint: remove the folder, or read the tree by sorted folder names",
                           root, dirs->e[i].name);
        max = v > max ? v : max;
    }
    if (!(cls->wnid = calloc((size_t)max + 1, sizeof *cls->wnid))) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    for (int c = 0; c <= max; c++) {
        char name[16];
        snprintf(name, sizeof name, "%d", c);
        if (!(cls->wnid[c] = strdup(name))) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
        cls->n++;
    }
    return RL_OK;
}

/* Sorting "0", "1", "10", "100", "2" as text is rarely what numbered folders mean. */
static void warn_if_numbered(const char *root, const rl_scan_entries *dirs)
{
    int numbers = 0;
    for (int64_t i = 0; i < dirs->n; i++)
        numbers += folder_number(dirs->e[i].name) >= 0;
    if (dirs->n > 10 && numbers == dirs->n)
        rl_log(RL_LOG_WARN,
               "%s: the %lld class folders are named by numbers but classes follow their sorted names ('10' before "
               "'2'); for ImageNetV2 (class = folder number) use the numbered layout (relab list --numbered, relab "
               "predict --numbered)",
               root, (long long)dirs->n);
}

/* (a): root/WNID/files.  Fills files (names "WNID/file") and cls. */
static rl_status scan_tree(const char *root, const char *classes_file, int numbered, rl_scan_entries *files,
                           rl_scan_classes *cls, uint64_t *stamp, int scan, rl_error *err)
{
    rl_scan_entries dirs = {0};
    rl_status st = list_dir(root, 1, &dirs, err);
    if (st) return st;
    if (dirs.n == 0) {
        rl_scan_entries_free(&dirs);
        return rl_fail(err, RL_ERR_FORMAT,
                       "%s: no class folders; hint: the tree layout is root/WNID/*.JPEG (for a flat folder give a "
                       "labels file)",
                       root);
    }
    uint64_t h = fnv_str(0xcbf29ce484222325ULL, numbered ? "numbered-tree" : "tree");
    h = fnv_file(fnv_str(h, root), root);
    h = fnv_file(h, classes_file);
    for (int64_t i = 0; i < dirs.n; i++) {
        h = fnv_str(h, dirs.e[i].name);
        h = fnv(h, &dirs.e[i].mtime_ns, sizeof dirs.e[i].mtime_ns);
    }
    *stamp = h;
    if (!scan) {
        rl_scan_entries_free(&dirs);
        return RL_OK;
    }
    wnid_index *lut = NULL;
    if (numbered) {
        if ((st = numbered_classes(root, &dirs, cls, err))) goto done;
    } else if (classes_file) {
        if ((st = read_classes(classes_file, cls, err))) goto done;
        if (!(lut = make_lookup(cls))) {
            st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
            goto done;
        }
    } else {
        warn_if_numbered(root, &dirs);
        /* As many classes as the cache and classes.tsv can hold (and an int can count). */
        if ((uint64_t)dirs.n > RL_MAX_CLASSES) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: %lld class folders, at most %d", root, (long long)dirs.n,
                         RL_MAX_CLASSES);
            goto done;
        }
        cls->wnid = calloc((size_t)dirs.n, sizeof *cls->wnid);
        if (!cls->wnid) {
            st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int64_t i = 0; i < dirs.n; i++) {
            cls->wnid[i] = dirs.e[i].name;
            dirs.e[i].name = strdup(cls->wnid[i]);
            cls->n++;
            if (!dirs.e[i].name) {
                st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
    }
    char path[8192];
    for (int64_t c = 0; c < dirs.n; c++) {
        int label = numbered ? folder_number(dirs.e[c].name) : lut ? lookup(lut, cls->n, dirs.e[c].name) : (int)c;
        if (label < 0) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s/%s: folder name is not a class in %s; hint: remove the folder or "
                         "use a classes file that lists it",
                         root, dirs.e[c].name, classes_file);
            goto done;
        }
        snprintf(path, sizeof path, "%s/%s", root, dirs.e[c].name);
        rl_scan_entries imgs = {0};
        if ((st = list_dir(path, 0, &imgs, err))) goto done;
        if (imgs.n == 0) {
            rl_scan_entries_free(&imgs);
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: empty class folder (no .JPEG/.jpg/.jpeg/.png files); hint: remove "
                         "it or add its images",
                         path);
            goto done;
        }
        for (int64_t i = 0; i < imgs.n && !st; i++) {
            snprintf(path, sizeof path, "%s/%s", dirs.e[c].name, imgs.e[i].name);
            if (entries_push(files, path, imgs.e[i].size, 0, label)) st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
        }
        rl_scan_entries_free(&imgs);
        if (st) goto done;
    }
done:
    free(lut);
    rl_scan_entries_free(&dirs);
    return st;
}

/* Reads a labels file: one token (up to a blank) per non-empty line. */
static rl_status read_lines(const char *path, rl_scan_entries *out, rl_error *err)
{
    rl_lines r;
    rl_status st = rl_lines_open(&r, path, "labels", 0, err);
    if (st) return st;
    char *line;
    size_t len;
    int got;
    while ((got = rl_lines_next(&r, &line, &len, err)) > 0) {
        line[strcspn(line, "\t ")] = '\0';
        if (!line[0]) continue;
        if (entries_push(out, line, 0, 0, 0)) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
    }
    if (!st && got < 0) st = err ? err->code : RL_ERR_FORMAT;
    rl_lines_close(&r);
    return st;
}

/* (b): flat root + labels file. */
static rl_status scan_flat(const rl_imagenet_config *cfg, rl_scan_entries *files, rl_scan_classes *cls, uint64_t *stamp,
                           int scan, rl_error *err)
{
    uint64_t h = fnv_str(0xcbf29ce484222325ULL, "flat");
    h = fnv_file(fnv_str(h, cfg->root), cfg->root);
    h = fnv_file(h, cfg->labels_file);
    h = fnv_file(h, cfg->classes_file);
    h = fnv_file(h, cfg->class_root);
    *stamp = h;
    if (!scan) {
        struct stat st;
        if (stat(cfg->root, &st) != 0)
            return rl_fail(err, RL_ERR_IO, "%s: cannot open folder (%s); hint: check the data path", cfg->root,
                           strerror(errno));
        return RL_OK;
    }
    rl_scan_entries lab = {0};
    rl_status st = list_dir(cfg->root, 0, files, err);
    if (!st && files->n == 0)
        st = rl_fail(err, RL_ERR_FORMAT, "%s: no .JPEG/.jpg/.jpeg/.png files in the folder", cfg->root);
    if (!st) st = read_lines(cfg->labels_file, &lab, err);
    if (!st && lab.n != files->n)
        st = rl_fail(err, RL_ERR_FORMAT,
                     "%s: %lld labels for %lld images in %s; hint: the labels file needs one WNID per image, in "
                     "sorted file-name order",
                     cfg->labels_file, (long long)lab.n, (long long)files->n, cfg->root);
    if (st) goto done;
    if (cfg->classes_file) {
        st = read_classes(cfg->classes_file, cls, err);
    } else if (cfg->class_root) {
        rl_scan_entries dirs = {0};
        st = list_dir(cfg->class_root, 1, &dirs, err);
        if (!st && dirs.n == 0) st = rl_fail(err, RL_ERR_FORMAT, "%s: no class folders", cfg->class_root);
        if (!st && !(cls->wnid = calloc((size_t)dirs.n, sizeof *cls->wnid))) st = rl_fail(err, RL_ERR_NOMEM, "oom");
        for (int64_t i = 0; !st && i < dirs.n; i++) {
            cls->wnid[i] = dirs.e[i].name;
            dirs.e[i].name = NULL;
            cls->n++;
        }
        rl_scan_entries_free(&dirs);
    } else {
        /* The distinct WNIDs, sorted: ImageNet's val labels name all 1000. */
        rl_scan_entries u = {0};
        for (int64_t i = 0; !st && i < lab.n; i++)
            if (entries_push(&u, lab.e[i].name, 0, 0, 0)) st = rl_fail(err, RL_ERR_NOMEM, "oom");
        if (u.n > 1) qsort(u.e, (size_t)u.n, sizeof *u.e, cmp_entry);
        if (!st && !(cls->wnid = calloc((size_t)u.n, sizeof *cls->wnid))) st = rl_fail(err, RL_ERR_NOMEM, "oom");
        for (int64_t i = 0; !st && i < u.n; i++) {
            if (cls->n && !strcmp(cls->wnid[cls->n - 1], u.e[i].name)) continue;
            cls->wnid[cls->n++] = u.e[i].name;
            u.e[i].name = NULL;
        }
        rl_scan_entries_free(&u);
    }
    if (st) goto done;
    wnid_index *lut = make_lookup(cls);
    if (!lut) {
        st = rl_fail(err, RL_ERR_NOMEM, "oom");
        goto done;
    }
    for (int64_t i = 0; i < files->n; i++) {
        int c = lookup(lut, cls->n, lab.e[i].name);
        if (c < 0) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%lld: WNID '%s' is not a known class (%d classes from %s)",
                         cfg->labels_file, (long long)i + 1, lab.e[i].name, cls->n,
                         cfg->classes_file ? cfg->classes_file : cfg->class_root);
            break;
        }
        files->e[i].label = c;
    }
    free(lut);
done:
    rl_scan_entries_free(&lab);
    return st;
}

/* ---- cache ---- */

static rl_status cache_read(const char *path, uint64_t stamp, rl_scan_entries *files, rl_scan_classes *cls, int *hit,
                            rl_error *err)
{
    *hit = 0;
    FILE *f = fopen(path, "r");
    if (!f) return RL_OK; /* no cache yet */
    char line[8192];
    unsigned long long s = 0;
    long long nc = -1, nf = -1;
    int ok = fgets(line, sizeof line, f) && !strcmp(line, "# relab-filecache 1\n");
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "stamp %llx", &s) == 1 && s == stamp;
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "classes %lld", &nc) == 1 && nc >= 0 && nc <= RL_MAX_CLASSES;
    if (ok && !(cls->wnid = calloc((size_t)(nc ? nc : 1), sizeof *cls->wnid))) ok = 0;
    for (long long i = 0; ok && i < nc; i++) {
        ok = fgets(line, sizeof line, f) != NULL;
        line[strcspn(line, "\n")] = '\0';
        if (ok && !(cls->wnid[cls->n++] = strdup(line))) ok = 0;
    }
    ok = ok && fgets(line, sizeof line, f) && sscanf(line, "files %lld", &nf) == 1 && nf >= 0;
    for (long long i = 0; ok && i < nf; i++) {
        long long size;
        int label, pos = 0;
        ok = fgets(line, sizeof line, f) && sscanf(line, "%lld\t%d\t%n", &size, &label, &pos) == 2 && pos > 0 &&
             label >= 0 && label < nc;
        if (!ok) break;
        line[strcspn(line, "\n")] = '\0';
        if (entries_push(files, line + pos, size, 0, label)) {
            fclose(f);
            return rl_fail(err, RL_ERR_NOMEM, "%s: out of memory reading the file-list cache", path);
        }
    }
    fclose(f);
    if (ok && nf > 0) {
        *hit = 1;
    } else { /* stale or damaged: rescan */
        rl_scan_entries_free(files);
        rl_scan_classes_free(cls);
    }
    return RL_OK;
}

static rl_status cache_write(const char *path, uint64_t stamp, const rl_scan_entries *files, const rl_scan_classes *cls,
                             rl_error *err)
{
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    fprintf(w.f, "# relab-filecache 1\nstamp %016llx\nclasses %d\n", (unsigned long long)stamp, cls->n);
    for (int i = 0; i < cls->n; i++)
        fprintf(w.f, "%s\n", cls->wnid[i]);
    fprintf(w.f, "files %lld\n", (long long)files->n);
    for (int64_t i = 0; i < files->n; i++)
        fprintf(w.f, "%lld\t%d\t%s\n", (long long)files->e[i].size, files->e[i].label, files->e[i].name);
    return rl_fs_writer_commit(&w, err);
}

/* ---- scanning through the cache ---- */

rl_status rl_scan_folder(const rl_imagenet_config *cfg, rl_scan_entries *files, rl_scan_classes *cls, rl_error *err)
{
    memset(files, 0, sizeof *files);
    memset(cls, 0, sizeof *cls);
    uint64_t stamp;
    int flat = cfg->labels_file != NULL, hit = 0;
    /* The stamp needs only the root's folder list; scanning comes after a cache miss. */
    rl_status st = flat ? scan_flat(cfg, files, cls, &stamp, 0, err)
                        : scan_tree(cfg->root, cfg->classes_file, cfg->numbered, files, cls, &stamp, 0, err);
    if (!st && cfg->cache) st = cache_read(cfg->cache, stamp, files, cls, &hit, err);
    if (!st && !hit) {
        st = flat ? scan_flat(cfg, files, cls, &stamp, 1, err)
                  : scan_tree(cfg->root, cfg->classes_file, cfg->numbered, files, cls, &stamp, 1, err);
        if (!st && cfg->cache) st = cache_write(cfg->cache, stamp, files, cls, err);
    }
    if (st) {
        rl_scan_entries_free(files);
        rl_scan_classes_free(cls);
    }
    return st;
}
