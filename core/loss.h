/* loss: softmax with cross-entropy, the textbook's SoftmaxWithLoss.
 *
 * For each row b of logits z (B,K):
 *   p(b, j) = exp(z(b,j) - max_j z(b,.)) / sum_j exp(z(b,j) - max_j z(b,.))
 *   loss    = -(1/B) sum_b log(p(b, label_b) + 1e-7)
 *   dz      = (p - onehot(label)) / B
 * Subtracting the row maximum keeps huge logits finite. Sums are accumulated in double. */
#ifndef BENCH_LOSS_H
#define BENCH_LOSS_H

#include <stdint.h>

/* Writes the probabilities into prob (kept for the backward pass) and returns the mean loss. */
double loss_softmax_xent_forward(float *prob /*(B,K)*/, const float *logits /*(B,K)*/,
                                 const uint8_t *labels /*(B) each < K*/, int batch, int k);

/* dlogits = (prob - onehot(labels)) / B, overwritten. */
void loss_softmax_xent_backward(float *dlogits /*(B,K)*/, const float *prob /*(B,K)*/,
                                const uint8_t *labels /*(B)*/, int batch, int k);

#endif
