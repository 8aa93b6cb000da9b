/* Least-angle regression for KernelSHAP's feature selection (--l1-reg), as shap asks
 * scikit-learn for it:
 *   num_features(K): lars_path(X, y, max_iter=K): the first K features to enter the LAR path,
 *                    on X and y as they are;
 *   aic / bic:       LassoLarsIC on X scaled to unit standard deviation, X and y centred: the
 *                    lasso path (LAR with the lasso's drop rule), each step scored by
 *                    n log(2 pi s2) + RSS / s2 + c df, with s2 the full least-squares fit's
 *                    residual variance, c = 2 (AIC) or log n (BIC); the features with a
 *                    nonzero coefficient at the best step.
 * Everything runs on the Gram matrix, which is p x p for p features. */
#include "lars.h"

#include "../core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* G_AA w = b, or 0 when G_AA is singular (relative pivot 1e-12). */
static int solve_active(const double *G, size_t p, const size_t *A, size_t count, const double *b,
                        double *w, double *L)
{
    return gbx_cholesky_solve(G, p, A, count, 0.0, 1e-12, b, w, L);
}

/* Residual sum of squares of coefficients beta from the moments. */
static double rss(const double *G, const double *Xy, double yy, size_t p, const double *beta)
{
    double value = yy;
    for (size_t i = 0; i < p; i++) {
        if (beta[i] == 0.0) continue;
        value -= 2.0 * beta[i] * Xy[i];
        for (size_t j = 0; j < p; j++) value += beta[i] * G[i * p + j] * beta[j];
    }
    return value > 0.0 ? value : 0.0;
}

