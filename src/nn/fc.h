/* fc.h: fully connected layer y = x W^T + b.
 * x (N, IN), W (OUT, IN) as in PyTorch, b (OUT), y (N, OUT), row-major.
 * Backward ACCUMULATES into dw, db and (when dx != NULL) dx. */
#ifndef RL_FC_H
#define RL_FC_H

typedef struct {
    int in, out;
    float *w, *b;   /* not owned */
    float *dw, *db; /* not owned */
} rl_fc;

void rl_fc_forward(const rl_fc *fc, int n, const float *x, float *y);
void rl_fc_backward(const rl_fc *fc, int n, const float *x, const float *dy, float *dx);

#endif
