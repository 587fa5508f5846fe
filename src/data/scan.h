/* scan.h: the image files of an ImageNet-style folder (layouts (a) and (b)
 * of data/imagenet.h), scanned or read from the file-list cache.  Private to
 * src/data (imagenet.c opens its sources through it; not installed).
 *
 * rl_scan_folder first computes the folder's stamp (a hash of the layout, the
 * root, the labels/classes files' size and mtime, and the mtime of root and
 * of every class folder); when cfg->cache is given and holds that stamp, its
 * list is used, otherwise the folder is scanned and the cache rewritten
 * atomically (format: docs/data.md).  The errors are those of imagenet.h's
 * layouts (a) and (b).
 *
 * Ownership: the caller owns files and cls (free with the two _free
 * functions; both are zeroed on error).  Re-entrant; no shared state.
 */
#ifndef RL_SCAN_H
#define RL_SCAN_H

#include <stdint.h>

#include "data/imagenet.h"
#include "util/status.h"

/* One image: its path relative to the root ("WNID/file" in a tree), its
 * size and (while scanning folders) mtime, and its class. */
typedef struct {
    char *name;
    int64_t size;
    int64_t mtime_ns;
    int32_t label;
} rl_scan_entry;

/* Images sorted by name (strcmp order). */
typedef struct {
    rl_scan_entry *e;
    int64_t n, cap;
} rl_scan_entries;

typedef struct {
    char **wnid; /* [n] in class order */
    int n;
} rl_scan_classes;

/* The files and classes of cfg's folder (cfg->root, cfg->labels_file for the
 * flat layout, cfg->classes_file, cfg->class_root, cfg->numbered, cfg->cache). */
rl_status rl_scan_folder(const rl_imagenet_config *cfg, rl_scan_entries *files, rl_scan_classes *cls, rl_error *err);

void rl_scan_entries_free(rl_scan_entries *a);
void rl_scan_classes_free(rl_scan_classes *c);

#endif
