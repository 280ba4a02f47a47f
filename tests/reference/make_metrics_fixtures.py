#!/usr/bin/python3
"""Reference figures for the metrics_ module (tests/unit/test_metrics.c).

Writes tests/fixtures/metrics/{binary_ties,binary_large,multiclass}.json: the
labels and the class probabilities of every example, and what scikit-learn
computes from them (accuracy, precision_recall_fscore_support per class and
with each average, confusion_matrix, log_loss, and for two classes
roc_auc_score and average_precision_score), plus the expected calibration
error from the independent numpy implementation below.

Probabilities are float32 values (what the model produces), written as the
exact decimal of each, so the C test reads the same numbers scikit-learn saw.

Run with Debian's python3-sklearn (1.2):  /usr/bin/python3 make_metrics_fixtures.py
The fixtures are committed; CI only reads them.
"""
import json
import os
import sys
import warnings

import numpy as np
import sklearn
import sklearn.metrics as skm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "metrics")
BINS = 15


def softmax32(logits):
    z = logits.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    return (e / e.sum(axis=1, keepdims=True, dtype=np.float32)).astype(np.float32)


def ece_numpy(probs, labels):
    """Guo et al. (2017): 15 equal-width bins (lo, hi] on the top probability,
    a confidence of exactly 0 in the first bin; |accuracy - confidence| per
    bin weighted by the bin's share of the examples."""
    conf = probs.max(axis=1).astype(np.float64)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, BINS + 1)
    ece, bins = 0.0, []
    for b in range(BINS):
        in_bin = (conf > edges[b]) & (conf <= edges[b + 1])
        if b == 0:
            in_bin |= conf == 0.0
        share = in_bin.mean()
        bins.append({"count": int(in_bin.sum()), "correct": int(correct[in_bin].sum()),
                     "confidence_sum": float(conf[in_bin].sum())})
        if share > 0:
            ece += abs(correct[in_bin].mean() - conf[in_bin].mean()) * share
    return float(ece), bins


def undefined_classes(cm):
    pred_sum, true_sum = cm.sum(axis=0), cm.sum(axis=1)
    return ([int(c) for c in np.where(pred_sum == 0)[0]],
            [int(c) for c in np.where(true_sum == 0)[0]])


def reference(name, labels, probs, note):
    k = probs.shape[1]
    classes = list(range(k))
    pred = probs.argmax(axis=1)  # first index of the maximum, as ftune
    out = {"name": name, "note": note, "sklearn_version": sklearn.__version__,
           "num_classes": k, "labels": [int(x) for x in labels],
           "probs": [[float(v) for v in row] for row in probs],
           "pred": [int(x) for x in pred]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["accuracy"] = skm.accuracy_score(labels, pred)
        p, r, f, s = skm.precision_recall_fscore_support(labels, pred, labels=classes,
                                                         average=None)
        out["per_class"] = {"precision": p.tolist(), "recall": r.tolist(),
                            "f1": f.tolist(), "support": s.tolist()}
        for avg in ("macro", "weighted", "micro"):
            p, r, f, _ = skm.precision_recall_fscore_support(labels, pred, labels=classes,
                                                             average=avg)
            out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
        out["warnings"] = sorted({str(w.message).split(" Use")[0] for w in caught})
    cm = skm.confusion_matrix(labels, pred, labels=classes)
    out["confusion"] = cm.tolist()
    out["precision_undefined"], out["recall_undefined"] = undefined_classes(cm)
    out["log_loss"] = skm.log_loss(labels, probs.astype(np.float64), labels=classes)
    if k == 2:
        out["roc_auc"] = skm.roc_auc_score(labels, probs[:, 1].astype(np.float64))
        out["average_precision"] = skm.average_precision_score(
            labels, probs[:, 1].astype(np.float64))
    out["ece"], out["bins"] = ece_numpy(probs, labels)
    return out


def binary_ties(rng):
    n = 53
    labels = rng.integers(0, 2, n)
    # Scores on a grid of 1/8 (exact in float32): many ties, across labels too,
    # and 0.5 exactly, where the two probabilities tie and class 0 is predicted.
    grid = rng.integers(0, 9, n) / 8.0
    noisy = np.clip(0.25 + 0.5 * labels + rng.normal(0, 0.25, n), 0, 1)
    p1 = np.where(rng.random(n) < 0.6, grid, noisy).astype(np.float32)
    p1[:4] = np.float32(0.5)
    p1[4], p1[5] = np.float32(1.0), np.float32(0.0)
    probs = np.stack([(np.float32(1) - p1).astype(np.float32), p1], axis=1)
    return labels, probs


def binary_large(rng):
    n = 2000
    labels = rng.integers(0, 2, n)
    p1 = np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.2, n), 0, 1)
    p1 = (np.round(p1 * 64) / 64).astype(np.float32)  # heavy ties
    probs = np.stack([(np.float32(1) - p1).astype(np.float32), p1], axis=1)
    return labels, probs


def multiclass(rng):
    # Class 2 never occurs in the truth, class 3 is never predicted.
    n = 67
    labels = rng.choice([0, 1, 3], n)
    logits = rng.normal(0, 1.5, (n, 4))
    logits[np.arange(n), labels] += 1.0
    logits[:, 3] = logits[:, :3].min(axis=1) - 0.5
    logits[0, :] = [1.0, 1.0, -1.0, -2.0]  # a tie in the top probability
    logits[1, :] = [-3.0, -3.0, 4.0, -4.0]  # confident in a class never true
    return labels, softmax32(logits)


def main():
    if not sklearn.__version__.startswith("1.2"):
        print(f"warning: scikit-learn {sklearn.__version__}, fixtures were made with 1.2",
              file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240606)
    cases = [("binary_ties", binary_ties(rng), "2 classes, scores on a 1/8 grid: ties"),
             ("binary_large", binary_large(rng), "2 classes, 2000 examples, 1/64 grid"),
             ("multiclass", multiclass(rng), "4 classes: 2 never true, 3 never predicted")]
    for name, (labels, probs), note in cases:
        ref = reference(name, labels, probs, note)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(ref, f, indent=1)
            f.write("\n")
        print(f"{name}: n={len(labels)} accuracy={ref['accuracy']:.4f} "
              f"ece={ref['ece']:.6f} warnings={len(ref['warnings'])}")


if __name__ == "__main__":
    main()
