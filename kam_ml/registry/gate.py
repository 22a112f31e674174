"""The champion/challenger gate: a new version is promoted only if it wins on the same data."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PromotionDecision", "decide_promotion"]


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the challenger becomes champion, and the evidence for it."""

    promote: bool
    reason: str
    metric: str
    challenger_score: float
    champion_score: float | None
    champion_version: str | None


def decide_promotion(
    metric: str,
    challenger_score: float,
    champion_score: float | None,
    champion_version: str | None,
    higher_is_better: bool = True,
) -> PromotionDecision:
    """Promote when there is no champion, or the challenger strictly beats it."""
    if champion_version is None or champion_score is None:
        return PromotionDecision(True, "no champion yet", metric, challenger_score, None, None)
    better = (
        challenger_score > champion_score if higher_is_better else challenger_score < champion_score
    )
    verdict = "beats" if better else "does not beat"
    reason = (
        f"challenger {metric} {challenger_score:.4f} {verdict} champion v{champion_version} "
        f"{champion_score:.4f} on the same validation rows"
    )
    return PromotionDecision(
        better, reason, metric, challenger_score, champion_score, champion_version
    )
