"""The model's economics as pure functions of numpy arrays (no index sets, no pandas).

The formulation's value functions (:mod:`optimizer.model.formulation`) and the result
tables call these, so each coefficient has one definition whatever path evaluates it.
"""

from __future__ import annotations

import numpy as np

#: Relative margin by which the unmet-demand penalty exceeds the dearest way of serving a
#: unit: at ``unmet_penalty_factor = 1`` serving is then strictly cheaper, not a tie the
#: solver may break either way (1e-4 stays well above HiGHS's 1e-7 dual tolerance).
PENALTY_MARGIN = 1e-4


def capital_recovery_factor(rate: np.ndarray, life: np.ndarray) -> np.ndarray:
    """Annuity factor (1/yr) turning an overnight cost into equal annual payments.

    ``crf = i (1 + i)^n / ((1 + i)^n - 1)``, and ``1 / n`` where ``i = 0``.

    Examples
    --------
    >>> round(float(capital_recovery_factor(np.array(0.05), np.array(20.0))), 5)
    0.08024
    """
    rate, life = np.asarray(rate, dtype=float), np.asarray(life, dtype=float)
    growth = np.power(1.0 + rate, life)
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(rate > 0, rate * growth / (growth - 1.0), 1.0 / life)
    return crf


def supply_costs(
    ann: np.ndarray,
    fixed_om: np.ndarray,
    cost_factor: np.ndarray,
    max_utilisation: np.ndarray,
    variable_cost: np.ndarray,
    debt_share: np.ndarray,
    premium: np.ndarray,
    *,
    reserve_margin: float,
    stranded_weight: float,
    debt_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """What the objective charges for new capacity at a producer (arrays over producer x
    sector cells).

    Returns
    -------
    per_output
        CNY bn per output unit served from new capacity, before transport:
        ``(1 + m) / u * per_capacity - w_str * ann / u + vc * c`` (one unit of output needs
        ``(1 + m) / u`` units of capacity; the stranded term charges ``w_str * ann`` on
        capacity and credits ``w_str * ann / u`` on output).
    per_capacity
        CNY bn/yr per unit of capacity: ``premium * (ann + fom * c) + w_debt * ds * ann
        + w_str * ann``, where ``premium`` is the dearest cost-tranche multiplier (1 without
        tranches) and ``ds * ann`` the annual debt service.
    """
    per_capacity = (
        premium * (ann + fixed_om * cost_factor)
        + debt_weight * debt_share * ann
        + stranded_weight * ann
    )
    per_output = (
        (1.0 + reserve_margin) * per_capacity / max_utilisation
        - stranded_weight * ann / max_utilisation
        + variable_cost * cost_factor
    )
    return per_output, per_capacity


def oversize(
    min_scale: np.ndarray, demand: np.ndarray, max_utilisation: np.ndarray, reserve_margin: float
) -> np.ndarray:
    """Capacity a minimum-scale plant has beyond what ``demand`` needs, per unit of demand
    (capacity units per output unit; 0 without a minimum scale): ``max(0, g - (1 + m) D / u)
    / D``. A plant built for this demand alone costs that much capacity on top."""
    need = (1.0 + reserve_margin) * demand / max_utilisation
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.maximum(min_scale - need, 0.0) / demand
    return np.where(np.isfinite(extra) & (min_scale > 0) & (demand > 0), extra, 0.0)


def unmet_penalty(
    per_output: np.ndarray,
    per_capacity: np.ndarray,
    transport: np.ndarray,
    distance_km: np.ndarray,
    node: np.ndarray,
    sector: np.ndarray,
    extra: np.ndarray,
    factor: float,
) -> np.ndarray:
    """Penalty per unit of unmet demand (CNY bn per output unit) for each unmet column.

    One value per sector: ``factor * (1 + PENALTY_MARGIN)`` times the dearest way any
    producer can serve one more unit of any of the sector's unmet columns,

        max_c max_p [per_output[p, s] + per_capacity[p, s] * extra[c]
                     + transport[s] * distance_km[p, node[c]] / 1000]

    over the sector's columns ``c`` and the producers ``p`` that reach the column's node
    (``distance_km`` finite). With ``factor >= 1``, leaving a unit unmet costs more than
    serving it from any producer that reaches it and has room to supply more. Only the
    producers and the nodes with demand count, so a node with neither changes nothing.
    The penalty is the same for every region of a sector, so where demand must go unmet
    the plan rations it at least resource cost, whatever the penalty's level. A column
    no producer reaches counts without transport (it cannot be served at all).

    Parameters
    ----------
    per_output, per_capacity
        Producer x sector arrays from :func:`supply_costs`.
    transport
        Transport cost per sector, CNY bn per output unit per 1000 km.
    distance_km
        Producer x node distances (:func:`producer_distances`).
    node, sector, extra
        Per unmet column: its node's column in ``distance_km``, its sector's position and
        its :func:`oversize` (capacity units per output unit).
    factor
        ``unmet_penalty_factor`` (>= 1).
    """
    out = np.zeros(len(node))
    if per_output.shape[0] == 0:
        return out
    farthest: dict[bytes, tuple[np.ndarray, bool]] = {}  # sectors share node sets
    finite, reached = None, None
    for s in np.unique(sector):
        cols = np.flatnonzero(sector == s)
        if np.any(extra[cols] > 0):  # the oversize differs by column: every pair counts
            base = per_output[:, s, None] + per_capacity[:, s, None] * extra[None, cols]
            d = distance_km[:, node[cols]]
            reach = np.isfinite(d)
            cost = np.where(reach, base + transport[s] * np.where(reach, d, 0.0) / 1000.0, -np.inf)
            best = cost.max(axis=0)
            out[cols] = np.where(np.isfinite(best), best, base.max(axis=0)).max()
            continue
        # Otherwise the dearest pair is each producer's farthest reachable node.
        nodes = np.unique(node[cols])
        key = nodes.tobytes()
        if key not in farthest:
            if finite is None:
                # Once for all sectors: each node set's masked max then reads the matrix
                # in place instead of copying its columns (60 -> 48 ms at 1,600 regions
                # and one node set; more where the sectors' demand nodes differ), under a
                # boolean mask rather than a float copy with -inf where unreachable (8-35
                # ms to allocate and fill at 1,600 regions; the same maxima).
                finite = np.isfinite(distance_km)
                reached = finite.any(axis=0)
            mask = np.zeros(distance_km.shape[1], bool)
            mask[nodes] = True
            farthest[key] = (
                np.max(distance_km, axis=1, where=finite & mask[None, :], initial=-np.inf),
                not reached[nodes].all(),
            )
        far, lonely = farthest[key]
        best = (per_output[:, s] + transport[s] * far / 1000.0).max()
        out[cols] = max(best, per_output[:, s].max()) if lonely else best
    return factor * (1.0 + PENALTY_MARGIN) * out


def fiscal_limit(
    fiscal: np.ndarray, service: np.ndarray, observed: np.ndarray, row: np.ndarray, rows: int
) -> np.ndarray:
    """Right-hand side of the fiscal-limit rows (CNY bn/yr): ``max(F_r, sum_s ds[r,s]
    Kobs[r,s])``, the region's fiscal capacity or, where the observed buildout's debt
    service is larger, that (the plan is never held to a limit the observed buildout
    breaks). ``inf`` where the region has no fiscal capacity.

    ``service`` and ``observed`` are per capacity cell, ``row`` the cell's fiscal row
    (cells with ``row < 0`` have none)."""
    keep = row >= 0
    held = np.bincount(row[keep], weights=(service * observed)[keep], minlength=rows)
    return np.where(np.isnan(fiscal), np.inf, np.maximum(fiscal, held))


def capacity_metrics(
    capacity: np.ndarray,
    production: np.ndarray,
    capex: np.ndarray,
    debt_share: np.ndarray,
    max_utilisation: np.ndarray,
) -> dict[str, np.ndarray]:
    """What a solution's capacity stands for, per cell (the result tables and the sweep
    store report these; both call this function).

    - ``stranded_capacity = max(0, cap - prod / u)``: capacity not needed even at maximum
      utilisation (capacity units);
    - ``capital_cny_bn = capex cap`` and ``stranded_capital_cny_bn = capex stranded``;
    - ``debt_cny_bn = debt_share capex cap`` and ``stranded_debt_cny_bn = debt_share capex
      stranded`` (CNY bn).

    Examples
    --------
    >>> m = capacity_metrics(
    ...     np.array([10.0]), np.array([6.0]), np.array([2.0]), np.array([0.5]), np.array([0.8])
    ... )
    >>> float(m["stranded_capacity"][0]), float(m["stranded_debt_cny_bn"][0])
    (2.5, 2.5)
    """
    stranded = np.clip(capacity - production / max_utilisation, 0.0, None)
    return {
        "stranded_capacity": stranded,
        "capital_cny_bn": capex * capacity,
        "stranded_capital_cny_bn": capex * stranded,
        "debt_cny_bn": debt_share * capex * capacity,
        "stranded_debt_cny_bn": debt_share * capex * stranded,
    }
