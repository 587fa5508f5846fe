/* source.c: the parts of the data-source interface common to every source. */
#include "data/source.h"

#include <stdlib.h>

void rl_source_free_common(rl_source *s)
{
    free(s->labels);
    free(s->multi_offsets);
    free(s->multi_classes);
    if (s->ids) {
        for (int64_t i = 0; i < s->count; i++)
            free(s->ids[i]);
        free(s->ids);
    }
    s->labels = NULL;
    s->multi_offsets = NULL;
    s->multi_classes = NULL;
    s->ids = NULL;
}

void rl_source_destroy(rl_source *s)
{
    if (!s) return;
    if (s->ops && s->ops->destroy) s->ops->destroy(s);
    rl_source_free_common(s);
    free(s);
}