size_t gbx_lars_select(const double *X, const double *y, size_t n, size_t p, gbx_lars_rule rule,
                       size_t wanted, size_t *selected)
{
    int criterion = rule != GBX_LARS_FIRST;
    double *x = malloc(n * p * sizeof(double)), *t = malloc(n * sizeof(double));
    double *G = calloc(p * p, sizeof(double)), *Xy = calloc(p, sizeof(double));
    double *beta = calloc(p, sizeof(double)), *c = malloc(p * sizeof(double));
    double *w = malloc(p * sizeof(double)), *s = malloc(p * sizeof(double));
    double *L = malloc(p * p * sizeof(double)), *a = malloc(p * sizeof(double));
    double *best_beta = calloc(p, sizeof(double));
    size_t *A = malloc(p * sizeof(size_t));
    uint8_t *in = calloc(p, 1);
    size_t result = 0;
    if (!x || !t || !G || !Xy || !beta || !c || !w || !s || !L || !a || !best_beta || !A || !in)
        goto done;
    memcpy(x, X, n * p * sizeof(double));
    memcpy(t, y, n * sizeof(double));
    if (criterion) { /* StandardScaler(with_mean=False), then LassoLarsIC's centring */
        double mean_y = 0.0;
        for (size_t i = 0; i < n; i++) mean_y += t[i] / (double)n;
        for (size_t i = 0; i < n; i++) t[i] -= mean_y;
        for (size_t j = 0; j < p; j++) {
            double mean = 0.0, variance = 0.0;
            for (size_t i = 0; i < n; i++) mean += x[i * p + j] / (double)n;
            for (size_t i = 0; i < n; i++) variance += (x[i * p + j] - mean) * (x[i * p + j] - mean) / (double)n;
            double scale = variance > 0.0 ? sqrt(variance) : 1.0;
            for (size_t i = 0; i < n; i++) x[i * p + j] = (x[i * p + j] - mean) / scale;
        }
    }
    double yy = 0.0;
    for (size_t i = 0; i < n; i++) {
        yy += t[i] * t[i];
        for (size_t j = 0; j < p; j++) {
            Xy[j] += x[i * p + j] * t[i];
            for (size_t k = 0; k <= j; k++) G[j * p + k] += x[i * p + j] * x[i * p + k];
        }
    }
    for (size_t j = 0; j < p; j++)
        for (size_t k = 0; k < j; k++) G[k * p + j] = G[j * p + k];
    /* The noise variance: residuals of the full least-squares fit (needs more rows than
     * features plus the intercept). */
    double noise = 0.0;
    if (criterion) {
        size_t *every = malloc(p * sizeof(size_t));
        if (!every) goto done;
        for (size_t j = 0; j < p; j++) every[j] = j;
        int ok = n > p + 1 && solve_active(G, p, every, p, Xy, w, L);
        free(every);
        if (!ok) goto done; /* selection impossible: the caller keeps every feature */
        noise = rss(G, Xy, yy, p, w) / (double)(n - p - 1);
        if (!(noise > 0.0)) noise = 1e-300;
    }
    double factor = rule == GBX_LARS_BIC ? log((double)n) : 2.0;
    double best = criterion ? (double)n * log(2.0 * M_PI * noise) + yy / noise : 0.0;
    size_t active = 0, steps = 0;
    for (size_t j = 0; j < p; j++) c[j] = Xy[j];
    int drop = 0;
    while (steps < 8 * p + 8) {
        double C = 0.0;
        size_t entering = p;
        for (size_t j = 0; j < p; j++)
            if (!in[j] && fabs(c[j]) > C) C = fabs(c[j]), entering = j;
        if (!drop) {
            if (entering == p || C < 1e-12 * (sqrt(yy) + 1e-300)) break;
            if (!criterion && active >= wanted) break;
            in[entering] = 1;
            A[active++] = entering;
        }
        drop = 0;
        /* The equiangular direction over the active set. */
        double Cactive = 0.0;
        for (size_t i = 0; i < active; i++) {
            s[i] = c[A[i]] >= 0.0 ? 1.0 : -1.0;
            if (fabs(c[A[i]]) > Cactive) Cactive = fabs(c[A[i]]);
        }
        if (!solve_active(G, p, A, active, s, w, L)) break;
        double norm = 0.0;
        for (size_t i = 0; i < active; i++) norm += s[i] * w[i];
        if (!(norm > 0.0)) break;
        double AA = 1.0 / sqrt(norm);
        for (size_t i = 0; i < active; i++) w[i] *= AA;
        for (size_t j = 0; j < p; j++) {
            a[j] = 0.0;
            for (size_t i = 0; i < active; i++) a[j] += G[j * p + A[i]] * w[i];
        }
        double gamma = Cactive / AA; /* to the least-squares fit on the active set */
        for (size_t j = 0; j < p; j++) {
            if (in[j]) continue;
            double g1 = (Cactive - c[j]) / (AA - a[j]), g2 = (Cactive + c[j]) / (AA + a[j]);
            if (g1 > 1e-15 && g1 < gamma) gamma = g1;
            if (g2 > 1e-15 && g2 < gamma) gamma = g2;
        }
        /* The lasso: a coefficient that would cross zero leaves the active set there. */
        size_t leaving = p;
        if (criterion)
            for (size_t i = 0; i < active; i++) {
                double z = -beta[A[i]] / w[i];
                if (z > 1e-15 && z < gamma) gamma = z, leaving = i;
            }
        for (size_t i = 0; i < active; i++) beta[A[i]] += gamma * w[i];
        for (size_t j = 0; j < p; j++) {
            c[j] = Xy[j];
            for (size_t k = 0; k < p; k++) c[j] -= G[j * p + k] * beta[k];
        }
        if (leaving != p) {
            beta[A[leaving]] = 0.0;
            in[A[leaving]] = 0;
            memmove(A + leaving, A + leaving + 1, (active - leaving - 1) * sizeof(size_t));
            active--;
            drop = 1;
        }
        steps++;
        if (criterion) {
            size_t df = 0;
            for (size_t j = 0; j < p; j++) df += fabs(beta[j]) > 2.220446049250313e-16;
            double score = (double)n * log(2.0 * M_PI * noise) + rss(G, Xy, yy, p, beta) / noise +
                           factor * (double)df;
            if (score < best) {
                best = score;
                memcpy(best_beta, beta, p * sizeof(double));
            }
        }
        if (active == p && !drop) {
            if (criterion) continue; /* at the full fit: the loop ends at the next test */
            break;
        }
    }
    if (criterion) {
        for (size_t j = 0; j < p; j++)
            if (fabs(best_beta[j]) > 2.220446049250313e-16) selected[result++] = j;
    } else {
        memcpy(selected, A, active * sizeof(size_t));
        result = active;
    }
done:
    free(x); free(t); free(G); free(Xy); free(beta); free(c); free(w); free(s); free(L); free(a);
    free(best_beta); free(A); free(in);
    return result;
}
