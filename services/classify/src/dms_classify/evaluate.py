"""Evaluate the suggestions on a labelled set: `python -m dms_classify.evaluate [set.jsonl]`.

Each line of the set is {"title", "text", "kip_category", "document_type"}. The learned model is
judged by stratified k-fold cross-validation (it never sees the documents it is scored on); the
rules need no training and are scored on every document. Prints accuracy per category for the
rules alone, the model alone and the two combined, as the service uses them.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dms_classify.evalset import EVAL_SET
from dms_classify.findings import find_findings
from dms_classify.suggest import CATEGORIES, TextClassifier, suggest


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def evaluate(documents: Sequence[dict[str, str]], *, folds: int = 5,
             seed: int = 0) -> dict[str, dict[str, float]]:
    """Accuracy per category (and overall) for rules, model and combined."""
    from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

    labels = [d["kip_category"] for d in documents]
    texts = [f"{d['title']}\n{d['text']}" for d in documents]
    predicted: dict[str, list[str]] = {"rules": [""] * len(documents),
                                       "model": [""] * len(documents),
                                       "combined": [""] * len(documents)}
    types_right = Counter[str]()
    findings = [find_findings(d["text"]) for d in documents]
    for index, document in enumerate(documents):
        predicted["rules"][index] = suggest(title=document["title"], text=document["text"],
                                            findings=findings[index]).kip_category
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels):
        model = TextClassifier.train([texts[i] for i in train], [labels[i] for i in train],
                                     [documents[i].get("document_type") for i in train])
        for index in test:
            document = documents[index]
            predicted["model"][index] = model.predict([texts[index]])[0]
            combined = suggest(title=document["title"], text=document["text"],
                               findings=findings[index], model=model)
            predicted["combined"][index] = combined.kip_category
            types_right[str(combined.document_type == document.get("document_type"))] += 1
    report: dict[str, dict[str, float]] = {}
    for name, guesses in predicted.items():
        scores: dict[str, float] = {}
        for category in CATEGORIES:
            members = [i for i, label in enumerate(labels) if label == category]
            if members:
                scores[category] = sum(guesses[i] == category for i in members) / len(members)
        scores["overall"] = sum(g == label for g, label in zip(guesses, labels,
                                                               strict=True)) / len(labels)
        report[name] = scores
    report["document_type"] = {"overall": types_right["True"] / max(1, sum(types_right.values()))}
    return report


def learning_curve(documents: Sequence[dict[str, str]], sizes: Sequence[int], *,
                   seed: int = 0) -> dict[int, float]:
    """Combined accuracy on the rest of the set after training on the first n decisions."""
    import random

    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible split
    curve: dict[int, float] = {}
    for size in sizes:
        train, test = order[:size], order[size:]
        labels = [documents[i]["kip_category"] for i in train]
        if len(set(labels)) < 2 or not test:
            continue
        model = TextClassifier.train([f"{documents[i]['title']}\n{documents[i]['text']}"
                                      for i in train], labels)
        right = sum(suggest(title=documents[i]["title"], text=documents[i]["text"],
                            findings=find_findings(documents[i]["text"]),
                            model=model).kip_category == documents[i]["kip_category"]
                    for i in test)
        curve[size] = right / len(test)
    return curve


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=EVAL_SET)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    documents = load(args.path)
    counts = Counter(d["kip_category"] for d in documents)
    report = evaluate(documents, folds=args.folds)
    print(f"{len(documents)} documents from {args.path} ({args.folds}-fold cross-validation)")
    header = f"{'category':<14}{'n':>5}" + "".join(f"{name:>10}" for name in
                                                  ("rules", "model", "combined"))
    print(header)
    for category in (*CATEGORIES, "overall"):
        n = counts.get(category, len(documents) if category == "overall" else 0)
        row = "".join(f"{report[name].get(category, 0.0):>10.1%}"
                      for name in ("rules", "model", "combined"))
        print(f"{category:<14}{n:>5}{row}")
    print(f"document type (combined): {report['document_type']['overall']:.1%}")
    curve = learning_curve(documents, (10, 20, 40, 80, 160))
    print("combined accuracy after n decisions: " + ", ".join(
        f"n={size}: {accuracy:.1%}" for size, accuracy in curve.items()))


if __name__ == "__main__":
    main()
