/* list.h: label list files, the one format in which labels move between
 * relab's commands (noise -> clean -> train, and explicit ImageNet lists).
 *
 * Format (UTF-8 text, one sample per line):
 *     # relab-list 1
 *     # classes 10
 *     <path-or-id>\t<label>[,<label>...]
 * - Lines starting with '#' are comments; the optional "# classes N" header
 *   gives the number of classes (otherwise 1 + the largest label), and the
 *   optional "# root DIR" header the folder that relative image paths are
 *   relative to (a relative DIR is relative to the list file's folder).
 * - The first label is the sample's primary label; further labels are extra
 *   positives (multi-hot targets for the sigmoid loss).
 * - <path-or-id> is a path relative to the root (the "# root" header, else the
 *   list file's folder) or absolute for image folders, or
 *   "<idx-images-file-basename>#<index>" for IDX samples,
 *   e.g. "train-images-idx3-ubyte.gz#12345".  It contains no tab.
 * A malformed line is an error naming the file and line number.
 *
 * Limits (docs/lists.md): a line holds at most RL_LINE_MAX bytes, a path at
 * most RL_LIST_PATH_MAX, labels are below RL_MAX_CLASSES (util/text.h).  A list
 * may hold no sample (commands that need samples refuse it).  Reading takes
 * time O(n log n) in its size.
 */
#ifndef RL_LIST_H
#define RL_LIST_H

#include <stdint.h>
#include <stddef.h>
#include "util/status.h"
#include "util/text.h"

#define RL_LIST_PATH_MAX 4096 /* bytes in a sample's path or id (PATH_MAX) */

typedef struct {
    int64_t count;
    int num_classes;
    char **paths;           /* [count], owned */
    int32_t *labels;        /* [count] primary label, owned */
    int64_t *multi_offsets; /* [count+1] or NULL when every sample has one label; owned */
    int32_t *multi_classes; /* labels of sample i: multi_classes[multi_offsets[i]..multi_offsets[i+1]), primary first */
    char *root;             /* the "# root" folder, owned; NULL when the list has none.  rl_list_read makes a
                             * relative one absolute (joined to the list file's folder), so a list written
                             * elsewhere with this root still finds its images. */
    size_t cap, multi_cap;  /* private: allocated sizes for rl_list_append (0 in a zeroed list) */
} rl_list;

/* Reads path into *out (zeroed first).  On error *out is left empty. */
rl_status rl_list_read(const char *path, rl_list *out, rl_error *err);

/* Writes atomically (util/fs.h): the headers (version, classes, root when
 * set), then one line per sample. */
rl_status rl_list_write(const char *path, const rl_list *list, rl_error *err);

/* Sets list->root to a copy of root (NULL clears it). */
rl_status rl_list_set_root(rl_list *list, const char *root, rl_error *err);

/* The line number in the file at path of sample k (0-based), for messages;
 * 0 when the file cannot be read again or has fewer samples. */
long rl_list_line_of(const char *path, int64_t k);

/* Appends one sample (copies path and labels); labels[0] is primary, nlabels >= 1.
 * The list must come from rl_list_read or start zeroed. */
rl_status rl_list_append(rl_list *list, const char *path, const int32_t *labels, int nlabels, rl_error *err);

void rl_list_free(rl_list *list);

#endif
