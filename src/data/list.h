/* list.h: label list files, the one format in which labels move between
 * relab's commands (noise -> clean -> train, and explicit ImageNet lists).
 *
 * Format (UTF-8 text, one sample per line):
 *     # relab-list 1
 *     # classes 10
 *     <path-or-id>\t<label>[,<label>...]
 * - Lines starting with '#' are comments; the optional "# classes N" header
 *   gives the number of classes (otherwise 1 + the largest label).
 * - The first label is the sample's primary label; further labels are extra
 *   positives (multi-hot targets for the sigmoid loss).
 * - <path-or-id> is a path relative to the list file's folder (or absolute) for
 *   image folders, or "<idx-images-file-basename>#<index>" for IDX samples,
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
    size_t cap, multi_cap;  /* private: allocated sizes for rl_list_append (0 in a zeroed list) */
} rl_list;

/* Reads path into *out (zeroed first).  On error *out is left empty. */
rl_status rl_list_read(const char *path, rl_list *out, rl_error *err);

/* Writes atomically (temporary file in the same folder, fsync, rename). */
rl_status rl_list_write(const char *path, const rl_list *list, rl_error *err);

/* Appends one sample (copies path and labels); labels[0] is primary, nlabels >= 1.
 * The list must come from rl_list_read or start zeroed. */
rl_status rl_list_append(rl_list *list, const char *path, const int32_t *labels, int nlabels, rl_error *err);

void rl_list_free(rl_list *list);

#endif
