/* imagenet.h: an rl_source over JPEG files on disk, in three layouts.
 *
 *  (a) class-folder tree: root/WNID/<name>.{JPEG,jpg,jpeg,png} (any case).
 *      Class c is the c-th folder name in strcmp order (for ImageNet's train
 *      set that is the standard sorted-wnid order of classes.tsv), or, when
 *      classes_file is given, the folder's index in that file, or, with
 *      `numbered`, the folder name read as a decimal number (ImageNetV2's
 *      folders 0 .. 999; every folder name must then be such a number).
 *  (b) flat folder: root/<name>.JPEG... with labels_file holding one WNID
 *      per line for the image files in strcmp order (ImageNet's val layout
 *      with imagenet_2012_validation_synset_labels.txt).  WNID -> class comes
 *      from classes_file, else from the sorted folders of class_root (the
 *      train tree), else from the sorted distinct WNIDs in labels_file.
 *  (c) list file (data/list.h): paths relative to list_root, else to the
 *      list's "# root" header, else to the list's folder; labels and multi-hot
 *      labels as given (copied to multi_offsets/multi_classes).  Every path
 *      is checked when the source opens: a list whose paths do not resolve is
 *      refused with the count, the first such path and its line.
 *
 * The scanned file list of (a) and (b) (relative paths, labels, file sizes,
 * class WNIDs) is cached in `cache` when given: a second open reads it
 * instead of listing 1.28M files.  The cache is used when its stamp matches:
 * a hash of the layout, the root, the labels/classes files' size and mtime,
 * and the mtime of root and of every class folder (adding or removing a file
 * changes its folder's mtime).  Otherwise it is rebuilt and rewritten
 * atomically.  Format: see docs/data.md.
 *
 * Errors before training starts: missing root, no class folders, an empty
 * class folder, a labels file whose line count differs from the number of
 * images, a WNID not in the classes file, a folder name that is not a number
 * (numbered), an unreadable list, list paths that name no file.
 *
 * get() reads the file and runs rl_augment_jpeg (augment.h; PNG content is
 * decoded by the png.h fallback whatever the extension): out receives
 * image_size^2 * 3 floats, HWC, normalised.  get() is thread-safe (no shared
 * mutable state).  Samples that cannot be decoded (corrupt, truncated, GIF...) return an
 * error naming the file; the loader counts and replaces them.
 */
#ifndef RL_IMAGENET_H
#define RL_IMAGENET_H

#include <stddef.h>
#include <stdint.h>
#include "data/augment.h"
#include "data/source.h"
#include "util/status.h"

typedef struct {
    const char *root;         /* (a) or (b); NULL when list is given */
    const char *labels_file;  /* (b): selects the flat layout; NULL for (a) */
    const char *classes_file; /* optional: "index\twnid[\tname]" lines, header allowed (classes.tsv) */
    const char *class_root;   /* optional for (b): a tree whose sorted folder names give the classes */
    const char *list;         /* (c): an rl_list file; overrides root */
    const char *list_root;    /* optional for (c): the folder its relative paths are in (overrides "# root") */
    int numbered;             /* (a): class = the folder name as a number (ImageNetV2) */
    const char *cache;        /* optional file-list cache path for (a)/(b); NULL = always scan */
    rl_augment_config aug;    /* output size, eval ratio, crop limits, mean/std, DCT scaling */
} rl_imagenet_config;

/* Zeroes c and sets aug to rl_augment_config_default(224). */
void rl_imagenet_config_default(rl_imagenet_config *c);

/* Opens the source described by cfg (strings are copied; cfg can be freed
 * afterwards).  *out is NULL on error. */
rl_status rl_imagenet_open(rl_source **out, const rl_imagenet_config *cfg, rl_error *err);

/* 1 if s was made by rl_imagenet_open. */
int rl_imagenet_is(const rl_source *s);

/* For an ImageNet source: the full path of sample i into buf (truncated to n),
 * its file size in bytes when the source opened, and the WNID (folder name)
 * of class c or NULL when unknown (lists). */
const char *rl_imagenet_path(const rl_source *s, int64_t i, char *buf, size_t n);
int64_t rl_imagenet_file_size(const rl_source *s, int64_t i);
const char *rl_imagenet_class_name(const rl_source *s, int c);

#endif
